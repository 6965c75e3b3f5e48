package lagcalc

import (
	"math"
	"testing"
	"time"
)

// inactive: offsets nobody consumes. A memberless group lagwatch never saw
// move whose oldest unconsumed message is older than --group.inactive-after
// (a day), and a topic the members of an active group no longer subscribe
// to. Never a group seen consuming and then gone: that is stopped.

// abandonedRun polls a memberless group whose committed offset sits at 900
// on a topic still written to, every 15 s ± 2 s, for hours; the record at
// 900 was written backlogAge before the first poll. It returns the statuses.
func abandonedRun(t *testing.T, hours float64, backlogAge time.Duration, seed uint64, commit func(s float64) int64) []simPoll {
	t.Helper()
	tr := NewTracker(Settings{})
	var out []simPoll
	s := 0.0
	for i := 0; s <= hours*3600; i++ {
		end := 1000 + int64(2*s)
		committed := commit(s)
		tr.Observe(Poll{Time: at(s), Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: end}},
			Commits: []Commit{{GroupPartition: billing, Committed: committed}}, Groups: []GroupState{{Group: "billing"}}})
		times := map[TopicPartitionOffset]time.Time{}
		for _, o := range tr.UnresolvedOffsets() {
			times[o] = t0.Add(-backlogAge) // the collector reads the record's timestamp
		}
		res := tr.Evaluate(at(s), times)
		checkResultInvariants(t, res)
		r, _ := res.GroupPartition(billing)
		out = append(out, simPoll{at: s, status: r.Status, lag: r.Lag, result: *r})
		s += 15 + float64((uint64(i)*2654435761+seed)%5) - 2
	}
	return out
}

func TestAbandonedGroupWithADayOldBacklogIsInactiveFromTheFirstPoll(t *testing.T) {
	p := abandonedRun(t, 6, 48*time.Hour, 1, func(float64) int64 { return 900 })
	onlyStatus(t, p, 0, math.Inf(1), StatusInactive)
}

func TestAbandonedGroupWithAYoungBacklogIsStoppedUntilItsBacklogIsADayOld(t *testing.T) {
	// The oldest unconsumed message was written 23 h before lagwatch's
	// first poll: stopped (after the warm-up limit: lagwatch never saw it
	// move), then inactive once the message is a day old.
	p := abandonedRun(t, 2, 23*time.Hour, 2, func(float64) int64 { return 900 })
	inactive := firstWith(p, 0, StatusInactive)
	t.Logf("inactive from %.0f s; statuses before: %v", inactive, statusCounts(p, 0, inactive))
	if inactive < 3600-20 || inactive > 3600+20 {
		t.Errorf("inactive from %.0f s, want when the backlog turns a day old (3600 s)", inactive)
	}
	if c := statusCounts(p, 0, inactive); c[StatusOK]+c[StatusInactive] > 0 {
		t.Errorf("before a day old: %v, want unknown, then stopped", c)
	}
	onlyStatus(t, p, inactive, math.Inf(1), StatusInactive)
}

func TestAGroupSeenConsumingThenGoneStaysStoppedWhateverTheBacklogAge(t *testing.T) {
	// Commits move for an hour, then stop for 25 hours: stopped throughout,
	// never inactive (it pages; someone must decide).
	p := abandonedRun(t, 26, 0, 3, func(s float64) int64 { return 900 + int64(2*min(s, 3600)) })
	stopped := firstWith(p, 3600, StatusStopped)
	t.Logf("commits stopped at 3600 s: stopped from %.0f s", stopped)
	onlyStatus(t, p, stopped, math.Inf(1), StatusStopped)
}

func TestAnAbandonedGroupThatRevivesAndDiesAgainIsStopped(t *testing.T) {
	// Inactive, then its consumer comes back for ten minutes and dies:
	// lagwatch saw it move, so it is stopped and pages.
	p := abandonedRun(t, 2, 48*time.Hour, 4, func(s float64) int64 {
		switch {
		case s < 1800:
			return 900
		case s < 2400:
			return 900 + int64(3*(s-1800))
		}
		return 900 + 3*600
	})
	onlyStatus(t, p, 0, 1800, StatusInactive)
	if c := statusCounts(p, 2400+300, math.Inf(1)); c[StatusStopped] == 0 || c[StatusInactive] > 0 {
		t.Errorf("after it revived and died again: %v, want stopped", c)
	}
}

func TestATopicNoMemberSubscribesToIsInactive(t *testing.T) {
	// The group reads payments; its old offsets on orders stay behind.
	payments := GroupPartition{Group: "billing", TopicPartition: TopicPartition{Topic: "payments", Partition: 0}}
	tr := NewTracker(Settings{})
	var behind, read []simPoll
	for s := 0.0; s <= 3600; s += 15 {
		tr.Observe(Poll{
			Time: at(s),
			Partitions: []PartitionOffsets{
				{TopicPartition: orders, LogEnd: 1000 + int64(10*s)},
				{TopicPartition: payments.TopicPartition, LogEnd: 1000 + int64(10*s)},
			},
			Commits: []Commit{
				{GroupPartition: billing, Committed: 900},
				{GroupPartition: payments, Committed: 1000 + int64(10*s) - 3},
			},
			Groups: []GroupState{{Group: "billing", HasMembers: true, Subscribed: []string{"payments"}}},
		})
		res := tr.Evaluate(at(s), nil)
		b, _ := res.GroupPartition(billing)
		r, _ := res.GroupPartition(payments)
		behind, read = append(behind, simPoll{at: s, status: b.Status}), append(read, simPoll{at: s, status: r.Status})
	}
	onlyStatus(t, behind, DefaultStallAfter.Seconds(), math.Inf(1), StatusInactive)
	onlyStatus(t, read, 15, math.Inf(1), StatusOK)
}
