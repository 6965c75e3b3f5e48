package lagcalc

import (
	"slices"
	"testing"
	"time"
)

// Status scenarios use a 60 s window and a poll every 5 s unless they say
// otherwise.

// statusCase is one status scenario: polls, then the status at the last one.
type statusCase struct {
	name  string
	polls []obs
	want  Status
}

func runStatusCases(t *testing.T, cases []statusCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := scenario{window: time.Minute, polls: tc.polls}.billingResult(t)
			if r.Status != tc.want {
				t.Errorf("status = %v, want %v (result %+v)", r.Status, tc.want, r)
			}
		})
	}
}

// producing returns polls where producers write 10 msg/s from a log end of
// 1000 and the committed offset is committed(s).
func producing(to float64, committed func(s float64) int64, noMembers bool) []obs {
	return polls(0, to, 5, func(s float64) obs {
		return obs{end: 1000 + int64(10*s), committed: committed(s), noMembers: noMembers}
	})
}

func TestNoCommitWhenMemberAssignedButGroupNeverCommitted(t *testing.T) {
	runStatusCases(t, []statusCase{
		{
			name:  "first poll",
			polls: []obs{{end: 500, committed: -1}},
			want:  StatusNoCommit,
		},
		{
			name:  "for longer than the window while producers write",
			polls: producing(120, func(float64) int64 { return -1 }, false),
			want:  StatusNoCommit,
		},
		{
			name: "after the group's offsets were deleted",
			polls: producing(30, func(s float64) int64 {
				if s < 30 {
					return 1000
				}
				return -1
			}, false),
			want: StatusNoCommit,
		},
		{
			name:  "even with no members",
			polls: producing(30, func(float64) int64 { return -1 }, true),
			want:  StatusNoCommit,
		},
	})
}

func TestNoCommitHasNoNumbers(t *testing.T) {
	r := scenario{polls: producing(120, func(float64) int64 { return -1 }, false)}.billingResult(t)
	if r.HasLag || r.HasConsumeRate || r.HasTimeToDrain || r.HasRetentionHeadroom || r.HasExpiredMessages || r.Committed != -1 {
		t.Errorf("no_commit result carries numbers: %+v", r)
	}
}

func TestRewoundWhenCommittedOffsetWentBackwardsWithinWindow(t *testing.T) {
	// The offset follows the log end (caught up) and is reset to 0 at 30 s.
	resetAt30 := func(to float64, noMembers bool) []obs {
		return producing(to, func(s float64) int64 {
			if s >= 30 {
				return int64(10 * (s - 30)) // replaying from 0 at 10 msg/s
			}
			return 1000 + int64(10*s)
		}, noMembers)
	}
	runStatusCases(t, []statusCase{
		{name: "at the poll that saw the reset", polls: resetAt30(30, false), want: StatusRewound},
		{name: "still within the window after the reset", polls: resetAt30(90, false), want: StatusRewound},
		{name: "no longer once the reset left the window", polls: resetAt30(95, false), want: StatusLagging},
		{name: "before stopped: a reset needs an empty group", polls: resetAt30(60, true), want: StatusRewound},
		{
			name: "replay of a few messages",
			polls: producing(60, func(s float64) int64 {
				if s == 60 {
					return 1000 + 10*55 - 100
				}
				return 1000 + int64(10*s)
			}, false),
			want: StatusRewound,
		},
		{
			name: "even when the log end is unknown",
			polls: []obs{
				{at: 0, end: 100, committed: 100},
				{at: 5, committed: 50, noPartition: true},
			},
			want: StatusRewound,
		},
	})
}

func TestRewindsCountedOncePerBackwardStep(t *testing.T) {
	cases := []struct {
		name      string
		committed []int64
		want      uint64
	}{
		{name: "no step back", committed: []int64{1, 2, 3, 3, 4}, want: 0},
		{name: "one step back then flat", committed: []int64{100, 50, 50, 50, 50}, want: 1},
		{name: "two separate steps", committed: []int64{100, 50, 60, 10, 20}, want: 2},
		{name: "consecutive steps each count", committed: []int64{100, 90, 80, 70}, want: 3},
		{name: "a first commit after no_commit is not a rewind", committed: []int64{100, -1, 50}, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ps []obs
			for i, c := range tc.committed {
				ps = append(ps, obs{at: float64(5 * i), end: 1000, committed: c})
			}
			tr, res := scenario{polls: ps}.run(t)
			r, _ := res.GroupPartition(billing)
			if r.Rewinds != tc.want {
				t.Errorf("Rewinds = %d, want %d", r.Rewinds, tc.want)
			}
			// Evaluating again must not count again.
			again, _ := tr.Evaluate(at(1000), nil).GroupPartition(billing)
			if again.Rewinds != tc.want {
				t.Errorf("Rewinds after a second Evaluate = %d, want %d", again.Rewinds, tc.want)
			}
		})
	}
}

func TestStoppedWhenLagPositiveAndGroupHasNoMembers(t *testing.T) {
	runStatusCases(t, []statusCase{
		{
			name:  "at the first poll: no window needed",
			polls: []obs{{end: 1000, committed: 900, noMembers: true}},
			want:  StatusStopped,
		},
		{
			name:  "over a long time",
			polls: producing(300, func(float64) int64 { return 900 }, true),
			want:  StatusStopped,
		},
		{
			name:  "not when there is no lag",
			polls: []obs{{end: 1000, committed: 1000, noMembers: true}},
			want:  StatusOK,
		},
		{
			name: "not when membership is unknown",
			polls: []obs{
				{at: 0, end: 1000, committed: 900, noGroup: true},
				{at: 5, end: 1000, committed: 900, noGroup: true},
			},
			want: StatusUnknown,
		},
	})
}

func TestStalledWhenCommittedOffsetUnchangedOverWindowAndLagPositive(t *testing.T) {
	runStatusCases(t, []statusCase{
		{
			name:  "producers write, the consumer does not move",
			polls: producing(120, func(float64) int64 { return 900 }, false),
			want:  StatusStalled,
		},
		{
			name: "poison message on a quiet topic",
			polls: polls(0, 120, 5, func(float64) obs {
				return obs{end: 101, committed: 100}
			}),
			want: StatusStalled,
		},
		{
			name: "exactly one window of history",
			polls: polls(0, 60, 5, func(float64) obs {
				return obs{end: 101, committed: 100}
			}),
			want: StatusStalled,
		},
		{
			name: "stuck after having been caught up, once a whole window passed",
			polls: producing(150, func(s float64) int64 {
				return 1000 + int64(10*min(s, 60))
			}, false),
			want: StatusStalled,
		},
	})
}

func TestNotStalledUnlessTheWholeWindowIsCovered(t *testing.T) {
	runStatusCases(t, []statusCase{
		{
			name:  "history shorter than the window is unknown",
			polls: producing(55, func(float64) int64 { return 900 }, false),
			want:  StatusUnknown,
		},
		{
			name:  "a single sample with lag is unknown",
			polls: []obs{{end: 1000, committed: 900}},
			want:  StatusUnknown,
		},
		{
			name: "membership unknown is unknown, not stalled",
			polls: polls(0, 120, 5, func(float64) obs {
				return obs{end: 1000, committed: 900, noGroup: true}
			}),
			want: StatusUnknown,
		},
	})
}

func TestNotStalledWhenConsumerWasCaughtUpWithinWindow(t *testing.T) {
	runStatusCases(t, []statusCase{
		{
			name: "quiet topic: the first new message in an hour just arrived",
			polls: polls(0, 3600, 15, func(s float64) obs {
				if s == 3600 {
					return obs{end: 101, committed: 100}
				}
				return obs{end: 100, committed: 100}
			}),
			want: StatusOK,
		},
		{
			name: "caught up 30 s ago, producers busy since",
			polls: producing(150, func(s float64) int64 {
				return 1000 + int64(10*min(s, 120))
			}, false),
			want: StatusOK,
		},
	})
}

func TestLaggingWhenOffsetMovesButLagNotShrinking(t *testing.T) {
	runStatusCases(t, []statusCase{
		{
			name:  "consumes 5 msg/s of 10 msg/s produced",
			polls: producing(120, func(s float64) int64 { return 1000 + int64(5*s) }, false),
			want:  StatusLagging,
		},
		{
			name:  "keeps pace but never catches up: lag constant",
			polls: producing(120, func(s float64) int64 { return 500 + int64(10*s) }, false),
			want:  StatusLagging,
		},
		{
			name: "with two samples only",
			polls: []obs{
				{at: 0, end: 1000, committed: 500},
				{at: 5, end: 1100, committed: 550},
			},
			want: StatusLagging,
		},
		{
			name:  "not when caught up at a poll within the window",
			polls: producing(100, func(s float64) int64 { return 1000 + int64(10*min(s, 50)) + int64(5*max(s-50, 0)) }, false),
			want:  StatusOK,
		},
	})
}

func TestOKWhenLagZeroOrShrinkingWhileOffsetMoves(t *testing.T) {
	runStatusCases(t, []statusCase{
		{
			name:  "caught up",
			polls: producing(120, func(s float64) int64 { return 1000 + int64(10*s) }, false),
			want:  StatusOK,
		},
		{
			name:  "caught up at the first poll",
			polls: []obs{{end: 1000, committed: 1000}},
			want:  StatusOK,
		},
		{
			name:  "committed ahead of the log end",
			polls: []obs{{end: 1000, committed: 1200}},
			want:  StatusOK,
		},
		{
			name:  "catching up: consumes 20 msg/s of 10 msg/s produced",
			polls: producing(120, func(s float64) int64 { return int64(20 * s) }, false),
			want:  StatusOK,
		},
		{
			name: "idle topic, idle consumer, for days",
			polls: polls(0, 3*86400, 3600, func(float64) obs {
				return obs{end: 100, committed: 100}
			}),
			want: StatusOK,
		},
	})
}

func TestUnknownWhenTooLittleHistoryOrLogEndMissing(t *testing.T) {
	runStatusCases(t, []statusCase{
		{name: "one sample with lag", polls: []obs{{end: 1000, committed: 10}}, want: StatusUnknown},
		{
			name:  "offset unchanged with lag, history shorter than the window",
			polls: producing(30, func(float64) int64 { return 10 }, false),
			want:  StatusUnknown,
		},
		{
			name: "repeated poll time gives no span",
			polls: []obs{
				{at: 0, end: 1000, committed: 10},
				{at: 0, end: 1000, committed: 20},
			},
			want: StatusUnknown,
		},
		{
			name: "partition offsets missing from the poll",
			polls: []obs{
				{at: 0, end: 1000, committed: 1000},
				{at: 5, committed: 1000, noPartition: true},
			},
			want: StatusUnknown,
		},
	})
}

func TestLogEndMissingFromPollGivesNoLagNumbers(t *testing.T) {
	r := scenario{polls: []obs{
		{at: 0, end: 1000, committed: 900},
		{at: 5, committed: 950, noPartition: true},
	}}.billingResult(t)
	if r.HasLag || r.HasExpiredMessages || r.HasTimeToDrain || r.HasRetentionHeadroom {
		t.Errorf("numbers without a log end: %+v", r)
	}
	if !r.HasConsumeRate || !approx(r.ConsumeRate, 10, 1e-9) {
		t.Errorf("ConsumeRate = %v (has %v), want 10: it needs only committed offsets", r.ConsumeRate, r.HasConsumeRate)
	}
}

// TestStatusRulesPrecedence checks the documented order
// no_commit > rewound > stopped > stalled > lagging > ok > unknown directly on
// the facts, where several rules hold at once.
func TestStatusRulesPrecedence(t *testing.T) {
	stalledFacts := partitionFacts{committed: 5, lagKnown: true, lag: 10, membersKnown: true, hasMembers: true, unchangedOverWindow: true}
	laggingFacts := partitionFacts{committed: 5, lagKnown: true, lag: 10, membersKnown: true, hasMembers: true,
		trendKnown: true, movedSinceTrendStart: true, lagAtTrendStart: 5}
	with := func(f partitionFacts, change func(*partitionFacts)) partitionFacts {
		change(&f)
		return f
	}
	cases := []struct {
		name  string
		facts partitionFacts
		want  Status
	}{
		{"no_commit over rewound", partitionFacts{committed: -1, rewoundWithinWindow: true}, StatusNoCommit},
		{"rewound over stopped", with(stalledFacts, func(f *partitionFacts) { f.rewoundWithinWindow, f.hasMembers = true, false }), StatusRewound},
		{"rewound over lagging", with(laggingFacts, func(f *partitionFacts) { f.rewoundWithinWindow = true }), StatusRewound},
		{"stopped over stalled's conditions", with(stalledFacts, func(f *partitionFacts) { f.hasMembers = false }), StatusStopped},
		{"stopped over lagging's conditions", with(laggingFacts, func(f *partitionFacts) { f.hasMembers = false }), StatusStopped},
		{"stalled", stalledFacts, StatusStalled},
		{"lagging", laggingFacts, StatusLagging},
		{"caught up in the window beats stalled", with(stalledFacts, func(f *partitionFacts) { f.caughtUpWithinWindow = true }), StatusOK},
		{"caught up in the window beats lagging", with(laggingFacts, func(f *partitionFacts) { f.caughtUpWithinWindow = true }), StatusOK},
		{"shrinking lag is ok", with(laggingFacts, func(f *partitionFacts) { f.lagAtTrendStart = 11 }), StatusOK},
		{"unknown lag is unknown", partitionFacts{committed: 5, membersKnown: true, hasMembers: true}, StatusUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := partitionStatus(&tc.facts); got != tc.want {
				t.Errorf("status = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestStatusRulesStalledLaggingOKAreExclusive checks that at most one of the
// history rules holds for every combination of facts, so the precedence
// between them never matters.
func TestStatusRulesStalledLaggingOKAreExclusive(t *testing.T) {
	for bits := 0; bits < 1<<9; bits++ {
		b := func(i int) bool { return bits&(1<<i) != 0 }
		f := partitionFacts{
			committed: 5, lagKnown: b(0), membersKnown: b(1), hasMembers: b(2),
			caughtUpWithinWindow: b(3), unchangedOverWindow: b(4), trendKnown: b(5),
			movedSinceTrendStart: b(6),
		}
		if b(4) {
			f.movedSinceTrendStart = false // unchanged over the window implies not moved since a later start
		}
		if b(7) {
			f.lag = 10
		}
		if b(8) {
			f.lagAtTrendStart = 20
		} else {
			f.lagAtTrendStart = 3
		}
		n := 0
		for _, rule := range []func(*partitionFacts) bool{isStalled, isLagging, isOK} {
			if rule(&f) {
				n++
			}
		}
		if n > 1 {
			t.Errorf("%d history rules hold for %+v", n, f)
		}
	}
}

func TestGroupStatusIsWorstPartitionStatus(t *testing.T) {
	tr := NewTracker(time.Minute)
	stuck := TopicPartition{Topic: "orders", Partition: 1}
	for s := 0.0; s <= 120; s += 5 {
		end := 1000 + int64(10*s)
		tr.Observe(Poll{
			Time: at(s),
			Partitions: []PartitionOffsets{
				{TopicPartition: orders, LogEnd: end},
				{TopicPartition: stuck, LogEnd: end},
				{TopicPartition: TopicPartition{Topic: "audit", Partition: 0}, LogEnd: 50},
			},
			Commits: []Commit{
				{GroupPartition: billing, Committed: end},
				{GroupPartition: GroupPartition{Group: "billing", TopicPartition: stuck}, Committed: 900},
				{GroupPartition: GroupPartition{Group: "reports", TopicPartition: orders}, Committed: end - 100},
				{GroupPartition: GroupPartition{Group: "archiver", TopicPartition: TopicPartition{Topic: "audit", Partition: 0}}, Committed: -1},
			},
			Groups: []GroupState{{Group: "billing", HasMembers: true}, {Group: "reports", HasMembers: true},
				{Group: "archiver", HasMembers: true}, {Group: "idle", HasMembers: false}},
		})
	}
	res := tr.Evaluate(at(120), nil)
	checkResultInvariants(t, res)
	cases := []struct {
		group      string
		want       Status
		partitions int
		lag        int64
	}{
		{group: "billing", want: StatusStalled, partitions: 2, lag: 2200 - 900},
		{group: "reports", want: StatusLagging, partitions: 1, lag: 100},
		{group: "archiver", want: StatusNoCommit, partitions: 1},
		{group: "idle", want: StatusOK, partitions: 0},
	}
	for _, tc := range cases {
		g, ok := res.Group(tc.group)
		if !ok {
			t.Fatalf("no group %q", tc.group)
		}
		if g.Status != tc.want || g.Partitions != tc.partitions || g.Lag != tc.lag {
			t.Errorf("group %s = %+v, want status %v, %d partitions, lag %d", tc.group, g, tc.want, tc.partitions, tc.lag)
		}
	}
	billingGroup, _ := res.Group("billing")
	stuckResult, _ := res.GroupPartition(GroupPartition{Group: "billing", TopicPartition: stuck})
	if !billingGroup.HasMaxLagSeconds || billingGroup.MaxLagSeconds != stuckResult.LagSeconds || stuckResult.LagSeconds <= 0 {
		t.Errorf("MaxLagSeconds = %v (has %v), want the stuck partition's %v", billingGroup.MaxLagSeconds, billingGroup.HasMaxLagSeconds, stuckResult.LagSeconds)
	}
	if archiver, _ := res.Group("archiver"); archiver.HasMaxLagSeconds {
		t.Errorf("archiver has MaxLagSeconds without any lag number: %+v", archiver)
	}
}

func TestStatusLabelsInFixedStateSetOrder(t *testing.T) {
	var labels []string
	for _, s := range Statuses() {
		labels = append(labels, s.String())
	}
	want := []string{"unknown", "ok", "lagging", "stalled", "stopped", "rewound", "no_commit"}
	if !slices.Equal(labels, want) {
		t.Errorf("Statuses() labels = %v, want %v", labels, want)
	}
	if len(Statuses()) != NumStatuses {
		t.Errorf("len(Statuses()) = %d, NumStatuses = %d", len(Statuses()), NumStatuses)
	}
	if Status(0) != StatusUnknown {
		t.Error("the zero Status must be unknown")
	}
}

func TestGroupSeverityOrder(t *testing.T) {
	worstFirst := []Status{StatusStalled, StatusStopped, StatusLagging, StatusRewound, StatusNoCommit, StatusUnknown, StatusOK}
	for i := 1; i < len(worstFirst); i++ {
		if worstFirst[i-1].Severity() <= worstFirst[i].Severity() {
			t.Errorf("%v must be worse than %v", worstFirst[i-1], worstFirst[i])
		}
		if worseStatus(worstFirst[i], worstFirst[i-1]) != worstFirst[i-1] || worseStatus(worstFirst[i-1], worstFirst[i]) != worstFirst[i-1] {
			t.Errorf("worseStatus(%v, %v) is not symmetric", worstFirst[i-1], worstFirst[i])
		}
	}
}
