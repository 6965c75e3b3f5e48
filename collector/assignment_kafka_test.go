package collector_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// idleHandler is a group member that holds its assignment and processes
// nothing, so it never commits.
type idleHandler struct{}

func (idleHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (idleHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (idleHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	<-sess.Context().Done()
	return nil
}

// joinClassicGroup starts a real member of a classic consumer group on
// topic; the returned function makes it leave the group.
func joinClassicGroup(t *testing.T, addr, group, topic string, strategy sarama.BalanceStrategy) (leave func()) {
	t.Helper()
	cfg := kafkatest.NewConfig()
	if strategy != nil {
		cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{strategy}
	}
	cg, err := sarama.NewConsumerGroup([]string{addr}, group, cfg)
	if err != nil {
		t.Fatalf("join group %q: %v", group, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{topic}, idleHandler{}); err != nil && ctx.Err() == nil {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	var once sync.Once
	leave = func() {
		once.Do(func() {
			cancel()
			<-done
			_ = cg.Close()
		})
	}
	t.Cleanup(leave)
	return leave
}

// pollUntil polls until the scrape satisfies check, failing after 60 s
// (times LAGWATCH_TEST_SLOWDOWN).
func pollUntil(t *testing.T, p *collector.Poller, metrics http.Handler, what string, check func(series) error) series {
	t.Helper()
	deadline := time.Now().Add(waitfor.Scaled(60 * time.Second))
	for {
		ctx, cancel := context.WithTimeout(context.Background(), waitfor.Scaled(30*time.Second))
		_ = p.PollOnce(ctx)
		cancel()
		s := scrape(t, metrics)
		err := check(s)
		if err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// notWritten stands in expect's map for a series that must be absent: the
// families that are mostly 0 (unassigned partitions, idle members, offline
// and under-min-ISR partitions) are written only when they are not.
var notWritten = math.Inf(-1)

// expect returns a check that the series have exactly these values.
func expect(want map[string]float64) func(series) error {
	return func(s series) error {
		for k, v := range want {
			if got, ok := s[k]; v == notWritten && ok {
				return fmt.Errorf("%s = %v, want no series", k, got)
			} else if v != notWritten && (!ok || got != v) {
				return fmt.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
			}
		}
		return nil
	}
}

func TestTwoConsumersOnThreePartitionsAreAllAssignedNoneIdleAndUncommittedIsNoCommit(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	kafkatest.CreateTopic(t, addr, "assign-three", 3, nil)
	joinClassicGroup(t, addr, "assign-two", "assign-three", nil)
	joinClassicGroup(t, addr, "assign-two", "assign-three", nil)

	p, metrics := newTestPoller(t, addr, collector.Filters{})
	pollUntil(t, p, metrics, "two members sharing three partitions", expect(map[string]float64{
		key("kafka_consumergroup_members", "consumergroup", "assign-two"):                                        2,
		key("kafka_consumergroup_state", "consumergroup", "assign-two", "state", "Stable"):                       1,
		key("kafka_consumergroup_assigned_partitions", "consumergroup", "assign-two", "topic", "assign-three"):   3,
		key("kafka_consumergroup_unassigned_partitions", "consumergroup", "assign-two", "topic", "assign-three"): notWritten,
		key("kafka_consumergroup_idle_members", "consumergroup", "assign-two"):                                   notWritten,
		// Assigned but nothing committed yet.
		key("kafka_consumergroup_partition_status", "consumergroup", "assign-two", "topic", "assign-three", "partition", "0", "status", "no_commit"): 1,
	}))
}

func TestFourConsumersOnThreePartitionsLeaveOneMemberIdle(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	kafkatest.CreateTopic(t, addr, "assign-crowded", 3, nil)
	for range 4 {
		joinClassicGroup(t, addr, "assign-four", "assign-crowded", nil)
	}
	p, metrics := newTestPoller(t, addr, collector.Filters{})
	pollUntil(t, p, metrics, "four members on three partitions", expect(map[string]float64{
		key("kafka_consumergroup_members", "consumergroup", "assign-four"):                                        4,
		key("kafka_consumergroup_assigned_partitions", "consumergroup", "assign-four", "topic", "assign-crowded"): 3,
		key("kafka_consumergroup_idle_members", "consumergroup", "assign-four"):                                   1,
	}))
}

func TestGroupWhoseMembersLeftIsEmptyAndHasNoUnassignedPartitions(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	kafkatest.CreateTopic(t, addr, "assign-left", 3, nil)
	kafkatest.Produce(t, addr, "assign-left", 0, 4)
	leave := joinClassicGroup(t, addr, "assign-gone", "assign-left", nil)
	p, metrics := newTestPoller(t, addr, collector.Filters{})
	pollUntil(t, p, metrics, "the member joined", expect(map[string]float64{
		key("kafka_consumergroup_members", "consumergroup", "assign-gone"): 1,
	}))
	leave()
	kafkatest.CommitOffsets(t, addr, "assign-gone", map[string]map[int32]int64{"assign-left": {0: 1}})

	pollUntil(t, p, metrics, "the group is empty", expect(map[string]float64{
		key("kafka_consumergroup_members", "consumergroup", "assign-gone"):                                                                         0,
		key("kafka_consumergroup_state", "consumergroup", "assign-gone", "state", "Empty"):                                                         1,
		key("kafka_consumergroup_unassigned_partitions", "consumergroup", "assign-gone", "topic", "assign-left"):                                   notWritten,
		key("kafka_consumergroup_lag", "consumergroup", "assign-gone", "topic", "assign-left", "partition", "0"):                                   3,
		key("kafka_consumergroup_partition_status", "consumergroup", "assign-gone", "topic", "assign-left", "partition", "0", "status", "stopped"): 1,
	}))
}

// firstPartitionsOnly is a balance strategy that assigns its one member
// only partitions 0 and 1 of each topic: a stand-in for a broken custom
// assignor that orphans partitions.
type firstPartitionsOnly struct{}

func (firstPartitionsOnly) Name() string { return "first-partitions-only" }

func (firstPartitionsOnly) Plan(members map[string]sarama.ConsumerGroupMemberMetadata, topics map[string][]int32) (sarama.BalanceStrategyPlan, error) {
	plan := sarama.BalanceStrategyPlan{}
	for id := range members {
		for topic, partitions := range topics {
			for _, p := range partitions {
				if p < 2 {
					plan.Add(id, topic, p)
				}
			}
		}
		break
	}
	return plan, nil
}

func (firstPartitionsOnly) AssignmentData(string, map[string][]int32, int32) ([]byte, error) {
	return nil, nil
}

func TestPartitionsNoMemberIsAssignedAreUnassignedWhileTheGroupHasMembers(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	kafkatest.CreateTopic(t, addr, "assign-orphans", 3, nil)
	joinClassicGroup(t, addr, "assign-partial", "assign-orphans", firstPartitionsOnly{})
	p, metrics := newTestPoller(t, addr, collector.Filters{})
	pollUntil(t, p, metrics, "partition 2 orphaned", expect(map[string]float64{
		key("kafka_consumergroup_assigned_partitions", "consumergroup", "assign-partial", "topic", "assign-orphans"):   2,
		key("kafka_consumergroup_unassigned_partitions", "consumergroup", "assign-partial", "topic", "assign-orphans"): 1,
	}))
}

func TestUnderMinISRWhenMinInsyncReplicasExceedsTheInSyncReplicas(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	two := "2"
	kafkatest.CreateTopic(t, addr, "health-strict", 1, map[string]*string{"min.insync.replicas": &two})
	kafkatest.CreateTopic(t, addr, "health-relaxed", 1, nil)
	p, metrics := newTestPoller(t, addr, collector.Filters{})
	pollUntil(t, p, metrics, "min ISR", expect(map[string]float64{
		key("kafka_topic_partition_under_min_isr", "topic", "health-strict", "partition", "0"):  1,
		key("kafka_topic_partition_under_min_isr", "topic", "health-relaxed", "partition", "0"): notWritten,
		key("kafka_topic_config_min_insync_replicas", "topic", "health-strict"):                 2,
		key("kafka_topic_partition_offline", "topic", "health-strict", "partition", "0"):        notWritten,
	}))
}

func TestDeadLetterTopicIsMarked(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	kafkatest.CreateTopic(t, addr, "orders-dlq", 1, nil)
	kafkatest.CreateTopic(t, addr, "orders-live", 1, nil)
	dlq, err := collector.Anchored(`(?i).*(\.DLT|-dlq|\.dlq|_dlq|-dead-letter|\.deadletter)`)
	if err != nil {
		t.Fatal(err)
	}
	p, err := collector.NewPoller(collector.Config{Servers: []string{addr}, DeadLetter: dlq, PollInterval: time.Second, RequestTimeout: waitfor.Scaled(time.Second), Lag: lagcalc.Settings{Window: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	s := pollUntil(t, p, newMetricsHandler(p, exporter.Options{}), "dead-letter mark", expect(map[string]float64{
		key("kafka_topic_dead_letter", "topic", "orders-dlq"): 1,
	}))
	if s.Has("kafka_topic_dead_letter", "topic", "orders-live") {
		t.Errorf("orders-live is not a dead-letter topic")
	}
}

func TestConsumerProtocolGroupIsDescribedAndItsLagIsRight(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	kafkatest.CreateTopic(t, addr, "kip848-topic", 2, nil)
	kafkatest.Produce(t, addr, "kip848-topic", 0, 10)
	kafkatest.Produce(t, addr, "kip848-topic", 1, 6)

	// franz-go speaks the Kafka 4 consumer protocol (KIP-848) where the
	// broker assigns partitions; sarama speaks only the classic one.
	client, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.ConsumerGroup("kip848-group"),
		kgo.ConsumeTopics("kip848-topic"),
		kgo.ServerSideBalancer(),
		kgo.Balancers(kgo.RangeBalancer()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Consume 5 records of partition 0 and commit them; leave the rest.
		committed := false
		for ctx.Err() == nil {
			fetches := client.PollRecords(ctx, 5)
			if committed {
				continue
			}
			var first []*kgo.Record
			fetches.EachRecord(func(r *kgo.Record) {
				if r.Partition == 0 && r.Offset < 5 {
					first = append(first, r)
				}
			})
			if len(first) > 0 && first[len(first)-1].Offset == 4 {
				if err := client.CommitRecords(ctx, first[len(first)-1]); err == nil {
					committed = true
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done; client.Close() })

	p, metrics := newTestPoller(t, addr, collector.Filters{})
	pollUntil(t, p, metrics, "consumer-protocol group described with lag", expect(map[string]float64{
		key("kafka_consumergroup_members", "consumergroup", "kip848-group"):                                        1,
		key("kafka_consumergroup_state", "consumergroup", "kip848-group", "state", "Stable"):                       1,
		key("kafka_consumergroup_assigned_partitions", "consumergroup", "kip848-group", "topic", "kip848-topic"):   2,
		key("kafka_consumergroup_idle_members", "consumergroup", "kip848-group"):                                   notWritten,
		key("kafka_consumergroup_lag", "consumergroup", "kip848-group", "topic", "kip848-topic", "partition", "0"): 5,
	}))
}
