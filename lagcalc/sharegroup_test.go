package lagcalc

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestShareStatusRules(t *testing.T) {
	const stall = 90 * time.Second
	base := shareFacts{lagKnown: true, seenBefore: true, membersKnown: true, hasMembers: true, stallAfter: stall, riseBar: 100, cannotLag: true}
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
		{"LaggingWhenTheTrendRoseAboveTheBar", with(func(f *shareFacts) {
			f.lag, f.cannotLag, f.trendKnown, f.rise, f.windowShare = 500, false, true, 101, 1
		}), StatusLagging},
		{"NotLaggingWhenTheRiseIsWithinTheBar", with(func(f *shareFacts) {
			f.lag, f.cannotLag, f.trendKnown, f.rise, f.windowShare = 500, false, true, 100, 1
		}), StatusOK},
		{"HysteresisStaysLaggingAboveHalfTheBar", with(func(f *shareFacts) {
			f.lag, f.cannotLag, f.trendKnown, f.rise, f.windowShare, f.wasLagging = 500, false, true, 60, 1, true
		}), StatusLagging},
		{"UnknownOnShortHistoryWithALargeLag", with(func(f *shareFacts) { f.lag, f.cannotLag = 500, false }), StatusUnknown},
		{"UnknownWhenTheRiseExceedsTheBarsShareOfAShortHistory", with(func(f *shareFacts) {
			f.lag, f.cannotLag, f.trendKnown, f.rise, f.windowShare = 500, false, true, 50, 0.3
		}), StatusUnknown},
		{"StalledBeatsLagging", with(func(f *shareFacts) { f.lag, f.trendKnown, f.rise, f.stuckFor = 500, true, 400, stall }), StatusStalled},
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
		// ok while the lag is too small to lag (0, then 50), unknown until
		// the trend spans its minimum (3 minutes), then lagging.
		want := StatusUnknown
		at := time.Duration(i) * 15 * time.Second
		switch {
		case i < 2:
			want = StatusOK
		case at >= 3*time.Minute:
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
			pts := tr.parts[sp].lags.points()
			for i, l := range pts {
				if (i > 0 && tr.last-l.t > int64(tr.settings.Window)) || l.v < 0 {
					t.Fatalf("kept lag %+v outside the window (beyond one anchor) or negative", l)
				}
			}
		}
	})
}

func TestShareLagThatJumpsAboutWithoutATrendIsNotLagging(t *testing.T) {
	// An hour of lag drawn at random between 200 and 1,200 at every 15 s
	// poll, the start offset moving: no trend, so no lagging and no status
	// change once the trend can be judged (the rule that only asked whether
	// the lag rose 100 above its window's low changed status 57 times).
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 19))
		tr := NewShareTracker(Settings{})
		sp := SharePartition{Group: "q", TopicPartition: TopicPartition{Topic: "jobs"}}
		var seq []simPoll
		for s := 0.0; s <= 3600; s += 15 {
			lag := 200 + rng.Int64N(1001)
			st := tr.Observe(at(s), []ShareSample{{SharePartition: sp, StartOffset: int64(100 * s), Lag: lag, MembersKnown: true, HasMembers: true}})[sp]
			seq = append(seq, simPoll{at: s, status: st, lag: lag})
		}
		n, h := statusChanges(seq, 180)
		t.Logf("seed %d: %d status changes in %.1f h after the first 3 minutes; statuses %v", seed, n, h, statusCounts(seq, 0, math.Inf(1)))
		if n != 0 {
			t.Errorf("seed %d: %d status changes, want 0", seed, n)
		}
		onlyStatus(t, seq, 180, math.Inf(1), StatusOK)
	}
}

func TestShareAnswerReusedForAFailingCoordinatorKeepsTheLastStatus(t *testing.T) {
	tr := NewShareTracker(Settings{StaleAfter: time.Minute})
	sp := SharePartition{Group: "q", TopicPartition: TopicPartition{Topic: "jobs"}}
	var seq []simPoll
	for s := 0.0; s <= 300; s += 15 {
		sample := ShareSample{SharePartition: sp, StartOffset: 10, Lag: 5, MembersKnown: true, HasMembers: true}
		if s >= 45 {
			// The coordinator fails: the answer of 30 s stands in. Were it
			// judged as fresh, the share-partition would read stalled.
			sample.ReadAt = at(30)
		}
		seq = append(seq, simPoll{at: s, status: tr.Observe(at(s), []ShareSample{sample})[sp]})
	}
	onlyStatus(t, seq, 15, 91, StatusOK)
	onlyStatus(t, seq, 91, math.Inf(1), StatusUnknown)
}
