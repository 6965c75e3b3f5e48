package lagcalc

import (
	"cmp"
	"encoding/binary"
	"math"
	"regexp"
	"slices"
	"testing"
	"time"
)

// The fuzz targets decode their bytes into a sequence of polls over a small
// universe (2 topics × 2 partitions, 3 groups) so that keys collide, come and
// go, and offsets and times take any value: negative, huge, repeating,
// going backwards.

var (
	fuzzTopics = []string{"a", "b"}
	fuzzGroups = []string{"g0", "g1", "g2"}
)

// fuzzBytes hands out the fuzz input; past its end it yields zeros.
type fuzzBytes struct{ b []byte }

func (f *fuzzBytes) done() bool { return len(f.b) == 0 }

func (f *fuzzBytes) byte() byte {
	if len(f.b) == 0 {
		return 0
	}
	x := f.b[0]
	f.b = f.b[1:]
	return x
}

func (f *fuzzBytes) int64() int64 {
	var buf [8]byte
	n := copy(buf[:], f.b)
	f.b = f.b[n:]
	return int64(binary.LittleEndian.Uint64(buf[:]))
}

// offset derives a new offset from the previous one: mostly small moves
// (forwards, flat or backwards), sometimes anything at all.
func (f *fuzzBytes) offset(prev int64) int64 {
	switch mode := f.byte(); mode % 8 {
	case 0, 1, 2:
		return prev + int64(f.byte())
	case 3:
		return prev
	case 4:
		return prev - int64(f.byte())
	case 5:
		return -1
	case 6:
		return math.MaxInt64 - int64(f.byte())
	default:
		return f.int64()
	}
}

// duration derives a time step: mostly seconds forward, sometimes zero,
// backwards or enormous.
func (f *fuzzBytes) duration() time.Duration {
	switch mode := f.byte(); mode % 8 {
	case 0:
		return 0
	case 1:
		return -time.Duration(f.byte()) * time.Second
	case 2:
		return time.Duration(f.int64())
	case 3:
		return time.Duration(f.byte()) * time.Millisecond
	default:
		return time.Duration(f.byte()) * time.Second
	}
}

// fuzzRun is one decoded sequence of polls and what the tracker answered.
type fuzzRun struct {
	settings Settings
	polls    []Poll
	nows     []time.Time
}

// decodeFuzzRun turns bytes into settings and a sequence of polls. The
// first byte sets the window and the stall time; each partition's LSO and
// each commit's verified position are derived from its offsets, sometimes
// valid, sometimes anything.
func decodeFuzzRun(data []byte) fuzzRun {
	f := &fuzzBytes{b: data}
	b := f.byte()
	run := fuzzRun{settings: Settings{
		Window:           time.Duration(1+b%120) * time.Second,
		StallAfter:       time.Duration(1+b/2) * time.Second,
		AllowedLagGrowth: int64(b%16) - 1,
		InactiveAfter:    time.Duration(1+b%7) * time.Minute,
		StaleAfter:       time.Duration(b%3) * 20 * time.Second,
	}}
	if b%5 == 0 {
		run.settings.GroupStallAfter = []GroupStallAfter{{Pattern: regexp.MustCompile("^" + fuzzGroups[0] + "$"), StallAfter: time.Duration(1+b/4) * time.Second}}
	}
	now := t0
	prevEnd := map[TopicPartition]int64{}
	prevStart := map[TopicPartition]int64{}
	prevCommitted := map[GroupPartition]int64{}
	for !f.done() && len(run.polls) < 400 {
		now = now.Add(f.duration())
		p := Poll{Time: now, Retention: map[string]RetentionPolicy{}}
		for _, topic := range fuzzTopics {
			flags := f.byte()
			if flags&1 != 0 {
				p.Retention[topic] = RetentionPolicy{Delete: flags&2 != 0, RetentionMs: f.offset(3600_000), RetentionBytes: f.offset(-1)}
			}
			for part := int32(0); part < 2; part++ {
				if flags&(4<<part) == 0 {
					continue
				}
				tp := TopicPartition{Topic: topic, Partition: part}
				prevStart[tp] = f.offset(prevStart[tp])
				prevEnd[tp] = f.offset(prevEnd[tp])
				p.Partitions = append(p.Partitions, PartitionOffsets{TopicPartition: tp, LogStart: prevStart[tp], LogEnd: prevEnd[tp],
					LastStable: lastStableFor(flags, part, prevEnd[tp]), ReadAt: readAtFor(prevEnd[tp], now)})
			}
		}
		for _, g := range fuzzGroups {
			flags := f.byte()
			if flags&1 != 0 {
				gs := GroupState{Group: g, HasMembers: flags&2 != 0}
				if flags&128 != 0 {
					gs.Subscribed = fuzzTopics[:1]
				}
				p.Groups = append(p.Groups, gs)
			}
			for i, topic := range fuzzTopics {
				for part := int32(0); part < 2; part++ {
					if flags&(4<<(2*i+int(part))) == 0 {
						continue
					}
					gp := GroupPartition{Group: g, TopicPartition: TopicPartition{Topic: topic, Partition: part}}
					prevCommitted[gp] = f.offset(prevCommitted[gp])
					p.Commits = append(p.Commits, Commit{GroupPartition: gp, Committed: prevCommitted[gp],
						Position: positionFor(flags, prevCommitted[gp]), ReadAt: readAtFor(prevCommitted[gp]/3, now)})
				}
			}
		}
		run.polls = append(run.polls, p)
		run.nows = append(run.nows, now.Add(f.duration()))
	}
	return run
}

// readAtFor derives when an answer was read from one of its offsets: in
// this poll (zero, or the poll's time), or earlier (an answer reused for a
// failing broker).
func readAtFor(offset int64, now time.Time) time.Time {
	switch offset % 5 {
	case 1:
		return now
	case 4:
		return now.Add(-time.Duration(1+offset%90) * time.Second)
	}
	return time.Time{}
}

// lastStableFor derives an LSO from a partition's flags and log end: unset,
// a few offsets below the end (an open transaction), the end, past it, or
// negative.
func lastStableFor(flags byte, part int32, end int64) int64 {
	switch (flags >> (4 + 2*part)) & 3 {
	case 0:
		return 0
	case 1:
		return end - int64(flags%7)
	case 2:
		return end + int64(flags%3)
	default:
		return -int64(flags)
	}
}

// positionFor derives a verified position from a group's flags: none, a
// few offsets past the committed one, or below it.
func positionFor(flags byte, committed int64) int64 {
	switch flags >> 6 {
	case 1:
		return committed + int64(1+flags%5)
	case 2:
		return committed - 1
	default:
		return 0
	}
}

// fuzzSeeds are inputs that exercise the interesting paths from the start.
func fuzzSeeds(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{10, 4, 5, 0xff, 0, 10, 0, 20, 0xff, 0, 5, 0, 3})
	// Steady polls, all keys present, moving offsets.
	var steady []byte
	steady = append(steady, 60)
	for i := 0; i < 40; i++ {
		steady = append(steady, 4, 5)             // +5 s
		steady = append(steady, 0xff, 0, 1, 0, 9) // topic a: retention, p0, p1
		steady = append(steady, 0, 1, 0, 9)
		steady = append(steady, 0xff, 0, 1, 0, 9) // topic b
		steady = append(steady, 0, 1, 0, 9)
		for g := 0; g < 3; g++ {
			steady = append(steady, 0xff, 0, 7, 0, 7, 0, 7, 0, 7)
		}
		steady = append(steady, 0, 0) // now = poll time
	}
	f.Add(steady)
	// Time going backwards and repeating, offsets jumping to extremes.
	f.Add([]byte{1, 1, 200, 0xff, 6, 1, 7, 1, 2, 3, 4, 5, 6, 7, 8, 5, 0, 0, 0xff, 5, 4, 9, 0, 2, 1, 2, 3, 4, 5, 6, 7, 0x80, 0, 0})
	f.Add([]byte{30, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xfd, 7, 0, 0, 0, 0, 0, 0, 0, 0x80, 6, 1, 0xff, 7, 1, 2, 3, 4, 5, 6, 7, 8, 2, 0, 0, 0, 0, 0, 0, 0, 0x80})
}

// recordTimesFor invents record timestamps for the unresolved offsets: past,
// future, zero, or absent.
func recordTimesFor(offsets []TopicPartitionOffset, now time.Time, salt byte) map[TopicPartitionOffset]time.Time {
	m := map[TopicPartitionOffset]time.Time{}
	for i, o := range offsets {
		switch (int(salt) + i) % 4 {
		case 0:
			m[o] = now.Add(-time.Duration(o.Offset%1000) * time.Hour)
		case 1:
			m[o] = now.Add(time.Hour)
		case 2:
			m[o] = time.Time{}
		}
	}
	return m
}

// FuzzTrackerOutputsAreFiniteNonNegativeWithOneStatusEach: for any sequence
// of polls, no output is negative, NaN or Inf, every group-partition of the
// poll has exactly one result with one valid status, the lag is what the
// poll's offsets say, groups get their worst partition's status, and the
// unresolved offsets are unique, sorted and readable.
func FuzzTrackerOutputsAreFiniteNonNegativeWithOneStatusEach(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		run := decodeFuzzRun(data)
		tr := NewTracker(run.settings)
		for i, p := range run.polls {
			tr.Observe(p)
			unresolved := tr.UnresolvedOffsets()
			candidates := tr.VerifyCandidates()
			records := recordTimesFor(unresolved, run.nows[i], byte(i))
			res := tr.Evaluate(run.nows[i], records)
			checkResultInvariants(t, res)
			checkAgainstPoll(t, p, res, unresolved)
			checkVerifyCandidates(t, p, res, candidates)
			if again := tr.Evaluate(run.nows[i], records); !slices.EqualFunc(res.GroupPartitions, again.GroupPartitions,
				func(a, b GroupPartitionResult) bool { return a.Status == b.Status }) {
				t.Fatalf("poll %d: evaluating twice gave other statuses", i)
			}
		}
	})
}

// checkAgainstPoll compares a result with the poll it follows.
func checkAgainstPoll(t *testing.T, p Poll, res Result, unresolved []TopicPartitionOffset) {
	t.Helper()
	ends := map[TopicPartition][3]int64{} // start, end, LSO
	reused := map[TopicPartition]bool{}
	for _, po := range p.Partitions {
		if _, dup := ends[po.TopicPartition]; !dup {
			reused[po.TopicPartition] = isReused(po.ReadAt, p.Time)
			end := max(po.LogEnd, 0)
			start := min(max(po.LogStart, 0), end)
			lso := end
			if po.LastStable > 0 {
				lso = min(max(po.LastStable, start), end)
			}
			ends[po.TopicPartition] = [3]int64{start, end, lso}
		}
	}
	committed := map[GroupPartition]int64{}
	position := map[GroupPartition]int64{}
	held := map[GroupPartition]bool{}
	for _, c := range p.Commits {
		if _, dup := committed[c.GroupPartition]; !dup {
			held[c.GroupPartition] = isReused(c.ReadAt, p.Time) || (c.Committed >= 0 && reused[c.TopicPartition])
			committed[c.GroupPartition] = c.Committed
			position[c.GroupPartition] = c.Position
		}
	}
	if len(res.GroupPartitions) != len(committed) {
		t.Fatalf("%d group-partition results for %d group-partitions polled", len(res.GroupPartitions), len(committed))
	}
	worst := map[string]Status{}
	for _, r := range res.GroupPartitions {
		c, ok := committed[r.GroupPartition]
		if !ok {
			t.Fatalf("result for %v, which the poll did not have", r.GroupPartition)
		}
		se, known := ends[r.TopicPartition]
		switch {
		case c < 0:
			if r.Status != StatusNoCommit || r.HasLag {
				t.Fatalf("%v committed %d: status %v, has lag %v", r.GroupPartition, c, r.Status, r.HasLag)
			}
		case !known:
			if r.HasLag {
				t.Fatalf("%v has lag without a log end", r.GroupPartition)
			}
		case held[r.GroupPartition]:
			// Reused answers: the numbers of the last poll that read both
			// (see TestReused…); only their invariants are checked here.
			if r.Status == StatusOutOfRange && r.Lag != 0 {
				t.Fatalf("%v held out_of_range with lag %d", r.GroupPartition, r.Lag)
			}
		default:
			pos := c
			if position[r.GroupPartition] > c {
				pos = max(c, min(position[r.GroupPartition], se[1]))
			}
			wantLag := max(se[2]-pos, 0)
			if c > se[1] {
				wantLag = 0
			}
			if !r.HasLag || r.Lag != wantLag || r.ExpiredMessages != max(se[0]-c, 0) || r.Position != pos {
				t.Fatalf("%v committed %d position %d, log %v: lag %d, position %d, expired %d",
					r.GroupPartition, c, position[r.GroupPartition], se, r.Lag, r.Position, r.ExpiredMessages)
			}
			if c > se[1] && r.Status != StatusOutOfRange && r.Status != StatusUnknown && r.Status != StatusRewound {
				t.Fatalf("%v committed %d past the log end %d: status %v", r.GroupPartition, c, se[1], r.Status)
			}
		}
		if r.Status == StatusNoCommit && c >= 0 {
			t.Fatalf("%v committed %d but no_commit", r.GroupPartition, c)
		}
		g, seen := worst[r.Group]
		if !seen {
			g = StatusOK
		}
		worst[r.Group] = worseStatus(g, r.Status)
	}
	for _, g := range res.Groups {
		want, ok := worst[g.Group]
		if !ok {
			want = StatusOK
		}
		if g.Status != want {
			t.Fatalf("group %s status %v, want worst partition status %v", g.Group, g.Status, want)
		}
	}
	if !slices.IsSortedFunc(unresolved, compareOffsets) || len(slices.Compact(slices.Clone(unresolved))) != len(unresolved) {
		t.Fatalf("unresolved offsets not sorted and unique: %v", unresolved)
	}
	for _, u := range unresolved {
		se, ok := ends[u.TopicPartition]
		if !ok || u.Offset < se[0] || u.Offset >= se[1] {
			t.Fatalf("unresolved %v outside the log %v", u, se)
		}
	}
}

// checkVerifyCandidates checks that every candidate is a committed offset of
// the poll below its partition's LSO and inside the log, listed once, sorted.
func checkVerifyCandidates(t *testing.T, p Poll, res Result, candidates []TopicPartitionOffset) {
	t.Helper()
	if !slices.IsSortedFunc(candidates, compareOffsets) || len(slices.Compact(slices.Clone(candidates))) != len(candidates) {
		t.Fatalf("verify candidates not sorted and unique: %v", candidates)
	}
	for _, o := range candidates {
		pr, ok := res.Partition(o.TopicPartition)
		if !ok || o.Offset < pr.LogStart || o.Offset >= pr.LastStable {
			t.Fatalf("verify candidate %v outside [log start, LSO) of %+v", o, pr)
		}
		found := false
		for _, r := range res.GroupPartitions {
			found = found || (r.TopicPartition == o.TopicPartition && r.Committed == o.Offset)
		}
		if !found {
			t.Fatalf("verify candidate %v is no group's committed offset", o)
		}
	}
}

func compareOffsets(a, b TopicPartitionOffset) int {
	if c := compareTopicPartitions(a.TopicPartition, b.TopicPartition); c != 0 {
		return c
	}
	return cmp.Compare(a.Offset, b.Offset)
}

// FuzzTrackerHistoryStaysBounded: whatever the polls, every series keeps
// ordered times, at most one point before the window, and at most its cap of
// points.
func FuzzTrackerHistoryStaysBounded(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		run := decodeFuzzRun(data)
		tr := NewTracker(run.settings)
		for _, p := range run.polls {
			tr.Observe(p)
			windowStart := tr.last - tr.window
			check := func(what string, s series, maxPoints int) {
				if s.len() > maxPoints || s.capPoints() > maxPoints+1 {
					t.Fatalf("%s holds %d points (storage %d), cap %d", what, s.len(), s.capPoints(), maxPoints)
				}
				for i := 1; i < s.len(); i++ {
					if s.at(i).t < s.at(i-1).t {
						t.Fatalf("%s times go backwards: %v", what, s.points())
					}
					if s.at(i).t <= windowStart {
						t.Fatalf("%s keeps more than one point before the window start %d: %v", what, windowStart, s.points())
					}
				}
				for _, pt := range s.points() {
					if pt.v < 0 {
						t.Fatalf("%s holds a negative offset: %v", what, s.points())
					}
				}
			}
			for _, ps := range tr.partitions {
				check("log end", ps.end, maxLogEndPoints)
				check("log start", ps.start, maxLogStartPoints)
				check("LSO gap", ps.gap, maxLogStartPoints)
			}
			for _, gps := range tr.allGroupPartitions() {
				check("committed", gps.history, maxCommitPoints)
			}
		}
	})
}

// FuzzTrackerCountsEveryRewindOnce: the rewinds counter of a group-partition
// equals the number of polls at which its committed offset, read fresh, was
// below the last one read fresh (both committed), as long as it stays in the
// polls. A reused answer (an earlier poll's, see Commit.ReadAt) counts
// nothing: it is not news.
func FuzzTrackerCountsEveryRewindOnce(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		run := decodeFuzzRun(data)
		tr := NewTracker(run.settings)
		want := map[GroupPartition]uint64{}
		last := map[GroupPartition]int64{}
		for i, p := range run.polls {
			tr.Observe(p)
			reusedPartition := map[TopicPartition]bool{}
			for _, po := range p.Partitions {
				if _, dup := reusedPartition[po.TopicPartition]; !dup {
					reusedPartition[po.TopicPartition] = isReused(po.ReadAt, p.Time)
				}
			}
			current := map[GroupPartition]int64{}
			fresh := map[GroupPartition]bool{}
			for _, c := range p.Commits {
				if _, dup := current[c.GroupPartition]; !dup {
					current[c.GroupPartition] = c.Committed
					fresh[c.GroupPartition] = !isReused(c.ReadAt, p.Time) && !(c.Committed >= 0 && reusedPartition[c.TopicPartition])
				}
			}
			for gp, c := range current {
				prev, present := last[gp]
				if !fresh[gp] && present {
					current[gp] = prev // the last fresh value stands
					continue
				}
				if present && prev >= 0 && c >= 0 && c < prev {
					want[gp]++
				}
			}
			for gp := range want {
				if _, ok := current[gp]; !ok {
					delete(want, gp)
				}
			}
			last = current
			res := tr.Evaluate(run.nows[i], nil)
			res2 := tr.Evaluate(run.nows[i], nil) // evaluating twice counts nothing
			for j, r := range res.GroupPartitions {
				if r.Rewinds != want[r.GroupPartition] || res2.GroupPartitions[j].Rewinds != r.Rewinds {
					t.Fatalf("poll %d: %v rewinds %d (again %d), want %d", i, r.GroupPartition, r.Rewinds, res2.GroupPartitions[j].Rewinds, want[r.GroupPartition])
				}
			}
		}
	})
}
