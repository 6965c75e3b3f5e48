// Package lagcalc turns what the collector sees in each poll of Kafka into
// per group-partition lag numbers and a status. It is pure mathematics over a
// bounded history: no I/O, no clock reads (every time is passed in), so every
// rule is table-tested and fuzzed.
//
// Data flows Kafka → collector (poll) → lagcalc → exporter. Each poll the
// collector calls, in turn:
//
//	tracker.Observe(poll)                      // record offsets, forget what vanished
//	offsets := tracker.UnresolvedOffsets()     // committed offsets older than the history
//	times := /* Fetch those records' timestamps (cached until the offset moves) */
//	result := tracker.Evaluate(now, times)     // numbers and statuses
//
// # Numbers
//
//   - Lag = max(log end − committed, 0) messages.
//   - Lag in seconds = the age of the oldest unconsumed message: now − the
//     moment the log end passed the committed offset, interpolated linearly
//     over the partition's (time, log end) points. Flat runs keep their last
//     point, so a message written after an idle spell is dated after it (an
//     idle topic never shows huge lag). Offsets older than the history are
//     dated by the record's timestamp from Kafka, else reported as the lower
//     bound now − oldest point. Never extrapolated, never negative.
//   - Rates (produce, consume, log-start) = the average advance per second over
//     the window, restarted after a backward step, never negative; they need
//     two samples spanning more than zero seconds.
//   - Time to drain = lag ÷ (consume − produce) while consume > produce.
//   - Retention headroom = time until the oldest unconsumed message may be
//     deleted; expired messages = max(log start − committed, 0).
//
// # Statuses
//
// Each group-partition gets exactly one Status; each rule is one function
// named is<Status> whose comment states it, applied in the precedence
// no_commit > rewound > stopped > stalled > lagging > ok > unknown (see
// partitionStatus). A group's status is its worst partition's by
// Status.Severity.
package lagcalc
