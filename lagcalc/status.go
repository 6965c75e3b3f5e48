package lagcalc

// Status is the verdict on one group-partition (and, as the worst of its
// partitions, on a group). The zero value is StatusUnknown, so a status that
// was never evaluated claims nothing.
type Status uint8

// The statuses. New statuses are appended, so the numeric values never
// change. The exporter writes one series per group-partition whose status
// label is the current status (String), never these numbers.
const (
	StatusUnknown    Status = iota // too little data to decide: a first poll with lag, or no log end
	StatusOK                       // caught up, keeping up, or catching up
	StatusLagging                  // offset moves but the lag trends clearly upward over the window
	StatusStalled                  // offset still for StallAfter with lag all along; members present (or unknown)
	StatusStopped                  // offset still for StallAfter with lag all along; no members
	StatusRewound                  // committed offset went backwards within the window
	StatusNoCommit                 // assigned but never committed
	StatusOutOfRange               // committed offset past the log end: the consumer will reset
	StatusInactive                 // offsets nobody consumes: a group abandoned long ago, or a topic its members left

	// NumStatuses is the number of statuses; Status values are 0..NumStatuses-1.
	NumStatuses = iota
)

// Statuses returns every status in their numeric order: unknown, ok,
// lagging, stalled, stopped, rewound, no_commit, out_of_range, inactive.
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
	case StatusInactive:
		return "inactive"
	default:
		return "unknown"
	}
}

// Severity orders statuses for a group's verdict, worst highest:
//
//	out_of_range > stalled > stopped > lagging > rewound > no_commit > unknown > inactive > ok
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
// committed yet. Unknown only says the data is short. Inactive is offsets
// nobody means to consume (see isInactive): worth listing, never a fault of
// a running consumer, so it only beats ok: a group whose every partition is
// inactive reads inactive, one with an abandoned topic beside healthy ones
// reads inactive too, and any other verdict wins. Ok is best.
func (s Status) Severity() int {
	switch s {
	case StatusOutOfRange:
		return 8
	case StatusStalled:
		return 7
	case StatusStopped:
		return 6
	case StatusLagging:
		return 5
	case StatusRewound:
		return 4
	case StatusNoCommit:
		return 3
	case StatusInactive:
		return 1
	case StatusOK:
		return 0
	default:
		return 2
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
	// past the log end, both read in that poll (0: not past it now).
	pastEndPolls uint8
	// rewoundWithinWindow: the committed offset stepped back at a poll
	// inside the window.
	rewoundWithinWindow bool
	membersKnown        bool // the group was described in the last poll
	hasMembers          bool
	lagKnown            bool // the partition's log end was in the last poll
	lag                 int64
	// lagSeconds is the age of the oldest unconsumed message.
	lagSeconds float64
	// stuckFor is how long (ns) the partition has been stuck: since the
	// last poll at which the committed offset was another value or the lag
	// was 0, whichever is later (see isStuck).
	stuckFor int64
	// stillFor is how long (ns) the committed offset has not moved, lag or
	// not (see isLeftBehind).
	stillFor int64
	// stallAfter is the stall threshold (see stallThreshold); settled is
	// false while it still waits for the partition's cadence (warm-up), and
	// warmUpLimit is how long a partition may sit still unjudged then.
	stallAfter  int64
	settled     bool
	warmUpLimit int64
	// neverMoved: no partition of the group moved while lagwatch watched;
	// inactiveAfter is Settings.InactiveAfter in seconds.
	neverMoved    bool
	inactiveAfter float64
	// leftBehind: the group has members, their subscriptions are known, and
	// none of them subscribes to this partition's topic.
	leftBehind bool
	// trendKnown: the lag's trend was fitted over at least the minimum span
	// (Settings.minTrendSpan); rise is the fitted line's rise over that span
	// in messages and riseBar what rise must exceed to enter lagging (see
	// lagTrend). cannotLag: the lag over the whole history is too small for
	// any trend to pass AllowedLagGrowth, so no fit is needed to say the
	// partition is not lagging.
	trendKnown bool
	cannotLag  bool
	rise       float64
	riseBar    float64
	// windowShare is the share of the window the trend was fitted over (1
	// once the history spans the window).
	windowShare float64
	// wasLagging: the status at the previously evaluated poll was lagging.
	wasLagging bool
}

// partitionStatus applies the rules in precedence order; the first that
// holds decides:
//
//	no_commit > out_of_range > inactive > stalled = stopped > unknown (warm-up)
//	  > rewound > lagging > ok > unknown
//
// no_commit comes first because without a committed offset nothing else is
// defined; out_of_range next because its lag is meaningless (0) and a reset
// is coming whatever else holds. inactive beats stalled and stopped: offsets
// nobody consumes sit still by definition, and that is no fault of a
// running consumer. Stalled and stopped exclude each other (membership
// decides) and beat rewound: a reset is a move, so the stall clock restarts
// at it, and a partition still stuck after a reset is stuck, whatever the
// reset explained. A partition that sat still past StallAfter before its
// cadence is learned is unknown (isStillDuringWarmUp), not ok. rewound
// beats lagging because a reset makes the lag jump for a while. ok is the
// default once there is a lag, more than one sample and enough history to
// rule out lagging; unknown is what remains: a first poll with lag (or with
// a committed offset past the log end, which one poll cannot tell from a
// race between the two reads), a trend not yet measurable, or no log end
// in the poll.
func partitionStatus(f *partitionFacts) Status {
	switch {
	case isNoCommit(f):
		return StatusNoCommit
	case isOutOfRange(f):
		return StatusOutOfRange
	case isInactive(f):
		return StatusInactive
	case isStalled(f):
		return StatusStalled
	case isStopped(f):
		return StatusStopped
	case isStillDuringWarmUp(f):
		return StatusUnknown
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
// watermark) at this poll and the one before, each time both read in the
// same poll (an answer reused for a failing broker never counts): the topic
// was deleted and re-created, or its log was truncated below the offset (an
// unclean leader election). A live consumer fetching there gets
// OFFSET_OUT_OF_RANGE and resets at once by auto.offset.reset (skipping or
// replaying data); a consumer not running resets at its next start. One poll
// is not enough: should a committed offset be read after the log end, a
// consumer at the head of a busy topic can commit past the log end read a
// moment earlier; the next poll's log end is then past that offset, which a
// consumer can only have reached by reading it.
func isOutOfRange(f *partitionFacts) bool {
	return f.committed >= 0 && f.pastEndPolls >= 2
}

// isInactive: offsets nobody means to consume. Either the group was
// abandoned long ago (isAbandoned) or its members no longer subscribe to
// the topic (isLeftBehind). Kafka keeps such offsets for
// offsets.retention.minutes (7 days by default) after the group empties,
// and a topic's offsets as long as the group lives: their lag grows forever
// and is nobody's fault today. Inactive never pages.
func isInactive(f *partitionFacts) bool {
	return f.committed >= 0 && (isAbandoned(f) || isLeftBehind(f))
}

// isAbandoned: the group has no members, lagwatch never saw any of its
// partitions move, there is lag, and the oldest unconsumed message is at
// least InactiveAfter old (--group.inactive-after, a day by default). A
// group seen consuming and then gone is not abandoned: it is stopped, and
// pages. The blind spot: a group whose consumers die just as lagwatch
// restarts, with a backlog already older than InactiveAfter, reads
// inactive, because lagwatch never saw it move.
func isAbandoned(f *partitionFacts) bool {
	return f.membersKnown && !f.hasMembers && f.neverMoved && f.lagKnown && f.lag > 0 &&
		f.lagSeconds >= f.inactiveAfter
}

// isLeftBehind: the group has members and none of them subscribes to the
// topic, and the committed offset has not moved for StallAfter: the group
// stopped reading the topic and its old offsets stay behind. An offset that
// moves is being consumed, whatever the subscriptions say.
func isLeftBehind(f *partitionFacts) bool {
	return f.leftBehind && f.stillFor >= f.stallAfter
}

// stallThreshold is how long a partition must sit still with lag to be
// stuck: the group's StallAfter (--lag.stall-after, or the group's
// --group.stall-after override), raised to clearly more than the
// partition's own usual time between moves: one and a half times its
// learned cadence plus one poll interval (the cadence is measured at poll
// resolution). A consumer that commits every 4 minutes is stuck after about
// 6.5 minutes; one that commits every 5 s after StallAfter.
func stallThreshold(floor, cadence, pollInterval int64) int64 {
	learned := cadence + cadence/2 + pollInterval
	return max(floor, learned)
}

// isStuck: there is lag now, there was lag at every poll since the committed
// offset last moved, and it has not moved for the stall threshold (see
// stallThreshold): the consumer had work all along and did none of it. The
// lag requirement keeps a healthy consumer of a quiet topic, whose offset sat
// still because there was nothing to read, from turning stuck the moment the
// next message arrives: the clock starts at the last poll without lag.
// Before the partition's cadence is learned (warm-up, see
// isStillDuringWarmUp), stuck also needs the partition to have sat still for
// the warm-up limit, so that a partition already stuck when lagwatch starts
// is still reported, a quarter of an hour later.
func isStuck(f *partitionFacts) bool {
	if f.committed < 0 || !f.lagKnown || f.lag == 0 || f.stuckFor < f.stallAfter {
		return false
	}
	return f.settled || f.stuckFor >= f.warmUpLimit
}

// isStillDuringWarmUp: the partition sat still with lag past StallAfter,
// but its commit cadence is not learned yet (fewer than two moves seen
// since lagwatch started, and no --group.stall-after override): a consumer
// that commits every few minutes cannot be told from a stuck one, so the
// status is unknown, not ok and not stalled.
func isStillDuringWarmUp(f *partitionFacts) bool {
	return f.committed >= 0 && f.lagKnown && f.lag > 0 && f.stuckFor >= f.stallAfter && !f.settled
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
// no history is needed for that), or there is more than one sample, no
// other rule holds (keeping up, catching up, or not stuck yet) and the
// history rules lagging out (lagRuledOut). A partition whose history is too
// short to tell (after a restart of lagwatch, or of its history) is
// unknown, not ok, so a held alert keeps its page. A committed offset past
// the log end at a single poll is not ok yet (see isOutOfRange).
func isOK(f *partitionFacts) bool {
	if !f.lagKnown || f.pastEndPolls > 0 {
		return false
	}
	return f.lag == 0 || (f.seenBefore && lagRuledOut(f))
}

// lagRuledOut: the history shows the partition is not lagging. Either the
// lag was too small all along to pass AllowedLagGrowth, or the trend was
// fitted over the whole window and stayed below the bar (isLagging), or,
// over a shorter history, its rise stayed below the bar's share for that
// history: a lag rising at a steady pace reaches the bar within the window
// only if it passes that share on the way, so a rise above it could still
// be lagging, and is unknown until the window says.
func lagRuledOut(f *partitionFacts) bool {
	if f.cannotLag {
		return true
	}
	return f.trendKnown && f.rise <= f.riseBar*f.windowShare
}
