package lagcalc

// Status is the verdict on one group-partition (and, as the worst of its
// partitions, on a group). The zero value is StatusUnknown, so a status that
// was never evaluated claims nothing.
type Status uint8

// The statuses, in the fixed order of a Prometheus StateSet (see Statuses).
const (
	StatusUnknown  Status = iota // too little history to decide
	StatusOK                     // caught up, or catching up
	StatusLagging                // offset moves but lag is not shrinking
	StatusStalled                // members present, offset stuck, lag waiting the whole window
	StatusStopped                // lag and no members to consume it
	StatusRewound                // committed offset went backwards within the window
	StatusNoCommit               // assigned but never committed

	// NumStatuses is the number of statuses; Status values are 0..NumStatuses-1.
	NumStatuses = iota
)

// Statuses returns every status in the fixed StateSet order (their numeric
// order), so an exporter emits one series per status with the current one at 1.
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
	default:
		return "unknown"
	}
}

// Severity orders statuses for a group's verdict, worst highest:
//
//	stalled > stopped > lagging > rewound > no_commit > unknown > ok
//
// Stalled is worst because it is silent: members are connected and look
// healthy while one partition makes no progress (a poison message, a stuck
// thread). Stopped is as harmful but visible (no members) and often intended
// (a batch job between runs). Lagging loses ground but still works. Rewound
// is usually an operator's deliberate reset or replay: worth seeing, rarely
// an emergency. no_commit is a misconfiguration or a consumer that has not
// committed yet. Unknown only says the history is short. Ok is best.
func (s Status) Severity() int {
	switch s {
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
// last poll.
type partitionFacts struct {
	committed int64 // < 0: never committed
	// rewoundWithinWindow: the committed offset stepped back at a poll
	// inside the window.
	rewoundWithinWindow bool
	membersKnown        bool // the group was described in the last poll
	hasMembers          bool
	lagKnown            bool // the partition's log end was in the last poll
	lag                 int64
	// caughtUpWithinWindow: some poll inside the window saw the committed
	// offset at or past the log end (lag 0).
	caughtUpWithinWindow bool
	// unchangedOverWindow: the committed history reaches back to the window
	// start and the offset held one value all along.
	unchangedOverWindow bool
	// trendKnown: committed and log-end histories overlap for more than zero
	// seconds inside the window, so lag can be compared with its value at
	// the oldest sample (trendStart).
	trendKnown bool
	// movedSinceTrendStart: the committed offset changed since trendStart.
	movedSinceTrendStart bool
	lagAtTrendStart      float64
}

// partitionStatus applies the rules in precedence order; the first that
// holds decides:
//
//	no_commit > rewound > stopped > stalled > lagging > ok > unknown
//
// no_commit comes first because without a committed offset nothing else is
// defined. rewound beats the rest because a reset explains whatever else the
// numbers show for a while (a reset needs an empty group, so it would
// otherwise read as stopped). stopped needs no history, stalled needs the
// whole window. The rules for stalled, lagging and ok are written to be
// mutually exclusive.
//
// unknown is what remains when no rule can decide: a single sample with lag
// (no trend yet), lag with an offset that has not moved but a history
// shorter than the window (maybe stalled, maybe not yet), a group whose
// membership was not described in the poll (stopped or stalled cannot be
// told apart), or a partition whose log end was missing from the poll (no
// lag at all).
func partitionStatus(f *partitionFacts) Status {
	switch {
	case isNoCommit(f):
		return StatusNoCommit
	case isRewound(f):
		return StatusRewound
	case isStopped(f):
		return StatusStopped
	case isStalled(f):
		return StatusStalled
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

// isRewound: the committed offset went backwards at some poll within the
// window: an offset reset (kafka-consumer-groups --reset-offsets), a replay,
// or a consumer that seeks back. The status holds for one window after the
// step; every step also counts once in Rewinds.
func isRewound(f *partitionFacts) bool {
	return f.committed >= 0 && f.rewoundWithinWindow
}

// isStopped: there is lag and the group has no members, so nobody can move
// the offset. No window is needed: the lag cannot shrink until a consumer
// joins.
func isStopped(f *partitionFacts) bool {
	return f.lagKnown && f.lag > 0 && f.membersKnown && !f.hasMembers
}

// isStalled: the group has members, there is lag, and the committed offset
// has not changed over the whole window (the history covers it) while the
// lag never dropped to zero in it — the consumer had work the whole time and
// did none of it: a poison message or a stuck consumer. Requiring lag all
// along keeps a healthy consumer of a quiet topic, whose offset sat still
// because there was nothing to read, from turning stalled the moment the
// next message arrives.
func isStalled(f *partitionFacts) bool {
	return f.lagKnown && f.lag > 0 && f.membersKnown && f.hasMembers &&
		f.unchangedOverWindow && !f.caughtUpWithinWindow
}

// isLagging: there is lag, the committed offset moves, and the lag is not
// shrinking: lag now ≥ lag at the oldest sample in the window. A consumer
// that had no lag at some poll in the window is keeping up (Burrow's rule
// "lag zero in the window means ok") and is not lagging: otherwise a healthy
// consumer that commits every few seconds would flap between ok and lagging
// as the poll lands before or after its commit.
func isLagging(f *partitionFacts) bool {
	return f.lagKnown && f.lag > 0 && !f.caughtUpWithinWindow &&
		f.trendKnown && f.movedSinceTrendStart && float64(f.lag) >= f.lagAtTrendStart
}

// isOK: the group is caught up (lag 0), was caught up at a poll within the
// window (keeping up; a message that arrived since is not a problem yet), or
// the lag is shrinking while the offset moves (catching up).
func isOK(f *partitionFacts) bool {
	if !f.lagKnown {
		return false
	}
	return f.lag == 0 || f.caughtUpWithinWindow ||
		(f.trendKnown && f.movedSinceTrendStart && float64(f.lag) < f.lagAtTrendStart)
}
