package collector_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// Share groups (KIP-932) and streams groups (KIP-1071) on the real broker:
// both are on by default on a freshly formatted Kafka 4.3.1.

// shareStallAfter is --lag.stall-after in these tests, on the simulated
// clock that advances 15 s per poll.
const shareStallAfter = 45 * time.Second

// newSharePoller polls addr on a simulated clock that the returned
// function advances by one 15 s poll interval.
func newSharePoller(t *testing.T, addr string) (*collector.Poller, func() time.Time) {
	t.Helper()
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).UnixNano())
	p, err := collector.NewPoller(collector.Config{
		Servers: []string{addr}, PollInterval: 15 * time.Second,
		Lag: lagcalc.Settings{Window: 10 * time.Minute, StallAfter: shareStallAfter},
		Now: func() time.Time { return time.Unix(0, now.Load()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, func() time.Time { return time.Unix(0, now.Add(int64(15*time.Second))) }
}

// pollShareUntil polls (advancing the clock each time) until check accepts
// the snapshot's share group, failing after 60 s of real time (times
// LAGWATCH_TEST_SLOWDOWN).
func pollShareUntil(t *testing.T, p *collector.Poller, tick func() time.Time, group, what string, check func(*collector.ShareGroup) error) *collector.ShareGroup {
	t.Helper()
	deadline := time.Now().Add(waitfor.Scaled(60 * time.Second))
	for {
		ctx, cancel := context.WithTimeout(context.Background(), waitfor.Scaled(30*time.Second))
		err := p.PollOnce(ctx)
		cancel()
		var g *collector.ShareGroup
		if err == nil {
			g = shareGroupIn(p.Snapshot(), group)
			if g == nil {
				err = fmt.Errorf("share group %q not in the snapshot", group)
			} else {
				err = check(g)
			}
		}
		if err == nil {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		tick()
		time.Sleep(100 * time.Millisecond)
	}
}

func shareGroupIn(s *collector.Snapshot, name string) *collector.ShareGroup {
	for i := range s.ShareGroups {
		if s.ShareGroups[i].Name == name {
			return &s.ShareGroups[i]
		}
	}
	return nil
}

// produceValues writes one record per value to partition 0 of topic.
func produceValues(t *testing.T, addr, topic string, values ...string) {
	t.Helper()
	cl := kafkatest.NewKgo(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var rs []*kgo.Record
	for _, v := range values {
		rs = append(rs, &kgo.Record{Topic: topic, Partition: 0, Value: []byte(v)})
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// kafkaShareOffsets is what Kafka's own admin API reports for the group.
func kafkaShareOffsets(t *testing.T, addr, group string) kadm.ShareOffsets {
	t.Helper()
	got, err := kafkatest.NewKadm(t, addr).DescribeShareGroupOffsets(context.Background(), group)
	if err != nil {
		t.Fatalf("kadm: describe share-group offsets of %s: %v", group, err)
	}
	if err := got[group].Err; err != nil {
		t.Fatalf("kadm: describe share-group offsets of %s: %v", group, err)
	}
	return got[group].Offsets
}

// sameAsKafka checks lagwatch's start offsets and lags against kadm's
// answer for the same group, read right after the poll.
func sameAsKafka(t *testing.T, addr string, g *collector.ShareGroup) {
	t.Helper()
	want := kafkaShareOffsets(t, addr, g.Name)
	if !g.LagReported {
		t.Errorf("%s: lag computed, want Kafka's (DescribeShareGroupOffsets v1 on 4.3.1)", g.Name)
	}
	n := 0
	for _, ps := range want {
		n += len(ps)
	}
	if n != len(g.Partitions) {
		t.Errorf("%s: lagwatch has %d share-partitions, Kafka %d", g.Name, len(g.Partitions), n)
	}
	for _, sp := range g.Partitions {
		o, ok := want.Lookup(sp.Topic, sp.Partition)
		if !ok || o.StartOffset != sp.StartOffset || o.Lag != sp.Lag {
			t.Errorf("%s %s/%d: lagwatch start %d lag %d, Kafka %+v (present %v)", g.Name, sp.Topic, sp.Partition, sp.StartOffset, sp.Lag, o, ok)
		}
	}
}

func partitionOf(g *collector.ShareGroup, topic string, partition int32) *collector.SharePartition {
	for i := range g.Partitions {
		if sp := &g.Partitions[i]; sp.Topic == topic && sp.Partition == partition {
			return sp
		}
	}
	return nil
}

func TestSharePoisonRecordIsArchivedAfterDeliveryLimitAndGroupMovesOnOK(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	const topic, group = "share-poison", "share-poison-q"
	kafkatest.CreateTopic(t, addr, topic, 1, nil)
	kafkatest.ShareFromEarliest(t, addr, group)
	produceValues(t, addr, topic, "a", "b", "c", "poison", "d", "e", "f", "g", "h", "i")

	var poisonDeliveries atomic.Int32
	// Both members fail on the poison record and release it for
	// redelivery; everything else they accept.
	handle := func(cl *kgo.Client, rs []*kgo.Record) {
		for _, r := range rs {
			if string(r.Value) == "poison" {
				poisonDeliveries.Add(1)
				cl.MarkAcks(kgo.AckRelease, r)
			} else {
				cl.MarkAcks(kgo.AckAccept, r)
			}
		}
	}
	kafkatest.ShareConsumer(t, addr, group, topic, handle)
	kafkatest.ShareConsumer(t, addr, group, topic, handle)

	p, tick := newSharePoller(t, addr)
	g := pollShareUntil(t, p, tick, group, "the poison record archived and everything else acknowledged", func(g *collector.ShareGroup) error {
		// Kafka's start offset can stay behind acknowledged records (here
		// at the poison record's offset after it was archived): lag 0 is
		// what says all is done.
		sp := partitionOf(g, topic, 0)
		if sp == nil || sp.Lag != 0 || poisonDeliveries.Load() < 5 || len(g.Members) != 2 {
			return fmt.Errorf("partition %+v, %d members, poison delivered %d times; want lag 0, 2 members, 5 deliveries", sp, len(g.Members), poisonDeliveries.Load())
		}
		return nil
	})
	// share.delivery.count.limit is 5 by default: the fifth release
	// archives the record.
	if n := poisonDeliveries.Load(); n != 5 {
		t.Errorf("the poison record was delivered %d times, want 5 (share.delivery.count.limit)", n)
	}
	sameAsKafka(t, addr, g)
	tick()
	pollOnce(t, p)
	g = shareGroupIn(p.Snapshot(), group)
	if sp := partitionOf(g, topic, 0); sp.Status != lagcalc.StatusOK || g.Status != lagcalc.StatusOK {
		t.Errorf("status %v (group %v), want ok", sp.Status, g.Status)
	}
	if len(g.Topics) != 1 || g.Topics[0] != (collector.GroupTopic{Topic: topic, Assigned: 1}) {
		t.Errorf("assignment %+v, want the one partition assigned (to both members)", g.Topics)
	}
}

func TestShareGroupWhoseConsumersStopAcknowledgingIsStalled(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	const topic, group = "share-stall", "share-stall-q"
	kafkatest.CreateTopic(t, addr, topic, 1, nil)
	kafkatest.ShareFromEarliest(t, addr, group)
	produceValues(t, addr, topic, "1", "2", "3", "4", "5", "6", "7", "8")

	// The member takes its first records and hangs on them: it stays in
	// the group (the client heartbeats on its own) and acknowledges nothing.
	var hung sync.Once
	block := make(chan struct{})
	kafkatest.ShareConsumer(t, addr, group, topic, func(_ *kgo.Client, _ []*kgo.Record) {
		hung.Do(func() { <-block })
	})
	// Cleanups run last-registered first: unblock the member before it is
	// stopped.
	t.Cleanup(func() { close(block) })

	p, tick := newSharePoller(t, addr)
	pollShareUntil(t, p, tick, group, "the member holding records", func(g *collector.ShareGroup) error {
		if sp := partitionOf(g, topic, 0); sp == nil || sp.Lag != 8 || sp.StartOffset != 0 || len(g.Members) != 1 {
			return fmt.Errorf("partition %+v, %d members; want start offset 0, lag 8, 1 member", sp, len(g.Members))
		}
		return nil
	})
	g := pollShareUntil(t, p, tick, group, "stalled", func(g *collector.ShareGroup) error {
		if sp := partitionOf(g, topic, 0); sp.Status != lagcalc.StatusStalled {
			return fmt.Errorf("status %v, want stalled", sp.Status)
		}
		return nil
	})
	if g.Status != lagcalc.StatusStalled {
		t.Errorf("group status %v, want stalled", g.Status)
	}
	sameAsKafka(t, addr, g)
}

func TestShareGroupWithNoMembersAndABacklogIsStopped(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	const topic, group = "share-stop", "share-stop-q"
	kafkatest.CreateTopic(t, addr, topic, 1, nil)
	kafkatest.ShareFromEarliest(t, addr, group)
	produceValues(t, addr, topic, "1", "2", "3")

	var accepted atomic.Int32
	stop := kafkatest.ShareConsumer(t, addr, group, topic, func(cl *kgo.Client, rs []*kgo.Record) {
		cl.MarkAcks(kgo.AckAccept, rs...)
		if err := cl.FlushAcks(context.Background()); err == nil {
			accepted.Add(int32(len(rs)))
		}
	})
	p, tick := newSharePoller(t, addr)
	pollShareUntil(t, p, tick, group, "the first records acknowledged", func(g *collector.ShareGroup) error {
		if sp := partitionOf(g, topic, 0); sp == nil || sp.StartOffset < 0 || sp.Lag != 0 || accepted.Load() != 3 {
			return fmt.Errorf("partition %+v, %d records accepted; want lag 0, 3 accepted", sp, accepted.Load())
		}
		return nil
	})
	stop()
	produceValues(t, addr, topic, "4", "5", "6", "7", "8")

	g := pollShareUntil(t, p, tick, group, "stopped", func(g *collector.ShareGroup) error {
		sp := partitionOf(g, topic, 0)
		if len(g.Members) != 0 || sp.Lag != 5 || sp.Status != lagcalc.StatusStopped {
			return fmt.Errorf("%d members, partition %+v; want none, lag 5, stopped", len(g.Members), sp)
		}
		return nil
	})
	if g.Status != lagcalc.StatusStopped || g.State != "Empty" {
		t.Errorf("group status %v, state %q; want stopped, Empty", g.Status, g.State)
	}
	sameAsKafka(t, addr, g)
	start := float64(partitionOf(g, topic, 0).StartOffset)

	// The scrape carries the share-group families, apart from the
	// consumer groups'.
	s := scrape(t, newMetricsHandler(p, exporter.Options{}))
	for k, v := range map[string]float64{
		key("kafka_consumergroup_info", "consumergroup", group, "type", "share"):                                                1,
		key("kafka_sharegroup_members", "consumergroup", group):                                                                 0,
		key("kafka_sharegroup_state", "consumergroup", group, "state", "Empty"):                                                 1,
		key("kafka_sharegroup_status", "consumergroup", group, "status", "stopped"):                                             1,
		key("kafka_sharegroup_lag", "consumergroup", group, "topic", topic, "partition", "0"):                                   5,
		key("kafka_sharegroup_start_offset", "consumergroup", group, "topic", topic, "partition", "0"):                          start,
		key("kafka_sharegroup_lag_sum", "consumergroup", group, "topic", topic):                                                 5,
		key("kafka_sharegroup_partition_status", "consumergroup", group, "topic", topic, "partition", "0", "status", "stopped"): 1,
	} {
		if got, ok := s[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if _, ok := s[key("kafka_consumergroup_members", "consumergroup", group)]; ok {
		t.Errorf("the share group has consumer-group series")
	}
}

// streamsMember is a streams-group member speaking the KIP-1071 protocol
// directly: StreamsGroupHeartbeat with a one-subtopology topology reading
// topic, as a Kafka Streams application of one stateless processor does.
type streamsMember struct {
	cl             *kgo.Client
	group, topic   string
	id             string
	epoch          int32
	active         []kmsg.TaskIDs
	heartbeatEvery time.Duration
}

func (m *streamsMember) heartbeat(ctx context.Context, first bool) error {
	req := kmsg.NewPtrStreamsGroupHeartbeatRequest()
	req.Group, req.MemberID, req.MemberEpoch = m.group, m.id, m.epoch
	req.RebalanceTimeoutMillis = 30000
	if first {
		st := kmsg.NewStreamsGroupHeartbeatRequestTopologySubtopology()
		st.SubtopologyID, st.SourceTopics = "0", []string{m.topic}
		req.Topology = &kmsg.StreamsGroupHeartbeatRequestTopology{Epoch: 0, Subtopologies: []kmsg.StreamsGroupHeartbeatRequestTopologySubtopology{st}}
		req.ProcessID = kmsg.StringPtr("11111111-2222-3333-4444-555555555555")
		req.ActiveTasks, req.StandbyTasks, req.WarmupTasks = []kmsg.TaskIDs{}, []kmsg.TaskIDs{}, []kmsg.TaskIDs{}
	} else {
		req.ActiveTasks, req.StandbyTasks, req.WarmupTasks = m.active, []kmsg.TaskIDs{}, []kmsg.TaskIDs{}
	}
	// franz-go does not route the streams-group APIs to the coordinator:
	// the one broker is it.
	resp, err := req.RequestWith(ctx, m.cl.SeedBrokers()[0])
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		msg := ""
		if resp.ErrorMessage != nil {
			msg = *resp.ErrorMessage
		}
		return fmt.Errorf("%w: %s", err, msg)
	}
	m.epoch = resp.MemberEpoch
	if resp.ActiveTasks != nil {
		m.active = resp.ActiveTasks
	}
	if resp.HeartbeatIntervalMillis > 0 {
		m.heartbeatEvery = time.Duration(resp.HeartbeatIntervalMillis) * time.Millisecond
	}
	return nil
}

// joinStreamsGroup starts a streams-group member on topic that heartbeats
// until the test ends, and returns it once the broker assigned it tasks.
func joinStreamsGroup(t *testing.T, addr, group, topic string) *streamsMember {
	t.Helper()
	// franz-go's stable versions leave the streams-group APIs out.
	versions := kversion.Stable()
	versions.SetMaxKeyVersion(kmsg.NewPtrStreamsGroupHeartbeatRequest().Key(), 0)
	// OffsetCommit v10 names topics by id only.
	versions.SetMaxKeyVersion(kmsg.NewPtrOffsetCommitRequest().Key(), 9)
	m := &streamsMember{cl: kafkatest.NewKgo(t, addr, kgo.MaxVersions(versions)), group: group, topic: topic, id: "streams-member-" + group, heartbeatEvery: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	// Kafka creates its offsets topic on the first FindCoordinator, which a
	// streams member does not send to a single broker; the coordinator may
	// then still be loading its partition of it.
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey, fc.CoordinatorKeys = group, []string{group}
	if _, err := fc.RequestWith(ctx, m.cl); err != nil {
		cancel()
		t.Fatalf("find coordinator of %s: %v", group, err)
	}
	for deadline := time.Now().Add(waitfor.Scaled(30 * time.Second)); ; time.Sleep(200 * time.Millisecond) {
		err := m.heartbeat(ctx, true)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || !(errors.Is(err, kerr.NotCoordinator) || errors.Is(err, kerr.CoordinatorLoadInProgress) || errors.Is(err, kerr.CoordinatorNotAvailable)) {
			cancel()
			t.Fatalf("join streams group %s: %v", group, err)
		}
	}
	var mu sync.Mutex
	assigned := make(chan struct{})
	var once sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			mu.Lock()
			err := m.heartbeat(ctx, false)
			n := len(m.active)
			mu.Unlock()
			if err == nil && n > 0 {
				once.Do(func() { close(assigned) })
			}
			select {
			case <-ctx.Done():
			case <-time.After(min(m.heartbeatEvery, 500*time.Millisecond)):
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		m.epoch = -1 // leave the group
		leaveCtx, cancelLeave := context.WithTimeout(context.Background(), waitfor.Scaled(5*time.Second))
		defer cancelLeave()
		_ = m.heartbeat(leaveCtx, false)
	})
	select {
	case <-assigned:
	case <-time.After(waitfor.Scaled(30 * time.Second)):
		t.Fatalf("streams group %s: no tasks assigned within %s", group, waitfor.Scaled(30*time.Second))
	}
	mu.Lock()
	defer mu.Unlock()
	return &streamsMember{cl: m.cl, id: m.id, epoch: m.epoch}
}

func TestStreamsGroupMembersTasksAndAssignmentAreReportedWithItsLag(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	const topic, group = "streams-in", "streams-app"
	kafkatest.CreateTopic(t, addr, topic, 2, nil)
	kafkatest.Produce(t, addr, topic, 0, 6)
	m := joinStreamsGroup(t, addr, group, topic)

	// The member commits its position on partition 0, as Streams does, under
	// its member epoch.
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.MemberID, commit.Generation = group, m.id, m.epoch
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic = topic
	cp := kmsg.NewOffsetCommitRequestTopicPartition()
	cp.Partition, cp.Offset = 0, 4
	ct.Partitions = append(ct.Partitions, cp)
	commit.Topics = append(commit.Topics, ct)
	resp, err := commit.RequestWith(context.Background(), m.cl)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode); err != nil {
		t.Fatalf("commit: %v", err)
	}

	p, metrics := newTestPoller(t, addr, collector.Filters{})
	pollUntil(t, p, metrics, "the streams group described", expect(map[string]float64{
		key("kafka_consumergroup_info", "consumergroup", group, "type", "streams"):                          1,
		key("kafka_consumergroup_members", "consumergroup", group):                                          1,
		key("kafka_consumergroup_state", "consumergroup", group, "state", "Stable"):                         1,
		key("kafka_consumergroup_assigned_partitions", "consumergroup", group, "topic", topic):              2,
		key("kafka_streamsgroup_tasks", "consumergroup", group, "kind", "active"):                           2,
		key("kafka_streamsgroup_tasks", "consumergroup", group, "kind", "standby"):                          0,
		key("kafka_consumergroup_lag", "consumergroup", group, "topic", topic, "partition", "0"):            2,
		key("kafka_consumergroup_current_offset", "consumergroup", group, "topic", topic, "partition", "0"): 4,
		// Assigned, never committed.
		key("kafka_consumergroup_partition_status", "consumergroup", group, "topic", topic, "partition", "1", "status", "no_commit"): 1,
	}))
}

func TestRequestsPerPollWithShareAndStreamsGroupsAreOnePerCoordinator(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	const topic = "share-count"
	kafkatest.CreateTopic(t, addr, topic, 1, nil)
	for i := range 3 {
		group := "share-count-" + strconv.Itoa(i)
		kafkatest.ShareFromEarliest(t, addr, group)
		kafkatest.ShareConsumer(t, addr, group, topic, func(cl *kgo.Client, rs []*kgo.Record) {})
	}
	p, tick := newSharePoller(t, addr)
	for i := range 3 {
		pollShareUntil(t, p, tick, "share-count-"+strconv.Itoa(i), "described", func(g *collector.ShareGroup) error {
			if !g.Described || len(g.Members) != 1 {
				return fmt.Errorf("described %v, %d members", g.Described, len(g.Members))
			}
			return nil
		})
	}
	before := p.Health().Requests
	// Counted whatever the poll's outcome: a freshly created internal
	// topic may still fail a ListOffsets, which changes no count.
	_ = p.PollOnce(context.Background())
	after := p.Health().Requests
	for _, api := range []string{"ShareGroupDescribe", "DescribeShareGroupOffsets", "ListGroups"} {
		if n := after[api] - before[api]; n != 1 {
			t.Errorf("%s: %d requests in one poll, want 1 (one broker)", api, n)
		}
	}
	if n := after["ApiVersions"] - before["ApiVersions"]; n != 0 {
		t.Errorf("ApiVersions: %d requests in a poll on open connections, want 0", n)
	}
}
