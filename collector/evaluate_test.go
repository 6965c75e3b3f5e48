package collector

import (
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/lagwatch/lagwatch/lagcalc"
)

// TestEveryGroupPartitionOfTheSnapshotGetsTheNumbersLagcalcDerivesForIt:
// lagcalc writes each group-partition's numbers into the snapshot by the
// index of its commit in the poll, whatever the order of the groups in the
// snapshot and of the partitions within a group; they are the numbers
// lagcalc gives that name. An assigned partition never committed gets its
// no_commit status too.
func TestEveryGroupPartitionOfTheSnapshotGetsTheNumbersLagcalcDerivesForIt(t *testing.T) {
	start := time.Now()
	snapshotAt := func(n int) *Snapshot {
		at := start.Add(time.Duration(n) * 30 * time.Second)
		partitions := func(ends ...int64) []Partition {
			out := make([]Partition, len(ends))
			for i, end := range ends {
				out[i] = Partition{ID: int32(i), HasOffsets: true, LogEnd: end, LastStable: end, OffsetsAt: at}
			}
			return out
		}
		end := int64(100 * n)
		gps := func(committed ...int64) []GroupPartition {
			out := make([]GroupPartition, len(committed))
			for i, c := range committed {
				out[i] = GroupPartition{Topic: "t1", Partition: int32(len(committed) - 1 - i), Committed: c}
			}
			return out
		}
		return &Snapshot{PolledAt: at,
			Topics: []Topic{{Name: "t1", Partitions: partitions(end, 2*end, 3*end)}, {Name: "t2", Partitions: partitions(end)}},
			Groups: []Group{ // not in name order, nor their partitions in partition order
				{Name: "c", Described: true, Members: []Member{{ID: "m"}}, CommittedAt: at, Partitions: gps(3*end, 2*end-5, 50)},
				{Name: "a", CommittedAt: at, Partitions: append(gps(3*end-1, 2*end), GroupPartition{Topic: "t2", Committed: -1, Assigned: true})},
				{Name: "b", Described: true, CommittedAt: at, Partitions: gps(10)},
			}}
	}
	into, byName := lagcalc.NewTracker(lagcalc.DefaultSettings()), lagcalc.NewTracker(lagcalc.DefaultSettings())
	for n := 1; n <= 15; n++ {
		snap := snapshotAt(n)
		poll, evals := lagcalcPoll(snap, nil)
		into.Observe(poll)
		byName.Observe(poll)
		applyResult(snap, into.EvaluateInto(snap.PolledAt, nil, func(i int) *lagcalc.GroupPartitionNumbers { return evals[i] }))
		want := byName.Evaluate(snap.PolledAt, nil)
		for _, g := range snap.Groups {
			for _, gp := range g.Partitions {
				r, ok := want.GroupPartition(lagcalc.GroupPartition{Group: g.Name, TopicPartition: lagcalc.TopicPartition{Topic: gp.Topic, Partition: gp.Partition}})
				if !ok || gp.Eval != r.GroupPartitionNumbers {
					t.Fatalf("poll %d, group %s %s/%d: %+v, want %+v", n, g.Name, gp.Topic, gp.Partition, gp.Eval, r.GroupPartitionNumbers)
				}
			}
		}
	}
	snap := snapshotAt(16)
	poll, evals := lagcalcPoll(snap, nil)
	into.Observe(poll)
	applyResult(snap, into.EvaluateInto(snap.PolledAt, nil, func(i int) *lagcalc.GroupPartitionNumbers { return evals[i] }))
	statuses := map[string]lagcalc.Status{}
	for _, g := range snap.Groups {
		for _, gp := range g.Partitions {
			statuses[fmt.Sprintf("%s %s/%d", g.Name, gp.Topic, gp.Partition)] = gp.Eval.Status
		}
	}
	if s := statuses["a t2/0"]; s != lagcalc.StatusNoCommit {
		t.Errorf("the partition a is assigned but never committed reads %v", s)
	}
	if s := statuses["c t1/2"]; s != lagcalc.StatusOK {
		t.Errorf("the partition c keeps up with reads %v, want ok", s)
	}
}

// TestApplyResultGivesEveryPartitionItsProduceRate is the same for the
// partitions of each topic.
func TestApplyResultGivesEveryPartitionItsProduceRate(t *testing.T) {
	pr := func(topic string, partition int32, rate float64) lagcalc.PartitionResult {
		return lagcalc.PartitionResult{TopicPartition: lagcalc.TopicPartition{Topic: topic, Partition: partition}, ProduceRate: rate, HasProduceRate: true}
	}
	res := lagcalc.Result{Partitions: []lagcalc.PartitionResult{
		pr("a", 0, 1), pr("a", 2, 2), pr("b", 0, 3), pr("b", 1, 4), pr("z", 0, 5),
	}}
	snap := &Snapshot{Topics: []Topic{
		{Name: "b", Partitions: []Partition{{ID: 1}, {ID: 0}, {ID: 2}}},
		{Name: "a", Partitions: []Partition{{ID: 0}, {ID: 1}, {ID: 2}}},
		{Name: "c", Partitions: []Partition{{ID: 0}}},
	}}

	applyResult(snap, res)

	want := map[string][]float64{"b": {4, 3, 0}, "a": {1, 0, 2}, "c": {0}}
	for _, topic := range snap.Topics {
		for i, p := range topic.Partitions {
			if w := want[topic.Name][i]; p.ProduceRate != w || p.HasProduceRate != (w != 0) {
				t.Errorf("%s/%d: produce rate %v (%v), want %v", topic.Name, p.ID, p.ProduceRate, p.HasProduceRate, w)
			}
		}
	}
}

// TestGroupPartitionSize holds the snapshot's largest array to its size:
// a field added or reordered that pads it shows here.
func TestGroupPartitionSize(t *testing.T) {
	if size := unsafe.Sizeof(GroupPartition{}); size > 96 {
		t.Errorf("a GroupPartition takes %d bytes, want at most 96", size)
	}
}
