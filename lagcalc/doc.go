// Package lagcalc turns what the collector sees in each poll of Kafka into
// per group-partition lag numbers and a status. It is pure mathematics over a
// bounded history: no I/O, no clock reads (every time is passed in), so every
// rule is table-tested and fuzzed.
//
// Data flows Kafka → collector (poll) → lagcalc → exporter. Each poll the
// collector calls, in turn:
//
//	tracker := lagcalc.NewTracker(lagcalc.Settings{Window: …, StallAfter: …}) // once
//	tracker.Observe(poll)                      // record offsets, forget what vanished
//	offsets := tracker.UnresolvedOffsets()     // positions older than the history
//	times := /* Fetch those records' timestamps (cached until the offset moves) */
//	verify := tracker.VerifyCandidates()       // consumers at rest with lag on idle partitions
//	/* read the records there; pass what is not data as the next polls' Commit.Position */
//	result := tracker.Evaluate(now, times)     // numbers and statuses
//
// # Numbers
//
//   - Lag = max(LSO − position, 0) messages, where the LSO is the last stable
//     offset (ListOffsets read_committed; the high watermark when none is
//     given) and the position is the committed offset, or past it the
//     verified Commit.Position: transaction markers and aborted records take
//     offsets no consumer receives, and nothing past an open transaction can
//     be read yet. It is what a read_committed consumer can actually reach;
//     0 for a committed offset past the log end (out_of_range).
//   - Lag in seconds = the age of the oldest unconsumed message: now − the
//     moment the log end passed the position, interpolated linearly
//     over the partition's (time, log end) points. Flat runs keep their last
//     point, so a message written after an idle spell is dated after it (an
//     idle topic never shows huge lag). Offsets older than the history are
//     dated by the record's timestamp from Kafka, else reported as the lower
//     bound now − oldest point. Never extrapolated, never negative.
//   - Rates (produce, consume, log-start) = the average advance per second over
//     the window, restarted after a backward step, never negative; they need
//     two samples spanning more than zero seconds.
//   - Time to drain = lag ÷ (consume − produce) while consume > produce.
//   - Retention headroom = time until retention may delete an unconsumed
//     message, only for a backlog at risk on a topic with a retention limit
//     (see retentionHeadroom); expired messages = max(log start − committed,
//     0), the log start read before the committed offset.
//
// # Statuses
//
// Each group-partition gets exactly one Status; each rule is one function
// named is<Status> whose comment states it, applied in the precedence
// no_commit > out_of_range > inactive > stalled = stopped > unknown
// (warm-up) > rewound > lagging > ok > unknown (see partitionStatus). A
// group's status is its worst partition's by Status.Severity: out_of_range
// > stalled > stopped > lagging > rewound > no_commit > unknown > inactive >
// ok.
//
//   - stalled/stopped: the committed offset has not moved, with lag at
//     every poll since, for the stall threshold: 1.5 × the partition's
//     learned commit cadence plus a poll, and at least Settings.StallAfter
//     (--lag.stall-after, 60 s) or the group's GroupStallAfter override
//     (see stallThreshold, learnCadence); members (or unknown membership)
//     make it stalled, none stopped. Before the cadence is learned (two
//     moves), a partition still past StallAfter is unknown, and stuck once
//     still for 15 minutes (1.5 × min(10 min, 10 × StallAfter) plus a poll).
//   - inactive: a memberless group never seen to move whose oldest
//     unconsumed message is older than InactiveAfter (--group.inactive-after,
//     a day), or a topic no member subscribes to (see isInactive).
//   - lagging: the least-squares line through the lag over the window
//     (--lag.window) rises by more than max(AllowedLagGrowth, 7 swings of
//     the lag around it, 1.5 teeth of a slow committer's sawtooth), with
//     hysteresis (it leaves at half that).
//   - out_of_range: the same committed offset past the log end at two polls
//     that read both.
//   - ok needs the history to rule lagging out (see lagRuledOut); unknown
//     is what remains: a first poll with lag, a history too short to judge,
//     a poll without the log end, or reused answers older than StaleAfter.
//
// Answers the collector reuses for a failing broker (Commit.ReadAt,
// PartitionOffsets.ReadAt, ShareSample.ReadAt earlier than the poll) make
// no status and no lag: the group-partition keeps those of the last poll
// that read both together (see heldResult).
package lagcalc
