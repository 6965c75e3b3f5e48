// Command clustergen starts a kfake cluster shaped like a large production
// cluster (many topics, groups and committed group-partitions) for lagwatch's
// scale benchmark. It prints "bootstrap <addr,addr,...>" once the cluster is
// populated and serves until it receives SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

type shape struct {
	brokers         int
	topics          int
	partitions      int
	groups          int
	groupPartitions int
	records         int
	workers         int
	// advanceEvery, when above 0, makes the cluster move like a live one:
	// every tick each partition gets a record and each group commits one
	// offset further, so lagwatch's history fills up as it would in
	// production instead of compressing a flat line.
	advanceEvery time.Duration
}

func main() {
	var s shape
	flag.IntVar(&s.brokers, "brokers", 3, "brokers in the cluster")
	flag.IntVar(&s.topics, "topics", 2000, "topics to create")
	flag.IntVar(&s.partitions, "partitions", 5, "partitions per topic")
	flag.IntVar(&s.groups, "groups", 10000, "consumer groups that commit offsets")
	flag.IntVar(&s.groupPartitions, "group-partitions", 100000, "committed group-partitions in total, spread evenly over the groups")
	flag.IntVar(&s.records, "records", 2, "records produced to every partition; groups commit offset 1, so lag is records-1")
	flag.IntVar(&s.workers, "workers", 32, "concurrent OffsetCommit requests while populating")
	flag.DurationVar(&s.advanceEvery, "advance-every", 0, "produce a record to every partition and advance every committed offset by one this often (0: a static cluster)")
	flag.Parse()
	if err := s.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "clustergen:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, s); err != nil {
		fmt.Fprintln(os.Stderr, "clustergen:", err)
		os.Exit(1)
	}
}

func (s shape) validate() error {
	switch {
	case s.brokers < 1 || s.topics < 1 || s.partitions < 1 || s.groups < 1 || s.workers < 1:
		return fmt.Errorf("-brokers, -topics, -partitions, -groups and -workers must be at least 1")
	case s.records < 2:
		return fmt.Errorf("-records must be at least 2 so that a commit at offset 1 leaves lag")
	case s.groupPartitions < s.groups:
		return fmt.Errorf("-group-partitions (%d) must be at least -groups (%d)", s.groupPartitions, s.groups)
	case s.groupPartitions/s.groups > s.topics*s.partitions:
		return fmt.Errorf("each group would commit %d partitions but the cluster has only %d", s.groupPartitions/s.groups, s.topics*s.partitions)
	}
	return nil
}

func run(ctx context.Context, s shape) error {
	topics := make([]string, s.topics)
	for i := range topics {
		topics[i] = fmt.Sprintf("bench.topic-%05d", i)
	}
	started := time.Now()
	c, err := kfake.NewCluster(
		kfake.NumBrokers(s.brokers),
		kfake.ClusterID("lagwatch-bench"),
		kfake.SeedTopics(int32(s.partitions), topics...),
	)
	if err != nil {
		return fmt.Errorf("start kfake: %w", err)
	}
	defer c.Close()
	addrs := c.ListenAddrs()

	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer cl.Close()

	if err := produce(ctx, cl, s, topics); err != nil {
		return err
	}
	produced := time.Now()
	adm := kadm.NewClient(cl)
	if err := commit(ctx, adm, s, topics, 1); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "clustergen: %d brokers, %d topics × %d partitions, %d groups, %d group-partitions; produced in %s, committed in %s\n",
		s.brokers, s.topics, s.partitions, s.groups, s.groups*(s.groupPartitions/s.groups),
		produced.Sub(started).Round(time.Millisecond), time.Since(produced).Round(time.Millisecond))
	fmt.Printf("bootstrap %s\n", strings.Join(addrs, ","))

	if s.advanceEvery <= 0 {
		<-ctx.Done()
		return nil
	}
	ticker := time.NewTicker(s.advanceEvery)
	defer ticker.Stop()
	one := s
	one.records = 1
	for committed := int64(2); ; committed++ {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if err := produce(ctx, cl, one, topics); err != nil {
			return ignoreShutdown(ctx, err)
		}
		if err := commit(ctx, adm, s, topics, committed); err != nil {
			return ignoreShutdown(ctx, err)
		}
	}
}

// ignoreShutdown drops the error of a request cut short by the signal.
func ignoreShutdown(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// produce writes s.records records to every partition, so every committed
// offset below has lag and a record whose timestamp lagwatch can read.
func produce(ctx context.Context, cl *kgo.Client, s shape, topics []string) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, t := range topics {
		for p := 0; p < s.partitions; p++ {
			for range s.records {
				wg.Add(1)
				r := &kgo.Record{Topic: t, Partition: int32(p), Value: []byte("lagwatch-bench")}
				cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
					defer wg.Done()
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
					}
				})
			}
		}
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("produce: %w", firstErr)
	}
	return nil
}

// commit has every group commit offset `offset` on groupPartitions/groups
// consecutive partitions (in topic, partition order, wrapping around), one
// OffsetCommit per group, s.workers at a time. With the defaults each group
// commits all 5 partitions of two topics and each topic has 10 groups.
func commit(ctx context.Context, adm *kadm.Client, s shape, topics []string, offset int64) error {
	perGroup := s.groupPartitions / s.groups
	total := s.topics * s.partitions
	jobs := make(chan int)
	errs := make(chan error, s.workers)
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range jobs {
				offsets := kadm.Offsets{}
				for k := 0; k < perGroup; k++ {
					i := (g*perGroup + k) % total
					offsets.AddOffset(topics[i/s.partitions], int32(i%s.partitions), offset, -1)
				}
				group := fmt.Sprintf("bench.group-%06d", g)
				resp, err := adm.CommitOffsets(ctx, group, offsets)
				if err == nil {
					err = resp.Error()
				}
				if err != nil {
					errs <- fmt.Errorf("commit offsets of %s: %w", group, err)
					return
				}
			}
		}()
	}
	var err error
feed:
	for g := 0; g < s.groups; g++ {
		select {
		case jobs <- g:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}
