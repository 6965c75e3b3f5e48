package frameworks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

// poisonValue is the record the poisoned consumer cannot get past.
const poisonValue = "poison"

// producer writes one record to every partition of its topics every tick
// until the test ends: the steady traffic every healthy member consumes.
// Values cycle through ten words, so the Streams apps' counts aggregate.
type producer struct {
	t      *testing.T
	sp     sarama.SyncProducer
	mu     sync.Mutex
	topics map[string]int32
	sent   atomic.Int64
}

func startProducer(t *testing.T, addr string, tick time.Duration, topics map[string]int32) *producer {
	t.Helper()
	cfg := kafkatest.NewConfig()
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	sp, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	p := &producer{t: t, sp: sp, topics: topics}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for i := 0; ; i++ {
			p.mu.Lock()
			var msgs []*sarama.ProducerMessage
			for topic, n := range p.topics {
				for part := range n {
					msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: part, Value: sarama.StringEncoder(fmt.Sprintf("word%d", i%10))})
				}
			}
			p.mu.Unlock()
			if err := sp.SendMessages(msgs); err == nil {
				p.sent.Add(int64(len(msgs)))
			}
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done; _ = sp.Close() })
	return p
}

// poison writes the record the poisoned consumer gets stuck on and returns
// its offset.
func (p *producer) poison(topic string, partition int32) int64 {
	p.t.Helper()
	msg := &sarama.ProducerMessage{Topic: topic, Partition: partition, Value: sarama.StringEncoder(poisonValue)}
	if _, _, err := p.sp.SendMessage(msg); err != nil {
		p.t.Fatalf("produce the poison message: %v", err)
	}
	return msg.Offset
}

// groupMember is a sarama member of a classic group that marks every
// record it processes (auto-commit commits them), waiting pace per record,
// and blocks on a poison record until it leaves.
type groupMember struct {
	cg     sarama.ConsumerGroup
	cancel context.CancelFunc
	done   chan struct{}
	pace   time.Duration
	once   sync.Once
	stuck  atomic.Int64 // offset of the poison record it sits on, -1 none
}

func startGroupMember(t *testing.T, addr, group string, topics []string, autoCommit, pace time.Duration) *groupMember {
	t.Helper()
	cfg := kafkatest.NewConfig()
	cfg.ClientID = "frameworks-" + group
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = true
	cfg.Consumer.Offsets.AutoCommit.Interval = autoCommit
	cg, err := sarama.NewConsumerGroup([]string{addr}, group, cfg)
	if err != nil {
		t.Fatalf("member of %q: %v", group, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &groupMember{cg: cg, cancel: cancel, done: make(chan struct{}), pace: pace}
	m.stuck.Store(-1)
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, topics, m); err != nil && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
		}
	}()
	t.Cleanup(m.leave)
	return m
}

// leave stops consuming and leaves the group (LeaveGroup), committing what
// was marked.
func (m *groupMember) leave() {
	m.once.Do(func() {
		m.cancel()
		<-m.done
		_ = m.cg.Close()
	})
}

func (*groupMember) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (*groupMember) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (m *groupMember) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case <-sess.Context().Done():
			return nil
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			if string(msg.Value) == poisonValue {
				m.stuck.Store(msg.Offset)
				<-sess.Context().Done()
				return nil
			}
			if m.pace > 0 {
				select {
				case <-sess.Context().Done():
					return nil
				case <-time.After(m.pace):
				}
			}
			sess.MarkMessage(msg, "")
		}
	}
}

// cron is a batch consumer run every period: it joins the group, drains
// what was produced up to the moment it joined, commits, and leaves.
type cron struct {
	cycles atomic.Int64
	failed atomic.Int64
}

func startCron(t *testing.T, addr, group, topic string, period time.Duration) *cron {
	t.Helper()
	c := &cron{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if err := c.drain(ctx, addr, group, topic); err != nil && ctx.Err() == nil {
				c.failed.Add(1)
				t.Logf("cron %s: %v", group, err)
			} else if ctx.Err() == nil {
				c.cycles.Add(1)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(period):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

func (c *cron) drain(ctx context.Context, addr, group, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID("frameworks-cron"),
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return err
	}
	// Close leaves the group: the cron job is gone until its next run.
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("log ends: %w", err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { want[o.Partition] = o.Offset })
	fetched, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err == nil {
		fetched.Each(func(o kadm.OffsetResponse) {
			if o.Topic == topic && o.At >= want[o.Partition] {
				delete(want, o.Partition)
			}
		})
	}
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("drain: %d partitions short of their end: %v", len(want), want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
	}
	return cl.CommitUncommittedOffsets(ctx)
}

// abandon leaves a group as one abandoned long ago: records with a
// CreateTime two days old, a member that joins, commits offset committed on
// every partition, and leaves.
func abandon(t *testing.T, addr, group, topic string, partitions int32, records int, committed int64) {
	t.Helper()
	old := time.Now().Add(-48 * time.Hour)
	stamps := make([]time.Time, records)
	for i := range stamps {
		stamps[i] = old.Add(time.Duration(i) * time.Second)
	}
	offsets := map[int32]kgo.EpochOffset{}
	for p := range partitions {
		kafkatest.ProduceAt(t, addr, topic, p, stamps)
		offsets[p] = kgo.EpochOffset{Epoch: -1, Offset: committed}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID("frameworks-abandoned"),
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The first fetch means the member joined and was assigned.
	for fs := cl.PollFetches(ctx); len(fs.Records()) == 0; fs = cl.PollFetches(ctx) {
		if ctx.Err() != nil {
			t.Fatalf("abandoned group %s: never fetched", group)
		}
	}
	var commitErr error
	cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{topic: offsets}, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		commitErr = errors.Join(err, commitErrors(resp))
	})
	if commitErr != nil {
		t.Fatalf("abandoned group %s: commit: %v", group, commitErr)
	}
}

func commitErrors(resp *kmsg.OffsetCommitResponse) error {
	if resp == nil {
		return nil
	}
	var errs []error
	for _, topic := range resp.Topics {
		for _, p := range topic.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				errs = append(errs, fmt.Errorf("%s/%d: %w", topic.Topic, p.Partition, err))
			}
		}
	}
	return errors.Join(errs...)
}

// crashHelperEnv makes the test binary, re-executed, run a consumer until
// it is killed: addr,group,topic,session timeout,auto-commit interval.
const crashHelperEnv = "LAGWATCH_FRAMEWORKS_CRASH_CONSUMER"

// TestCrashHelperProcess is not a test: it is the consumer startCrashable
// runs in a child process, so the test can SIGKILL it (no LeaveGroup, no
// last commit), as a crashed host or an OOM kill does.
func TestCrashHelperProcess(t *testing.T) {
	spec := os.Getenv(crashHelperEnv)
	if spec == "" {
		t.Skip("runs only as the child process of the framework corpus")
	}
	f := strings.Split(spec, ",")
	session, _ := time.ParseDuration(f[3])
	autoCommit, _ := time.ParseDuration(f[4])
	cfg := kafkatest.NewConfig()
	cfg.ClientID = "frameworks-crash"
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = autoCommit
	cfg.Consumer.Group.Session.Timeout = session
	cfg.Consumer.Group.Heartbeat.Interval = session / 5
	cg, err := sarama.NewConsumerGroup([]string{f[0]}, f[1], cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := &groupMember{}
	m.stuck.Store(-1)
	for {
		if err := cg.Consume(context.Background(), []string{f[2]}, m); err != nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// startCrashable runs a consumer of group in a child process.
func startCrashable(t *testing.T, addr, group, topic string, session, autoCommit time.Duration) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+strings.Join([]string{addr, group, topic, session.String(), autoCommit.String()}, ","))
	return startProcess(t, "crash-consumer", cmd)
}

// kgoConsumer is a franz-go member with auto-commit every interval.
func kgoConsumer(t *testing.T, addr, group string, topics []string, autoCommit time.Duration) (stop func()) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID("frameworks-"+group),
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitInterval(autoCommit), kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done; cl.Close() }) }
	t.Cleanup(stop)
	return stop
}

// committed is the group's committed offsets on topic (absent: never).
func committed(t *testing.T, adm *kadm.Client, group, topic string) map[int32]int64 {
	t.Helper()
	return kafkatest.Committed(t, adm, group, topic)
}

// logStarts is each partition's log-start offset.
func logStarts(t *testing.T, adm *kadm.Client, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	listed, err := adm.ListStartOffsets(ctx, topic)
	if err != nil || listed.Error() != nil {
		t.Fatalf("log starts of %s: %v %v", topic, err, listed.Error())
	}
	out := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// describeMembers returns a classic group's member count and state
// (DescribeGroups).
func describeMembers(adm *kadm.Client, group string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return 0, "", err
	}
	g := d[group]
	if g.Err != nil {
		return 0, "", g.Err
	}
	return len(g.Members), g.State, nil
}

func sum(m map[int32]int64) (s int64) {
	for _, v := range m {
		s += v
	}
	return s
}
