package lagcalc

import (
	"math"
	"slices"
	"testing"
	"time"
)

// steadyBehind: producers write 10 msg/s from log end 1000, the group stays
// `behind` messages behind.
func steadyBehind(to float64, behind int64) []obs {
	return polls(0, to, 5, func(s float64) obs {
		end := 1000 + int64(10*s)
		return obs{end: end, committed: end - behind}
	})
}

func TestLagIsLogEndMinusCommittedNeverNegative(t *testing.T) {
	cases := []struct {
		name           string
		end, committed int64
		want           int64
	}{
		{name: "behind", end: 1000, committed: 900, want: 100},
		{name: "caught up", end: 1000, committed: 1000, want: 0},
		{name: "committed ahead of the log end", end: 1000, committed: 1500, want: 0},
		{name: "empty topic", end: 0, committed: 0, want: 0},
		{name: "huge offsets", end: math.MaxInt64, committed: 0, want: math.MaxInt64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := scenario{polls: []obs{{end: tc.end, committed: tc.committed}}}.billingResult(t)
			if !r.HasLag || r.Lag != tc.want {
				t.Errorf("Lag = %d (has %v), want %d", r.Lag, r.HasLag, tc.want)
			}
		})
	}
}

func TestLagSecondsIsAgeOfOldestUnconsumedMessage(t *testing.T) {
	threeDaysAgo := at(-3 * 86400)
	cases := []struct {
		name           string
		s              scenario
		want           float64
		wantLowerBound bool
	}{
		{
			name: "steady production, 50 messages behind at 10 msg/s is 5 s",
			s:    scenario{polls: steadyBehind(120, 50)},
			want: 5,
		},
		{
			name: "interpolated between polls",
			s:    scenario{polls: steadyBehind(120, 75)},
			want: 7.5,
		},
		{
			name: "dated at the verified position, past markers and aborted data",
			s: scenario{polls: polls(0, 120, 5, func(s float64) obs {
				end := 1000 + int64(10*s)
				return obs{end: end, committed: end - 75, position: end - 50}
			})},
			want: 5,
		},
		{
			name: "zero when only an open transaction is ahead",
			s: scenario{polls: polls(0, 120, 5, func(s float64) obs {
				end := 1000 + int64(10*s)
				return obs{end: end, lso: end - 200, committed: end - 200}
			})},
			want: 0,
		},
		{
			name: "zero when caught up",
			s:    scenario{polls: steadyBehind(120, 0)},
			want: 0,
		},
		{
			name: "zero when committed is past the log end",
			s:    scenario{polls: steadyBehind(120, -10)},
			want: 0,
		},
		{
			name: "a message after an hour of idleness is dated after the idle run, not at its start",
			s: scenario{window: 10 * time.Minute, polls: polls(0, 3615, 15, func(s float64) obs {
				if s == 3615 {
					return obs{end: 101, committed: 100}
				}
				return obs{end: 100, committed: 100}
			})},
			want: 15,
		},
		{
			name: "a burst between two polls is spread over that interval",
			s: scenario{polls: polls(0, 60, 5, func(s float64) obs {
				if s < 15 {
					return obs{end: 0, committed: 0}
				}
				return obs{end: 1000, committed: 500}
			})},
			want: 60 - 12.5,
		},
		{
			name: "ages with now after the last poll",
			s:    scenario{polls: steadyBehind(120, 50), evalDelay: 30},
			want: 35,
		},
		{
			name: "never negative when now is before the last poll",
			s:    scenario{polls: steadyBehind(120, 50), evalDelay: -100},
			want: 0,
		},
		{
			name:           "a single point: the committed offset is older than the history",
			s:              scenario{polls: []obs{{end: 1000, committed: 900}}, evalDelay: 30},
			want:           30,
			wantLowerBound: true,
		},
		{
			name: "older than the history without a record time: lower bound now − oldest point",
			s: scenario{polls: polls(0, 300, 5, func(s float64) obs {
				return obs{end: 1000 + int64(10*s), committed: 500}
			})},
			want:           60, // the anchor is the last point at or before 300 − 60
			wantLowerBound: true,
		},
		{
			name: "older than the history with the record's timestamp: a 3-day backlog reads 3 days",
			s: scenario{polls: polls(0, 300, 5, func(s float64) obs {
				return obs{end: 1000 + int64(10*s), committed: 500}
			}), records: map[TopicPartitionOffset]time.Time{{TopicPartition: orders, Offset: 500}: threeDaysAgo}},
			want: 3*86400 + 300,
		},
		{
			name: "a record timestamp in the future never makes it negative: the lower bound stands",
			s: scenario{polls: polls(0, 300, 5, func(s float64) obs {
				return obs{end: 1000 + int64(10*s), committed: 500}
			}), records: map[TopicPartitionOffset]time.Time{{TopicPartition: orders, Offset: 500}: at(86400)}},
			want:           60,
			wantLowerBound: true,
		},
		{
			name: "a zero record time counts as none",
			s: scenario{polls: polls(0, 300, 5, func(s float64) obs {
				return obs{end: 1000 + int64(10*s), committed: 500}
			}), records: map[TopicPartitionOffset]time.Time{{TopicPartition: orders, Offset: 500}: {}}},
			want:           60,
			wantLowerBound: true,
		},
		{
			name: "committed deleted by retention: dated by the oldest record left, a lower bound",
			s: scenario{polls: polls(0, 300, 5, func(s float64) obs {
				return obs{start: 800, end: 1000 + int64(10*s), committed: 500}
			}), records: map[TopicPartitionOffset]time.Time{{TopicPartition: orders, Offset: 800}: threeDaysAgo}},
			want:           3*86400 + 300,
			wantLowerBound: true,
		},
		{
			name: "the history still dates a committed offset that retention deleted since",
			s: scenario{polls: polls(0, 60, 5, func(s float64) obs {
				start := int64(0)
				if s >= 30 {
					start = 1400
				}
				return obs{start: start, end: 1000 + int64(10*s), committed: 1100}
			})},
			want: 50,
		},
		{
			name: "log end truncated below the committed offset",
			s: scenario{polls: []obs{
				{at: 0, end: 1000, committed: 500},
				{at: 5, end: 2000, committed: 1500},
				{at: 10, end: 100, committed: 1500},
			}},
			want: 0,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.s.billingResult(t)
			if !approx(r.LagSeconds, tc.want, 1e-6) || r.LagSecondsLowerBound != tc.wantLowerBound {
				t.Errorf("LagSeconds = %v (lower bound %v), want %v (lower bound %v)",
					r.LagSeconds, r.LagSecondsLowerBound, tc.want, tc.wantLowerBound)
			}
		})
	}
}

func TestUnresolvedOffsetsListsCommittedOffsetsOlderThanHistory(t *testing.T) {
	stuckAt := func(committed int64, start int64) []obs {
		return polls(0, 300, 5, func(s float64) obs {
			return obs{start: start, end: 1000 + int64(10*s), committed: committed}
		})
	}
	cases := []struct {
		name  string
		polls []obs
		want  []TopicPartitionOffset
	}{
		{name: "committed before the oldest point", polls: stuckAt(500, 0), want: []TopicPartitionOffset{{orders, 500}}},
		{name: "not when the history dates it", polls: steadyBehind(300, 50)},
		{name: "not without lag", polls: steadyBehind(300, 0)},
		{name: "raised to the log start when retention deleted it", polls: stuckAt(500, 700), want: []TopicPartitionOffset{{orders, 700}}},
		{
			name: "not when the log is empty: no record to read",
			polls: polls(0, 300, 5, func(s float64) obs {
				end := 1000 + int64(10*s)
				return obs{start: end, end: end, committed: 500}
			}),
		},
		{name: "not for no_commit", polls: stuckAt(-1, 0)},
		{
			name: "the record at the verified position, past the markers",
			polls: polls(0, 300, 5, func(s float64) obs {
				return obs{end: 1000 + int64(10*s), committed: 500, position: 503}
			}),
			want: []TopicPartitionOffset{{orders, 503}},
		},
		{
			name: "not when the verified position reaches the LSO",
			polls: polls(0, 300, 5, func(s float64) obs {
				return obs{end: 1000 + int64(10*s), lso: 600, committed: 500, position: 600}
			}),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, _ := scenario{polls: tc.polls}.run(t)
			if got := tr.UnresolvedOffsets(); !slices.Equal(got, tc.want) {
				t.Errorf("UnresolvedOffsets() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUnresolvedOffsetsDeduplicatedAcrossGroupsAndSorted(t *testing.T) {
	tr := NewTracker(Settings{Window: time.Minute})
	other := TopicPartition{Topic: "audit", Partition: 3}
	for s := 0.0; s <= 300; s += 5 {
		end := 1000 + int64(10*s)
		tr.Observe(Poll{
			Time:       at(s),
			Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: end}, {TopicPartition: other, LogEnd: end}},
			Commits: []Commit{
				{GroupPartition: GroupPartition{Group: "a", TopicPartition: orders}, Committed: 500},
				{GroupPartition: GroupPartition{Group: "b", TopicPartition: orders}, Committed: 500},
				{GroupPartition: GroupPartition{Group: "c", TopicPartition: orders}, Committed: 200},
				{GroupPartition: GroupPartition{Group: "c", TopicPartition: other}, Committed: 10},
			},
		})
	}
	want := []TopicPartitionOffset{{other, 10}, {orders, 200}, {orders, 500}}
	if got := tr.UnresolvedOffsets(); !slices.Equal(got, want) {
		t.Errorf("UnresolvedOffsets() = %v, want %v", got, want)
	}
}

func TestRates(t *testing.T) {
	cases := []struct {
		name    string
		polls   []obs
		produce float64 // -1: absent
		consume float64 // -1: absent
		start   float64 // log-start rate, -1: absent
	}{
		{name: "steady 10 msg/s produced and consumed", polls: steadyBehind(120, 50), produce: 10, consume: 10, start: 0},
		{
			name: "measured over the window only",
			polls: polls(0, 300, 5, func(s float64) obs {
				end := 100*min(s, 100) + 10*max(s-100, 0)
				return obs{end: int64(end), committed: int64(end)}
			}),
			produce: 10, consume: 10, start: 0,
		},
		{
			name:    "polled every second, thinned, still exact on a steady slope",
			polls:   polls(0, 900, 1, func(s float64) obs { return obs{end: int64(7 * s), committed: int64(3 * s)} }),
			produce: 7, consume: 3, start: 0,
		},
		{name: "one sample has no rate", polls: []obs{{end: 1000, committed: 10}}, produce: -1, consume: -1, start: -1},
		{
			name:    "repeated poll time has no rate",
			polls:   []obs{{at: 7, end: 1000, committed: 10}, {at: 7, end: 2000, committed: 20}},
			produce: -1, consume: -1, start: -1,
		},
		{name: "a stuck consumer consumes 0", polls: polls(0, 120, 5, func(s float64) obs { return obs{end: int64(10 * s), committed: 3} }), produce: 10, consume: 0, start: 0},
		{
			name: "consume rate restarts after a rewind and is never negative",
			polls: polls(0, 240, 5, func(s float64) obs {
				if s <= 200 {
					return obs{end: 5000, committed: 1000 + int64(10*s)}
				}
				return obs{end: 5000, committed: int64(20 * (s - 205))}
			}),
			produce: 0, consume: 20, start: 0,
		},
		{
			name: "log start advancing by retention",
			polls: polls(0, 120, 5, func(s float64) obs {
				return obs{start: int64(4 * s), end: 1000 + int64(10*s), committed: 1000 + int64(10*s)}
			}),
			produce: 10, consume: 10, start: 4,
		},
		{
			name: "log start moving in whole segments",
			polls: polls(0, 120, 5, func(s float64) obs {
				return obs{start: 600 * int64(s/30), end: 5000 + int64(10*s), committed: 5000 + int64(10*s)}
			}),
			// A 600-message segment is deleted every 30 s; over the window
			// (60 s to 120 s) the log start went from 1200 to 2400.
			produce: 10, consume: 10, start: (2400 - 1200) / 60.0,
		},
	}
	check := func(t *testing.T, what string, got float64, has bool, want float64) {
		t.Helper()
		if want < 0 {
			if has {
				t.Errorf("%s = %v, want none", what, got)
			}
			return
		}
		if !has || !approx(got, want, 1e-9) {
			t.Errorf("%s = %v (has %v), want %v", what, got, has, want)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, res := scenario{polls: tc.polls}.run(t)
			p, _ := res.Partition(orders)
			r, _ := res.GroupPartition(billing)
			check(t, "ProduceRate", p.ProduceRate, p.HasProduceRate, tc.produce)
			check(t, "ConsumeRate", r.ConsumeRate, r.HasConsumeRate, tc.consume)
			check(t, "LogStartRate", p.LogStartRate, p.HasLogStartRate, tc.start)
		})
	}
}

func TestTimeToDrain(t *testing.T) {
	cases := []struct {
		name                string
		lag                 int64
		consume, produce    float64
		hasConsume, hasProd bool
		want                float64 // -1: absent
	}{
		{name: "lag over net drain rate", lag: 1000, consume: 20, produce: 10, hasConsume: true, hasProd: true, want: 100},
		{name: "zero when there is no lag", lag: 0, want: 0},
		{name: "absent when consuming as fast as producing", lag: 1000, consume: 10, produce: 10, hasConsume: true, hasProd: true, want: -1},
		{name: "absent when falling behind", lag: 1000, consume: 5, produce: 10, hasConsume: true, hasProd: true, want: -1},
		{name: "absent without a consume rate", lag: 1000, produce: 10, hasProd: true, want: -1},
		{name: "absent without a produce rate", lag: 1000, consume: 10, hasConsume: true, want: -1},
		{name: "absent rather than infinite", lag: math.MaxInt64, consume: 5e-324, produce: 0, hasConsume: true, hasProd: true, want: -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, has := timeToDrain(tc.lag, tc.consume, tc.hasConsume, tc.produce, tc.hasProd)
			if tc.want < 0 {
				if has {
					t.Errorf("timeToDrain = %v, want absent", got)
				}
				return
			}
			if !has || !approx(got, tc.want, 1e-9) {
				t.Errorf("timeToDrain = %v (has %v), want %v", got, has, tc.want)
			}
		})
	}
}

func TestTimeToDrainWhenCatchingUp(t *testing.T) {
	// Producers write 10 msg/s from log end 1000; the group starts at 0 and
	// consumes 20 msg/s, so the lag shrinks by 10 msg/s.
	r := scenario{polls: producing(100, func(s float64) int64 { return int64(20 * s) }, false)}.billingResult(t)
	want := float64(r.Lag) / (20 - 10)
	if !r.HasTimeToDrain || !approx(r.TimeToDrainSeconds, want, 1e-9) {
		t.Errorf("TimeToDrainSeconds = %v (has %v), want %v", r.TimeToDrainSeconds, r.HasTimeToDrain, want)
	}
}

func TestRetentionHeadroom(t *testing.T) {
	retention := func(p RetentionPolicy) map[string]RetentionPolicy {
		return map[string]RetentionPolicy{"orders": p}
	}
	hour := RetentionPolicy{Delete: true, RetentionMs: 3_600_000, RetentionBytes: -1}
	// Producers write 10 msg/s; retention deletes 10 msg/s from log start 0
	// (5,000 messages kept); the group stopped at offset 2000.
	deleting := polls(0, 120, 5, func(s float64) obs {
		return obs{start: int64(10 * s), end: 5000 + int64(10*s), committed: 2000}
	})
	// The same log, the group 400 messages behind the log end, moving as
	// fast as deletion.
	deletingKeepingUp := polls(0, 120, 5, func(s float64) obs {
		end := 5000 + int64(10*s)
		return obs{start: int64(10 * s), end: end, committed: end - 400}
	})
	// The group stopped at 2000; the message there was written long ago.
	old := func(ago float64) map[TopicPartitionOffset]time.Time {
		return map[TopicPartitionOffset]time.Time{{orders, 2000}: at(120 - ago)}
	}
	cases := []struct {
		name string
		s    scenario
		want float64 // -1: absent
	}{
		{
			name: "time retention minus lag seconds, for a backlog at least half the retention old",
			s:    scenario{polls: deleting, records: old(2000), retention: retention(hour)},
			want: 3600 - 2000,
		},
		{
			name: "absent for a backlog younger than half the retention",
			s:    scenario{polls: deleting, records: old(1700), retention: retention(hour)},
			want: -1,
		},
		{
			name: "absent while the group keeps up (5 s behind on a 1-hour topic)",
			s:    scenario{polls: steadyBehind(120, 50), retention: retention(hour)},
			want: -1,
		},
		{
			name: "absent without lag",
			s:    scenario{polls: steadyBehind(120, 0), retention: retention(hour)},
			want: -1,
		},
		{
			name: "size limit: distance to the log start over the speed at which it gains on the group",
			s:    scenario{polls: deleting, retention: retention(RetentionPolicy{Delete: true, RetentionMs: -1, RetentionBytes: 1 << 30})},
			// committed − log start = 2000 − 1200 = 800 at 10 msg/s.
			want: 80,
		},
		{
			name: "size limit: absent while the group moves as fast as deletion",
			s:    scenario{polls: deletingKeepingUp, retention: retention(RetentionPolicy{Delete: true, RetentionMs: -1, RetentionBytes: 1 << 30})},
			want: -1,
		},
		{
			name: "the smaller of the two",
			s:    scenario{polls: deleting, records: old(580), retention: retention(RetentionPolicy{Delete: true, RetentionMs: 600_000, RetentionBytes: 1 << 30})},
			want: 600 - 580,
		},
		{
			name: "absent on a topic without a limit whose log start follows the group (DeleteRecords)",
			s: scenario{polls: polls(0, 120, 5, func(s float64) obs {
				committed := 2000 + int64(10*s)
				return obs{start: committed - 20, end: committed + 30, committed: committed}
			}), retention: retention(RetentionPolicy{Delete: true, RetentionMs: -1, RetentionBytes: -1})},
			want: -1,
		},
		{
			name: "zero once the oldest unconsumed message is past retention",
			s: scenario{polls: polls(0, 300, 5, func(s float64) obs {
				return obs{end: 1000 + int64(10*s), committed: 500}
			}), records: map[TopicPartitionOffset]time.Time{{orders, 500}: at(-7200)}, retention: retention(hour)},
			want: 0,
		},
		{
			name: "zero when the log start already passed the committed offset",
			s: scenario{polls: polls(0, 120, 5, func(s float64) obs {
				return obs{start: 3000 + int64(10*s), end: 5000 + int64(10*s), committed: 2000}
			}), retention: retention(RetentionPolicy{Delete: true, RetentionMs: -1, RetentionBytes: 1 << 20})},
			want: 0,
		},
		{
			name: "absent for compacted-only topics",
			s:    scenario{polls: deleting, retention: retention(RetentionPolicy{Delete: false, RetentionMs: 3_600_000, RetentionBytes: -1})},
			want: -1,
		},
		{
			name: "absent with infinite retention and a log start that does not move",
			s:    scenario{polls: steadyBehind(120, 50), retention: retention(RetentionPolicy{Delete: true, RetentionMs: -1, RetentionBytes: -1})},
			want: -1,
		},
		{
			name: "absent when the topic's policy is unknown",
			s:    scenario{polls: deleting},
			want: -1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.s.billingResult(t)
			if tc.want < 0 {
				if r.HasRetentionHeadroom {
					t.Errorf("RetentionHeadroomSeconds = %v, want absent", r.RetentionHeadroomSeconds)
				}
				return
			}
			if !r.HasRetentionHeadroom || !approx(r.RetentionHeadroomSeconds, tc.want, 1e-6) {
				t.Errorf("RetentionHeadroomSeconds = %v (has %v), want %v", r.RetentionHeadroomSeconds, r.HasRetentionHeadroom, tc.want)
			}
		})
	}
}

func TestExpiredMessagesAreThoseDeletedBeforeTheGroupReadThem(t *testing.T) {
	cases := []struct {
		name                  string
		start, end, committed int64
		want                  int64
	}{
		{name: "none when committed is at or after the log start", start: 100, end: 1000, committed: 100, want: 0},
		{name: "log start minus committed", start: 700, end: 1000, committed: 500, want: 200},
		{name: "everything when the log was emptied", start: 1000, end: 1000, committed: 0, want: 1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := scenario{polls: []obs{{start: tc.start, end: tc.end, committed: tc.committed}}}.billingResult(t)
			if !r.HasExpiredMessages || r.ExpiredMessages != tc.want {
				t.Errorf("ExpiredMessages = %d (has %v), want %d", r.ExpiredMessages, r.HasExpiredMessages, tc.want)
			}
		})
	}
}
