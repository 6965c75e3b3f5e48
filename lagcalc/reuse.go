package lagcalc

import (
	"math"
	"time"
)

// heldResult fills r for a group-partition whose committed offset or
// partition offsets this poll were answers reused for a failing broker
// (see Poll). No status is derived from a reused value: the status given at
// the last poll that read both fresh stands, and turns unknown once that
// poll is older than StaleAfter. The lag numbers are those of that poll too
// (lag only from values read together): the committed offset the tracker
// holds is that poll's, and the partition's offsets are taken from its
// history at that moment, so a fresh log end is never set against an old
// committed offset (the lag would drift up while the consumer works), nor
// a fresh committed offset against an old log end (it would read past the
// end, out_of_range).
func (t *Tracker) heldResult(r *GroupPartitionResult, gps *groupPartitionState, pr *PartitionResult,
	policy policyOf, recordTimes map[TopicPartitionOffset]time.Time) {
	r.Status = StatusUnknown
	if gps.readAt != noTime && (t.staleAfter == 0 || t.last-gps.readAt <= t.staleAfter) {
		r.Status = gps.status
	}
	r.ConsumeRate, r.HasConsumeRate = gps.history.rate(t.last - t.window)
	ps := gps.partition()
	if ps == nil || gps.readAt == noTime {
		return
	}
	at := gps.readAt
	pos := effectivePosition(gps)
	end := int64(math.Round(ps.end.valueAt(at)))
	start := min(int64(math.Round(ps.start.valueAt(at))), end)
	lso := min(max(end-int64(math.Round(ps.gap.valueAt(at))), start), end)
	lag := int64(0)
	if gps.committed <= end {
		lag = max(lso-pos, 0)
	}
	r.HasLag, r.Lag = true, lag
	r.LagSeconds, r.LagSecondsLowerBound = lagSeconds(pos, lag, ps, at, recordLookup{t, recordTimes})
	r.ExpiredMessages, r.HasExpiredMessages = max(start-gps.committed, 0), true
	r.TimeToDrainSeconds, r.HasTimeToDrain = timeToDrain(lag, r.ConsumeRate, r.HasConsumeRate, pr.ProduceRate, pr.HasProduceRate)
	r.RetentionHeadroomSeconds, r.HasRetentionHeadroom = retentionHeadroom(policy, backlog{
		position: pos, lag: lag, lagSeconds: r.LagSeconds,
		logStart: start, logEnd: end,
		consumeRate: r.ConsumeRate, hasConsumeRate: r.HasConsumeRate,
		logStartRate: pr.LogStartRate, hasLogStartRate: pr.HasLogStartRate,
	})
}
