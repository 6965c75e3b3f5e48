package lagcalc

import (
	"testing"
	"time"
)

func TestShareStatusRules(t *testing.T) {
	const stall = 90 * time.Second
	base := shareFacts{lagKnown: true, seenBefore: true, membersKnown: true, hasMembers: true, stallAfter: stall, riseBar: 100, minSpan: 3 * time.Minute}
	with := func(change func(f *shareFacts)) *shareFacts {
		f := base
		change(&f)
		return &f
	}
	cases := []struct {
		name string
		f    *shareFacts
		want Status
	}{
		{"UnknownWithoutLag", with(func(f *shareFacts) { f.lagKnown, f.lag = false, -1 }), StatusUnknown},
		{"OKWhenCaughtUp", with(func(f *shareFacts) { f.lag = 0; f.stuckFor = time.Hour }), StatusOK},
		{"OKWhenCaughtUpOnFirstPoll", with(func(f *shareFacts) { f.seenBefore = false }), StatusOK},
		{"UnknownOnFirstPollWithLag", with(func(f *shareFacts) { f.seenBefore, f.lag = false, 5 }), StatusUnknown},
		{"OKWhenLagAndProgressWithinStallAfter", with(func(f *shareFacts) { f.lag, f.stuckFor = 5, stall-time.Second }), StatusOK},
		{"StalledWhenStartOffsetStillAndLagAndMembers", with(func(f *shareFacts) { f.lag, f.stuckFor = 5, stall }), StatusStalled},
		{"StalledWhenMembersUnknown", with(func(f *shareFacts) { f.lag, f.stuckFor, f.membersKnown, f.hasMembers = 5, stall, false, false }), StatusStalled},
		{"StoppedWhenNoMembersAndLagAllAlong", with(func(f *shareFacts) { f.lag, f.stuckFor, f.hasMembers = 5, stall, false }), StatusStopped},
		{"NotStoppedWithinStallAfterOfLosingMembers", with(func(f *shareFacts) { f.lag, f.stuckFor, f.hasMembers = 5, stall-time.Second, false }), StatusOK},
		{"NotStoppedWithoutLag", with(func(f *shareFacts) { f.lag, f.stuckFor, f.hasMembers = 0, stall, false }), StatusOK},
		{"LaggingWhenLagRoseAboveBarOverSpan", with(func(f *shareFacts) { f.lag, f.rise, f.span = 500, 101, 3*time.Minute }), StatusLagging},
		{"NotLaggingWhenRiseWithinBar", with(func(f *shareFacts) { f.lag, f.rise, f.span = 500, 100, 3*time.Minute }), StatusOK},
		{"NotLaggingOnShortHistory", with(func(f *shareFacts) { f.lag, f.rise, f.span = 500, 400, 2*time.Minute }), StatusOK},
		{"StalledBeatsLagging", with(func(f *shareFacts) { f.lag, f.rise, f.span, f.stuckFor = 500, 400, 3*time.Minute, stall }), StatusStalled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := shareStatus(c.f); got != c.want {
				t.Errorf("shareStatus(%+v) = %v, want %v", *c.f, got, c.want)
			}
		})
	}
}

// sharePoll is one poll of one share-partition in a tracker test.
type sharePoll struct {
	at          time.Duration // since t0
	startOffset int64
	lag         int64
	members     bool
	want        Status
}

func runShareTracker(t *testing.T, polls []sharePoll) {
	t.Helper()
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tr := NewShareTracker(Settings{StallAfter: 90 * time.Second, Window: 10 * time.Minute})
	sp := SharePartition{Group: "q", TopicPartition: TopicPartition{Topic: "jobs", Partition: 0}}
	for _, p := range polls {
		got := tr.Observe(t0.Add(p.at), []ShareSample{{SharePartition: sp, StartOffset: p.startOffset, Lag: p.lag, MembersKnown: true, HasMembers: p.members}})[sp]
		if got != p.want {
			t.Fatalf("at %v (start %d, lag %d, members %v): status %v, want %v", p.at, p.startOffset, p.lag, p.members, got, p.want)
		}
	}
}

func TestShareStalledWhenStartOffsetAndLagStillWithMembers(t *testing.T) {
	runShareTracker(t, []sharePoll{
		{0, 10, 5, true, StatusUnknown},
		{15 * time.Second, 10, 5, true, StatusOK},
		{90 * time.Second, 10, 5, true, StatusStalled},
		// The poison record is archived: the start offset moves.
		{105 * time.Second, 11, 4, true, StatusOK},
	})
}

func TestShareNotStalledWhileLagFallsBehindAPinnedStartOffset(t *testing.T) {
	runShareTracker(t, []sharePoll{
		{0, 0, 50, true, StatusUnknown},
		{60 * time.Second, 0, 40, true, StatusOK},
		{120 * time.Second, 0, 30, true, StatusOK},
		{180 * time.Second, 0, 20, true, StatusOK},
	})
}

func TestShareStoppedWhenNoMembersAndBacklog(t *testing.T) {
	runShareTracker(t, []sharePoll{
		{0, 0, 30, false, StatusUnknown},
		{60 * time.Second, 0, 30, false, StatusOK},
		{90 * time.Second, 0, 30, false, StatusStopped},
		// A consumer joins and works it off.
		{105 * time.Second, 30, 0, true, StatusOK},
	})
}

func TestShareStuckClockStartsAtTheLastPollWithoutLag(t *testing.T) {
	runShareTracker(t, []sharePoll{
		{0, 10, 0, true, StatusOK},
		{5 * time.Minute, 10, 0, true, StatusOK},
		{5*time.Minute + 15*time.Second, 10, 3, true, StatusOK},
		{6*time.Minute + 44*time.Second, 10, 3, true, StatusStalled},
	})
}

func TestShareLaggingWhenLagClimbsOverTheWindow(t *testing.T) {
	var polls []sharePoll
	for i := range 13 {
		want := StatusOK
		at := time.Duration(i) * 15 * time.Second
		if at >= 3*time.Minute {
			want = StatusLagging
		}
		// The start offset keeps moving: members work, just too slowly.
		polls = append(polls, sharePoll{at, int64(i * 10), int64(i * 50), true, want})
	}
	runShareTracker(t, polls)
}

func TestShareForgetsPartitionsNoLongerSampled(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tr := NewShareTracker(Settings{})
	a := SharePartition{Group: "q", TopicPartition: TopicPartition{Topic: "a"}}
	tr.Observe(t0, []ShareSample{{SharePartition: a, StartOffset: 1, Lag: 1, MembersKnown: true}})
	tr.Observe(t0.Add(time.Minute), nil)
	if len(tr.parts) != 0 {
		t.Fatalf("tracker kept %d share-partitions after a poll without them", len(tr.parts))
	}
}

func TestWorstShareStatusIsTheMostSevere(t *testing.T) {
	if got := WorstShareStatus([]Status{StatusOK, StatusStopped, StatusLagging}); got != StatusStopped {
		t.Errorf("got %v, want stopped", got)
	}
	if got := WorstShareStatus(nil); got != StatusUnknown {
		t.Errorf("no partitions: got %v, want unknown", got)
	}
}

func FuzzShareTrackerNeverPanicsAndKeepsLagsInWindow(f *testing.F) {
	f.Add(int64(0), int64(5), int64(15), int64(3))
	f.Fuzz(func(t *testing.T, start, lag, stepSeconds, polls int64) {
		t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		tr := NewShareTracker(Settings{})
		sp := SharePartition{Group: "g"}
		now := t0
		for i := range polls % 50 {
			now = now.Add(time.Duration(stepSeconds%3600) * time.Second)
			st := tr.Observe(now, []ShareSample{{SharePartition: sp, StartOffset: start + i, Lag: lag - i, MembersKnown: true, HasMembers: i%2 == 0}})
			if s := st[sp]; s >= NumStatuses {
				t.Fatalf("status %d out of range", s)
			}
			for _, l := range tr.parts[sp].lags {
				if now.Sub(l.at) > tr.settings.Window || l.lag < 0 {
					t.Fatalf("kept lag %+v outside the window or negative", l)
				}
			}
		}
	})
}
