package lagcalc

import (
	"cmp"
	"slices"
	"time"
)

// DefaultWindow is the default of --lag.window: how far back rates and the
// status rules look.
const DefaultWindow = 10 * time.Minute

// maxWindow keeps window arithmetic on relative times inside int64.
const maxWindow = time.Duration(1) << 61

// Tracker keeps a bounded history of offsets across polls and derives lag
// numbers and statuses from it. It does no I/O and never reads the clock:
// every time comes from the caller.
//
// History is kept per topic-partition (log start and log end, shared by all
// groups reading it) and per group-partition (committed offset). Each series
// compresses flat runs to their first and last point, is trimmed to the
// window plus one older anchor point, and is capped (maxLogEndPoints,
// maxLogStartPoints, maxCommitPoints) by thinning its least informative
// interior points, so memory per series does not depend on the poll interval.
//
// Memory, measured with runtime.MemStats by BenchmarkEvaluate
// (tracker-B/group-partition): 613 bytes per group-partition for everything
// the Tracker holds, at the default 10 m window, in steady state after 60
// polls at 15 s, for 100,000 group-partitions (10,000 groups × 10 partitions
// over 2,000 topics × 5 partitions) whose offsets all move every poll. Of
// that, 138 bytes are the group-partition's share of its partition's history
// (about 1.4 KB per partition, read by 10 groups); the rest is the
// group-partition's own state, names and capped committed history (up to 16
// points of 16 bytes). A group-partition whose offset sits still keeps 2
// points and costs about 220 bytes less (392 bytes in the same setup).
//
// A Tracker is not safe for concurrent use; the collector's poll loop calls
// Observe, UnresolvedOffsets and Evaluate in turn, and hands the Result (which
// shares nothing with the Tracker) to the exporter.
type Tracker struct {
	window int64 // nanoseconds

	started bool
	epoch   time.Time // the first poll's time; relative times count from it
	last    int64     // relative time of the last poll
	gen     uint64    // poll counter; states seen in the current poll carry it

	retention map[string]RetentionPolicy

	partitions      map[TopicPartition]*partitionState
	groups          map[string]*groupState
	groupPartitions map[GroupPartition]*groupPartitionState

	// Sorted views, kept up to date by Observe so Evaluate never sorts.
	partitionOrder      []*partitionState
	groupOrder          []*groupState
	groupPartitionOrder []*groupPartitionState
}

type partitionState struct {
	key              TopicPartition
	logStart, logEnd int64
	start, end       series
	seen             uint64
	index            int // position in partitionOrder
}

type groupState struct {
	name         string
	membersKnown bool
	hasMembers   bool
	seen         uint64
	index        int // position in groupOrder
}

type groupPartitionState struct {
	key       GroupPartition
	committed int64 // -1: never committed
	history   series
	rewinds   uint64
	// lastCaughtUp is the last poll at which committed >= log end.
	lastCaughtUp int64
	partition    *partitionState // nil when absent from the last poll
	group        *groupState
	seen         uint64
}

// NewTracker returns a Tracker whose rates and status rules look back over
// window (--lag.window). A window ≤ 0 means DefaultWindow.
func NewTracker(window time.Duration) *Tracker {
	if window <= 0 {
		window = DefaultWindow
	}
	window = min(window, maxWindow)
	return &Tracker{
		window:          int64(window),
		retention:       map[string]RetentionPolicy{},
		partitions:      map[TopicPartition]*partitionState{},
		groups:          map[string]*groupState{},
		groupPartitions: map[GroupPartition]*groupPartitionState{},
	}
}

// rel converts a time to nanoseconds since the first poll. time.Time.Sub
// uses the monotonic clock when both times carry it and saturates instead of
// overflowing; the clamp keeps differences of two relative times in range.
func (t *Tracker) rel(x time.Time) int64 {
	return min(max(int64(x.Sub(t.epoch)), -maxRelTime), maxRelTime)
}

// Observe records one poll. Topic-partitions, groups and group-partitions
// absent from the poll are forgotten with their history.
func (t *Tracker) Observe(p Poll) {
	var now int64
	if !t.started {
		t.started, t.epoch = true, p.Time
	} else {
		now = t.rel(p.Time)
		if now < t.last {
			t.dropHistory()
		}
	}
	t.last = now
	t.gen++
	windowStart := now - t.window

	clear(t.retention)
	for topic, policy := range p.Retention {
		t.retention[topic] = policy
	}

	var newGroups []*groupState
	for _, g := range p.Groups {
		gs, ok := t.groups[g.Group]
		if !ok {
			gs = &groupState{name: g.Group}
			t.groups[g.Group] = gs
			newGroups = append(newGroups, gs)
		} else if gs.seen == t.gen {
			continue
		}
		gs.seen, gs.membersKnown, gs.hasMembers = t.gen, true, g.HasMembers
	}

	var newPartitions []*partitionState
	for _, po := range p.Partitions {
		ps, ok := t.partitions[po.TopicPartition]
		if !ok {
			ps = &partitionState{key: po.TopicPartition, start: newSeries(), end: newSeries()}
			t.partitions[po.TopicPartition] = ps
			newPartitions = append(newPartitions, ps)
		} else if ps.seen == t.gen {
			continue
		}
		ps.seen = t.gen
		ps.logEnd = max(po.LogEnd, 0)
		ps.logStart = min(max(po.LogStart, 0), ps.logEnd)
		ps.end.add(now, ps.logEnd, windowStart, maxLogEndPoints)
		ps.start.add(now, ps.logStart, windowStart, maxLogStartPoints)
	}

	var newGroupPartitions []*groupPartitionState
	for _, c := range p.Commits {
		gps, ok := t.groupPartitions[c.GroupPartition]
		if !ok {
			gps = &groupPartitionState{key: c.GroupPartition, committed: -1, history: newSeries(), lastCaughtUp: noTime}
			t.groupPartitions[c.GroupPartition] = gps
			newGroupPartitions = append(newGroupPartitions, gps)
		} else if gps.seen == t.gen {
			continue
		}
		gps.seen = t.gen

		gs, ok := t.groups[c.Group]
		if !ok {
			gs = &groupState{name: c.Group}
			t.groups[c.Group] = gs
			newGroups = append(newGroups, gs)
		}
		if gs.seen != t.gen {
			// Not described in this poll: what we knew about members is stale.
			gs.seen, gs.membersKnown, gs.hasMembers = t.gen, false, false
		}
		gps.group = gs

		gps.partition = nil
		if ps, ok := t.partitions[c.TopicPartition]; ok && ps.seen == t.gen {
			gps.partition = ps
		}

		if c.Committed < 0 {
			// No position: nothing to keep. A later first commit starts a
			// fresh history and is not a rewind.
			gps.committed = -1
			gps.history.reset()
			gps.lastCaughtUp = noTime
			continue
		}
		rewound := gps.committed >= 0 && c.Committed < gps.committed
		gps.committed = c.Committed
		gps.history.add(now, c.Committed, windowStart, maxCommitPoints)
		if rewound {
			// Counted against the previous poll's value, so a step is
			// counted (and shown as rewound) even right after the history
			// was dropped.
			gps.rewinds++
			gps.history.lastBackward = now
		}
		if gps.partition != nil && gps.committed >= gps.partition.logEnd {
			gps.lastCaughtUp = now
		}
	}

	t.partitionOrder = updateOrder(t.partitions, t.partitionOrder, newPartitions, t.gen,
		func(s *partitionState) uint64 { return s.seen },
		func(a, b *partitionState) int { return compareTopicPartitions(a.key, b.key) },
		func(s *partitionState, i int) { s.index = i })
	t.groupOrder = updateOrder(t.groups, t.groupOrder, newGroups, t.gen,
		func(s *groupState) uint64 { return s.seen },
		func(a, b *groupState) int { return cmp.Compare(a.name, b.name) },
		func(s *groupState, i int) { s.index = i })
	t.groupPartitionOrder = updateOrder(t.groupPartitions, t.groupPartitionOrder, newGroupPartitions, t.gen,
		func(s *groupPartitionState) uint64 { return s.seen },
		func(a, b *groupPartitionState) int { return compareGroupPartitions(a.key, b.key) },
		func(*groupPartitionState, int) {})
}

// dropHistory forgets every point after the clock went backwards: old points
// cannot be placed on the new timeline. Current values, rewind counters and
// the keys survive.
func (t *Tracker) dropHistory() {
	for _, ps := range t.partitions {
		ps.start.reset()
		ps.end.reset()
	}
	for _, gps := range t.groupPartitions {
		gps.history.reset()
		gps.lastCaughtUp = noTime
	}
}

// updateOrder keeps a sorted slice of the states in m: it deletes from m and
// order the states not seen in poll gen, and merges in the new ones. In the
// steady state (no keys come or go) it costs one pass over order.
func updateOrder[K comparable, S any](m map[K]*S, order, added []*S, gen uint64,
	seen func(*S) uint64, compare func(a, b *S) int, setIndex func(*S, int)) []*S {
	seenNow := 0
	for _, s := range order {
		if seen(s) == gen {
			seenNow++
		}
	}
	if seenNow == len(order) && len(added) == 0 {
		return order
	}
	if seenNow < len(order) {
		for k, s := range m {
			if seen(s) != gen {
				delete(m, k)
			}
		}
		order = slices.DeleteFunc(order, func(s *S) bool { return seen(s) != gen })
	}
	if len(added) > 0 {
		slices.SortFunc(added, compare)
		merged := make([]*S, 0, len(order)+len(added))
		i, j := 0, 0
		for i < len(order) && j < len(added) {
			if compare(order[i], added[j]) <= 0 {
				merged = append(merged, order[i])
				i++
			} else {
				merged = append(merged, added[j])
				j++
			}
		}
		merged = append(merged, order[i:]...)
		merged = append(merged, added[j:]...)
		order = merged
	}
	for i, s := range order {
		setIndex(s, i)
	}
	return order
}
