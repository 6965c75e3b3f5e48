package corpus

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// compression is how many simulated seconds pass per real second in the
// paced behaviours: a 15 s poll interval takes 300 ms, a 5 s auto-commit
// interval 100 ms.
const compression = 50

// steadyProducer writes at least perSecond records a second (real time)
// with the default partitioner until stop; it reports how many it wrote.
func steadyProducer(t *testing.T, addr, topic string, perSecond int) (stop func() int64) {
	t.Helper()
	cl := kafkatest.NewKgo(t, addr, kgo.ClientID("corpus-steady"), kgo.DefaultProduceTopic(topic))
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		written int64
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		perTick := perSecond / 100
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for range perTick {
				cl.Produce(ctx, &kgo.Record{Value: randomBytes(100)}, func(_ *kgo.Record, err error) {
					if err == nil {
						mu.Lock()
						written++
						mu.Unlock()
					}
				})
			}
		}
	}()
	var once sync.Once
	stop = func() int64 {
		once.Do(func() {
			cancel()
			wg.Wait()
			flush, done := context.WithTimeout(context.Background(), driverTimeout)
			defer done()
			_ = cl.Flush(flush)
		})
		mu.Lock()
		defer mu.Unlock()
		return written
	}
	t.Cleanup(func() { stop() })
	return stop
}

// A healthy consumer of a busy topic is never at lag 0 when a poll lands:
// it commits every 5 s (auto-commit) or once a minute (Kafka Connect's
// offset flush, Spark micro-batches), so its lag is a sawtooth. After
// warm-up its status must not change at all.
func TestBusyTopicConsumersCommittingEvery5sAndEveryMinuteNeverChangeStatusAfterWarmUp(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	const topic, every5s, everyMinute = "busy-topic", "busy-autocommit-5s", "busy-commit-1m"
	const partitions = 3
	kafkatest.CreateTopic(t, addr, topic, partitions, nil)
	adm := kafkatest.NewKadm(t, addr)

	startSaramaMember(t, addr, every5s, topic, 5*time.Second/compression)
	minutely := kgoMember(t, addr, everyMinute, topic)
	ctx, cancel := context.WithCancel(context.Background())
	consumed := make(chan struct{})
	go func() {
		// Reads all the time, commits only when the test says (every 4th
		// poll: once a simulated minute).
		defer close(consumed)
		for ctx.Err() == nil {
			minutely.PollFetches(ctx)
		}
	}()
	t.Cleanup(func() { cancel(); <-consumed })
	stopProducing := steadyProducer(t, addr, topic, 2000)

	w := newWatcher(t, addr, "busy-", lagSettings{})
	// Warm-up: lagwatch reads unknown until the lag's trend spans 3
	// minutes of the group's history (which starts at its first commit,
	// at the 4th poll) and two of its commit intervals, and until then
	// also while a sawtooth's rise over that shorter history could still
	// be lagging: at the latest once the history spans the 10-minute
	// window, which covers both groups. The cadence warm-up (two moves)
	// ends well before.
	const warmUp, measured = 44, 80
	tick := time.NewTicker(w.interval / compression)
	defer tick.Stop()
	started := time.Now()
	hwBefore, _ := kafkatest.LogEnds(t, adm, topic)
	var maxLag [2]int64
	for i := range warmUp + measured {
		<-tick.C
		s := w.poll()
		for p := range int32(partitions) {
			for g, group := range []string{every5s, everyMinute} {
				maxLag[g] = max(maxLag[g], find(s, group, topic, p).lag())
			}
		}
		if i%4 == 3 {
			// A healthy consumer has read on every partition since its
			// last commit, so each commit moves each partition. On a busy
			// machine the fetch loop can fall behind for a while; the
			// commit waits for it rather than leave a partition unmoved
			// for two simulated minutes, which is a stall, not this
			// test's healthy consumer.
			waitfor.Condition(t, 30*time.Second, "the once-a-minute consumer read on every partition since its last commit", func() error {
				if read := len(minutely.UncommittedOffsets()[topic]); read < partitions {
					return fmt.Errorf("read on %d of %d partitions", read, partitions)
				}
				return nil
			})
			commitCtx, done := context.WithTimeout(context.Background(), driverTimeout)
			if err := minutely.CommitUncommittedOffsets(commitCtx); err != nil {
				t.Fatalf("once-a-minute commit: %v", err)
			}
			done()
		}
	}
	elapsed := time.Since(started)
	hwAfter, _ := kafkatest.LogEnds(t, adm, topic)
	written := stopProducing()

	// Ground truth: the topic was busy and both groups kept consuming.
	var grew int64
	for p := range int32(partitions) {
		grew += hwAfter[p] - hwBefore[p]
	}
	rate := float64(grew) / elapsed.Seconds()
	t.Logf("producer: %d records, %.0f records/s real while polling (%v real for %v simulated)", written, rate, elapsed.Round(time.Millisecond), time.Duration(warmUp+measured)*w.interval)
	if rate < 1000 {
		t.Fatalf("the busy topic got %.0f records/s, want ≥ 1,000", rate)
	}
	for _, group := range []string{every5s, everyMinute} {
		committed := kafkatest.Committed(t, adm, group, topic)
		for p := range int32(partitions) {
			if committed[p] < hwBefore[p] {
				t.Fatalf("%s committed %d on partition %d, behind where the topic was when polling began (%d)", group, committed[p], p, hwBefore[p])
			}
		}
	}
	t.Logf("largest lag seen: %d (5 s auto-commit), %d (once a minute)", maxLag[0], maxLag[1])

	for _, group := range []string{every5s, everyMinute} {
		for p := range int32(partitions) {
			n, seq := w.changes(group, topic, p, warmUp+1)
			t.Logf("%s/%d: %d status changes in %d polls after warm-up (%v simulated): %v", group, p, n, len(seq), time.Duration(len(seq))*w.interval, counts(seq))
			if n != 0 {
				t.Errorf("%s/%d: %d status changes after warm-up, want 0: %v", group, p, n, seq)
			}
			for i, st := range seq {
				if st != "ok" {
					n := warmUp + 1 + i
					t.Errorf("%s/%d poll %d: %s, want ok; polls %d..%d: %s | %s | %s", group, p, n, st, n-1, n+1,
						w.detail(group, topic, p, n-1), w.detail(group, topic, p, n), w.detail(group, topic, p, n+1))
				}
			}
		}
	}
}
