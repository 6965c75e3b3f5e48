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
// for lagging.

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
}

// ShareTracker remembers, per share-partition, what the status rules need
// of earlier polls: when it last made progress and its lag over the window.
// Time is passed in; it never reads the clock.
type ShareTracker struct {
	settings Settings
	parts    map[SharePartition]*shareHistory
}

// shareHistory is one share-partition's memory.
type shareHistory struct {
	startOffset int64
	lag         int64
	// progressAt is the last poll at which the share-partition made
	// progress or had nothing to do (see shareProgressed), or the first
	// poll it was seen.
	progressAt time.Time
	// lags are the known lags of the polls within the window, oldest first.
	lags []shareLag
}

type shareLag struct {
	at  time.Time
	lag int64
}

// NewShareTracker starts a tracker with no history; zero settings take
// their defaults.
func NewShareTracker(s Settings) *ShareTracker {
	return &ShareTracker{settings: s.withDefaults(), parts: map[SharePartition]*shareHistory{}}
}

// Observe records one poll's samples and returns the status of each
// share-partition in them. Share-partitions missing from samples are
// forgotten: a share-partition seen again starts a new history.
func (t *ShareTracker) Observe(now time.Time, samples []ShareSample) map[SharePartition]Status {
	out := make(map[SharePartition]Status, len(samples))
	next := make(map[SharePartition]*shareHistory, len(samples))
	for _, s := range samples {
		h, seen := t.parts[s.SharePartition]
		if !seen {
			h = &shareHistory{startOffset: s.StartOffset, lag: s.Lag, progressAt: now}
		} else if shareProgressed(h, s) {
			h.progressAt = now
		}
		h.startOffset, h.lag = s.StartOffset, s.Lag
		h.lags = appendLag(h.lags, now, s.Lag, t.settings.Window)
		next[s.SharePartition] = h
		out[s.SharePartition] = shareStatus(shareFactsOf(h, s, seen, now, t.settings))
	}
	t.parts = next
	return out
}

// appendLag adds a known lag and drops those older than the window.
func appendLag(lags []shareLag, now time.Time, lag int64, window time.Duration) []shareLag {
	if lag >= 0 {
		lags = append(lags, shareLag{now, lag})
	}
	drop := 0
	for drop < len(lags) && now.Sub(lags[drop].at) > window {
		drop++
	}
	return append(lags[:0], lags[drop:]...)
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
	// rise is the lag now minus the smallest lag within the window, over a
	// history of span; riseBar and minSpan are what rise and span must
	// exceed and reach for lagging.
	rise    int64
	span    time.Duration
	riseBar int64
	minSpan time.Duration
}

func shareFactsOf(h *shareHistory, s ShareSample, seen bool, now time.Time, settings Settings) *shareFacts {
	f := &shareFacts{
		lagKnown: s.Lag >= 0, lag: s.Lag, seenBefore: seen,
		membersKnown: s.MembersKnown, hasMembers: s.HasMembers,
		stuckFor: now.Sub(h.progressAt), stallAfter: settings.StallAfter,
		riseBar: settings.AllowedLagGrowth, minSpan: settings.minTrendSpan(),
	}
	if len(h.lags) > 0 && f.lagKnown {
		least := h.lags[0].lag
		for _, l := range h.lags {
			least = min(least, l.lag)
		}
		f.rise, f.span = s.Lag-least, now.Sub(h.lags[0].at)
	}
	return f
}

// shareStatus applies the rules in precedence order; the first that holds
// decides:
//
//	unknown (no lag) > stopped = stalled > lagging > ok > unknown
//
// Stopped and stalled exclude each other (membership decides). ok needs a
// second poll unless the lag is 0, as for consumer groups: one poll with
// lag tells nothing of progress.
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

// isShareLagging: the lag rose within the window by more than
// AllowedLagGrowth above its smallest value there, over at least the
// minimum trend span: records arrive faster than the members acknowledge
// them. It holds until the lag is back within AllowedLagGrowth of the
// window's low, so a backlog being worked off stays lagging until it is
// nearly gone or the window forgets its start.
func isShareLagging(f *shareFacts) bool {
	return f.lag > 0 && f.span >= f.minSpan && f.rise > f.riseBar
}

// isShareOK: no lag, or a lag seen before that none of the rules above
// objects to.
func isShareOK(f *shareFacts) bool {
	return f.lag == 0 || f.seenBefore
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
