package collector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lagwatch/lagwatch/internal/waitfor"
	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// Fault shapes of a three-broker cluster that a single real broker cannot
// take: one broker failing one kind of request while the others answer, and
// brokers answering values a healthy Kafka never sends. kfake, franz-go's
// in-process Kafka, plays the cluster; its request controls fail or rewrite
// the requests of the one broker chosen (CurrentNode says which broker a
// request reached).

const faultTimeout = 30 * time.Second

// faultCluster is an in-process kfake cluster of three brokers, ids 0, 1
// and 2, with a franz-go client to set it up.
type faultCluster struct {
	t   *testing.T
	c   *kfake.Cluster
	cl  *kgo.Client
	adm *kadm.Client
}

func newFaultCluster(t *testing.T) *faultCluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(c.ListenAddrs()...),
		// Records go to the partition they name.
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)
	if err != nil {
		t.Fatalf("kgo client: %v", err)
	}
	t.Cleanup(cl.Close)
	return &faultCluster{t: t, c: c, cl: cl, adm: kadm.NewClient(cl)}
}

// faultContext bounds one set-up call to the cluster.
func faultContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
	t.Cleanup(cancel)
	return ctx
}

// topic creates a topic with one partition per entry of leaders, led by
// that broker, with replication factor rf, and writes records messages to
// every partition, so each partition's log end is records.
func (fc *faultCluster) topic(name string, leaders []int32, rf int16, records int) {
	fc.t.Helper()
	ctx := faultContext(fc.t)
	resp, err := fc.adm.CreateTopic(ctx, int32(len(leaders)), rf, nil, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		fc.t.Fatalf("create topic %s: %v", name, err)
	}
	for p, leader := range leaders {
		if err := fc.c.MoveTopicPartition(name, int32(p), leader); err != nil {
			fc.t.Fatalf("move %s/%d to broker %d: %v", name, p, leader, err)
		}
	}
	var rs []*kgo.Record
	for p := range leaders {
		for i := range records {
			rs = append(rs, &kgo.Record{Topic: name, Partition: int32(p), Value: fmt.Appendf(nil, "%d", i)})
		}
	}
	if err := fc.cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		fc.t.Fatalf("produce to %s: %v", name, err)
	}
}

// commit commits offsets (partition → offset) of topic for group.
func (fc *faultCluster) commit(group, topic string, offsets map[int32]int64) {
	fc.t.Helper()
	var offs kadm.Offsets
	for p, at := range offsets {
		offs.Add(kadm.Offset{Topic: topic, Partition: p, At: at, LeaderEpoch: -1})
	}
	if err := fc.adm.CommitAllOffsets(faultContext(fc.t), group, offs); err != nil {
		fc.t.Fatalf("commit offsets of %s: %v", group, err)
	}
}

// groupsOnEveryBroker commits offsets for n groups named prefix-00.. and
// returns each group's coordinator, failing when some broker coordinates
// none of them (kfake hashes the name; other names would then be needed).
func (fc *faultCluster) groupsOnEveryBroker(prefix string, n int, topic string, offsets map[int32]int64) map[string]int32 {
	fc.t.Helper()
	coordinators := map[string]int32{}
	perBroker := map[int32]int{}
	for i := range n {
		g := fmt.Sprintf("%s-%02d", prefix, i)
		fc.commit(g, topic, offsets)
		coordinators[g] = fc.c.CoordinatorFor(g)
		perBroker[coordinators[g]]++
	}
	for _, b := range []int32{0, 1, 2} {
		if perBroker[b] == 0 {
			fc.t.Fatalf("no group of %d is coordinated by broker %d: %v", n, b, coordinators)
		}
	}
	return coordinators
}

// poller polls the cluster, counting its errors in the registry returned.
// Nothing stands in for a part that fails (StaleAfter is 1ns, so every
// last answer is too old), so each test sees what one poll's answers
// give; TestAFailedPartReadsAsOfItsLastAnswerUntilStale covers the
// stand-in.
func (fc *faultCluster) poller() *Poller {
	fc.t.Helper()
	return fc.pollerWith(Config{StaleAfter: time.Nanosecond})
}

// pollerWith is poller with cfg's StaleAfter and Now.
func (fc *faultCluster) pollerWith(cfg Config) *Poller {
	fc.t.Helper()
	conf := kafka.NewSaramaConfig()
	conf.Net.DialTimeout = 5 * time.Second
	conf.Net.ReadTimeout = 10 * time.Second
	p, err := NewPoller(Config{
		Servers:      fc.c.ListenAddrs(),
		Kafka:        kafka.WrapSarama(conf),
		PollInterval: time.Second,
		// The default (a second at this interval), stretched on a machine
		// declared slower: these tests need complete polls.
		RequestTimeout: waitfor.Scaled(time.Second),
		Lag:            lagcalc.Settings{Window: time.Minute},
		StaleAfter:     cfg.StaleAfter,
		Now:            cfg.Now,
	})
	if err != nil {
		fc.t.Fatalf("new poller: %v", err)
	}
	fc.t.Cleanup(p.Close)
	return p
}

// pollSnapshot polls once and returns the poll's error with the snapshot it
// published, failing the test when it published none (the last snapshot
// would then be the previous poll's).
func pollSnapshot(t *testing.T, p *Poller) (*Snapshot, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
	defer cancel()
	previous := p.Snapshot()
	err := p.PollOnce(ctx)
	snap := p.Snapshot()
	if snap == nil || snap == previous {
		t.Fatalf("the poll published no snapshot; poll error: %v", err)
	}
	checkSnapshotNumbers(t, snap)
	return snap, err
}

// pollComplete polls once and fails the test unless every stage succeeded.
func pollComplete(t *testing.T, p *Poller) *Snapshot {
	t.Helper()
	snap, err := pollSnapshot(t, p)
	if err != nil || !snap.Complete {
		t.Fatalf("poll not complete (complete=%v): %v", snap.Complete, err)
	}
	return snap
}

// pollErrors reads the poller's count of failed polls for every stage.
func pollErrors(t *testing.T, p *Poller) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for stage, n := range p.Health().PollErrors {
		out[stage] = float64(n)
	}
	if len(out) == 0 {
		t.Fatalf("the poller counts no stage's errors")
	}
	return out
}

// checkErrorsCounted fails unless, between two readings of the poll-error
// counters, exactly the stages in failed went up, each by one.
func checkErrorsCounted(t *testing.T, before, after map[string]float64, failed ...string) {
	t.Helper()
	for stage, n := range after {
		want := before[stage]
		if slices.Contains(failed, stage) {
			want++
		}
		if n != want {
			t.Errorf("lagwatch_poll_errors_total{stage=%q} went from %v to %v, want %v", stage, before[stage], n, want)
		}
	}
}

// checkSnapshotNumbers fails on any number in the snapshot that is
// negative, NaN or infinite, whatever Kafka answered: the exporter filters
// such values, but they are the collector's bugs.
func checkSnapshotNumbers(t *testing.T, snap *Snapshot) {
	t.Helper()
	bad := func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) || x < 0 }
	for _, tp := range snap.Topics {
		for _, part := range tp.Partitions {
			if part.HasOffsets && (part.LogStart < 0 || part.LogEnd < 0) {
				t.Errorf("%s/%d: log offsets %d..%d", tp.Name, part.ID, part.LogStart, part.LogEnd)
			}
			if bad(part.ProduceRate) {
				t.Errorf("%s/%d: produce rate %v", tp.Name, part.ID, part.ProduceRate)
			}
		}
	}
	for _, g := range snap.Groups {
		if bad(g.MaxLagSeconds) {
			t.Errorf("group %s: max lag seconds %v", g.Name, g.MaxLagSeconds)
		}
		for _, gp := range g.Partitions {
			e := gp.Eval
			where := fmt.Sprintf("group %s %s/%d", g.Name, gp.Topic, gp.Partition)
			if e.Lag < 0 || e.ExpiredMessages < 0 {
				t.Errorf("%s: lag %d, expired %d", where, e.Lag, e.ExpiredMessages)
			}
			for name, x := range map[string]float64{
				"lag seconds": e.LagSeconds, "consume rate": e.ConsumeRate,
				"time to drain": e.TimeToDrainSeconds, "retention headroom": e.RetentionHeadroomSeconds,
			} {
				if bad(x) {
					t.Errorf("%s: %s %v", where, name, x)
				}
			}
			if e.HasLag && !gp.HasCommit() {
				t.Errorf("%s: lag without a committed offset (%d)", where, gp.Committed)
			}
		}
	}
}

func findPartition(t *testing.T, snap *Snapshot, topic string, id int32) Partition {
	t.Helper()
	for _, tp := range snap.Topics {
		if tp.Name != topic {
			continue
		}
		for _, part := range tp.Partitions {
			if part.ID == id {
				return part
			}
		}
	}
	t.Fatalf("partition %s/%d is not in the snapshot", topic, id)
	return Partition{}
}

func findGroup(t *testing.T, snap *Snapshot, name string) Group {
	t.Helper()
	for _, g := range snap.Groups {
		if g.Name == name {
			return g
		}
	}
	t.Fatalf("group %s is not in the snapshot", name)
	return Group{}
}

// groupPartition returns the group's entry for topic/partition, if any.
func groupPartition(g Group, topic string, partition int32) (GroupPartition, bool) {
	for _, gp := range g.Partitions {
		if gp.Topic == topic && gp.Partition == partition {
			return gp, true
		}
	}
	return GroupPartition{}, false
}

// checkLag fails unless the group committed committed on every partition
// of topic listed in partitions and has the given lag there.
func checkLag(t *testing.T, g Group, topic string, partitions []int32, committed, lag int64) {
	t.Helper()
	for _, p := range partitions {
		gp, ok := groupPartition(g, topic, p)
		switch {
		case !ok:
			t.Errorf("group %s: %s/%d is missing", g.Name, topic, p)
		case gp.Committed != committed || !gp.Eval.HasLag || gp.Eval.Lag != lag:
			t.Errorf("group %s %s/%d: committed %d, has lag %v, lag %d; want committed %d, lag %d",
				g.Name, topic, p, gp.Committed, gp.Eval.HasLag, gp.Eval.Lag, committed, lag)
		}
	}
}

// checkCommitWithoutLag fails unless the group keeps its committed offset
// on topic/partition but has no lag there: its log end is unknown.
func checkCommitWithoutLag(t *testing.T, g Group, topic string, partition int32, committed int64) {
	t.Helper()
	gp, ok := groupPartition(g, topic, partition)
	switch {
	case !ok:
		t.Errorf("group %s: %s/%d is missing; want its commit without lag", g.Name, topic, partition)
	case gp.Committed != committed || gp.Eval.HasLag:
		t.Errorf("group %s %s/%d: committed %d, lag %d (has lag %v); want committed %d without lag",
			g.Name, topic, partition, gp.Committed, gp.Eval.Lag, gp.Eval.HasLag, committed)
	}
}

// allBrokers makes a control apply to requests whichever broker they reach.
const allBrokers = int32(-1)

// intercept answers every request of key that reaches broker node (or any
// broker) with answer, until the returned function is called; then those
// requests reach kfake again. answer returns the response to send, or an
// error to make kfake close the client's connection.
func (fc *faultCluster) intercept(key kmsg.Key, node int32, answer func(kmsg.Request) (kmsg.Response, error)) (stop func()) {
	var on atomic.Bool
	on.Store(true)
	fc.c.ControlKey(key.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if !on.Load() {
			fc.c.DropControl()
			return nil, nil, false
		}
		// Handling a request drops the control unless it is kept.
		fc.c.KeepControl()
		if node != allBrokers && fc.c.CurrentNode() != node {
			return nil, nil, false
		}
		resp, err := answer(req)
		return resp, err, true
	})
	return func() { on.Store(false) }
}

// closeConnection makes kfake close the connection a request came on, as
// a broker that crashes or restarts mid-request does.
func closeConnection(kmsg.Request) (kmsg.Response, error) {
	return nil, errors.New("connection closed by the test")
}

// offsetFetchError answers every group of an OffsetFetch with code.
func offsetFetchError(code int16) func(kmsg.Request) (kmsg.Response, error) {
	return func(r kmsg.Request) (kmsg.Response, error) {
		req := r.(*kmsg.OffsetFetchRequest)
		resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
		resp.ErrorCode = code // the top-level code of versions before 8
		for _, g := range req.Groups {
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group, rg.ErrorCode = g.Group, code
			resp.Groups = append(resp.Groups, rg)
		}
		return resp, nil
	}
}

// describeGroupsError answers every group of a DescribeGroups with code.
func describeGroupsError(code int16) func(kmsg.Request) (kmsg.Response, error) {
	return func(r kmsg.Request) (kmsg.Response, error) {
		req := r.(*kmsg.DescribeGroupsRequest)
		resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
		for _, name := range req.Groups {
			g := kmsg.NewDescribeGroupsResponseGroup()
			g.Group, g.ErrorCode = name, code
			resp.Groups = append(resp.Groups, g)
		}
		return resp, nil
	}
}

// listOffsetsAnswer answers a ListOffsets with what offset says of each
// partition asked for: an offset, or an error code. timestamp is -1 for the
// log end, -2 for the log start.
func listOffsetsAnswer(offset func(topic string, partition int32, timestamp int64) (int64, int16)) func(kmsg.Request) (kmsg.Response, error) {
	return func(r kmsg.Request) (kmsg.Response, error) {
		req := r.(*kmsg.ListOffsetsRequest)
		resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewListOffsetsResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewListOffsetsResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.Offset, sp.ErrorCode = offset(rt.Topic, rp.Partition, rp.Timestamp)
				sp.Timestamp = -1
				sp.LeaderEpoch = -1
				if sp.ErrorCode != 0 {
					sp.Offset = -1
				}
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil
	}
}

// offsetFetchAnswer answers an OffsetFetch from committed (group → topic →
// partition → offset); a group it does not name is unknown to the broker.
func offsetFetchAnswer(committed map[string]map[string]map[int32]int64) func(kmsg.Request) (kmsg.Response, error) {
	return func(r kmsg.Request) (kmsg.Response, error) {
		req := r.(*kmsg.OffsetFetchRequest)
		resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
		for _, rg := range req.Groups {
			sg := kmsg.NewOffsetFetchResponseGroup()
			sg.Group = rg.Group
			topics, ok := committed[rg.Group]
			if !ok {
				sg.ErrorCode = kerr.GroupIDNotFound.Code
			}
			for topic, parts := range topics {
				st := kmsg.NewOffsetFetchResponseGroupTopic()
				st.Topic = topic
				for p, at := range parts {
					sp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					sp.Partition, sp.Offset, sp.LeaderEpoch = p, at, -1
					st.Partitions = append(st.Partitions, sp)
				}
				sg.Topics = append(sg.Topics, st)
			}
			resp.Groups = append(resp.Groups, sg)
		}
		return resp, nil
	}
}

// metadataAnswer answers a Metadata request with base, a Metadata response
// kfake gave before, after edit changed each partition of it.
func metadataAnswer(base *kmsg.MetadataResponse, edit func(topic string, p *kmsg.MetadataResponseTopicPartition)) func(kmsg.Request) (kmsg.Response, error) {
	return func(r kmsg.Request) (kmsg.Response, error) {
		req := r.(*kmsg.MetadataRequest)
		resp := req.ResponseKind().(*kmsg.MetadataResponse)
		resp.Brokers = base.Brokers
		resp.ClusterID = base.ClusterID
		resp.ControllerID = base.ControllerID
		for _, bt := range base.Topics {
			st := bt
			st.Partitions = make([]kmsg.MetadataResponseTopicPartition, len(bt.Partitions))
			for i, bp := range bt.Partitions {
				sp := bp
				sp.Replicas, sp.ISR = slices.Clone(bp.Replicas), slices.Clone(bp.ISR)
				edit(*bt.Topic, &sp)
				st.Partitions[i] = sp
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil
	}
}

// metadata asks kfake for the metadata of every topic, for metadataAnswer
// to edit: a control cannot ask kfake itself while a request waits on it.
func (fc *faultCluster) metadata() *kmsg.MetadataResponse {
	fc.t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	resp, err := req.RequestWith(faultContext(fc.t), fc.cl)
	if err != nil {
		fc.t.Fatalf("metadata: %v", err)
	}
	return resp
}

// One group coordinator failing OffsetFetch costs the committed offsets of
// the groups it coordinates, and only those: groups of the other
// coordinators keep their offsets and lag, the failing coordinator's groups
// show no lag at all rather than a made-up one, the failure is counted, and
// the next poll after the coordinator recovers is complete again.
func TestOffsetFetchFailingOnOneCoordinatorCostsOnlyItsGroupsOffsets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(kmsg.Request) (kmsg.Response, error)
		// connectionLost is true when the whole connection to the failing
		// broker fails: whatever else was on it this poll may fail too.
		connectionLost bool
	}{
		{name: "answering COORDINATOR_LOAD_IN_PROGRESS", answer: offsetFetchError(kerr.CoordinatorLoadInProgress.Code)},
		{name: "closing the connection", answer: closeConnection, connectionLost: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const failing = int32(1)
			fc := newFaultCluster(t)
			// The topic is led by the brokers that keep working, so that a
			// lost connection to the failing one cannot cost log offsets.
			partitions := []int32{0, 1, 2}
			fc.topic("orders", []int32{0, 2, 0}, 1, 20)
			coordinators := fc.groupsOnEveryBroker("orders-group", 12, "orders", map[int32]int64{0: 5, 1: 5, 2: 5})

			p := fc.poller()
			snap := pollComplete(t, p)
			for g := range coordinators {
				checkLag(t, findGroup(t, snap, g), "orders", partitions, 5, 15)
			}
			before := pollErrors(t, p)

			stop := fc.intercept(kmsg.OffsetFetch, failing, tc.answer)
			snap, err := pollSnapshot(t, p)
			if err == nil || snap.Complete {
				t.Errorf("a poll whose OffsetFetch failed on broker %d reported no error (complete=%v)", failing, snap.Complete)
			}
			for g, coordinator := range coordinators {
				group := findGroup(t, snap, g)
				if coordinator != failing {
					checkLag(t, group, "orders", partitions, 5, 15)
					continue
				}
				if len(group.Partitions) != 0 {
					t.Errorf("group %s, whose committed offsets could not be read, has partitions %+v", g, group.Partitions)
				}
				if !tc.connectionLost && !group.Described {
					t.Errorf("group %s was not described though only OffsetFetch failed", g)
				}
			}
			after := pollErrors(t, p)
			if tc.connectionLost {
				if after[StageCommittedOffsets] != before[StageCommittedOffsets]+1 {
					t.Errorf("committed_offsets errors went from %v to %v, want one more", before[StageCommittedOffsets], after[StageCommittedOffsets])
				}
			} else {
				checkErrorsCounted(t, before, after, StageCommittedOffsets)
				for _, tp := range snap.Topics {
					for _, part := range tp.Partitions {
						if !part.HasOffsets {
							t.Errorf("%s/%d lost its log offsets, though only OffsetFetch failed", tp.Name, part.ID)
						}
					}
				}
			}

			stop()
			snap = pollComplete(t, p)
			for g := range coordinators {
				checkLag(t, findGroup(t, snap, g), "orders", partitions, 5, 15)
			}
		})
	}
}

// An OffsetFetch error for one group (here GROUP_AUTHORIZATION_FAILED, as
// for a group lagwatch may list but not read) costs that group's offsets
// only: the other groups answered in the same response keep theirs.
func TestOffsetFetchErrorForOneGroupCostsOnlyThatGroupsOffsets(t *testing.T) {
	fc := newFaultCluster(t)
	partitions := []int32{0, 1, 2}
	fc.topic("orders", []int32{0, 1, 2}, 1, 20)
	coordinators := fc.groupsOnEveryBroker("orders-group", 12, "orders", map[int32]int64{0: 5, 1: 5, 2: 5})
	committed := map[string]map[string]map[int32]int64{}
	for g := range coordinators {
		committed[g] = map[string]map[int32]int64{"orders": {0: 5, 1: 5, 2: 5}}
	}
	// The victim shares its coordinator, and so its OffsetFetch request,
	// with another group.
	victim := ""
	for g, c := range coordinators {
		for other, oc := range coordinators {
			if other != g && oc == c && (victim == "" || g < victim) {
				victim = g
			}
		}
	}
	if victim == "" {
		t.Fatalf("no two groups share a coordinator: %v", coordinators)
	}

	p := fc.poller()
	pollComplete(t, p)
	before := pollErrors(t, p)

	answer := offsetFetchAnswer(committed)
	stop := fc.intercept(kmsg.OffsetFetch, allBrokers, func(r kmsg.Request) (kmsg.Response, error) {
		resp, err := answer(r)
		for i := range resp.(*kmsg.OffsetFetchResponse).Groups {
			if g := &resp.(*kmsg.OffsetFetchResponse).Groups[i]; g.Group == victim {
				// Not an authorization error: a denial is a missing
				// permission, reported apart from failed stages.
				g.ErrorCode, g.Topics = kerr.UnknownServerError.Code, nil
			}
		}
		return resp, err
	})
	defer stop()
	snap, err := pollSnapshot(t, p)
	if err == nil {
		t.Errorf("a poll that could not read group %s's offsets reported no error", victim)
	}
	checkErrorsCounted(t, before, pollErrors(t, p), StageCommittedOffsets)
	for g := range coordinators {
		group := findGroup(t, snap, g)
		if g != victim {
			checkLag(t, group, "orders", partitions, 5, 15)
		} else if len(group.Partitions) != 0 {
			t.Errorf("group %s, whose committed offsets could not be read, has partitions %+v", g, group.Partitions)
		}
	}
}

// One partition leader failing ListOffsets costs the log offsets of the
// partitions it leads, and only those: their group-partitions keep the
// committed offset but have no lag, every other partition and its lag is
// intact, the failure is counted under log_offsets, and the next poll after
// the leader recovers is complete again.
func TestListOffsetsFailingOnOneLeaderCostsOnlyItsPartitionsOffsets(t *testing.T) {
	const failing = int32(2)
	fc := newFaultCluster(t)
	leaders := []int32{0, 1, 2, 0, 1, 2}
	fc.topic("ledger", leaders, 1, 10)
	groups := []string{"ledger-a", "ledger-b", "ledger-c"}
	all := map[int32]int64{}
	for p := range leaders {
		all[int32(p)] = 4
	}
	for _, g := range groups {
		fc.commit(g, "ledger", all)
	}

	p := fc.poller()
	pollComplete(t, p)
	before := pollErrors(t, p)

	stop := fc.intercept(kmsg.ListOffsets, failing, listOffsetsAnswer(func(string, int32, int64) (int64, int16) {
		return -1, kerr.NotLeaderForPartition.Code
	}))
	snap, err := pollSnapshot(t, p)
	if err == nil || snap.Complete {
		t.Errorf("a poll whose ListOffsets failed on broker %d reported no error (complete=%v)", failing, snap.Complete)
	}
	checkErrorsCounted(t, before, pollErrors(t, p), StageLogOffsets)
	for id, leader := range leaders {
		part := findPartition(t, snap, "ledger", int32(id))
		lost := leader == failing
		if part.HasOffsets == lost {
			t.Errorf("ledger/%d led by broker %d: has offsets %v, want %v", id, leader, part.HasOffsets, !lost)
		}
		if !lost && part.LogEnd != 10 {
			t.Errorf("ledger/%d: log end %d, want 10", id, part.LogEnd)
		}
		for _, name := range groups {
			if lost {
				checkCommitWithoutLag(t, findGroup(t, snap, name), "ledger", int32(id), 4)
			} else {
				checkLag(t, findGroup(t, snap, name), "ledger", []int32{int32(id)}, 4, 6)
			}
		}
	}

	stop()
	snap = pollComplete(t, p)
	for _, name := range groups {
		checkLag(t, findGroup(t, snap, name), "ledger", []int32{0, 1, 2, 3, 4, 5}, 4, 6)
	}
}

// One group coordinator failing DescribeGroups leaves only its groups
// undescribed: their members and state are unknown this poll, while their
// committed offsets and lag, and everything of the other coordinators'
// groups, are intact.
func TestDescribeGroupsFailingOnOneCoordinatorLeavesOnlyItsGroupsUndescribed(t *testing.T) {
	const failing = int32(0)
	fc := newFaultCluster(t)
	partitions := []int32{0, 1, 2}
	fc.topic("orders", []int32{0, 1, 2}, 1, 20)
	coordinators := fc.groupsOnEveryBroker("orders-group", 12, "orders", map[int32]int64{0: 5, 1: 5, 2: 5})

	p := fc.poller()
	pollComplete(t, p)
	before := pollErrors(t, p)

	stop := fc.intercept(kmsg.DescribeGroups, failing, describeGroupsError(kerr.CoordinatorLoadInProgress.Code))
	snap, err := pollSnapshot(t, p)
	if err == nil || snap.Complete {
		t.Errorf("a poll whose DescribeGroups failed on broker %d reported no error (complete=%v)", failing, snap.Complete)
	}
	checkErrorsCounted(t, before, pollErrors(t, p), StageDescribeGroups)
	for g, coordinator := range coordinators {
		group := findGroup(t, snap, g)
		if group.Described == (coordinator == failing) {
			t.Errorf("group %s coordinated by broker %d: described %v", g, coordinator, group.Described)
		}
		checkLag(t, group, "orders", partitions, 5, 15)
	}

	stop()
	snap = pollComplete(t, p)
	for g := range coordinators {
		if !findGroup(t, snap, g).Described {
			t.Errorf("group %s is still not described after the coordinator recovered", g)
		}
	}
}

// oddCluster is the cluster for the tests of odd answers: topic "odd" of
// four partitions led by brokers 0, 1, 2 and 1 (so one broker's answer
// carries an odd partition and a sound one), replicated to all three, ten
// messages in each, and group "odd-group" at offset 4 on each: lag 6.
func oddCluster(t *testing.T) *faultCluster {
	fc := newFaultCluster(t)
	fc.topic("odd", []int32{0, 1, 2, 1}, 3, 10)
	fc.commit("odd-group", "odd", map[int32]int64{0: 4, 1: 4, 2: 4, 3: 4})
	return fc
}

// A ListOffsets that answers offset -1 without an error code for one
// partition (Kafka never reports a negative log offset for a healthy
// partition) leaves that partition without offsets and its group-partition
// without lag, counts a log_offsets error, and keeps the other partitions.
func TestListOffsetsAnsweringMinusOneGivesThePartitionNoOffsetsAndNoLag(t *testing.T) {
	for _, tc := range []struct {
		name      string
		timestamp int64 // which offset answers -1
	}{
		{"log end", -1},
		{"log start", -2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := oddCluster(t)
			p := fc.poller()
			pollComplete(t, p)
			before := pollErrors(t, p)

			stop := fc.intercept(kmsg.ListOffsets, allBrokers, listOffsetsAnswer(func(topic string, partition int32, timestamp int64) (int64, int16) {
				switch {
				case partition == 1 && timestamp == tc.timestamp:
					return -1, 0
				case timestamp == -2:
					return 0, 0
				}
				return 10, 0
			}))
			defer stop()
			snap, _ := pollSnapshot(t, p)
			checkErrorsCounted(t, before, pollErrors(t, p), StageLogOffsets)
			if part := findPartition(t, snap, "odd", 1); part.HasOffsets {
				t.Errorf("odd/1 answered -1 but has offsets %d..%d", part.LogStart, part.LogEnd)
			}
			g := findGroup(t, snap, "odd-group")
			checkCommitWithoutLag(t, g, "odd", 1, 4)
			checkLag(t, g, "odd", []int32{0, 2, 3}, 4, 6)
		})
	}
}

// A partition whose metadata names no leader (-1, as Kafka answers while
// every replica is down) is offline: it is counted offline, has no offsets
// (no broker can be asked) and no lag, and the poll is otherwise complete.
func TestMetadataAnsweringNoLeaderShowsThePartitionOfflineWithoutLag(t *testing.T) {
	fc := oddCluster(t)
	p := fc.poller()
	pollComplete(t, p)

	stop := fc.intercept(kmsg.Metadata, allBrokers, metadataAnswer(fc.metadata(), func(topic string, part *kmsg.MetadataResponseTopicPartition) {
		if topic == "odd" && part.Partition == 1 {
			part.Leader, part.ISR = -1, nil
			part.ErrorCode = kerr.LeaderNotAvailable.Code
		}
	}))
	defer stop()
	snap := pollComplete(t, p)
	part := findPartition(t, snap, "odd", 1)
	if !part.Offline() || part.HasOffsets {
		t.Errorf("odd/1 without a leader: offline %v, has offsets %v; want offline without offsets", part.Offline(), part.HasOffsets)
	}
	if snap.OfflinePartitions != 1 {
		t.Errorf("offline partitions = %d, want 1", snap.OfflinePartitions)
	}
	g := findGroup(t, snap, "odd-group")
	checkCommitWithoutLag(t, g, "odd", 1, 4)
	checkLag(t, g, "odd", []int32{0, 2, 3}, 4, 6)
}

// A partition whose metadata lists replicas but an empty ISR is
// under-replicated and still led, so its offsets and lag are read as usual.
func TestMetadataAnsweringAnEmptyISRShowsThePartitionUnderReplicated(t *testing.T) {
	fc := oddCluster(t)
	p := fc.poller()
	snap := pollComplete(t, p)
	if snap.UnderReplicatedPartitions != 0 {
		t.Fatalf("under-replicated partitions = %d before the ISR shrank, want 0", snap.UnderReplicatedPartitions)
	}

	stop := fc.intercept(kmsg.Metadata, allBrokers, metadataAnswer(fc.metadata(), func(topic string, part *kmsg.MetadataResponseTopicPartition) {
		if topic == "odd" && part.Partition == 2 {
			part.ISR = []int32{}
		}
	}))
	defer stop()
	snap = pollComplete(t, p)
	part := findPartition(t, snap, "odd", 2)
	if !part.UnderReplicated() || part.Offline() || len(part.Replicas) != 3 {
		t.Errorf("odd/2 with an empty ISR: under-replicated %v, offline %v, replicas %v", part.UnderReplicated(), part.Offline(), part.Replicas)
	}
	if snap.UnderReplicatedPartitions != 1 {
		t.Errorf("under-replicated partitions = %d, want 1", snap.UnderReplicatedPartitions)
	}
	checkLag(t, findGroup(t, snap, "odd-group"), "odd", []int32{0, 1, 2, 3}, 4, 6)
}

// A leader id the metadata's broker list does not name (a broker being
// replaced) costs that partition's offsets and lag and is counted under
// log_offsets; the partition is not offline, since it has a leader.
func TestMetadataNamingAnUnknownLeaderCostsOnlyThatPartitionsOffsets(t *testing.T) {
	fc := oddCluster(t)
	p := fc.poller()
	pollComplete(t, p)
	before := pollErrors(t, p)

	stop := fc.intercept(kmsg.Metadata, allBrokers, metadataAnswer(fc.metadata(), func(topic string, part *kmsg.MetadataResponseTopicPartition) {
		if topic == "odd" && part.Partition == 0 {
			part.Leader = 7
		}
	}))
	defer stop()
	snap, err := pollSnapshot(t, p)
	if err == nil {
		t.Errorf("a poll that could not ask a partition's leader reported no error")
	}
	checkErrorsCounted(t, before, pollErrors(t, p), StageLogOffsets)
	if part := findPartition(t, snap, "odd", 0); part.HasOffsets || part.Offline() {
		t.Errorf("odd/0 led by unknown broker 7: has offsets %v, offline %v", part.HasOffsets, part.Offline())
	}
	g := findGroup(t, snap, "odd-group")
	checkCommitWithoutLag(t, g, "odd", 0, 4)
	checkLag(t, g, "odd", []int32{1, 2, 3}, 4, 6)
}

// A committed offset ahead of the log end (Kafka does not check commits
// against the log; a log truncated by an unclean leader election leaves
// one behind) is lag 0, 0 s old, with nothing expired, poll after poll:
// never a negative lag.
func TestCommittedOffsetAheadOfTheLogEndIsZeroLag(t *testing.T) {
	fc := oddCluster(t)
	p := fc.poller()
	pollComplete(t, p)

	stop := fc.intercept(kmsg.OffsetFetch, allBrokers, offsetFetchAnswer(map[string]map[string]map[int32]int64{
		"odd-group": {"odd": {0: 25, 1: 4, 2: 4, 3: 4}},
	}))
	defer stop()
	for range 3 {
		snap := pollComplete(t, p)
		g := findGroup(t, snap, "odd-group")
		gp, ok := groupPartition(g, "odd", 0)
		if !ok {
			t.Fatalf("odd-group odd/0, committed 25, is missing")
		}
		if gp.Committed != 25 || !gp.Eval.HasLag {
			t.Fatalf("odd-group odd/0 committed 25: committed %d, has lag %v", gp.Committed, gp.Eval.HasLag)
		}
		if e := gp.Eval; e.Lag != 0 || e.LagSeconds != 0 || e.ExpiredMessages != 0 {
			t.Errorf("odd-group odd/0 ahead of the log end: lag %d, lag seconds %v, expired %d; want all 0", e.Lag, e.LagSeconds, e.ExpiredMessages)
		}
		checkLag(t, g, "odd", []int32{1, 2, 3}, 4, 6)
	}
}

// An OffsetFetch answering -1 for a partition (the group never committed
// it) leaves the partition out of the group: no committed offset, no lag.
func TestOffsetFetchAnsweringMinusOneLeavesThePartitionOutOfTheGroup(t *testing.T) {
	fc := oddCluster(t)
	p := fc.poller()
	pollComplete(t, p)

	stop := fc.intercept(kmsg.OffsetFetch, allBrokers, offsetFetchAnswer(map[string]map[string]map[int32]int64{
		"odd-group": {"odd": {0: -1, 1: 4, 2: 4, 3: 4}},
	}))
	defer stop()
	snap := pollComplete(t, p)
	g := findGroup(t, snap, "odd-group")
	if gp, ok := groupPartition(g, "odd", 0); ok {
		t.Errorf("odd-group odd/0 answered -1 but is in the snapshot: %+v", gp)
	}
	checkLag(t, g, "odd", []int32{1, 2, 3}, 4, 6)
}

// A log end that moves backwards (an unclean leader election truncates the
// log) below the committed offset gives lag 0 and no negative produce or
// consume rate, and the lag comes back once the log grows past the commit.
func TestLogEndGoingBackwardsGivesNoNegativeLagOrRate(t *testing.T) {
	fc := oddCluster(t)
	p := fc.poller()
	pollComplete(t, p)

	var logEnd atomic.Int64
	logEnd.Store(3)
	stop := fc.intercept(kmsg.ListOffsets, allBrokers, listOffsetsAnswer(func(_ string, partition int32, timestamp int64) (int64, int16) {
		if timestamp == -2 {
			return 0, 0
		}
		if partition == 0 {
			return logEnd.Load(), 0
		}
		return 10, 0
	}))
	defer stop()
	snap := pollComplete(t, p)
	if part := findPartition(t, snap, "odd", 0); part.LogEnd != 3 {
		t.Fatalf("odd/0 log end = %d, want the truncated 3", part.LogEnd)
	}
	checkLag(t, findGroup(t, snap, "odd-group"), "odd", []int32{0}, 4, 0)

	logEnd.Store(12)
	snap = pollComplete(t, p)
	checkLag(t, findGroup(t, snap, "odd-group"), "odd", []int32{0}, 4, 8)
}

// One broker failing ListGroups hides the groups it coordinates for that
// poll (lagwatch finds a group's coordinator by which broker lists it), and
// only those: the other brokers' groups are intact, the failure is counted
// under list_groups, and the groups are back with the next poll.
func TestListGroupsFailingOnOneBrokerCostsOnlyTheGroupsItCoordinates(t *testing.T) {
	const failing = int32(2)
	fc := newFaultCluster(t)
	partitions := []int32{0, 1, 2}
	fc.topic("orders", []int32{0, 1, 2}, 1, 20)
	coordinators := fc.groupsOnEveryBroker("orders-group", 12, "orders", map[int32]int64{0: 5, 1: 5, 2: 5})

	p := fc.poller()
	pollComplete(t, p)
	before := pollErrors(t, p)

	stop := fc.intercept(kmsg.ListGroups, failing, func(r kmsg.Request) (kmsg.Response, error) {
		resp := r.ResponseKind().(*kmsg.ListGroupsResponse)
		resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
		return resp, nil
	})
	snap, err := pollSnapshot(t, p)
	if err == nil || snap.Complete {
		t.Errorf("a poll whose ListGroups failed on broker %d reported no error (complete=%v)", failing, snap.Complete)
	}
	checkErrorsCounted(t, before, pollErrors(t, p), StageListGroups)
	listed := map[string]bool{}
	for _, g := range snap.Groups {
		listed[g.Name] = true
	}
	for g, coordinator := range coordinators {
		if coordinator == failing {
			if listed[g] {
				t.Errorf("group %s is in the snapshot though its coordinator could not list it", g)
			}
			continue
		}
		checkLag(t, findGroup(t, snap, g), "orders", partitions, 5, 15)
	}

	stop()
	snap = pollComplete(t, p)
	for g := range coordinators {
		checkLag(t, findGroup(t, snap, g), "orders", partitions, 5, 15)
	}
}

// liveMember joins group as a consumer of topic that never commits, so the
// group keeps a member assigned every partition and the offsets committed
// before it joined. It leaves the group when the test ends.
func (fc *faultCluster) liveMember(group, topic string) {
	fc.t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(fc.c.ListenAddrs()...),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		fc.t.Fatalf("consumer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx)
		}
	}()
	fc.t.Cleanup(func() { cancel(); <-done; cl.Close() })
}

// pollUntilAssigned polls until the group is described with one member
// assigned partitions partitions, failing after faultTimeout.
func pollUntilAssigned(t *testing.T, p *Poller, group string, partitions int) {
	t.Helper()
	deadline := time.Now().Add(faultTimeout)
	for {
		snap := pollComplete(t, p)
		g := findGroup(t, snap, group)
		if g.Described && len(g.Members) == 1 && len(g.Members[0].Assigned) == partitions {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s not assigned %d partitions within %v: %+v", group, partitions, faultTimeout, g)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A group that could not be described this poll has unknown members: its
// lagging partitions cannot be called stopped (lag and no members), the
// verdict KafkaConsumerGroupStopped alerts on, when a member is consuming.
func TestDescribeGroupsFailingDoesNotCallAGroupWithAMemberStopped(t *testing.T) {

	fc := oddCluster(t)
	fc.liveMember("odd-group", "odd")
	p := fc.poller()
	pollUntilAssigned(t, p, "odd-group", 4)

	stop := fc.intercept(kmsg.DescribeGroups, fc.c.CoordinatorFor("odd-group"), describeGroupsError(kerr.CoordinatorLoadInProgress.Code))
	defer stop()
	snap, _ := pollSnapshot(t, p)
	g := findGroup(t, snap, "odd-group")
	if g.Described {
		t.Fatalf("odd-group was described though DescribeGroups failed")
	}
	if g.Status == lagcalc.StatusStopped {
		t.Errorf("odd-group, whose member is consuming but could not be described, is called stopped")
	}
	for _, gp := range g.Partitions {
		if gp.Eval.Status == lagcalc.StatusStopped {
			t.Errorf("odd-group %s/%d: status stopped with unknown members", gp.Topic, gp.Partition)
		}
	}
}

// A group whose committed offsets could not be read this poll did not
// "never commit": the partitions its member is assigned must not be
// reported with committed offset -1 and status no_commit (the verdict
// KafkaConsumerPartitionNeverCommitted alerts on).
func TestOffsetFetchFailingDoesNotCallAssignedPartitionsNeverCommitted(t *testing.T) {

	fc := oddCluster(t)
	fc.liveMember("odd-group", "odd")
	p := fc.poller()
	pollUntilAssigned(t, p, "odd-group", 4)

	stop := fc.intercept(kmsg.OffsetFetch, fc.c.CoordinatorFor("odd-group"), offsetFetchError(kerr.CoordinatorLoadInProgress.Code))
	defer stop()
	snap, _ := pollSnapshot(t, p)
	g := findGroup(t, snap, "odd-group")
	if g.Status == lagcalc.StatusNoCommit {
		t.Errorf("odd-group, whose committed offsets could not be read, is called no_commit")
	}
	for _, gp := range g.Partitions {
		if !gp.HasCommit() || gp.Eval.Status == lagcalc.StatusNoCommit {
			t.Errorf("odd-group %s/%d: committed %d, status %v, though the group committed 4", gp.Topic, gp.Partition, gp.Committed, gp.Eval.Status)
		}
	}
}

// A part of the cluster that fails to answer reads as of its last answer
// for StaleAfter, so that one broker's blip neither makes its groups'
// series vanish (resetting every alert's `for:`) nor wipes the history
// behind their statuses; the poll still counts the error and is not
// complete. Past StaleAfter the part is dropped, never reported as current.
func TestAFailedPartReadsAsOfItsLastAnswerUntilStale(t *testing.T) {
	const (
		failingCoordinator = int32(1)
		failingLeader      = int32(2)
		failingLister      = int32(0)
		staleAfter         = 4 * time.Second
	)
	fc := newFaultCluster(t)
	partitions := []int32{0, 1, 2}
	fc.topic("orders", []int32{0, 1, 2}, 1, 20)
	coordinators := fc.groupsOnEveryBroker("orders-group", 12, "orders", map[int32]int64{0: 5, 1: 5, 2: 5})

	clock := t0
	p := fc.pollerWith(Config{StaleAfter: staleAfter, Now: func() time.Time { return clock }})
	answered := pollComplete(t, p).PolledAt
	before := pollErrors(t, p)

	stops := []func(){
		fc.intercept(kmsg.OffsetFetch, failingCoordinator, offsetFetchError(kerr.CoordinatorLoadInProgress.Code)),
		fc.intercept(kmsg.ListOffsets, failingLeader, listOffsetsAnswer(func(string, int32, int64) (int64, int16) {
			return -1, kerr.NotLeaderForPartition.Code
		})),
		fc.intercept(kmsg.ListGroups, failingLister, func(r kmsg.Request) (kmsg.Response, error) {
			resp := r.ResponseKind().(*kmsg.ListGroupsResponse)
			resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
			return resp, nil
		}),
	}
	clock = clock.Add(time.Second)
	snap, err := pollSnapshot(t, p)
	if err == nil || snap.Complete {
		t.Fatalf("a poll with three failing brokers reported no error (complete=%v)", snap.Complete)
	}
	checkErrorsCounted(t, before, pollErrors(t, p), StageCommittedOffsets, StageLogOffsets, StageListGroups)

	orders2 := findPartition(t, snap, "orders", 2) // led by the failing leader
	if !orders2.HasOffsets || !orders2.OffsetsAt.Equal(answered) || orders2.LogEnd != 20 {
		t.Errorf("orders/2, whose leader failed, reads %d..%d as of %v (has offsets %v); want 0..20 as of the last answer %v",
			orders2.LogStart, orders2.LogEnd, orders2.OffsetsAt, orders2.HasOffsets, answered)
	}
	for g, coordinator := range coordinators {
		group := findGroup(t, snap, g) // listed although broker 0 failed to list its groups
		checkLag(t, group, "orders", partitions, 5, 15)
		wantCommittedAt := snap.PolledAt
		if coordinator == failingCoordinator {
			wantCommittedAt = answered
		}
		if !group.CommittedAt.Equal(wantCommittedAt) {
			t.Errorf("group %s (coordinator %d): committed offsets as of %v, want %v", g, coordinator, group.CommittedAt, wantCommittedAt)
		}
	}

	// Still failing past StaleAfter: the last answers are too old to stand in.
	clock = clock.Add(staleAfter)
	snap, _ = pollSnapshot(t, p)
	if orders2 := findPartition(t, snap, "orders", 2); orders2.HasOffsets {
		t.Errorf("orders/2 still has offsets as of %v at %v, past StaleAfter", orders2.OffsetsAt, snap.PolledAt)
	}
	listed := map[string]bool{}
	for _, g := range snap.Groups {
		listed[g.Name] = true
	}
	for g, coordinator := range coordinators {
		switch {
		case coordinator == failingLister && listed[g]:
			t.Errorf("group %s is still listed past StaleAfter though its broker cannot list it", g)
		case coordinator == failingCoordinator && len(findGroup(t, snap, g).Partitions) > 0:
			t.Errorf("group %s still has committed offsets past StaleAfter", g)
		}
	}

	for _, stop := range stops {
		stop()
	}
	clock = clock.Add(time.Second)
	snap = pollComplete(t, p)
	for g := range coordinators {
		checkLag(t, findGroup(t, snap, g), "orders", partitions, 5, 15)
	}
}
