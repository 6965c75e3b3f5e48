package lagcalc

import (
	"math"
	"testing"
)

// A consumer falling behind, seen from lagwatch's first poll (a restart of
// lagwatch, or a group that just started): produce 93 msg/s, the consumer
// works off 85.5 msg/s in batches of 1,500 committed at once, so the lag
// rises 7.5 msg/s from 3,047 under a sawtooth of 1,500. Its swing (about
// 430) puts the lagging bar at about 3,000 messages of rise, which a 7.5
// msg/s rise reaches after about 400 s of history. Until then the history
// cannot rule lagging out, so the status is unknown, never ok (it read ok
// for 390 s on one partition of a real consumer while the others read
// lagging).
func TestFallingBehindIsNeverOKWhileTheHistoryIsShort(t *testing.T) {
	tr := NewTracker(Settings{})
	var seq []simPoll
	for s := 0.0; s <= 1200; s += 15 {
		end := 10_000 + int64(93*s)
		consumed := int64(85.5 * s)
		committed := 10_000 - 3047 + consumed - consumed%1500
		tr.Observe(Poll{Time: at(s), Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: end}},
			Commits: []Commit{{GroupPartition: billing, Committed: committed}}, Groups: []GroupState{{Group: "billing", HasMembers: true}}})
		r, _ := tr.Evaluate(at(s), nil).GroupPartition(billing)
		seq = append(seq, simPoll{at: s, status: r.Status, lag: r.Lag, result: *r})
	}
	lagging := firstWith(seq, 0, StatusLagging)
	t.Logf("lag %d at the first poll, %d at 390 s; lagging from %.0f s; statuses before: %v",
		seq[0].lag, seq[26].lag, lagging, statusCounts(seq, 0, lagging))
	if n := statusCounts(seq, 0, math.Inf(1))[StatusOK]; n > 0 {
		t.Errorf("ok at %d polls of a consumer falling behind", n)
	}
	onlyStatus(t, seq, 0, lagging, StatusUnknown)
	onlyStatus(t, seq, lagging, math.Inf(1), StatusLagging)
	if lagging > 600 {
		t.Errorf("lagging from %.0f s, want within the first window (600 s)", lagging)
	}
}
