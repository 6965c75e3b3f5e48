package lagcalc

import (
	"fmt"
	"testing"
)

// TestEvaluateIntoPutsEachCommitsNumbersWhereTheCallerAsked: EvaluateInto
// hands the numbers of each group-partition to the place the caller named
// for its commit's index in the poll, whatever the order of the commits;
// they are the numbers Evaluate gives the same key. A key committed twice
// in one poll gets them at its first commit only (the second is not a
// group-partition of its own, see Poll).
func TestEvaluateIntoPutsEachCommitsNumbersWhereTheCallerAsked(t *testing.T) {
	into, byKey := NewTracker(DefaultSettings()), NewTracker(DefaultSettings())
	into.evaluateWorkers = 2
	// Commits out of key order, as a caller may pass them; enough of them
	// that two goroutines share the work.
	var commits []Commit
	for g := 2*minGroupPartitionsPerWorker/5 - 1; g >= 0; g-- {
		for p := int32(4); p >= 0; p-- {
			commits = append(commits, Commit{GroupPartition: GroupPartition{
				Group: fmt.Sprintf("group-%05d", g), TopicPartition: TopicPartition{Topic: fmt.Sprintf("topic-%d", g%7), Partition: p}}})
		}
	}
	commits = append(commits, commits[3]) // committed twice: the first counts
	var partitions []PartitionOffsets
	for tp := range 7 {
		for p := range int32(5) {
			partitions = append(partitions, PartitionOffsets{TopicPartition: TopicPartition{Topic: fmt.Sprintf("topic-%d", tp), Partition: p}})
		}
	}
	for n := range 12 {
		poll := Poll{Time: at(float64(30 * n)), Partitions: partitions, Commits: commits}
		for i := range partitions {
			partitions[i].LogEnd = int64(100 * n * (1 + i%3))
		}
		for i := range commits {
			commits[i].Committed = int64(100 * n * (i % 4) / 3) // some keep up, some stall
		}
		into.Observe(poll)
		byKey.Observe(poll)

		numbers := make([]GroupPartitionNumbers, len(commits))
		got := into.EvaluateInto(poll.Time, nil, func(i int) *GroupPartitionNumbers { return &numbers[i] })
		want := byKey.Evaluate(poll.Time, nil)
		if got.GroupPartitions != nil || len(got.Groups) != len(want.Groups) || len(got.Partitions) != len(want.Partitions) {
			t.Fatalf("poll %d: %d group-partitions, %d groups, %d partitions; want none, %d, %d", n,
				len(got.GroupPartitions), len(got.Groups), len(got.Partitions), len(want.Groups), len(want.Partitions))
		}
		for i, c := range commits[:len(commits)-1] {
			r, ok := want.GroupPartition(c.GroupPartition)
			if !ok || numbers[i] != r.GroupPartitionNumbers {
				t.Fatalf("poll %d, commit %d (%v): %+v, want %+v", n, i, c.GroupPartition, numbers[i], r.GroupPartitionNumbers)
			}
		}
		if second := numbers[len(commits)-1]; second != (GroupPartitionNumbers{}) {
			t.Fatalf("poll %d: the second commit of a key got %+v", n, second)
		}
		for i := range want.Groups {
			if got.Groups[i] != want.Groups[i] {
				t.Fatalf("poll %d: group %+v, want %+v", n, got.Groups[i], want.Groups[i])
			}
		}
	}
}
