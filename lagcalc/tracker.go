package lagcalc

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Tracker keeps a bounded history of offsets across polls and derives lag
// numbers and statuses from it. It does no I/O and never reads the clock:
// every time comes from the caller.
//
// History is kept per topic-partition (log start, log end and the gap to the
// last stable offset, shared by all groups reading it) and per
// group-partition (committed offset). Each series compresses flat runs to
// their first and last point, is trimmed to the window plus one older anchor
// point, and is capped (maxLogEndPoints, maxLogStartPoints, maxCommitPoints)
// by thinning its least informative interior points, so memory per series
// does not depend on the poll interval. Besides, each group-partition keeps
// the few facts the stall rule needs (when its offset last moved, when it
// last had no lag) and its last status, for hysteresis.
//
// Memory, measured with runtime.MemStats by BenchmarkEvaluate
// (tracker-B/group-partition): 370 bytes per group-partition for everything
// the Tracker holds, at the default 10 m window, in steady state after 60
// polls at 15 s, for 100,000 group-partitions (10,000 groups × 10 partitions
// over 2,000 topics × 5 partitions) whose offsets all move every poll (655
// bytes before points were packed into 8 bytes and group-partitions were
// found through their group instead of a map keyed by their names). Of
// that, 128 bytes are the group-partition's state (groupPartitionState,
// held to that size class), 128 its committed history (up to 15 points and
// the spare slot, 8 bytes each), 8 its place in its group's list, and about
// 90 its share of its partition's state and history (about 0.9 KB per
// partition, read by 10 groups); the rest is its share of its group's state
// and the names. A group-partition whose offset sits still keeps 2 points
// and costs about 100 bytes less. A series that spans more than about 36
// minutes or 8,388,607 offsets (see packedTimeBits: a long window, a busy
// partition, a rewind to 0) is held at 16 bytes a point, as before packing.
//
// A Tracker is not safe for concurrent use; the collector's poll loop calls
// Observe, UnresolvedOffsets, VerifyCandidates and Evaluate in turn, and
// hands the Result (which shares nothing with the Tracker) to the exporter.
type Tracker struct {
	settings      Settings
	window        int64 // nanoseconds
	stallAfter    int64 // nanoseconds
	minTrendSpan  int64 // nanoseconds
	staleAfter    int64 // nanoseconds; 0: no limit
	inactiveAfter float64

	started bool
	epoch   time.Time // the first poll's time; relative times count from it
	last    int64     // relative time of the last poll
	// prev is the relative time of the poll before the last one: a value
	// that changed at the last poll last held its old value then. Equal to
	// last at the first poll and after the clock stepped back.
	prev int64
	gen  uint64 // poll counter; states seen in the current poll carry it
	// evaluatedGen is the poll Evaluate last ran for (see Evaluate).
	evaluatedGen uint64

	retention map[string]RetentionPolicy

	partitions map[TopicPartition]*partitionState
	groups     map[string]*groupState
	// A group-partition is found through its group (groupState.parts),
	// not by a map keyed by two strings: one map entry per group-partition
	// cost more than its history, and hashing the key dominated Observe.
	// newGroupPartitions holds the ones created in the current poll until
	// updateOrders merges them into their groups' parts, so a key repeated
	// in the poll is found meanwhile.
	newGroupPartitions  map[GroupPartition]*groupPartitionState
	groupPartitionCount int
	// evaluateWorkers bounds the goroutines Evaluate splits the groups
	// among; 0 means one per core (GOMAXPROCS). Tests set it.
	evaluateWorkers int

	// Sorted views, kept up to date by Observe so Evaluate never sorts. The
	// group-partitions in order are each group's parts, groups in order.
	partitionOrder []*partitionState
	groupOrder     []*groupState
}

type partitionState struct {
	key              TopicPartition
	logStart, logEnd int64
	lastStable       int64 // clamped into [logStart, logEnd]
	start, end       series
	// gap is logEnd − lastStable over time: flat at 0 (two points) unless
	// transactions are open at poll times, so the lag against the LSO can be
	// fitted over the window at almost no cost.
	gap series
	// lastStableMoved: the LSO differs from the previous poll's, or this is
	// the partition's first poll.
	lastStableMoved bool
	// reused: the offsets of the last poll were an earlier poll's answer
	// standing in for a failing leader (see PartitionOffsets.ReadAt).
	reused bool
	seen   uint64
	index  int // position in partitionOrder
}

type groupState struct {
	name         string
	membersKnown bool
	hasMembers   bool
	// moved: some partition of the group moved while lagwatch watched
	// (see isAbandoned).
	moved bool
	// overridden: a --group.stall-after pattern matched; stallAfter is the
	// group's stall floor (see stallThreshold).
	overridden bool
	stallAfter int64
	// subscribed are the topics the members subscribe to, nil when unknown.
	subscribed map[string]struct{}
	seen       uint64
	index      int // position in groupOrder
	// parts are the group's group-partitions by topic and partition.
	parts []*groupPartitionState
}

// groupPartitionState is a group-partition's state: 128 bytes (a Go size
// class) with its history's header; fields are ordered and sized so that it
// stays there (see TestGroupPartitionStateSize).
type groupPartitionState struct {
	group *groupState
	// part is the partition's state, set at the first poll and kept while
	// the partition is absent from polls (absent), for its name: then it is
	// a state holding nothing but the name (see partition).
	part      *partitionState
	history   series
	committed int64 // -1: never committed
	// position is the verified Commit.Position of the last poll, kept only
	// when it is past committed (else 0).
	position int64
	// movedAt is the last poll that saw a committed offset other than the
	// current one (the first poll this group-partition was seen at, if it
	// never changed since): the offset last moved after it.
	movedAt int64
	// lagFreeAt is the last poll at which the lag was 0, noTime if none.
	lagFreeAt int64
	// readAt is the last poll at which the committed offset and the
	// partition's offsets were both read fresh, noTime if none.
	readAt int64
	// commit is the index of its commit in the last poll observed
	// (Poll.Commits; the first occurrence of its key): where EvaluateInto
	// puts its numbers.
	commit int32
	// rewinds saturates at 2^32−1: every rewind takes a poll, so it would
	// take 136 years of polls every second to reach it.
	rewinds uint32
	// seen is the low 32 bits of the poll that last saw the
	// group-partition: a state not seen in a poll is dropped at its end, so
	// a live one was seen by this poll or the one before.
	seen uint32
	// moves counts (saturating) the moves the cadence learned from, and
	// wholeMoves those among them, after the first, that measured a whole
	// interval; cadenceMs is the learned cadence (see learnCadence).
	cadenceMs  uint32
	moves      uint8
	wholeMoves uint8
	// status is the status Evaluate gave at poll evaluatedGen; prevStatus
	// the one it gave at the poll evaluated before that (see Evaluate).
	status, prevStatus Status
	// pastEndPolls counts consecutive polls (saturating) at which the same
	// committed offset was past the log end.
	pastEndPolls uint8
	// changed: the committed offset differs from the previous poll's, or
	// this is its first poll.
	changed bool
	// held: the last poll's committed offset or its partition's offsets
	// were reused answers (see Commit.ReadAt): nothing was learned from it,
	// and the status of readAt stands.
	held bool
	// absent: the partition was not in the last poll.
	absent bool
}

// partition returns the partition's state, nil when the partition was
// absent from the last poll.
func (gps *groupPartitionState) partition() *partitionState {
	if gps.absent {
		return nil
	}
	return gps.part
}

// key returns the group-partition's name.
func (gps *groupPartitionState) key() GroupPartition {
	return GroupPartition{Group: gps.group.name, TopicPartition: gps.part.key}
}

// NewTracker returns a Tracker with the given settings; zero fields mean
// their defaults (see Settings).
func NewTracker(s Settings) *Tracker {
	s = s.withDefaults()
	return &Tracker{
		settings:      s,
		window:        int64(s.Window),
		stallAfter:    int64(s.StallAfter),
		minTrendSpan:  int64(s.minTrendSpan()),
		staleAfter:    int64(s.StaleAfter),
		inactiveAfter: s.InactiveAfter.Seconds(),
		retention:     map[string]RetentionPolicy{},
		partitions:    map[TopicPartition]*partitionState{},
		groups:        map[string]*groupState{},
	}
}

// Settings returns the settings in use, defaults filled in.
func (t *Tracker) Settings() Settings { return t.settings }

// rel converts a time to nanoseconds since the first poll. time.Time.Sub
// uses the monotonic clock when both times carry it and saturates instead of
// overflowing; the clamp keeps differences of two relative times in range.
func (t *Tracker) rel(x time.Time) int64 {
	return min(max(int64(x.Sub(t.epoch)), -maxRelTime), maxRelTime)
}

// Observe records one poll. Topic-partitions, groups and group-partitions
// absent from the poll are forgotten with their history.
func (t *Tracker) Observe(p Poll) {
	now := t.startPoll(p.Time)
	windowStart := now - t.window
	clear(t.retention)
	for topic, policy := range p.Retention {
		t.retention[topic] = policy
	}
	newGroups := t.observeGroups(p.Groups)
	newPartitions := t.observePartitions(p.Partitions, p.Time, now, windowStart)
	newGroupPartitions := t.observeCommits(p.Commits, p.Time, now, windowStart, &newGroups)
	t.updateOrders(newPartitions, newGroups, newGroupPartitions)
}

// startPoll places the poll on the relative timeline and returns its time.
// A poll before the previous one drops all history (see Poll.Time).
func (t *Tracker) startPoll(at time.Time) (now int64) {
	if !t.started {
		t.started, t.epoch = true, at
	} else {
		now = t.rel(at)
	}
	t.prev = t.last
	if now < t.last {
		t.dropHistory(now)
		t.prev = now
	}
	t.last = now
	t.gen++
	return now
}

// observeGroups records membership; it returns the groups seen for the first time.
func (t *Tracker) observeGroups(groups []GroupState) (added []*groupState) {
	for _, g := range groups {
		gs, isNew := t.groupState(g.Group)
		if isNew {
			added = append(added, gs)
		} else if gs.seen == t.gen {
			continue
		}
		gs.seen, gs.membersKnown, gs.hasMembers = t.gen, true, g.HasMembers
		gs.subscribed = nil
		if g.HasMembers && len(g.Subscribed) > 0 {
			gs.subscribed = make(map[string]struct{}, len(g.Subscribed))
			for _, topic := range g.Subscribed {
				gs.subscribed[topic] = struct{}{}
			}
		}
	}
	return added
}

// groupState returns the state for a group, created if new.
func (t *Tracker) groupState(name string) (gs *groupState, isNew bool) {
	if gs, ok := t.groups[name]; ok {
		return gs, false
	}
	floor, overridden := t.settings.groupStallAfter(name)
	gs = &groupState{name: name, stallAfter: int64(floor), overridden: overridden}
	t.groups[name] = gs
	return gs, true
}

// isReused reports whether an answer read at readAt is an earlier poll's,
// standing in at a poll taken at pollTime.
func isReused(readAt, pollTime time.Time) bool {
	return !readAt.IsZero() && readAt.Before(pollTime)
}

// observePartitions records log offsets; it returns the partitions seen for
// the first time.
func (t *Tracker) observePartitions(partitions []PartitionOffsets, pollTime time.Time, now, windowStart int64) (added []*partitionState) {
	for _, po := range partitions {
		ps, ok := t.partitions[po.TopicPartition]
		if !ok {
			ps = &partitionState{key: po.TopicPartition, start: newSeries(), end: newSeries(), gap: newSeries()}
			t.partitions[po.TopicPartition] = ps
			added = append(added, ps)
		} else if ps.seen == t.gen {
			continue
		}
		ps.seen = t.gen
		ps.reused = isReused(po.ReadAt, pollTime)
		if ps.reused && ok {
			// An earlier answer tells nothing new: the history keeps
			// what was read, and no point is dated now. The values stand
			// as the partition's current ones (the collector passes the
			// last answer, so they are those already held).
			ps.setOffsets(po)
			ps.lastStableMoved = false
			ps.end.trim(windowStart)
			ps.start.trim(windowStart)
			ps.gap.trim(windowStart)
			continue
		}
		ps.observe(po, !ok, now, windowStart)
	}
	return added
}

// observe records one poll's offsets of the partition, clamped as
// PartitionOffsets documents.
func (ps *partitionState) observe(po PartitionOffsets, first bool, now, windowStart int64) {
	before := ps.lastStable
	ps.setOffsets(po)
	ps.lastStableMoved = first || ps.lastStable != before
	ps.end.add(now, ps.logEnd, windowStart, maxLogEndPoints)
	ps.start.add(now, ps.logStart, windowStart, maxLogStartPoints)
	ps.gap.add(now, ps.logEnd-ps.lastStable, windowStart, maxLogStartPoints)
}

// setOffsets sets the partition's current offsets, clamped as
// PartitionOffsets documents.
func (ps *partitionState) setOffsets(po PartitionOffsets) {
	ps.logEnd = max(po.LogEnd, 0)
	ps.logStart = min(max(po.LogStart, 0), ps.logEnd)
	ps.lastStable = ps.logEnd
	if po.LastStable > 0 {
		ps.lastStable = min(max(po.LastStable, ps.logStart), ps.logEnd)
	}
}

// observeCommits records committed offsets, creating groups only seen here
// (their membership unknown); it returns the group-partitions seen for the
// first time.
func (t *Tracker) observeCommits(commits []Commit, pollTime time.Time, now, windowStart int64, newGroups *[]*groupState) (added []*groupPartitionState) {
	gen := uint32(t.gen)
	var gs *groupState
	next := 0 // where the group's next partition likely is: commits come sorted
	for ci, c := range commits {
		if gs == nil || gs.name != c.Group {
			gs, next = t.groupOfCommit(c.Group, newGroups), 0
		}
		gps, i, ok := gs.find(c.TopicPartition, next)
		if ok {
			next = i + 1
		} else if gps, ok = t.newGroupPartitions[c.GroupPartition]; !ok {
			gps = &groupPartitionState{group: gs, committed: -1, history: newSeries(), lagFreeAt: noTime, movedAt: now, readAt: noTime}
			if t.newGroupPartitions == nil {
				t.newGroupPartitions = map[GroupPartition]*groupPartitionState{}
			}
			t.newGroupPartitions[c.GroupPartition] = gps
			added = append(added, gps)
		}
		if ok && gps.seen == gen {
			continue
		}
		gps.seen, gps.commit = gen, int32(ci)
		if gps.part != nil && !gps.absent && gps.part.seen == t.gen {
			// The partition's state of the last poll is its state now: a
			// state dropped from t.partitions is never seen again.
		} else if ps, live := t.partitions[c.TopicPartition]; live && ps.seen == t.gen {
			gps.part, gps.absent = ps, false
		} else if gps.part == nil || !gps.absent {
			// Keep the name only, not the history of a partition gone.
			gps.part, gps.absent = &partitionState{key: c.TopicPartition}, true
		}
		wasHeld := gps.held
		// A fresh "never committed" needs no log offsets: it is no_commit
		// whatever the partition's answer.
		gps.held = isReused(c.ReadAt, pollTime) || (c.Committed >= 0 && !gps.absent && gps.part.reused)
		if gps.held && ok {
			// A reused answer is not news: no move, no stillness, no lag
			// and no past-the-end reading is derived from it (see
			// heldResult). Lag needs a committed offset and log offsets
			// read together; one of them is old.
			gps.changed = false
			gps.history.trim(windowStart)
			continue
		}
		gapped := ok && now-t.prev > t.stallAfter
		if ok && c.Committed >= 0 && gps.committed >= 0 && c.Committed != gps.committed && !gapped && !wasHeld {
			// A move seen right after reused answers ends a stillness
			// nobody watched: not learned.
			t.learnCadence(gps)
		}
		gps.observe(c, !ok, now, t.prev, windowStart)
		if gps.changed && ok {
			gps.group.moved = true
		}
		if !gps.held && !gps.absent {
			gps.readAt = now
		}
		if gapped && !t.stuckBeforeGap(gps) {
			// No poll saw the partition for longer than StallAfter (Kafka
			// or lagwatch was down): an offset nobody watched cannot be
			// called still, and consumers cannot commit while Kafka is
			// away. Stillness counts from this poll. A partition already
			// stuck before the gap (stuckBeforeGap) stays stuck: a
			// lagwatch that was blind must not resolve the page it had
			// raised.
			gps.movedAt = now
		}
	}
	return added
}

// Learning a partition's commit cadence. The cadence is how long the
// partition's committed offset can sit still with lag before it moves while
// its consumer is healthy. It is measured at each move as the stillness the
// move ended (see learnCadence) and kept as a decaying maximum: a move raises
// it to its stillness if longer, and each move first lowers it by a decay, so
// it follows the longest recent interval and forgets an old one within a few
// dozen moves. Four bytes and two counters per group-partition.
const (
	// cadenceDecay is what a learned cadence keeps at a move that measured
	// a whole interval; partialCadenceDecay what it keeps at one that only
	// bounded it from below (see learnCadence): such a move is no sign that
	// the interval got shorter, so it forgets slowly.
	cadenceDecay        = 0.9
	partialCadenceDecay = 0.98
	// settledAfterMoves is how many moves must be seen before the cadence
	// counts as learned: the first one only bounds an interval that began
	// before lagwatch watched. One of the others must have measured a whole
	// interval, from move to move; stillness measured only from a poll
	// without lag bounds the cadence from below (see learnCadence), and
	// settledAfterPartialMoves of those are taken as its measure.
	settledAfterMoves        = 2
	settledAfterPartialMoves = 6
	// maxUnlearnedCadence is the longest commit interval lagwatch promises
	// never to call stuck before it has learned it: a partition still for
	// stallThreshold(…, unlearnedCadence, …) is stuck, learned or not, so
	// one already stuck when lagwatch starts is reported 15 minutes (plus a
	// poll) later at the default settings. A shorter stall-after shortens
	// it in proportion (unlearnedCadencePerStallAfter): whoever asks for a
	// stall within seconds (a demo, a test, a team whose consumers all
	// commit within seconds) is not kept waiting a quarter of an hour for a
	// consumer that crashed just as lagwatch started.
	maxUnlearnedCadence           = 10 * time.Minute
	unlearnedCadencePerStallAfter = 10
	// maxCadenceMs bounds the stored cadence (49 days in milliseconds).
	maxCadenceMs = math.MaxUint32
)

// unlearnedCadence is the commit interval assumed for a partition whose
// cadence is not learned yet (see maxUnlearnedCadence), in nanoseconds.
func unlearnedCadence(stallAfter int64) int64 {
	return min(int64(maxUnlearnedCadence), unlearnedCadencePerStallAfter*stallAfter)
}

// learnCadence records a move of the committed offset seen at the last
// poll: the stillness it ended is learned, unless the partition had already
// been judged stuck on a learned cadence (a poison message fixed after 20
// minutes is a fault, not a new cadence).
//
// A consumer that commits on a clock (auto-commit, a Connect sink's flush,
// a micro-batch) moves once per interval whenever it has read something new,
// however its lag came and went in between. A poll that saw it caught up
// mid-interval does not shorten that interval: the next burst may land just
// after a commit and wait a whole interval. So the stillness a move ended
// counts from the last move, lag or not (a whole interval), unless the
// partition was without lag for more than half its learned cadence (or half
// the stall-after floor, while the cadence is shorter) since then: then the
// consumer may have had nothing new at a commit in between, and the
// move-to-move time would be two intervals, or an hour on a quiet topic
// whose consumer commits seconds after each message. Only the stillness
// with lag counts then, from the last poll without lag: a lower bound on the
// interval, which raises the cadence but barely lowers it. The allowance
// cannot feed on itself: a whole interval learned is at most the allowance
// plus the interval, so a cadence shorter than the floor stays below it,
// and a longer one at most doubles.
func (t *Tracker) learnCadence(gps *groupPartitionState) {
	if gps.settled() && (gps.status == StatusStalled || gps.status == StatusStopped) {
		return
	}
	still, decay := max(t.prev-gps.movedAt, 0), cadenceDecay
	idleAllowed := max(gps.cadence(), gps.group.stallAfter) / 2
	whole := gps.lagFreeAt <= gps.movedAt || gps.lagFreeAt-gps.movedAt <= idleAllowed
	if !whole {
		still, decay = max(t.prev-gps.lagFreeAt, 0), partialCadenceDecay
	}
	ms := max(float64(still)/1e6, float64(gps.cadenceMs)*decay)
	gps.cadenceMs = uint32(min(ms, maxCadenceMs))
	if whole && gps.moves > 0 {
		gps.wholeMoves = max(gps.wholeMoves, gps.wholeMoves+1)
	}
	gps.moves = max(gps.moves, gps.moves+1)
}

// cadence is the learned cadence in nanoseconds.
func (gps *groupPartitionState) cadence() int64 {
	return int64(gps.cadenceMs) * int64(time.Millisecond)
}

// settled reports whether the group-partition's cadence is learned (see
// settledAfterMoves).
func (gps *groupPartitionState) settled() bool {
	return gps.moves >= settledAfterMoves && (gps.wholeMoves > 0 || gps.moves >= settledAfterPartialMoves)
}

// stallFacts sets the stall threshold of a group-partition and whether it
// is settled (see stallThreshold and isStillDuringWarmUp).
func (t *Tracker) stallFacts(f *partitionFacts, gps *groupPartitionState) {
	pollInterval := t.last - t.prev
	f.stallAfter = stallThreshold(gps.group.stallAfter, gps.cadence(), pollInterval)
	f.settled = gps.group.overridden || gps.settled()
	f.warmUpLimit = stallThreshold(gps.group.stallAfter, unlearnedCadence(gps.group.stallAfter), pollInterval)
}

// stuckBeforeGap reports whether the group-partition was stuck as of the
// poll before a gap in polls: judged stalled or stopped then, or still with
// lag all along for its stall threshold (its learned cadence once settled,
// the warm-up limit before). It reads the stillness clock, not only the last
// status, because a poll while Kafka came back may have lacked the
// partition's log end (status unknown), and a stall must survive that too.
func (t *Tracker) stuckBeforeGap(gps *groupPartitionState) bool {
	if gps.status == StatusStalled || gps.status == StatusStopped {
		return true
	}
	threshold := stallThreshold(gps.group.stallAfter, unlearnedCadence(gps.group.stallAfter), 0)
	if gps.group.overridden || gps.settled() {
		threshold = stallThreshold(gps.group.stallAfter, gps.cadence(), 0)
	}
	return t.prev-max(gps.movedAt, gps.lagFreeAt) >= threshold
}

// groupOfCommit returns the group of a commit. A group not described in this
// poll has unknown membership: what was known about its members is stale.
func (t *Tracker) groupOfCommit(name string, newGroups *[]*groupState) *groupState {
	gs, isNew := t.groupState(name)
	if isNew {
		*newGroups = append(*newGroups, gs)
	}
	if gs.seen != t.gen {
		gs.seen, gs.membersKnown, gs.hasMembers = t.gen, false, false
	}
	return gs
}

// observe records one poll's committed offset of the group-partition: its
// history, rewinds, when it last moved, when it last had no lag, and how
// long it has been past the log end. prev is the previous poll's time.
func (gps *groupPartitionState) observe(c Commit, first bool, now, prev, windowStart int64) {
	gps.changed = first || c.Committed != gps.committed
	if gps.changed && !first {
		gps.movedAt = prev
	}
	gps.position = 0
	if c.Committed < 0 {
		// No position: nothing to keep. A later first commit starts a fresh
		// history and is not a rewind.
		gps.committed = -1
		gps.history.reset()
		gps.lagFreeAt, gps.pastEndPolls = noTime, 0
		return
	}
	rewound := gps.committed >= 0 && c.Committed < gps.committed
	gps.committed = c.Committed
	gps.history.add(now, c.Committed, windowStart, maxCommitPoints)
	if rewound {
		// Counted against the previous poll's value, so a step is counted
		// (and shown as rewound) even right after the history was dropped.
		gps.rewinds = max(gps.rewinds, gps.rewinds+1) // saturates
		gps.history.lastBackward = now
	}
	ps := gps.partition()
	if ps == nil {
		gps.pastEndPolls = 0
		return
	}
	if c.Position > c.Committed {
		gps.position = min(c.Position, ps.logEnd)
	}
	gps.pastEndPolls = pastEndCount(gps.pastEndPolls, gps.changed, c.Committed > ps.logEnd)
	if effectiveLag(gps, ps) == 0 {
		gps.lagFreeAt = now
	}
}

// pastEndCount counts the consecutive polls at which the same committed
// offset was past the log end, saturating.
func pastEndCount(n uint8, changed, pastEnd bool) uint8 {
	switch {
	case !pastEnd:
		return 0
	case changed:
		return 1
	}
	return max(n, n+1) // saturates at 255
}

// effectivePosition is where the group's next read lands: the committed
// offset, or the verified position past it.
func effectivePosition(gps *groupPartitionState) int64 {
	return max(gps.committed, gps.position)
}

// effectiveLag is what a read_committed consumer at the effective position
// can still read: max(LSO − position, 0). A committed offset past the log
// end has no lag (see GroupPartitionResult.Lag).
func effectiveLag(gps *groupPartitionState, ps *partitionState) int64 {
	if gps.committed > ps.logEnd {
		return 0
	}
	return max(ps.lastStable-effectivePosition(gps), 0)
}

// updateOrders merges the new keys into the sorted views and drops the keys
// absent from the poll.
func (t *Tracker) updateOrders(newPartitions []*partitionState, newGroups []*groupState, newGroupPartitions []*groupPartitionState) {
	t.partitionOrder = updateOrder(t.partitions, t.partitionOrder, newPartitions, t.gen,
		func(s *partitionState) uint64 { return s.seen },
		func(a, b *partitionState) int { return compareTopicPartitions(a.key, b.key) },
		func(s *partitionState, i int) { s.index = i })
	t.groupOrder = updateOrder(t.groups, t.groupOrder, newGroups, t.gen,
		func(s *groupState) uint64 { return s.seen },
		func(a, b *groupState) int { return cmp.Compare(a.name, b.name) },
		func(s *groupState, i int) { s.index = i })
	// The new group-partitions by group, each group's run in order.
	slices.SortFunc(newGroupPartitions, func(a, b *groupPartitionState) int {
		if c := cmp.Compare(a.group.index, b.group.index); c != 0 {
			return c
		}
		return compareTopicPartitions(a.part.key, b.part.key)
	})
	gen := uint32(t.gen)
	count := 0
	for _, gs := range t.groupOrder {
		n := 0
		for n < len(newGroupPartitions) && newGroupPartitions[n].group == gs {
			n++
		}
		gs.parts = gs.updateParts(gen, newGroupPartitions[:n])
		newGroupPartitions = newGroupPartitions[n:]
		count += len(gs.parts)
	}
	t.groupPartitionCount = count
	t.newGroupPartitions = nil
}

// find returns the group's group-partition of tp and its index in parts,
// looking at parts[hint] first.
func (gs *groupState) find(tp TopicPartition, hint int) (*groupPartitionState, int, bool) {
	if hint < len(gs.parts) && gs.parts[hint].part.key == tp {
		return gs.parts[hint], hint, true
	}
	i, ok := slices.BinarySearchFunc(gs.parts, tp, func(gps *groupPartitionState, tp TopicPartition) int {
		return compareTopicPartitions(gps.part.key, tp)
	})
	if !ok {
		return nil, 0, false
	}
	return gs.parts[i], i, true
}

// updateParts drops the group's group-partitions not seen in poll gen and
// merges in the ones added (in order); in the steady state (none come or
// go) it costs one pass over parts.
func (gs *groupState) updateParts(gen uint32, added []*groupPartitionState) []*groupPartitionState {
	parts := gs.parts
	stale := false
	for _, gps := range parts {
		if gps.seen != gen {
			stale = true
			break
		}
	}
	if !stale && len(added) == 0 {
		return parts
	}
	if stale {
		parts = slices.DeleteFunc(parts, func(gps *groupPartitionState) bool { return gps.seen != gen })
	}
	if len(added) == 0 {
		return slices.Clip(parts)
	}
	return mergeSorted(parts, added, func(a, b *groupPartitionState) int { return compareTopicPartitions(a.part.key, b.part.key) })
}

// mergeSorted merges two slices sorted by compare into a new one, a's
// element first among equals.
func mergeSorted[S any](a, b []*S, compare func(x, y *S) int) []*S {
	merged := make([]*S, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if compare(a[i], b[j]) <= 0 {
			merged = append(merged, a[i])
			i++
		} else {
			merged = append(merged, b[j])
			j++
		}
	}
	merged = append(merged, a[i:]...)
	return append(merged, b[j:]...)
}

// dropHistory forgets every point after the clock went backwards to now: old
// points cannot be placed on the new timeline. Current values, rewind
// counters, statuses and the keys survive; the stall clock restarts at now.
func (t *Tracker) dropHistory(now int64) {
	for _, ps := range t.partitions {
		ps.start.reset()
		ps.end.reset()
		ps.gap.reset()
	}
	for _, gs := range t.groups {
		for _, gps := range gs.parts {
			gps.history.reset()
			gps.movedAt, gps.lagFreeAt = now, noTime
		}
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
		order = mergeSorted(order, added, compare)
	}
	for i, s := range order {
		setIndex(s, i)
	}
	return order
}
