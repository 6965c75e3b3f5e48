package lagcalc

import (
	"fmt"
	"testing"
	"time"
	"unsafe"
)

// TestEvaluatingOnSeveralCoresGivesWhatOneCoreGives: Evaluate splits the
// groups among goroutines; every result, status and group total is the one
// a single goroutine derives, poll after poll, including the statuses that
// depend on the previous poll's (lagging's hysteresis).
func TestEvaluatingOnSeveralCoresGivesWhatOneCoreGives(t *testing.T) {
	const groups, topics, partitions = 1500, 300, 5 // 15,000 group-partitions
	serial, parallel := NewTracker(DefaultSettings()), NewTracker(DefaultSettings())
	serial.evaluateWorkers, parallel.evaluateWorkers = 1, 3
	poll := Poll{Time: t0}
	for tp := 0; tp < topics; tp++ {
		for p := int32(0); p < partitions; p++ {
			poll.Partitions = append(poll.Partitions, PartitionOffsets{
				TopicPartition: TopicPartition{Topic: fmt.Sprintf("topic-%03d", tp), Partition: p}, LogEnd: 1000})
		}
	}
	for g := 0; g < groups; g++ {
		// Groups read 1 to 3 topics, so the ranges are uneven in groups.
		for k := 0; k <= g%3; k++ {
			tp := (g + 7*k) % topics
			for p := range partitions {
				poll.Commits = append(poll.Commits, Commit{
					GroupPartition: GroupPartition{Group: fmt.Sprintf("group-%04d", g), TopicPartition: poll.Partitions[tp*partitions+p].TopicPartition},
					Committed:      1000,
				})
			}
		}
		poll.Groups = append(poll.Groups, GroupState{Group: fmt.Sprintf("group-%04d", g), HasMembers: g%11 != 0})
	}
	for n := range 40 {
		poll.Time = t0.Add(time.Duration(n) * 30 * time.Second)
		for i := range poll.Partitions {
			poll.Partitions[i].LogEnd += int64(10 * (1 + i%7))
		}
		for i := range poll.Commits {
			switch i % 5 {
			case 0: // stuck
			case 1: // falling behind
				poll.Commits[i].Committed += 3
			default: // keeping up
				poll.Commits[i].Committed += int64(10 * (1 + (i/partitions)%7))
			}
		}
		serial.Observe(poll)
		parallel.Observe(poll)
		want, got := serial.Evaluate(poll.Time, nil), parallel.Evaluate(poll.Time, nil)
		if len(got.GroupPartitions) != len(want.GroupPartitions) || len(got.Groups) != len(want.Groups) {
			t.Fatalf("poll %d: %d group-partitions and %d groups, want %d and %d", n,
				len(got.GroupPartitions), len(got.Groups), len(want.GroupPartitions), len(want.Groups))
		}
		for i := range want.GroupPartitions {
			if got.GroupPartitions[i] != want.GroupPartitions[i] {
				t.Fatalf("poll %d: %+v, want %+v", n, got.GroupPartitions[i], want.GroupPartitions[i])
			}
		}
		for i := range want.Groups {
			if got.Groups[i] != want.Groups[i] {
				t.Fatalf("poll %d: %+v, want %+v", n, got.Groups[i], want.Groups[i])
			}
		}
	}
}

// TestGroupsAreSplitIntoContiguousRangesOfAboutEqualWork: every group is in
// exactly one range, in order, each range knows where its results start,
// and no range holds much more than its share of group-partitions.
func TestGroupsAreSplitIntoContiguousRangesOfAboutEqualWork(t *testing.T) {
	tr := NewTracker(DefaultSettings())
	poll := Poll{Time: t0}
	for g := 0; g < 4000; g++ {
		for p := int32(0); p < int32(1+g%9); p++ { // 1 to 9 partitions a group
			tp := TopicPartition{Topic: fmt.Sprintf("t%d", p), Partition: p}
			poll.Commits = append(poll.Commits, Commit{GroupPartition: GroupPartition{Group: fmt.Sprintf("g%04d", g), TopicPartition: tp}, Committed: 1})
		}
	}
	tr.Observe(poll)
	total := tr.groupPartitionCount
	for _, workers := range []int{1, 2, 3, 8} {
		ranges := tr.splitGroups(workers)
		if want := min(workers, total/minGroupPartitionsPerWorker); len(ranges) != max(want, 1) {
			t.Errorf("%d workers: %d ranges, want %d", workers, len(ranges), max(want, 1))
		}
		next, results := 0, 0
		for _, r := range ranges {
			if r.from != next || r.firstResult != results {
				t.Fatalf("%d workers: range %+v, want it to start at group %d, result %d", workers, r, next, results)
			}
			work := 0
			for _, gs := range tr.groupOrder[r.from:r.to] {
				work += len(gs.parts)
			}
			if share := total / len(ranges); work > share+9 {
				t.Errorf("%d workers: range %+v holds %d group-partitions, its share is %d", workers, r, work, share)
			}
			next, results = r.to, results+work
		}
		if next != len(tr.groupOrder) || results != total {
			t.Errorf("%d workers: ranges cover %d groups and %d group-partitions, want %d and %d", workers, next, results, len(tr.groupOrder), total)
		}
	}
}

// TestGroupPartitionNumbersSize: a collector keeps the numbers of every
// group-partition in its snapshot, and two snapshots are alive while a poll
// replaces one, so the flags stay packed together (see
// GroupPartitionNumbers).
func TestGroupPartitionNumbersSize(t *testing.T) {
	if size := unsafe.Sizeof(GroupPartitionNumbers{}); size > 64 {
		t.Errorf("GroupPartitionNumbers takes %d bytes, want at most 64", size)
	}
}
