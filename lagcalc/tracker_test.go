package lagcalc

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"
	"unsafe"
)

func TestForgetsWhatIsAbsentFromThePoll(t *testing.T) {
	audit := TopicPartition{Topic: "audit", Partition: 0}
	reportsOnAudit := GroupPartition{Group: "reports", TopicPartition: audit}
	billingOnAudit := GroupPartition{Group: "billing", TopicPartition: audit}
	full := Poll{
		Time:       at(0),
		Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: 100}, {TopicPartition: audit, LogEnd: 100}},
		Commits: []Commit{
			{GroupPartition: billing, Committed: 50},
			{GroupPartition: billingOnAudit, Committed: 50},
			{GroupPartition: reportsOnAudit, Committed: 90},
		},
		Groups: []GroupState{{Group: "billing", HasMembers: true}, {Group: "reports", HasMembers: true}},
	}
	cases := []struct {
		name                string
		next                Poll
		wantPartitions      []TopicPartition
		wantGroups          []string
		wantGroupPartitions []GroupPartition
	}{
		{
			name: "a deleted topic disappears with its group-partitions",
			next: Poll{
				Time:       at(5),
				Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: 100}},
				Commits:    []Commit{{GroupPartition: billing, Committed: 60}},
				Groups:     []GroupState{{Group: "billing", HasMembers: true}, {Group: "reports", HasMembers: true}},
			},
			wantPartitions:      []TopicPartition{orders},
			wantGroups:          []string{"billing", "reports"},
			wantGroupPartitions: []GroupPartition{billing},
		},
		{
			name: "a deleted group disappears with its group-partitions",
			next: Poll{
				Time:       at(5),
				Partitions: full.Partitions,
				Commits:    full.Commits[:2],
				Groups:     full.Groups[:1],
			},
			wantPartitions:      []TopicPartition{audit, orders},
			wantGroups:          []string{"billing"},
			wantGroupPartitions: []GroupPartition{billingOnAudit, billing},
		},
		{
			name: "a group-partition no longer committed disappears",
			next: Poll{
				Time:       at(5),
				Partitions: full.Partitions,
				Commits:    full.Commits[1:],
				Groups:     full.Groups,
			},
			wantPartitions:      []TopicPartition{audit, orders},
			wantGroups:          []string{"billing", "reports"},
			wantGroupPartitions: []GroupPartition{billingOnAudit, reportsOnAudit},
		},
		{
			name:       "an empty poll forgets everything",
			next:       Poll{Time: at(5)},
			wantGroups: nil,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(Settings{Window: time.Minute})
			tr.Observe(full)
			tr.Observe(tc.next)
			res := tr.Evaluate(at(5), nil)
			checkResultInvariants(t, res)
			var partitions []TopicPartition
			for _, p := range res.Partitions {
				partitions = append(partitions, p.TopicPartition)
			}
			var groups []string
			for _, g := range res.Groups {
				groups = append(groups, g.Group)
			}
			var gps []GroupPartition
			for _, r := range res.GroupPartitions {
				gps = append(gps, r.GroupPartition)
			}
			if !slices.Equal(partitions, tc.wantPartitions) || !slices.Equal(groups, tc.wantGroups) || !slices.Equal(gps, tc.wantGroupPartitions) {
				t.Errorf("got partitions %v, groups %v, group-partitions %v; want %v, %v, %v",
					partitions, groups, gps, tc.wantPartitions, tc.wantGroups, tc.wantGroupPartitions)
			}
			if len(tr.partitions) != len(tc.wantPartitions) || len(tr.groups) != len(tc.wantGroups) || len(tr.allGroupPartitions()) != len(tc.wantGroupPartitions) {
				t.Errorf("tracker still holds %d partitions, %d groups, %d group-partitions",
					len(tr.partitions), len(tr.groups), len(tr.allGroupPartitions()))
			}
		})
	}
}

func TestRecreatedTopicStartsAFreshHistory(t *testing.T) {
	tr := NewTracker(Settings{Window: time.Minute})
	tr.Observe(obs{at: 0, end: 5000, committed: 4000}.poll(nil))
	tr.Observe(Poll{Time: at(5)}) // topic and group deleted
	tr.Observe(obs{at: 10, end: 10, committed: 5}.poll(nil))
	r, _ := tr.Evaluate(at(10), nil).GroupPartition(billing)
	if r.Rewinds != 0 || r.Status == StatusRewound || r.HasConsumeRate {
		t.Errorf("history survived the deletion: %+v", r)
	}
}

func TestGroupInCommitsButNotDescribedHasUnknownMembers(t *testing.T) {
	tr := NewTracker(Settings{Window: time.Minute})
	tr.Observe(obs{at: 0, end: 100, committed: 50}.poll(nil))
	tr.Observe(obs{at: 5, end: 100, committed: 50, noGroup: true}.poll(nil))
	g, ok := tr.Evaluate(at(5), nil).Group("billing")
	if !ok || g.MembersKnown || g.HasMembers {
		t.Errorf("group = %+v (found %v), want unknown membership", g, ok)
	}
}

func TestFirstOccurrenceWinsForDuplicateKeysInAPoll(t *testing.T) {
	tr := NewTracker(Settings{Window: time.Minute})
	tr.Observe(Poll{
		Time:       at(0),
		Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: 100}, {TopicPartition: orders, LogEnd: 7}},
		Commits:    []Commit{{GroupPartition: billing, Committed: 40}, {GroupPartition: billing, Committed: 10}},
		Groups:     []GroupState{{Group: "billing", HasMembers: true}, {Group: "billing", HasMembers: false}},
	})
	res := tr.Evaluate(at(0), nil)
	checkResultInvariants(t, res)
	r, _ := res.GroupPartition(billing)
	g, _ := res.Group("billing")
	if len(res.GroupPartitions) != 1 || r.Lag != 60 || r.Rewinds != 0 || !g.HasMembers {
		t.Errorf("duplicates changed the result: %+v, group %+v", res.GroupPartitions, g)
	}
}

func TestClockSteppingBackwardsDropsHistoryButKeepsCounters(t *testing.T) {
	tr := NewTracker(Settings{Window: time.Minute})
	for _, o := range []obs{
		{at: 100, end: 1000, committed: 900},
		{at: 105, end: 1100, committed: 800}, // a rewind
		{at: 110, end: 1200, committed: 850},
		{at: 50, end: 1300, committed: 900}, // the clock went back 60 s
	} {
		tr.Observe(o.poll(nil))
	}
	res := tr.Evaluate(at(50), nil)
	checkResultInvariants(t, res)
	r, _ := res.GroupPartition(billing)
	p, _ := res.Partition(orders)
	if r.Rewinds != 1 || r.HasConsumeRate || p.HasProduceRate || r.Status != StatusUnknown || r.Lag != 400 {
		t.Errorf("after the clock stepped back: %+v, partition %+v", r, p)
	}
	for _, ps := range tr.partitions {
		if ps.end.len() != 1 {
			t.Errorf("log-end history kept %d points across the step", ps.end.len())
		}
	}
}

func TestMonotonicClockReadingsWinOverWallClockSteps(t *testing.T) {
	// time.Now() carries a monotonic reading: Sub uses it, so a wall-clock
	// step between polls does not distort the history.
	base := time.Now()
	tr := NewTracker(Settings{Window: time.Minute})
	for i := 0; i <= 12; i++ {
		tr.Observe(Poll{
			Time:       base.Add(time.Duration(i) * 5 * time.Second),
			Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: int64(50 * i)}},
		})
	}
	p, _ := tr.Evaluate(base.Add(60*time.Second), nil).Partition(orders)
	if !p.HasProduceRate || !approx(p.ProduceRate, 10, 1e-9) {
		t.Errorf("ProduceRate = %v (has %v), want 10", p.ProduceRate, p.HasProduceRate)
	}
}

func TestFlatRunsCompressedToFirstAndLastPoint(t *testing.T) {
	tr, _ := scenario{window: time.Hour, polls: polls(0, 600, 5, func(s float64) obs {
		if s < 100 {
			return obs{end: int64(s), committed: int64(s)}
		}
		return obs{end: 100, committed: 90}
	})}.run(t)
	end := tr.partitions[orders].end.points()
	committed := tr.groupPartition(billing).history.points()
	// 0, 5, …, 95 rising, then the flat run of 100 from 100 s to 600 s.
	if len(end) != 22 || end[20] != (point{t: int64(100 * time.Second), v: 100}) || end[21] != (point{t: int64(600 * time.Second), v: 100}) {
		t.Errorf("log-end points = %v", end)
	}
	if last := committed[len(committed)-1]; last.t != int64(600*time.Second) || committed[len(committed)-2].v != 90 {
		t.Errorf("committed points end with %v", committed[len(committed)-2:])
	}
	if start := tr.partitions[orders].start.points(); len(start) != 2 {
		t.Errorf("a log start flat at 0 holds %d points, want 2", len(start))
	}
}

func TestHistoryTrimmedToWindowKeepingOneAnchor(t *testing.T) {
	tr, _ := scenario{window: time.Minute, polls: polls(0, 300, 5, func(s float64) obs {
		return obs{end: int64(10 * s), committed: int64(10 * s)}
	})}.run(t)
	for _, s := range []series{tr.partitions[orders].end, tr.groupPartition(billing).history} {
		if s.first().t != int64(240*time.Second) || s.at(1).t <= int64(240*time.Second) {
			t.Errorf("history starts %v, want one anchor at 240 s (= 300 s − window)", s.points()[:2])
		}
	}
}

func TestPointsPerSeriesCappedWhateverThePollInterval(t *testing.T) {
	cases := []struct {
		name  string
		every float64
	}{
		{name: "15 s poll", every: 15},
		{name: "1 s poll", every: 1},
		{name: "100 ms poll", every: 0.1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(Settings{Window: 10 * time.Minute})
			maxEnd, maxStart, maxCommitted := 0, 0, 0
			for i := 0; i < 3000; i++ {
				s := float64(i) * tc.every
				// Irregular production and consumption so no point is free to drop.
				end := int64(10*s + 50*math.Sin(s/7))
				tr.Observe(obs{at: s, start: int64(3 * s), end: end, committed: end - int64(20+10*math.Cos(s/3))}.poll(nil))
				ps, gps := tr.partitions[orders], tr.groupPartition(billing)
				maxEnd = max(maxEnd, ps.end.capPoints())
				maxStart = max(maxStart, ps.start.capPoints())
				maxCommitted = max(maxCommitted, gps.history.capPoints())
			}
			if maxEnd > maxLogEndPoints+1 || maxStart > maxLogStartPoints+1 || maxCommitted > maxCommitPoints+1 {
				t.Errorf("storage grew to %d log-end, %d log-start, %d committed points; caps %d, %d, %d (+1 slot)",
					maxEnd, maxStart, maxCommitted, maxLogEndPoints, maxLogStartPoints, maxCommitPoints)
			}
			ps, gps := tr.partitions[orders], tr.groupPartition(billing)
			if ps.end.len() > maxLogEndPoints || ps.start.len() > maxLogStartPoints || gps.history.len() > maxCommitPoints {
				t.Errorf("kept %d log-end, %d log-start, %d committed points", ps.end.len(), ps.start.len(), gps.history.len())
			}
		})
	}
}

func TestThinningKeepsAnIdleRunsShape(t *testing.T) {
	// Polled every second: busy for 10 minutes, idle for 10 minutes, then one
	// message. Thinning must keep the end of the idle run, so the message is
	// dated within a second, not at the start of the idle run.
	window := 30 * time.Minute
	var ps []obs
	for s := 0.0; s < 600; s++ {
		end := int64(10*s + 30*math.Sin(s))
		ps = append(ps, obs{at: s, end: end, committed: end})
	}
	idle := ps[len(ps)-1].end
	for s := 600.0; s <= 1200; s++ {
		ps = append(ps, obs{at: s, end: idle, committed: idle})
	}
	ps = append(ps, obs{at: 1201, end: idle + 1, committed: idle})
	r := scenario{window: window, polls: ps}.billingResult(t)
	if r.LagSeconds > 1 {
		t.Errorf("LagSeconds = %v, want ≤ 1 s", r.LagSeconds)
	}
}

func TestThinningNeverDropsTheFirstPointAfterARewind(t *testing.T) {
	s := newSeries()
	s.add(0, 100, math.MinInt64/2, 4)
	s.add(1, 200, math.MinInt64/2, 4)
	s.add(2, 50, math.MinInt64/2, 4) // rewind
	for i := int64(3); i < 50; i++ {
		s.add(i, 50+i*i, math.MinInt64/2, 4)
	}
	if !slices.ContainsFunc(s.points(), func(p point) bool { return p == point{t: 2, v: 50} }) {
		t.Errorf("rewind point thinned away: %v", s.points())
	}
	if s.lastBackward != 2 {
		t.Errorf("lastBackward = %d, want 2", s.lastBackward)
	}
}

func TestResultIsSortedAndDeterministic(t *testing.T) {
	build := func(reverse bool) Result {
		var p Poll
		p.Time = at(0)
		for _, topic := range []string{"b", "a", "c"} {
			for part := int32(2); part >= 0; part-- {
				tp := TopicPartition{Topic: topic, Partition: part}
				p.Partitions = append(p.Partitions, PartitionOffsets{TopicPartition: tp, LogEnd: 10})
				for _, g := range []string{"z", "x", "y"} {
					p.Commits = append(p.Commits, Commit{GroupPartition: GroupPartition{Group: g, TopicPartition: tp}, Committed: 5})
				}
			}
		}
		if reverse {
			slices.Reverse(p.Partitions)
			slices.Reverse(p.Commits)
		}
		tr := NewTracker(Settings{Window: time.Minute})
		tr.Observe(p)
		return tr.Evaluate(at(0), nil)
	}
	a, b := build(false), build(true)
	checkResultInvariants(t, a)
	if !slices.Equal(a.GroupPartitions, b.GroupPartitions) || !slices.Equal(a.Partitions, b.Partitions) || !slices.Equal(a.Groups, b.Groups) {
		t.Error("result depends on input order")
	}
	if len(a.GroupPartitions) != 27 || a.GroupPartitions[0].GroupPartition != (GroupPartition{"x", TopicPartition{"a", 0}}) {
		t.Errorf("first group-partition = %v of %d", a.GroupPartitions[0].GroupPartition, len(a.GroupPartitions))
	}
}

func TestNewKeysMergeIntoSortedOrder(t *testing.T) {
	tr := NewTracker(Settings{Window: time.Minute})
	groups := []string{"m", "c", "x", "a", "q"}
	for i := range groups {
		var p Poll
		p.Time = at(float64(5 * i))
		p.Partitions = []PartitionOffsets{{TopicPartition: orders, LogEnd: 10}}
		for _, g := range groups[:i+1] {
			if g == "c" && i == 3 {
				continue // a group that comes and goes
			}
			p.Commits = append(p.Commits, Commit{GroupPartition: GroupPartition{Group: g, TopicPartition: orders}, Committed: 1})
		}
		tr.Observe(p)
		checkResultInvariants(t, tr.Evaluate(p.Time, nil))
	}
	res := tr.Evaluate(at(20), nil)
	var got []string
	for _, g := range res.Groups {
		got = append(got, g.Group)
	}
	if want := []string{"a", "c", "m", "q", "x"}; !slices.Equal(got, want) {
		t.Errorf("groups = %v, want %v", got, want)
	}
}

func TestEvaluateBeforeAnyPollIsEmpty(t *testing.T) {
	tr := NewTracker(Settings{})
	res := tr.Evaluate(at(0), nil)
	if len(res.Partitions)+len(res.GroupPartitions)+len(res.Groups) != 0 || tr.UnresolvedOffsets() != nil {
		t.Errorf("result before any poll: %+v", res)
	}
	if tr.window != int64(DefaultWindow) {
		t.Errorf("window %v, want the default", time.Duration(tr.window))
	}
}

func TestThinningDropsPointsOnASteadySlopeBeforeCorners(t *testing.T) {
	// A steady slope sampled every 100 s, then an idle run from 300 s to
	// 310 s and one more message. Five points are allowed: a point on the
	// slope goes, though its neighbours are the farthest apart, because the
	// line between them passes through it; the end of the idle run stays.
	s := newSeries()
	for _, p := range []point{{0, 0}, {100, 1000}, {200, 2000}, {300, 3000}, {310, 3000}, {311, 3001}} {
		s.add(p.t, p.v, math.MinInt64/2, 5)
	}
	want := []point{{0, 0}, {200, 2000}, {300, 3000}, {310, 3000}, {311, 3001}}
	if !slices.Equal(s.points(), want) {
		t.Errorf("points = %v, want %v", s.points(), want)
	}
}

func TestRewindSeenAsTheClockStepsBackIsStillRewound(t *testing.T) {
	tr := NewTracker(Settings{Window: time.Minute})
	tr.Observe(obs{at: 100, end: 1000, committed: 900}.poll(nil))
	tr.Observe(obs{at: 40, end: 1000, committed: 100}.poll(nil))
	r, _ := tr.Evaluate(at(40), nil).GroupPartition(billing)
	if r.Status != StatusRewound || r.Rewinds != 1 {
		t.Errorf("status %v, rewinds %d; want rewound, 1", r.Status, r.Rewinds)
	}
}

func TestDefaultSettingsAreWrittenOnce(t *testing.T) {
	want := Settings{Window: DefaultWindow, StallAfter: DefaultStallAfter, AllowedLagGrowth: DefaultAllowedLagGrowth, InactiveAfter: DefaultInactiveAfter}
	if got := DefaultSettings(); !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultSettings() = %+v, want %+v", got, want)
	}
	if DefaultWindow != 10*time.Minute || DefaultStallAfter != 60*time.Second || DefaultInactiveAfter != 24*time.Hour {
		t.Errorf("defaults %v, %v", DefaultWindow, DefaultStallAfter)
	}
	if got := NewTracker(Settings{}).Settings(); !reflect.DeepEqual(got, want) {
		t.Errorf("zero Settings mean the defaults: got %+v", got)
	}
	if got := NewTracker(Settings{AllowedLagGrowth: -1}).Settings().AllowedLagGrowth; got != 0 {
		t.Errorf("negative AllowedLagGrowth means none: got %d", got)
	}
	if got := NewTracker(Settings{Window: time.Minute, StallAfter: time.Hour}).minTrendSpan; got != int64(time.Minute) {
		t.Errorf("the trend span is capped at the window: %v", time.Duration(got))
	}
}

func TestVerifyCandidatesAreConsumersAtRestWithLagOnIdlePartitions(t *testing.T) {
	cases := []struct {
		name  string
		polls []obs
		want  []TopicPartitionOffset
	}{
		{
			name:  "committed and LSO unchanged since the previous poll, below the LSO",
			polls: []obs{{at: 0, end: 6, committed: 5}, {at: 15, end: 6, committed: 5}},
			want:  []TopicPartitionOffset{{orders, 5}},
		},
		{name: "not at the first poll", polls: []obs{{at: 0, end: 6, committed: 5}}},
		{name: "not when the committed offset moved", polls: []obs{{at: 0, end: 6, committed: 4}, {at: 15, end: 6, committed: 5}}},
		{name: "not when the LSO moved", polls: []obs{{at: 0, end: 6, committed: 5}, {at: 15, end: 7, committed: 5}}},
		{name: "not when caught up", polls: []obs{{at: 0, end: 6, committed: 6}, {at: 15, end: 6, committed: 6}}},
		{
			name:  "not once the verified position reached the LSO",
			polls: []obs{{at: 0, end: 6, committed: 5}, {at: 15, end: 6, committed: 5, position: 6}},
		},
		{
			name:  "again while the verified position stops short of the LSO",
			polls: []obs{{at: 0, end: 9, committed: 5}, {at: 15, end: 9, committed: 5, position: 6}},
			want:  []TopicPartitionOffset{{orders, 5}},
		},
		{
			name:  "open transaction: LSO held, log end moving",
			polls: []obs{{at: 0, end: 20, lso: 10, committed: 8}, {at: 15, end: 30, lso: 10, committed: 8}},
			want:  []TopicPartitionOffset{{orders, 8}},
		},
		{name: "not below the log start", polls: []obs{{at: 0, start: 6, end: 9, committed: 5}, {at: 15, start: 6, end: 9, committed: 5}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, _ := scenario{polls: tc.polls}.run(t)
			if got := tr.VerifyCandidates(); !slices.Equal(got, tc.want) {
				t.Errorf("VerifyCandidates() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestVerifyCandidatesDeduplicatedAcrossGroupsAndSorted(t *testing.T) {
	tr := NewTracker(Settings{})
	other := TopicPartition{Topic: "audit", Partition: 3}
	for s := 0.0; s <= 30; s += 15 {
		tr.Observe(Poll{
			Time:       at(s),
			Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: 100}, {TopicPartition: other, LogEnd: 50}},
			Commits: []Commit{
				{GroupPartition: GroupPartition{Group: "a", TopicPartition: orders}, Committed: 99},
				{GroupPartition: GroupPartition{Group: "b", TopicPartition: orders}, Committed: 99},
				{GroupPartition: GroupPartition{Group: "c", TopicPartition: orders}, Committed: 20},
				{GroupPartition: GroupPartition{Group: "c", TopicPartition: other}, Committed: 49},
			},
		})
	}
	want := []TopicPartitionOffset{{other, 49}, {orders, 20}, {orders, 99}}
	if got := tr.VerifyCandidates(); !slices.Equal(got, want) {
		t.Errorf("VerifyCandidates() = %v, want %v", got, want)
	}
}

func TestEvaluatingTwiceAtAPollGivesTheSameStatuses(t *testing.T) {
	// Lagging has hysteresis: Evaluate records statuses. Evaluating again at
	// the same poll must use the same previous status.
	tr := NewTracker(Settings{Window: time.Minute})
	for s := 0.0; s <= 300; s += 5 {
		end := 1000 + int64(10*s)
		tr.Observe(Poll{Time: at(s), Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: end}},
			Commits: []Commit{{GroupPartition: billing, Committed: 1000 + int64(5*s)}}})
		first, _ := tr.Evaluate(at(s), nil).GroupPartition(billing)
		second, _ := tr.Evaluate(at(s), nil).GroupPartition(billing)
		if first.Status != second.Status {
			t.Fatalf("at %v s: %v then %v", s, first.Status, second.Status)
		}
	}
}

func TestLaggingHasHysteresis(t *testing.T) {
	// The consumer falls behind (5 of 10 msg/s) for 3 minutes, then consumes
	// at exactly the produce rate: the lag stops growing. Lagging holds
	// while the window's rise stays above half the bar, then clears once,
	// without flapping.
	tr := NewTracker(Settings{Window: time.Minute, StallAfter: 10 * time.Second})
	var statuses []Status
	for s := 0.0; s <= 600; s += 5 {
		end := 1000 + int64(10*s)
		committed := 1000 + int64(5*min(s, 180)) + int64(10*max(s-180, 0))
		tr.Observe(Poll{Time: at(s), Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: end}},
			Commits: []Commit{{GroupPartition: billing, Committed: committed}}, Groups: []GroupState{{Group: "billing", HasMembers: true}}})
		r, _ := tr.Evaluate(at(s), nil).GroupPartition(billing)
		if len(statuses) == 0 || statuses[len(statuses)-1] != r.Status {
			statuses = append(statuses, r.Status)
		}
	}
	// Between the first poll (caught up) and a trend over the minimum span,
	// the status is unknown: too little history to rule out lagging.
	if want := []Status{StatusOK, StatusUnknown, StatusLagging, StatusOK}; !slices.Equal(statuses, want) {
		t.Errorf("status sequence %v, want %v", statuses, want)
	}
}

// TestGroupPartitionStateSize: a group-partition's own state fits the
// 128-byte size class (see groupPartitionState); a field that pushes it to
// the next class costs 16 bytes for each of a million group-partitions.
func TestGroupPartitionStateSize(t *testing.T) {
	if size := unsafe.Sizeof(groupPartitionState{}); size > 128 {
		t.Errorf("groupPartitionState takes %d bytes, want at most 128", size)
	}
}
