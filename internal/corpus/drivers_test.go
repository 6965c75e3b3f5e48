package corpus

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
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
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// driverTimeout bounds every wait on the broker inside a driver: 30 s
// times LAGWATCH_TEST_SLOWDOWN.
var driverTimeout = waitfor.Scaled(30 * time.Second)

// saramaMember is a real member of a classic consumer group (sarama speaks
// only the classic protocol). It consumes every record it is assigned and
// marks it with MarkMessage, which commits "last record + 1" at the next
// auto-commit; it marks nothing at or past markBelow, and nothing while
// frozen, so a test can make it die behind or get stuck.
type saramaMember struct {
	cg        sarama.ConsumerGroup
	cancel    context.CancelFunc
	done      chan struct{}
	frozen    atomic.Bool
	markBelow atomic.Int64 // -1: no limit
	consumed  atomic.Int64
	stopOnce  sync.Once

	mu   sync.Mutex
	sess sarama.ConsumerGroupSession // nil between sessions
}

func startSaramaMember(t *testing.T, addr, group, topic string, autoCommit time.Duration) *saramaMember {
	t.Helper()
	cfg := kafkatest.NewConfig()
	cfg.ClientID = "corpus-sarama"
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = true
	cfg.Consumer.Offsets.AutoCommit.Interval = autoCommit
	cfg.Consumer.Return.Errors = false
	cg, err := sarama.NewConsumerGroup([]string{addr}, group, cfg)
	if err != nil {
		t.Fatalf("sarama member of %q: %v", group, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &saramaMember{cg: cg, cancel: cancel, done: make(chan struct{})}
	m.markBelow.Store(-1)
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{topic}, m); err != nil && ctx.Err() == nil {
				// A rebalance or a topic not yet in metadata: join again.
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
	}()
	t.Cleanup(m.stop)
	return m
}

// stop leaves the group; sarama commits what was marked on the way out.
func (m *saramaMember) stop() {
	m.stopOnce.Do(func() {
		m.cancel()
		<-m.done
		_ = m.cg.Close()
	})
}

func (m *saramaMember) Setup(sess sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sess = sess
	return nil
}

func (m *saramaMember) Cleanup(sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sess = nil
	return nil
}

// commitPosition commits offset for one partition from the member's
// current session, as a consumer commits the position it holds in memory,
// and waits until the broker has it.
func (m *saramaMember) commitPosition(t *testing.T, adm *kadm.Client, group, topic string, partition int32, offset int64) {
	t.Helper()
	waitfor.Condition(t, driverTimeout, fmt.Sprintf("member of %q commits %d on %s/%d", group, offset, topic, partition), func() error {
		m.mu.Lock()
		sess := m.sess
		m.mu.Unlock()
		if sess == nil {
			return errors.New("no session")
		}
		// MarkOffset only moves forward and ResetOffset only back: together
		// they set the position whatever the session holds.
		sess.MarkOffset(topic, partition, offset, "")
		sess.ResetOffset(topic, partition, offset, "")
		sess.Commit()
		if got := kafkatest.Committed(t, adm, group, topic); got[partition] != offset {
			return fmt.Errorf("broker has %v", got)
		}
		return nil
	})
}
func (m *saramaMember) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case <-sess.Context().Done():
			return nil
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			m.consumed.Add(1)
			limit := m.markBelow.Load()
			if !m.frozen.Load() && (limit < 0 || msg.Offset < limit) {
				sess.MarkMessage(msg, "")
			}
		}
	}
}

// kgoMember starts a franz-go group member with manual commits; opts add
// the protocol (kgo.ServerSideBalancer for KIP-848) or the isolation level.
func kgoMember(t *testing.T, addr, group, topic string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return kafkatest.NewKgo(t, addr, append([]kgo.Opt{
		kgo.ClientID("corpus-kgo"),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(kgo.RangeBalancer()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(100 * time.Millisecond),
	}, opts...)...)
}

// consumeN polls a consumer until it has returned n records (n may be 0:
// then nothing is read) and returns them; it fails the test after
// driverTimeout.
func consumeN(t *testing.T, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), driverTimeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fetches := cl.PollRecords(ctx, n-len(out))
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records within %v", len(out), n, driverTimeout)
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Logf("fetch %s/%d: %v", topic, p, err)
			}
		})
		out = append(out, fetches.Records()...)
	}
	return out
}

// pollBriefly returns what a consumer receives within half a second.
func pollBriefly(cl *kgo.Client) []*kgo.Record {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	return cl.PollFetches(ctx).Records()
}

// commitLastPlusOne commits, for each partition in records, the offset after
// the last record: what sarama's MarkMessage, librdkafka and most frameworks
// commit.
func commitLastPlusOne(t *testing.T, cl *kgo.Client, records []*kgo.Record) {
	t.Helper()
	if len(records) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), driverTimeout)
	defer cancel()
	if err := cl.CommitRecords(ctx, records...); err != nil {
		t.Fatalf("commit records: %v", err)
	}
}

// commitAt commits exact offsets as a group member (its generation), the
// way a consumer re-commits its position.
func commitAt(t *testing.T, cl *kgo.Client, topic string, offsets map[int32]int64) {
	t.Helper()
	eo := map[int32]kgo.EpochOffset{}
	for p, o := range offsets {
		eo[p] = kgo.EpochOffset{Epoch: -1, Offset: o}
	}
	// A rebalance in progress rejects the commit: retry in the next
	// generation.
	waitfor.Condition(t, driverTimeout, fmt.Sprintf("commit %v to %s as a member", offsets, topic), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), driverTimeout)
		defer cancel()
		var commitErr error
		// A topic re-created since the last metadata refresh has a new ID,
		// and OffsetCommit v10+ names topics by ID.
		cl.ForceMetadataRefresh()
		cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{topic: eo},
			func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
				commitErr = commitError(resp, err)
			})
		return commitErr
	})
}

func commitError(resp *kmsg.OffsetCommitResponse, err error) error {
	if err != nil {
		return err
	}
	for _, topic := range resp.Topics {
		for _, p := range topic.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("%s/%d: %w", topic.Topic, p.Partition, err)
			}
		}
	}
	return nil
}

// memberlessCommit commits offsets for a group with generation -1 and no
// member ID, as Flink, Spark and any assign() consumer do.
func memberlessCommit(t *testing.T, adm *kadm.Client, group, topic string, offsets map[int32]int64) {
	t.Helper()
	var os kadm.Offsets
	for p, o := range offsets {
		os.AddOffset(topic, p, o, -1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), driverTimeout)
	defer cancel()
	if err := adm.CommitAllOffsets(ctx, group, os); err != nil {
		t.Fatalf("memberless commit %v to %s for %q: %v", offsets, topic, group, err)
	}
}

// produceN writes n records of size bytes to one partition and waits for
// the broker's acknowledgement.
func produceN(t *testing.T, cl *kgo.Client, topic string, partition int32, n, size int) {
	t.Helper()
	if n == 0 {
		return
	}
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = &kgo.Record{Topic: topic, Partition: partition, Value: randomBytes(size)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), driverTimeout)
	defer cancel()
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce %d records to %s/%d: %v", n, topic, partition, err)
	}
}

// producer is a kgo client that writes to the partition each record names.
func producer(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return kafkatest.NewKgo(t, addr, append([]kgo.Opt{
		kgo.ClientID("corpus-producer"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	}, opts...)...)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// groupState is what DescribeGroups says: state and member count.
func groupState(t *testing.T, adm *kadm.Client, group string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), driverTimeout)
	defer cancel()
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatalf("describe group %q: %v", group, err)
	}
	g := described[group]
	return g.State, len(g.Members)
}

func waitCommitted(t *testing.T, adm *kadm.Client, group, topic string, want map[int32]int64) {
	t.Helper()
	waitfor.Condition(t, driverTimeout, fmt.Sprintf("group %q commits %v on %s", group, want, topic), func() error {
		if got := kafkatest.Committed(t, adm, group, topic); !mapsEqual(got, want) {
			return fmt.Errorf("committed %v", got)
		}
		return nil
	})
}

func mapsEqual(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func describeRecords(rs []*kgo.Record) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = kafkatest.RecordKind(r)
	}
	return fmt.Sprint(s)
}
