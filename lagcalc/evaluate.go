package lagcalc

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"
)

// UnresolvedOffsets lists the records whose production time the history
// cannot tell: a group has lag and its effective position (the committed
// offset, or the verified position past it) is older than the oldest
// log-end point kept for the partition (every point is already past it).
// The collector reads the timestamp of each listed record from Kafka (one
// small Fetch, batched per leader, cached until the offset moves) and passes
// them to Evaluate, so a 3-day backlog reads as 3 days, not as the window.
//
// The offset listed is the effective position, raised to the log start
// when retention already deleted it (a Fetch there fails with
// OFFSET_OUT_OF_RANGE; the oldest message left is the best witness). A
// partition whose log is empty has no record to read and is not listed.
// The list is deduplicated across groups and sorted.
func (t *Tracker) UnresolvedOffsets() []TopicPartitionOffset {
	var out offsetSet
	for _, gs := range t.groupOrder {
		for _, gps := range gs.parts {
			ps := gps.partition()
			if gps.committed < 0 || ps == nil || effectiveLag(gps, ps) == 0 {
				continue
			}
			pos := effectivePosition(gps)
			if _, ok := ps.end.timeReached(pos); ok {
				continue
			}
			if o := recordToRead(pos, ps); o < ps.logEnd {
				out.add(TopicPartitionOffset{TopicPartition: ps.key, Offset: o})
			}
		}
	}
	return out.sorted()
}

// VerifyCandidates lists the committed offsets at which the collector should
// read the records to tell whether they are consumable data, and pass the
// answer back as Commit.Position: transaction control markers and aborted
// transactional data take offsets that no consumer ever receives, so a
// consumer that committed "last record + 1" on a transactional topic stays
// behind the LSO by a marker or more while it is in fact caught up.
//
// Listed: committed offsets at which a consumer is at rest on an idle
// partition with lag left (its effective position, with the Position passed
// in this poll, is below the LSO), and both the committed offset and the LSO
// are the same as at the previous poll. That is where a marker-only lag
// would sit forever; a moving consumer or a busy partition is left alone,
// which keeps the extra Fetches bounded. Offsets below the log start
// (deleted) are not listed. The collector answers with the next poll's
// Commit.Position and passes it with every poll while the committed offset
// stays. Records are immutable, so an answer that stopped at a data record
// is final and may be cached by offset; one that reached the LSO may extend
// once more records follow (the next transaction aborted, another marker),
// so while it is listed again the collector reads again.
// The list is deduplicated across groups and sorted.
func (t *Tracker) VerifyCandidates() []TopicPartitionOffset {
	var out offsetSet
	for _, gs := range t.groupOrder {
		for _, gps := range gs.parts {
			ps := gps.partition()
			if gps.committed < 0 || ps == nil || gps.changed || ps.lastStableMoved ||
				effectiveLag(gps, ps) == 0 || gps.committed < ps.logStart {
				continue
			}
			out.add(TopicPartitionOffset{TopicPartition: ps.key, Offset: gps.committed})
		}
	}
	return out.sorted()
}

// offsetSet collects record offsets without duplicates.
type offsetSet struct {
	list   []TopicPartitionOffset
	listed map[TopicPartitionOffset]struct{}
}

func (s *offsetSet) add(o TopicPartitionOffset) {
	if s.listed == nil {
		s.listed = map[TopicPartitionOffset]struct{}{}
	}
	if _, dup := s.listed[o]; dup {
		return
	}
	s.listed[o] = struct{}{}
	s.list = append(s.list, o)
}

// sorted returns the offsets by topic, partition and offset.
func (s *offsetSet) sorted() []TopicPartitionOffset {
	slices.SortFunc(s.list, func(a, b TopicPartitionOffset) int {
		if c := compareTopicPartitions(a.TopicPartition, b.TopicPartition); c != 0 {
			return c
		}
		return cmp.Compare(a.Offset, b.Offset)
	})
	return s.list
}

// recordToRead is the offset whose timestamp dates a position older than
// the history: the position itself, or the log start if retention deleted it.
func recordToRead(pos int64, ps *partitionState) int64 {
	return max(pos, ps.logStart)
}

// Evaluate derives the numbers and statuses at time now from the history.
// History-based rules (rates, trends, statuses) look at the window ending at
// the last poll; now only ages messages (lag in seconds). recordTimes holds
// record timestamps for offsets listed by UnresolvedOffsets; it may be nil,
// and extra or missing entries are fine.
//
// Evaluate records each group-partition's status in the Tracker: the
// lagging rule has hysteresis and looks at the status given at the
// previously evaluated poll. Evaluating again at the same poll uses the same
// previous status, so it gives the same statuses.
func (t *Tracker) Evaluate(now time.Time, recordTimes map[TopicPartitionOffset]time.Time) Result {
	all := make([]GroupPartitionResult, t.groupPartitionCount)
	res := t.evaluate(now, recordTimes, func(i int, _ *groupPartitionState, r *GroupPartitionResult) {
		all[i] = *r
	})
	res.GroupPartitions = all
	return res
}

// EvaluateInto is Evaluate for a caller that keeps each group-partition's
// numbers itself, next to its own record of it: into(i) is where the
// numbers of the group-partition of the last poll's i-th commit go
// (Poll.Commits[i]; for a key given twice, its first commit), and the
// Result has no GroupPartitions. A million group-partitions then cost no
// result of 120 bytes each besides the caller's copy, and the numbers
// need no join by name. into is called from several goroutines at once,
// never twice with the same i; it may return nil to drop the numbers.
func (t *Tracker) EvaluateInto(now time.Time, recordTimes map[TopicPartitionOffset]time.Time, into func(commit int) *GroupPartitionNumbers) Result {
	return t.evaluate(now, recordTimes, func(_ int, gps *groupPartitionState, r *GroupPartitionResult) {
		if n := into(int(gps.commit)); n != nil {
			*n = r.GroupPartitionNumbers
		}
	})
}

// evaluate is Evaluate, each group-partition's result handed to store
// with its index in group-partition order.
func (t *Tracker) evaluate(now time.Time, recordTimes map[TopicPartitionOffset]time.Time,
	store func(i int, gps *groupPartitionState, r *GroupPartitionResult)) Result {
	res := Result{Time: now}
	if !t.started {
		return res
	}
	newPoll := t.evaluatedGen != t.gen
	t.evaluatedGen = t.gen
	windowStart := t.last - t.window
	nowRel := t.rel(now)

	res.Partitions = make([]PartitionResult, len(t.partitionOrder))
	policies := make([]policyOf, len(t.partitionOrder))
	for i, ps := range t.partitionOrder {
		pr := &res.Partitions[i]
		pr.TopicPartition = ps.key
		pr.LogStart, pr.LogEnd, pr.LastStable = ps.logStart, ps.logEnd, ps.lastStable
		pr.ProduceRate, pr.HasProduceRate = ps.end.rate(windowStart)
		pr.LogStartRate, pr.HasLogStartRate = ps.start.rate(windowStart)
		policies[i].RetentionPolicy, policies[i].known = t.retention[ps.key.Topic]
	}

	res.Groups = make([]GroupResult, len(t.groupOrder))
	for i, gs := range t.groupOrder {
		res.Groups[i] = GroupResult{Group: gs.name, MembersKnown: gs.membersKnown, HasMembers: gs.hasMembers, Status: StatusOK}
	}

	evaluateGroups := func(groups groupRange) {
		i := groups.firstResult
		// One result for the range, handed to store each time: store is a
		// function value, so a result declared per group-partition would
		// be allocated per group-partition.
		r := new(GroupPartitionResult)
		for gi := groups.from; gi < groups.to; gi++ {
			for _, gps := range t.groupOrder[gi].parts {
				if newPoll {
					gps.prevStatus = gps.status
				}
				*r = GroupPartitionResult{}
				var pr *PartitionResult
				var policy policyOf
				if ps := gps.partition(); ps != nil {
					pr, policy = &res.Partitions[ps.index], policies[ps.index]
				}
				t.evaluateGroupPartition(r, gps, pr, policy, windowStart, nowRel, recordTimes)
				gps.status = r.Status
				addToGroup(&res.Groups[gi], r)
				store(i, gps, r)
				i++
			}
		}
	}
	// The group-partitions are independent of one another: each writes
	// only its own state and result, and reads the partitions' state,
	// which no one writes here. So the groups are split among the cores,
	// and a poll of a million group-partitions is not held to one core
	// (the trend fits are most of its work).
	workers := t.evaluateWorkers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	for _, groups := range t.splitGroups(workers) {
		wg.Go(func() { evaluateGroups(groups) })
	}
	wg.Wait()
	return res
}

// groupRange is groupOrder[from:to], whose first group-partition's result
// is at firstResult in Result.GroupPartitions.
type groupRange struct {
	from, to, firstResult int
}

// minGroupPartitionsPerWorker keeps small polls on one goroutine: below it,
// starting another costs more than it saves.
const minGroupPartitionsPerWorker = 5000

// splitGroups splits groupOrder into at most n contiguous ranges of about
// the same number of group-partitions.
func (t *Tracker) splitGroups(n int) []groupRange {
	n = max(min(n, t.groupPartitionCount/minGroupPartitionsPerWorker), 1)
	ranges := make([]groupRange, 0, n)
	current := groupRange{}
	counted := 0
	for gi, gs := range t.groupOrder {
		counted += len(gs.parts)
		if len(ranges) < n-1 && counted*n >= (len(ranges)+1)*t.groupPartitionCount {
			current.to = gi + 1
			ranges = append(ranges, current)
			current = groupRange{from: gi + 1, firstResult: counted}
		}
	}
	current.to = len(t.groupOrder)
	return append(ranges, current)
}

// addToGroup adds a group-partition's result to its group's.
func addToGroup(g *GroupResult, r *GroupPartitionResult) {
	g.Partitions++
	g.Status = worseStatus(g.Status, r.Status)
	if !r.HasLag {
		return
	}
	g.Lag = saturatingAdd(g.Lag, r.Lag)
	if !g.HasMaxLagSeconds || r.LagSeconds > g.MaxLagSeconds {
		g.MaxLagSeconds, g.HasMaxLagSeconds = r.LagSeconds, true
	}
	g.MaxLagSecondsLowerBound = g.MaxLagSecondsLowerBound || r.LagSecondsLowerBound
}

type policyOf struct {
	RetentionPolicy
	known bool
}

// evaluateGroupPartition fills r for one group-partition. pr is its
// partition's result, nil when the partition was not in the last poll.
func (t *Tracker) evaluateGroupPartition(r *GroupPartitionResult, gps *groupPartitionState, pr *PartitionResult,
	policy policyOf, windowStart, nowRel int64, recordTimes map[TopicPartitionOffset]time.Time) {
	r.GroupPartition = gps.key()
	r.Committed, r.Position = gps.committed, effectivePosition(gps)
	r.Rewinds = uint64(gps.rewinds)
	f := partitionFacts{
		committed:     gps.committed,
		membersKnown:  gps.group.membersKnown,
		hasMembers:    gps.group.hasMembers,
		wasLagging:    gps.prevStatus == StatusLagging,
		neverMoved:    !gps.group.moved,
		inactiveAfter: t.inactiveAfter,
	}
	t.stallFacts(&f, gps)
	if gps.held {
		// No status from a reused answer (see heldResult); one that
		// stands for a partition never committed fresh tells nothing.
		if gps.committed >= 0 {
			t.heldResult(r, gps, pr, policy, recordTimes)
		}
		return
	}
	if gps.committed < 0 {
		r.Status = partitionStatus(&f)
		return
	}
	f.seenBefore = gps.history.first().t < t.last
	f.rewoundWithinWindow = gps.history.lastBackward >= windowStart
	r.ConsumeRate, r.HasConsumeRate = gps.history.rate(windowStart)

	ps := gps.partition()
	if ps == nil {
		r.Status = partitionStatus(&f)
		return
	}
	t.lagNumbers(r, gps, pr, policy, nowRel, recordTimes)
	f.lagKnown, f.lag, f.lagSeconds = true, r.Lag, r.LagSeconds
	f.pastEndPolls = gps.pastEndPolls
	f.stuckFor = t.last - max(gps.movedAt, gps.lagFreeAt)
	f.stillFor = t.last - gps.movedAt
	if subs := gps.group.subscribed; subs != nil && gps.group.hasMembers {
		_, subscribed := subs[gps.part.key.Topic]
		f.leftBehind = !subscribed
	}
	t.fillTrend(&f, gps, pr, windowStart)
	r.Status = partitionStatus(&f)
}

// lagNumbers fills the numbers that need the partition's offsets: lag, its
// age, expired messages, time to drain and retention headroom.
func (t *Tracker) lagNumbers(r *GroupPartitionResult, gps *groupPartitionState, pr *PartitionResult,
	policy policyOf, nowRel int64, recordTimes map[TopicPartitionOffset]time.Time) {
	ps := gps.partition()
	pos := effectivePosition(gps)
	lag := effectiveLag(gps, ps)
	r.HasLag, r.Lag = true, lag
	r.LagSeconds, r.LagSecondsLowerBound = lagSeconds(pos, lag, ps, nowRel, recordLookup{t, recordTimes})
	r.ExpiredMessages, r.HasExpiredMessages = max(ps.logStart-gps.committed, 0), true
	r.TimeToDrainSeconds, r.HasTimeToDrain = timeToDrain(lag, r.ConsumeRate, r.HasConsumeRate, pr.ProduceRate, pr.HasProduceRate)
	r.RetentionHeadroomSeconds, r.HasRetentionHeadroom = retentionHeadroom(policy, backlog{
		position: pos, lag: lag, lagSeconds: r.LagSeconds,
		logStart: ps.logStart, logEnd: ps.logEnd,
		consumeRate: r.ConsumeRate, hasConsumeRate: r.HasConsumeRate,
		logStartRate: pr.LogStartRate, hasLogStartRate: pr.HasLogStartRate,
	})
}

// fillTrend fits the lag's trend when the history since the later of the
// window start, the first points and the last backward steps (of the
// committed offset, or of the log end: a truncation) spans at least the
// minimum trend span, and sets the bar a rise must pass (see isLagging).
func (t *Tracker) fillTrend(f *partitionFacts, gps *groupPartitionState, pr *PartitionResult, windowStart int64) {
	if f.lag == 0 {
		return // the trend cannot make a caught-up partition lagging
	}
	ps := gps.partition()
	from := max(windowStart, gps.history.first().t, ps.end.first().t, ps.gap.first().t,
		gps.history.lastBackward, ps.end.lastBackward)
	allowed := float64(t.settings.AllowedLagGrowth)
	f.cannotLag = 1.5*(float64(ps.end.last().v)-gps.history.valueAt(from)) <= allowed
	cadence := gps.cadence()
	if t.last-from < max(t.minTrendSpan, min(2*cadence, t.window)) {
		// The span must hold two of the partition's commit intervals, or
		// the whole window: a shorter span can hold one tooth of its
		// sawtooth, which looks like growth. Meanwhile a lag that stayed
		// small all along rules lagging out (see isOK).
		f.cannotLag = f.cannotLag || 1.5*lagMax(&ps.end, &ps.gap, &gps.history, from, t.last) <= allowed
		return
	}
	if gps.status != StatusLagging && f.cannotLag {
		// A least-squares line through values in [0, M] rises by at most
		// 1.5·M, and the lag over the span never exceeds the log end now
		// minus the committed offset at its start (neither went backwards
		// in it): such a lag cannot rise past the allowed growth, so the
		// fit is skipped. A lagging partition still needs it to leave.
		return
	}
	rise, swing := lagTrend(&ps.end, &ps.gap, &gps.history, from, t.last)
	f.trendKnown, f.rise = true, rise
	f.windowShare = min(float64(t.last-from)/float64(t.window), 1)
	f.riseBar = max(float64(t.settings.AllowedLagGrowth), lagSwingFactor*swing, toothHeight(pr, cadence))
}

// toothHeight is the height of one tooth of a healthy periodic committer's
// lag sawtooth: what producers write in one commit interval (produce rate ×
// learned cadence). A window that holds little more than one tooth can fit
// it as a rise of up to about its height with almost no swing around the
// line (a consumer committing every 10 minutes, seen through a 10-minute
// window), so the rise must pass it too. It only matters when the cadence is
// long against the window: with several teeth in the window, seven swings
// are more.
func toothHeight(pr *PartitionResult, cadence int64) float64 {
	if !pr.HasProduceRate {
		return 0
	}
	return nonNegativeFinite(toothMargin * pr.ProduceRate * float64(cadence) / 1e9)
}

// recordLookup finds the record timestamps the collector passed to Evaluate.
type recordLookup struct {
	t     *Tracker
	times map[TopicPartitionOffset]time.Time
}

// writtenAt returns when the record that dates position c was written, as
// a relative time, and whether that record is c itself (not the log start
// standing in for a deleted c). ok is false when the collector
// gave no timestamp; a zero time counts as none (Kafka's "no timestamp" is -1).
func (l recordLookup) writtenAt(ps *partitionState, c int64) (rel int64, exact, ok bool) {
	if len(l.times) == 0 {
		return 0, false, false
	}
	o := recordToRead(c, ps)
	rt, ok := l.times[TopicPartitionOffset{TopicPartition: ps.key, Offset: o}]
	if !ok || rt.IsZero() {
		return 0, false, false
	}
	return l.t.rel(rt), o == c, true
}

// lagSeconds is the age at nowRel of the oldest unconsumed message, the one
// at effective position c: now − the moment the log end passed c, read off the
// partition's log-end history by linear interpolation (series.timeReached).
// It is 0 when there is no lag, and never negative or beyond the data.
//
// When c is older than the history, the message was written before the
// oldest point t0, so its age is at least now − t0. A record timestamp (read
// by the collector for UnresolvedOffsets) gives the real age, but is not
// allowed below now − t0: producers set CreateTime from their own clocks,
// while t0 is evidence that the message already existed. A timestamp in the
// future therefore never makes the age negative. Without a record timestamp
// the result is the lower bound now − t0, and lowerBound is true.
func lagSeconds(c, lag int64, ps *partitionState, nowRel int64, records recordLookup) (seconds float64, lowerBound bool) {
	if lag == 0 {
		return 0, false
	}
	written, ok := ps.end.timeReached(c)
	if !ok {
		written = float64(ps.end.first().t)
		lowerBound = true
		// A timestamp not older than the oldest point proves nothing (clock
		// skew or a future CreateTime); the lower bound stands.
		if rel, exact, found := records.writtenAt(ps, c); found && float64(rel) < written {
			written = float64(rel)
			lowerBound = !exact
		}
	}
	return nonNegativeFinite((float64(nowRel) - written) / 1e9), lowerBound
}

// timeToDrain is how long the group needs to consume its lag at the current
// rates: lag ÷ (consume rate − produce rate) while it consumes faster than
// producers write; 0 when there is no lag; absent otherwise (falling behind,
// or rates unknown), because no finite time would be true.
func timeToDrain(lag int64, consume float64, hasConsume bool, produce float64, hasProduce bool) (float64, bool) {
	if lag == 0 {
		return 0, true
	}
	if !hasConsume || !hasProduce || consume <= produce {
		return 0, false
	}
	d := float64(lag) / (consume - produce)
	if math.IsInf(d, 0) || math.IsNaN(d) {
		return 0, false
	}
	return d, true
}

// backlog is what retentionHeadroom weighs: a group's unread messages on
// one partition and how fast both ends of the log and the group move.
type backlog struct {
	position, lag    int64   // effective position and lag (messages)
	lagSeconds       float64 // age of the message at position
	logStart, logEnd int64
	consumeRate      float64 // messages/s the position advanced over the window
	hasConsumeRate   bool
	logStartRate     float64 // messages/s the log start advanced over the window
	hasLogStartRate  bool
}

// retentionHeadroom is the time until retention may delete a message the
// group has not read. It exists only for a backlog at risk: a group that
// keeps up reads each message long before retention deletes it, whatever
// the retention, so a lag of a few messages on a 1-minute-retention topic
// has no headroom at all (it used to read "retention minus a second", which
// a 2-hour floor turned into a page for every healthy consumer of a topic
// kept less than 2 hours).
//
// Only retention deletes: a topic's cleanup.policy must contain "delete"
// and it must have a limit, retention.ms > 0 or retention.bytes > 0. A
// log start that moves on a topic with neither (retention.ms = -1 and
// retention.bytes = -1) is moved by DeleteRecords: Kafka Streams purges its
// repartition topics up to its own committed offset, so the log start
// follows the group, and that is the application's own deletion, not
// retention about to take its data. Such topics have no headroom.
//
// Two limits, the smaller headroom wins:
//
//   - time (retention.ms > 0): the oldest unread message may be deleted
//     once it is retention.ms old, so headroom = retention − lag seconds. At
//     risk once that message is at least half the retention old: a backlog
//     that old is one outage of the same length away from loss, while a
//     consumer that keeps up stays at an age of seconds.
//   - size (retention.bytes > 0): deletion shows as the log start advancing
//     at the log-start rate; the group's position advances at its consume
//     rate, so the log start reaches it in (position − log start) ÷ (log-start
//     rate − consume rate), and never while the group moves at least as fast
//     as deletion. At risk once the unread messages are at least half of the
//     log kept (the same "half way to loss" as for time).
//
// The result is clamped at 0 (messages are being deleted: see
// ExpiredMessages). Absent without lag, without a limit, below half way,
// and for a size limit when the log start did not gain on the group over
// the window. Kafka deletes whole segments, every
// log.retention.check.interval.ms (5 min by default), so the log-start
// rate is measured over the window and is 0 in a window without a deletion.
func retentionHeadroom(policy policyOf, b backlog) (float64, bool) {
	if !policy.known || !policy.Delete || b.lag <= 0 {
		return 0, false
	}
	headroom, ok := math.Inf(1), false
	if policy.RetentionMs > 0 {
		retention := float64(policy.RetentionMs) / 1000
		if b.lagSeconds >= retention/2 {
			headroom, ok = retention-b.lagSeconds, true
		}
	}
	kept := b.logEnd - b.logStart
	if policy.RetentionBytes > 0 && b.hasLogStartRate && 2*(b.logEnd-b.position) >= kept {
		gain := b.logStartRate
		if b.hasConsumeRate {
			gain -= b.consumeRate
		}
		if gain > 0 {
			if h := float64(b.position-b.logStart) / gain; !math.IsNaN(h) && !math.IsInf(h, 0) {
				headroom, ok = min(headroom, h), true
			}
		}
	}
	if !ok {
		return 0, false
	}
	return nonNegativeFinite(headroom), true
}

// nonNegativeFinite clamps x into [0, MaxFloat64] and maps NaN to 0, so no
// exported number is ever negative, NaN or Inf.
func nonNegativeFinite(x float64) float64 {
	switch {
	case math.IsNaN(x) || x < 0:
		return 0
	case x > math.MaxFloat64:
		return math.MaxFloat64
	}
	return x
}

func saturatingAdd(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// toothMargin: the rise must pass this many teeth (see toothHeight); a
// commit interval jitters, and the fitted line of a window that holds one
// tooth and the start of the next rises by a little more than one.
const toothMargin = 1.5
