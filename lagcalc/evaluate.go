package lagcalc

import (
	"math"
	"slices"
	"time"
)

// UnresolvedOffsets lists the records whose production time the history
// cannot tell: a group has lag and its committed offset is older than the
// oldest log-end point kept for the partition (every point is already past
// it). The collector reads the timestamp of each listed record from Kafka
// (one small Fetch, batched per leader, cached until the offset moves) and
// passes them to Evaluate, so a 3-day backlog reads as 3 days, not as the
// window.
//
// The offset listed is the committed offset, raised to the log start when
// retention already deleted it (a Fetch there fails with
// OFFSET_OUT_OF_RANGE; the oldest message left is the best witness). A
// partition whose log is empty has no record to read and is not listed.
// The list is deduplicated across groups and sorted.
func (t *Tracker) UnresolvedOffsets() []TopicPartitionOffset {
	var out []TopicPartitionOffset
	var listed map[TopicPartitionOffset]struct{}
	for _, gps := range t.groupPartitionOrder {
		ps := gps.partition
		if gps.committed < 0 || ps == nil || gps.committed >= ps.logEnd {
			continue
		}
		if _, ok := ps.end.timeReached(gps.committed); ok {
			continue
		}
		o := recordToRead(gps.committed, ps)
		if o >= ps.logEnd {
			continue
		}
		key := TopicPartitionOffset{TopicPartition: ps.key, Offset: o}
		if listed == nil {
			listed = map[TopicPartitionOffset]struct{}{}
		}
		if _, dup := listed[key]; dup {
			continue
		}
		listed[key] = struct{}{}
		out = append(out, key)
	}
	slices.SortFunc(out, func(a, b TopicPartitionOffset) int {
		if c := compareTopicPartitions(a.TopicPartition, b.TopicPartition); c != 0 {
			return c
		}
		return int(min(max(a.Offset-b.Offset, -1), 1))
	})
	return out
}

// recordToRead is the offset whose timestamp dates a committed offset older
// than the history: the committed offset itself, or the log start if
// retention deleted it.
func recordToRead(committed int64, ps *partitionState) int64 {
	return max(committed, ps.logStart)
}

// Evaluate derives the numbers and statuses at time now from the history.
// History-based rules (rates, statuses) look at the window ending at the last
// poll; now only ages messages (lag in seconds). recordTimes holds record
// timestamps for offsets listed by UnresolvedOffsets; it may be nil, and
// extra or missing entries are fine. Evaluate does not change the Tracker.
func (t *Tracker) Evaluate(now time.Time, recordTimes map[TopicPartitionOffset]time.Time) Result {
	res := Result{Time: now}
	if !t.started {
		return res
	}
	windowStart := t.last - t.window
	nowRel := t.rel(now)

	res.Partitions = make([]PartitionResult, len(t.partitionOrder))
	policies := make([]policyOf, len(t.partitionOrder))
	for i, ps := range t.partitionOrder {
		pr := &res.Partitions[i]
		pr.TopicPartition = ps.key
		pr.LogStart, pr.LogEnd = ps.logStart, ps.logEnd
		pr.ProduceRate, pr.HasProduceRate = ps.end.rate(windowStart)
		pr.LogStartRate, pr.HasLogStartRate = ps.start.rate(windowStart)
		policies[i].RetentionPolicy, policies[i].known = t.retention[ps.key.Topic]
	}

	res.Groups = make([]GroupResult, len(t.groupOrder))
	for i, gs := range t.groupOrder {
		res.Groups[i] = GroupResult{Group: gs.name, MembersKnown: gs.membersKnown, HasMembers: gs.hasMembers, Status: StatusOK}
	}

	res.GroupPartitions = make([]GroupPartitionResult, len(t.groupPartitionOrder))
	for i, gps := range t.groupPartitionOrder {
		r := &res.GroupPartitions[i]
		var pr *PartitionResult
		var policy policyOf
		if gps.partition != nil {
			pr, policy = &res.Partitions[gps.partition.index], policies[gps.partition.index]
		}
		t.evaluateGroupPartition(r, gps, pr, policy, windowStart, nowRel, recordTimes)

		g := &res.Groups[gps.group.index]
		g.Partitions++
		g.Status = worseStatus(g.Status, r.Status)
		if r.HasLag {
			g.Lag = saturatingAdd(g.Lag, r.Lag)
			if !g.HasMaxLagSeconds || r.LagSeconds > g.MaxLagSeconds {
				g.MaxLagSeconds, g.HasMaxLagSeconds = r.LagSeconds, true
			}
		}
	}
	return res
}

type policyOf struct {
	RetentionPolicy
	known bool
}

// evaluateGroupPartition fills r for one group-partition. pr is its
// partition's result, nil when the partition was not in the last poll.
func (t *Tracker) evaluateGroupPartition(r *GroupPartitionResult, gps *groupPartitionState, pr *PartitionResult,
	policy policyOf, windowStart, nowRel int64, recordTimes map[TopicPartitionOffset]time.Time) {
	r.GroupPartition = gps.key
	r.Committed = gps.committed
	r.Rewinds = gps.rewinds
	f := partitionFacts{
		committed:    gps.committed,
		membersKnown: gps.group.membersKnown,
		hasMembers:   gps.group.hasMembers,
	}
	if gps.committed < 0 {
		r.Status = partitionStatus(&f)
		return
	}
	f.rewoundWithinWindow = gps.history.lastBackward >= windowStart
	f.caughtUpWithinWindow = gps.lastCaughtUp >= windowStart
	f.unchangedOverWindow = gps.history.first().t <= windowStart && gps.history.unchangedSince(windowStart)
	r.ConsumeRate, r.HasConsumeRate = gps.history.rate(windowStart)

	ps := gps.partition
	if ps == nil {
		r.Status = partitionStatus(&f)
		return
	}
	c := gps.committed
	lag := max(ps.logEnd-c, 0)
	r.HasLag, r.Lag = true, lag
	r.LagSeconds, r.LagSecondsLowerBound = lagSeconds(c, ps, nowRel, recordLookup{t, recordTimes})
	r.ExpiredMessages, r.HasExpiredMessages = max(ps.logStart-c, 0), true
	r.TimeToDrainSeconds, r.HasTimeToDrain = timeToDrain(lag, r.ConsumeRate, r.HasConsumeRate, pr.ProduceRate, pr.HasProduceRate)
	r.RetentionHeadroomSeconds, r.HasRetentionHeadroom = retentionHeadroom(policy, c, ps.logStart, r.LagSeconds, pr.LogStartRate, pr.HasLogStartRate)

	f.lagKnown, f.lag = true, lag
	trendStart := max(windowStart, gps.history.first().t, ps.end.first().t)
	if trendStart < t.last {
		f.trendKnown = true
		f.movedSinceTrendStart = !gps.history.unchangedSince(trendStart)
		f.lagAtTrendStart = max(ps.end.valueAt(trendStart)-gps.history.valueAt(trendStart), 0)
	}
	r.Status = partitionStatus(&f)
}

// recordLookup finds the record timestamps the collector passed to Evaluate.
type recordLookup struct {
	t     *Tracker
	times map[TopicPartitionOffset]time.Time
}

// writtenAt returns when the record that dates committed offset c was
// written, as a relative time, and whether that record is c itself (not the
// log start standing in for a deleted c). ok is false when the collector
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
// at committed offset c: now − the moment the log end passed c, read off the
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
func lagSeconds(c int64, ps *partitionState, nowRel int64, records recordLookup) (seconds float64, lowerBound bool) {
	if c >= ps.logEnd {
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

// retentionHeadroom is the time until the oldest unconsumed message (at
// committed offset c) may be deleted. Only topics whose cleanup.policy
// contains "delete" lose messages; compacted-only topics and topics of
// unknown policy get no headroom. Two estimates, the smaller wins:
//
//   - time retention (retention.ms > 0): a message may be deleted once it is
//     retention.ms old, so headroom = retention.ms/1000 − lag seconds;
//   - observed deletion (any delete policy; this is how retention.bytes
//     shows): the log start advances at the log-start rate, so it reaches c
//     in (c − log start) ÷ rate, when that rate is > 0.
//
// The result is clamped at 0 (messages are already being deleted: see
// ExpiredMessages). Absent when neither applies: infinite retention and a log
// start that did not move in the window. Kafka deletes whole segments, every
// log.retention.check.interval.ms (5 min by default), so the log-start rate is
// measured over the window and is 0 in a window without a deletion.
func retentionHeadroom(policy policyOf, c, logStart int64, lagSeconds, logStartRate float64, hasLogStartRate bool) (float64, bool) {
	if !policy.known || !policy.Delete {
		return 0, false
	}
	headroom, ok := math.Inf(1), false
	if policy.RetentionMs > 0 {
		headroom, ok = float64(policy.RetentionMs)/1000-lagSeconds, true
	}
	if hasLogStartRate && logStartRate > 0 {
		if h := float64(c-logStart) / logStartRate; !math.IsNaN(h) && !math.IsInf(h, 0) {
			headroom, ok = min(headroom, h), true
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
