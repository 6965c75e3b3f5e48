package collector

import (
	"testing"
	"unsafe"

	"github.com/lagwatch/lagwatch/lagcalc"
)

// TestApplyResultGivesEveryGroupPartitionItsOwnResult holds the join of the
// snapshot with lagcalc's results to what a lookup by key gives: each
// group-partition lagcalc evaluated points to its own result, one lagcalc
// has no result for stays not evaluated, and results of group-partitions
// the snapshot lacks are skipped, whatever the order of the groups in the
// snapshot and of the partitions within a group.
func TestApplyResultGivesEveryGroupPartitionItsOwnResult(t *testing.T) {
	gp := func(group, topic string, partition int32) lagcalc.GroupPartitionResult {
		return lagcalc.GroupPartitionResult{GroupPartition: lagcalc.GroupPartition{Group: group, TopicPartition: lagcalc.TopicPartition{Topic: topic, Partition: partition}}}
	}
	// Sorted by key, as lagcalc returns them; Committed tells them apart.
	res := lagcalc.Result{GroupPartitions: []lagcalc.GroupPartitionResult{
		gp("a", "t1", 0), gp("a", "t1", 1), gp("a", "t1", 10), gp("a", "t2", 0),
		gp("b", "t1", 2),                                     // b has no other result
		gp("c", "t0", 0), gp("c", "t1", 0), gp("c", "t3", 1), // the snapshot lacks c on t0 and t3
		gp("e", "t1", 0), // e is not in the snapshot
	}}
	for i := range res.GroupPartitions {
		res.GroupPartitions[i].Committed = int64(100 + i)
	}
	partitions := func(tps ...lagcalc.TopicPartition) []GroupPartition {
		out := make([]GroupPartition, len(tps))
		for i, tp := range tps {
			out[i] = GroupPartition{Topic: tp.Topic, Partition: tp.Partition, Eval: &notEvaluated}
		}
		return out
	}
	tp := func(topic string, partition int32) lagcalc.TopicPartition {
		return lagcalc.TopicPartition{Topic: topic, Partition: partition}
	}
	snap := &Snapshot{Groups: []Group{
		{Name: "c", Partitions: partitions(tp("t1", 0), tp("t2", 0))},
		{Name: "a", Partitions: partitions(tp("t1", 0), tp("t1", 1), tp("t1", 2), tp("t1", 10), tp("t2", 0), tp("t9", 0))},
		{Name: "d", Partitions: partitions(tp("t1", 0))}, // no result at all
		{Name: "b", Partitions: partitions(tp("t1", 1), tp("t1", 2), tp("t1", 3))},
		// Out of order: not what fillGroups builds, found all the same.
		{Name: "a", Partitions: partitions(tp("t2", 0), tp("t1", 10), tp("t1", 5), tp("t1", 0))},
	}}

	applyResult(snap, res)

	evaluated := 0
	for _, g := range snap.Groups {
		for _, p := range g.Partitions {
			want, ok := res.GroupPartition(lagcalc.GroupPartition{Group: g.Name, TopicPartition: tp(p.Topic, p.Partition)})
			if !ok {
				want = &notEvaluated
			} else {
				evaluated++
			}
			if p.Eval != want {
				t.Errorf("group %s %s/%d: Eval points to %+v, want %+v", g.Name, p.Topic, p.Partition, p.Eval.GroupPartition, want.GroupPartition)
			}
		}
	}
	if evaluated != 9 {
		t.Errorf("%d group-partitions have a result, want 9", evaluated)
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

// TestGroupPartitionTakes40Bytes holds the snapshot's largest array to its
// size: a field added or reordered that pads it shows here.
func TestGroupPartitionTakes40Bytes(t *testing.T) {
	if size := unsafe.Sizeof(GroupPartition{}); size > 40 {
		t.Errorf("a GroupPartition takes %d bytes, want at most 40", size)
	}
}
