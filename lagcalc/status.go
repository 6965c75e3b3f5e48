package lagcalc

// Status is the verdict on one group-partition (and, as the worst of its
// partitions, on a group). The zero value is StatusUnknown, so a status that
// was never evaluated claims nothing.
type Status uint8

// The statuses, in the fixed order of a Prometheus StateSet (see Statuses).
// New statuses are appended, so the numeric values never change.
const (
	StatusUnknown    Status = iota // too little data to decide: a first poll with lag, or no log end
	StatusOK                       // caught up, keeping up, or catching up
	StatusLagging                  // offset moves but the lag trends clearly upward over the window
	StatusStalled                  // offset still for StallAfter with lag all along; members present (or unknown)
	StatusStopped                  // offset still for StallAfter with lag all along; no members
	StatusRewound                  // committed offset went backwards within the window
	StatusNoCommit                 // assigned but never committed
	StatusOutOfRange               // committed offset past the log end: the consumer will reset

	// NumStatuses is the number of statuses; Status values are 0..NumStatuses-1.
	NumStatuses = iota
)

// Statuses returns every status in the fixed StateSet order (their numeric
// order: unknown, ok, lagging, stalled, stopped, rewound, no_commit,
// out_of_range), so an exporter emits one series per status with the current
// one at 1.
func Statuses() []Status {
	s := make([]Status, NumStatuses)
	for i := range s {
		s[i] = Status(i)
	}
	return s
}

// String returns the label value of the status.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusLagging:
		return "lagging"
	case StatusStalled:
		return "stalled"
	case StatusStopped:
		return "stopped"
	case StatusRewound:
		return "rewound"
	case StatusNoCommit:
		return "no_commit"
	case StatusOutOfRange:
		return "out_of_range"
	default:
		return "unknown"
	}
}

// Severity orders statuses for a group's verdict, worst highest:
//
//	out_of_range > stalled > stopped > lagging > rewound > no_commit > unknown > ok
//
// out_of_range is worst because the harm is certain and only a human can
// choose it: the committed offset no longer exists (topic re-created or
// truncated), so the consumer's next start resets by auto.offset.reset,
// skipping or replaying data, and someone must decide which before it does.
// Stalled is next because it is silent: members are connected and look
// healthy while one partition makes no progress (a poison message, a stuck
// thread). Stopped is as harmful but visible (no members) and often intended
// (a batch job between runs). Lagging loses ground but still works. Rewound
// is usually an operator's deliberate reset or replay: worth seeing, rarely
// an emergency. no_commit is a misconfiguration or a consumer that has not
// committed yet. Unknown only says the data is short. Ok is best.
func (s Status) Severity() int {
	switch s {
	case StatusOutOfRange:
		return 7
	case StatusStalled:
		return 6
	case StatusStopped:
		return 5
	case StatusLagging:
		return 4
	case StatusRewound:
		return 3
	case StatusNoCommit:
		return 2
	case StatusOK:
		return 0
	default:
		return 1
	}
}

// worseStatus returns the more severe of a and b.
func worseStatus(a, b Status) Status {
	if b.Severity() > a.Severity() {
		return b
	}
	return a
}

// partitionFacts is what the status rules look at for one group-partition,
// computed once per evaluation. "The window" is the lag window ending at the
// last poll. Lag is always the effective lag (GroupPartitionResult.Lag).
type partitionFacts struct {
	committed int64 // < 0: never committed
	// seenBefore: the group-partition was in an earlier poll too, so there is
	// more than one sample.
	seenBefore bool
	// pastEndPolls: consecutive polls at which the same committed offset was
	// past the log end (0: not past it now).
	pastEndPolls uint8
	// rewoundWithinWindow: the committed offset stepped back at a poll
	// inside the window.
	rewoundWithinWindow bool
	membersKnown        bool // the group was described in the last poll
	hasMembers          bool
	lagKnown            bool // the partition's log end was in the last poll
	lag                 int64
	// stuckFor is how long (ns) the partition has been stuck: since the
	// last poll at which the committed offset was another value or the lag
	// was 0, whichever is later (see isStuck).
	stuckFor   int64
	stallAfter int64
	// trendKnown: the lag's trend was fitted over at least the minimum span
	// (Settings.minTrendSpan); rise is the fitted line's rise over that span
	// in messages and riseBar what rise must exceed to enter lagging (see
	// lagTrend).
	trendKnown bool
	rise       float64
	riseBar    float64
	// wasLagging: the status at the previously evaluated poll was lagging.
	wasLagging bool
}

// partitionStatus applies the rules in precedence order; the first that
// holds decides:
//
//	no_commit > out_of_range > stalled = stopped > rewound > lagging > ok > unknown
//
// no_commit comes first because without a committed offset nothing else is
// defined; out_of_range next because its lag is meaningless (0) and a reset
// is coming whatever else holds. Stalled and stopped exclude each other
// (membership decides) and beat rewound: a reset is a move, so the stall
// clock restarts at it, and a partition still stuck StallAfter after a reset
// is stuck, whatever the reset explained. rewound beats lagging because a
// reset makes the lag jump for a while. ok is the default once there is a
// lag and more than one sample; unknown is what remains: a first poll with
// lag (or with a committed offset past the log end, which one poll cannot
// tell from a race between the two reads), or no log end in the poll.
func partitionStatus(f *partitionFacts) Status {
	switch {
	case isNoCommit(f):
		return StatusNoCommit
	case isOutOfRange(f):
		return StatusOutOfRange
	case isStalled(f):
		return StatusStalled
	case isStopped(f):
		return StatusStopped
	case isRewound(f):
		return StatusRewound
	case isLagging(f):
		return StatusLagging
	case isOK(f):
		return StatusOK
	default:
		return StatusUnknown
	}
}

// isNoCommit: a member is assigned the partition but the group never
// committed an offset for it (OffsetFetch answered -1). There is no position,
// so no lag can be computed.
func isNoCommit(f *partitionFacts) bool {
	return f.committed < 0
}

// isOutOfRange: the same committed offset was past the log end (the high
// watermark) at this poll and the one before: the topic was deleted and
// re-created, or its log was truncated below the offset (an unclean leader
// election). A live consumer fetching there gets OFFSET_OUT_OF_RANGE and
// resets at once by auto.offset.reset (skipping or replaying data); a
// consumer not running resets at its next start. One poll is not enough: the collector reads log ends and committed
// offsets concurrently, so a consumer at the head of a busy topic can commit
// past the log end read a moment earlier; the next poll's log end is then
// past that offset, which a consumer can only have reached by reading it.
func isOutOfRange(f *partitionFacts) bool {
	return f.committed >= 0 && f.pastEndPolls >= 2
}

// isStuck: there is lag now, there was lag at every poll since the committed
// offset last moved, and it has not moved for at least StallAfter: the
// consumer had work all along and did none of it. The lag requirement keeps a
// healthy consumer of a quiet topic, whose offset sat still because there
// was nothing to read, from turning stuck the moment the next message
// arrives: the clock starts at the last poll without lag.
func isStuck(f *partitionFacts) bool {
	return f.committed >= 0 && f.lagKnown && f.lag > 0 && f.stuckFor >= f.stallAfter
}

// isStalled: the partition is stuck (isStuck) and the group has members, or
// its membership is unknown (not described in the poll): a poison message or
// a stuck consumer thread while the group looks alive. Unknown membership
// reads stalled, not stopped or unknown, so that a stuck partition never
// hides behind a failed DescribeGroups; stalled is the status that pages.
func isStalled(f *partitionFacts) bool {
	return isStuck(f) && (f.hasMembers || !f.membersKnown)
}

// isStopped: the partition is stuck (isStuck) and the group is known to have
// no members. Membership only names the case: a memberless consumer (Flink,
// Spark, any assign() consumer: they commit without joining) whose commits
// move is ok or lagging like any other.
func isStopped(f *partitionFacts) bool {
	return isStuck(f) && f.membersKnown && !f.hasMembers
}

// isRewound: the committed offset went backwards at some poll within the
// window: an offset reset (kafka-consumer-groups --reset-offsets), a replay,
// or a consumer that seeks back. The status holds for one window after the
// step; every step also counts once in Rewinds.
func isRewound(f *partitionFacts) bool {
	return f.committed >= 0 && f.rewoundWithinWindow
}

// isLagging: there is lag and its trend over the window is clearly upward:
// the least-squares line through the lag rose by more than riseBar, which is
// the larger of AllowedLagGrowth and seven times the lag's swing around the
// line (the swing of a periodic committer's sawtooth, whose fitted rise over
// a window that cuts its teeth unevenly stays below about three swings).
// Hysteresis: a partition that was lagging stays lagging until the rise
// falls below half the bar, so a consumer near the bar does not flap. A lag
// that is large but flat is not lagging (lag in seconds tells how large);
// being caught up at an earlier poll changes nothing.
func isLagging(f *partitionFacts) bool {
	if !f.lagKnown || f.lag == 0 || !f.trendKnown {
		return false
	}
	bar := f.riseBar
	if f.wasLagging {
		bar /= 2
	}
	return f.rise > bar
}

// isOK: the lag is known and either 0 (caught up, even at the first poll:
// no history is needed for that) or there is more than one sample and no
// other rule holds (keeping up, catching up, or not stuck for StallAfter
// yet). A committed offset past the log end at a single poll is not ok yet
// (see isOutOfRange).
func isOK(f *partitionFacts) bool {
	if !f.lagKnown || f.pastEndPolls > 0 {
		return false
	}
	return f.lag == 0 || f.seenBefore
}
