package lagcalc

import "time"

// Share groups (KIP-932) have no committed offset: many members read the
// same partition, each record is acknowledged on its own, and the broker
// keeps per share-partition a start offset (SPSO: everything below it is
// acknowledged or archived) and reports a lag (KIP-1226: the records at or
// past the SPSO not yet acknowledged or archived). A record that is released
// or times out is delivered again, up to share.delivery.count.limit times,
// then archived. The rules below judge a share-partition by its SPSO, its
// lag and the group's members, with the consumer groups' statuses and
// settings: StallAfter for stalled and stopped, Window and AllowedLagGrowth
// for lagging, judged by the consumer groups' trend rule.

// SharePartition names one partition as seen by one share group.
type SharePartition struct {
	Group string
	TopicPartition
}

// ShareSample is what one poll said of one share-partition.
type ShareSample struct {
	SharePartition
	// StartOffset is the SPSO; Lag is the lag (reported by Kafka, or
	// computed by the caller where Kafka does not report it). Either is
	// negative when unknown.
	StartOffset int64
	Lag         int64
	// MembersKnown is false when the group could not be described this
	// poll; HasMembers then means nothing.
	MembersKnown bool
	HasMembers   bool
	// ReadAt is when StartOffset and Lag were read. The zero value, or the
	// poll's time, means in this poll; an earlier time marks an answer
	// reused for a coordinator that failed now: nothing is derived from it,
	// and the share-partition keeps the status of its last fresh read until
	// that is older than Settings.StaleAfter (then unknown).
	ReadAt time.Time
}

// ShareTracker remembers, per share-partition, what the status rules need
// of earlier polls: when it last made progress and its lag over the window.
// Time is passed in; it never reads the clock.
type ShareTracker struct {
	settings Settings
	parts    map[SharePartition]*shareHistory
	// epoch is the first poll's time: lag histories count nanoseconds from
	// it, as the consumer groups' do (see Tracker.rel). last is the last
	// poll's relative time.
	epoch   time.Time
	started bool
	last    int64
}

// shareHistory is one share-partition's memory.
type shareHistory struct {
	startOffset int64
	lag         int64
	// progressAt is the last poll at which the share-partition made
	// progress or had nothing to do (see shareProgressed), or the first
	// poll it was seen.
	progressAt time.Time
	// readAt is the last poll that read the share-partition fresh.
	readAt time.Time
	// lags is the known lag over the window (and one older anchor), as a
	// series fitted like a consumer group's lag (see lagTrend).
	lags series
	// status is the status given at the last poll.
	status Status
}

// maxShareLagPoints bounds a share-partition's lag history: a window of 10
// minutes at a 15 s poll interval fits without thinning.
const maxShareLagPoints = maxLogEndPoints

// NewShareTracker starts a tracker with no history; zero settings take
// their defaults.
func NewShareTracker(s Settings) *ShareTracker {
	return &ShareTracker{settings: s.withDefaults(), parts: map[SharePartition]*shareHistory{}}
}

// rel converts a time to nanoseconds since the first poll, clamped as
// Tracker.rel does.
func (t *ShareTracker) rel(x time.Time) int64 {
	return min(max(int64(x.Sub(t.epoch)), -maxRelTime), maxRelTime)
}

// Observe records one poll's samples and returns the status of each
// share-partition in them. Share-partitions missing from samples are
// forgotten: a share-partition seen again starts a new history. A poll
// before the previous one drops the lag histories (they cannot be placed on
// the new timeline).
func (t *ShareTracker) Observe(now time.Time, samples []ShareSample) map[SharePartition]Status {
	if !t.started {
		t.started, t.epoch = true, now
	}
	nowRel := t.rel(now)
	if nowRel < t.last {
		for _, h := range t.parts {
			h.lags.reset()
		}
	}
	t.last = nowRel
	windowStart := nowRel - int64(t.settings.Window)
	out := make(map[SharePartition]Status, len(samples))
	next := make(map[SharePartition]*shareHistory, len(samples))
	for _, s := range samples {
		if _, dup := next[s.SharePartition]; dup {
			continue
		}
		h, seen := t.parts[s.SharePartition]
		if seen && isReused(s.ReadAt, now) {
			// An earlier answer is not news: the last fresh status
			// stands until it is stale.
			next[s.SharePartition] = h
			out[s.SharePartition] = heldShareStatus(h, now, t.settings.StaleAfter)
			continue
		}
		if !seen {
			h = &shareHistory{startOffset: s.StartOffset, lag: s.Lag, progressAt: now, lags: newSeries()}
		} else if shareProgressed(h, s) {
			h.progressAt = now
		}
		h.startOffset, h.lag, h.readAt = s.StartOffset, s.Lag, now
		if s.Lag >= 0 {
			h.lags.add(nowRel, s.Lag, windowStart, maxShareLagPoints)
		}
		next[s.SharePartition] = h
		f := shareFactsOf(h, s, seen, now, nowRel, windowStart, t.settings)
		h.status = shareStatus(f)
		if !seen && isReused(s.ReadAt, now) {
			h.status = StatusUnknown // nothing fresh to judge from yet
		}
		out[s.SharePartition] = h.status
	}
	t.parts = next
	return out
}

// heldShareStatus is the status of a share-partition whose answer this
// poll was reused: the last fresh status, unknown once the last fresh read
// is older than staleAfter (0: no limit).
func heldShareStatus(h *shareHistory, now time.Time, staleAfter time.Duration) Status {
	if h.readAt.IsZero() || (staleAfter > 0 && now.Sub(h.readAt) > staleAfter) {
		return StatusUnknown
	}
	return h.status
}

// shareProgressed: the share-partition made progress since the last poll
// or had nothing to do: its start offset moved, its lag fell, or its lag is
// 0 (or either is unknown, which claims nothing). A falling lag counts as
// progress because Kafka's lag leaves out records acknowledged above the
// start offset: members that acknowledge while one record is still in
// flight below them (being redelivered, or held until its acquisition lock
// times out) pin the start offset but work off the lag.
func shareProgressed(h *shareHistory, s ShareSample) bool {
	return s.StartOffset < 0 || s.Lag <= 0 || h.startOffset < 0 || h.lag < 0 ||
		s.StartOffset != h.startOffset || s.Lag < h.lag
}

// shareFacts is what the share-group status rules look at.
type shareFacts struct {
	lagKnown     bool
	lag          int64
	seenBefore   bool
	membersKnown bool
	hasMembers   bool
	// stuckFor is how long the share-partition has gone without progress
	// (see shareProgressed); stallAfter is Settings.StallAfter.
	stuckFor   time.Duration
	stallAfter time.Duration
	// The lag's trend, as for consumer groups (see isLagging): trendKnown
	// when fitted over at least the minimum span; rise is the fitted
	// line's rise and riseBar the larger of AllowedLagGrowth and seven
	// swings; windowShare the share of the window the fit spans;
	// cannotLag when the lag stayed too small all along for any trend to
	// pass AllowedLagGrowth; wasLagging is the last poll's status.
	trendKnown  bool
	cannotLag   bool
	rise        float64
	riseBar     float64
	windowShare float64
	wasLagging  bool
}

func shareFactsOf(h *shareHistory, s ShareSample, seen bool, now time.Time, nowRel, windowStart int64, settings Settings) *shareFacts {
	f := &shareFacts{
		lagKnown: s.Lag >= 0, lag: s.Lag, seenBefore: seen,
		membersKnown: s.MembersKnown, hasMembers: s.HasMembers,
		stuckFor: now.Sub(h.progressAt), stallAfter: settings.StallAfter,
		wasLagging: h.status == StatusLagging,
	}
	if !f.lagKnown || f.lag == 0 || h.lags.len() == 0 {
		return f
	}
	from := max(windowStart, h.lags.first().t)
	var none series
	allowed := float64(settings.AllowedLagGrowth)
	f.cannotLag = 1.5*lagMax(&h.lags, &none, &none, from, nowRel) <= allowed
	if nowRel-from < int64(settings.minTrendSpan()) {
		return f
	}
	rise, swing := lagTrend(&h.lags, &none, &none, from, nowRel)
	f.trendKnown, f.rise = true, rise
	f.riseBar = max(allowed, lagSwingFactor*swing)
	f.windowShare = min(float64(nowRel-from)/float64(settings.Window), 1)
	return f
}

// shareStatus applies the rules in precedence order; the first that holds
// decides:
//
//	unknown (no lag) > stopped = stalled > lagging > ok > unknown
//
// Stopped and stalled exclude each other (membership decides). ok needs a
// second poll unless the lag is 0, and a history that rules lagging out,
// as for consumer groups: one poll with lag tells nothing of progress.
func shareStatus(f *shareFacts) Status {
	switch {
	case !f.lagKnown:
		return StatusUnknown
	case isShareStopped(f):
		return StatusStopped
	case isShareStalled(f):
		return StatusStalled
	case isShareLagging(f):
		return StatusLagging
	case isShareOK(f):
		return StatusOK
	default:
		return StatusUnknown
	}
}

// isShareStuck: there is lag, and for at least StallAfter neither did the
// start offset move nor the lag fall, with lag at every poll: records wait
// and nobody works them off.
func isShareStuck(f *shareFacts) bool {
	return f.lag > 0 && f.stuckFor >= f.stallAfter
}

// isShareStopped: stuck, and the group has no members: nothing will be
// delivered until a consumer joins. StallAfter keeps a rolling restart of
// the only consumer from reading stopped.
func isShareStopped(f *shareFacts) bool {
	return isShareStuck(f) && f.membersKnown && !f.hasMembers
}

// isShareStalled: stuck while the group has members (or they are unknown):
// consumers are connected and receive records but acknowledge none of them
// (they keep releasing them, or hold them until the acquisition lock times
// out), so the same records go round until share.delivery.count.limit
// archives them, if it ever does.
func isShareStalled(f *shareFacts) bool {
	return isShareStuck(f) && (f.hasMembers || !f.membersKnown)
}

// isShareLagging: the consumer groups' trend rule (isLagging) on the
// share-partition's lag: there is lag and the least-squares line through it
// over the window rose by more than the larger of AllowedLagGrowth and seven
// times the lag's swing around the line; once lagging, it stays lagging
// until the rise falls below half that. A lag that jumps about without a
// trend (members acknowledging in bursts) is not lagging.
func isShareLagging(f *shareFacts) bool {
	if f.lag <= 0 || !f.trendKnown {
		return false
	}
	bar := f.riseBar
	if f.wasLagging {
		bar /= 2
	}
	return f.rise > bar
}

// isShareOK: no lag, or a lag seen before whose history rules lagging out
// (as lagRuledOut does for consumer groups) and that none of the rules
// above objects to.
func isShareOK(f *shareFacts) bool {
	if f.lag == 0 {
		return true
	}
	return f.seenBefore && (f.cannotLag || (f.trendKnown && f.rise <= f.riseBar*f.windowShare))
}

// WorstShareStatus is a share group's status: the most severe of its
// partitions' (see Status.Severity), StatusUnknown for none.
func WorstShareStatus(statuses []Status) Status {
	worst := StatusOK
	if len(statuses) == 0 {
		return StatusUnknown
	}
	for _, s := range statuses {
		worst = worseStatus(worst, s)
	}
	return worst
}
