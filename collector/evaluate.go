package collector

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// recordCache is what reading the records at an offset taught: what a
// consumer there receives first, and when it was written. Records below
// the log end never change, so an answer holds for as long as some group
// still sits at that offset.
type recordCache map[kafka.TopicPartitionOffset]kafka.RecordRead

// evaluate hands the poll to lagcalc and copies lagcalc's results into the
// snapshot. Around it, it reads from Kafka the records lagcalc needs and
// the offsets alone cannot tell: what lies between a resting consumer and
// the end of an idle partition (transaction markers and aborted records
// are not lag), and when the oldest unconsumed record of a backlog older
// than the history was written.
func (p *Poller) evaluate(ctx context.Context, snap *Snapshot, last *lastKnown) error {
	leaders := leadersOf(snap.Topics)
	used := recordCache{}
	verifyErr := p.readRecords(ctx, leaders, restingBelowStable(snap, last), used)

	p.tracker.Observe(lagcalcPoll(snap, used))

	var dateErr error
	times := map[lagcalc.TopicPartitionOffset]time.Time{}
	if !p.cfg.SkipRecordDating {
		unresolved := p.tracker.UnresolvedOffsets()
		wanted := make([]kafka.TopicPartitionOffset, len(unresolved))
		for i, o := range unresolved {
			wanted[i] = kafka.TopicPartitionOffset{TopicPartition: kafka.TopicPartition(o.TopicPartition), Offset: o.Offset}
		}
		dateErr = p.readRecords(ctx, leaders, wanted, used)
		for _, o := range unresolved {
			key := kafka.TopicPartitionOffset{TopicPartition: kafka.TopicPartition(o.TopicPartition), Offset: o.Offset}
			if r, ok := used[key]; ok && !r.Timestamp.IsZero() {
				times[o] = r.Timestamp
			}
		}
	}
	// Only the offsets asked for this poll stay cached: once every group
	// has moved past an offset, its records are never asked for again.
	p.records = used
	applyResult(snap, p.tracker.Evaluate(snap.PolledAt, times))
	return errors.Join(verifyErr, dateErr)
}

// readRecords fills used with the reads of wanted, from the cache where it
// has them and from Kafka otherwise.
func (p *Poller) readRecords(ctx context.Context, leaders map[kafka.TopicPartition]int32, wanted []kafka.TopicPartitionOffset, used recordCache) error {
	var missing []kafka.TopicPartitionOffset
	for _, o := range wanted {
		if r, ok := p.records[o]; ok {
			used[o] = r
		} else if _, ok := used[o]; !ok {
			missing = append(missing, o)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	read, err := p.kafka.ReadRecords(ctx, leaders, missing)
	for o, r := range read {
		used[o] = r
	}
	return err
}

// restingBelowStable lists the committed offsets worth reading to tell
// real lag from transaction markers and aborted records: those of
// consumers at rest (the same committed offset as in the last snapshot)
// below the last stable offset of a partition that did not move either.
// A busy partition's lag is real whatever a marker adds to it; an idle
// one's lag of a marker or two would otherwise read as a stuck consumer
// forever. Each offset is read once and cached while a group sits there.
func restingBelowStable(snap *Snapshot, last *lastKnown) []kafka.TopicPartitionOffset {
	if last.prev == nil {
		return nil
	}
	stable := map[kafka.TopicPartition]int64{}
	for ti := range snap.Topics {
		t := &snap.Topics[ti]
		for pi := range t.Partitions {
			part := &t.Partitions[pi]
			tp := kafka.TopicPartition{Topic: t.Name, Partition: part.ID}
			if prev, ok := last.offsets(lagcalc.TopicPartition(tp)); ok && part.HasOffsets && prev.LastStable == part.LastStable {
				stable[tp] = part.LastStable
			}
		}
	}
	seen := map[kafka.TopicPartitionOffset]bool{}
	var out []kafka.TopicPartitionOffset
	for gi := range snap.Groups {
		g := &snap.Groups[gi]
		prev := last.group(g.Name)
		if prev == nil {
			continue
		}
		for i := range g.Partitions {
			gp := &g.Partitions[i]
			tp := kafka.TopicPartition{Topic: gp.Topic, Partition: gp.Partition}
			lso, idle := stable[tp]
			o := kafka.TopicPartitionOffset{TopicPartition: tp, Offset: gp.Committed}
			if !idle || !gp.HasCommit() || gp.Committed >= lso || seen[o] || committedBefore(prev, gp) != gp.Committed {
				continue
			}
			seen[o] = true
			out = append(out, o)
		}
	}
	return out
}

// committedBefore is the group's committed offset on gp's partition in an
// earlier snapshot, -1 when it had none. A group's partitions are sorted.
func committedBefore(prev *Group, gp *GroupPartition) int64 {
	i, ok := slices.BinarySearchFunc(prev.Partitions, *gp, compareGroupPartitions)
	if !ok {
		return -1
	}
	return prev.Partitions[i].Committed
}

func leadersOf(topics []Topic) map[kafka.TopicPartition]int32 {
	leaders := map[kafka.TopicPartition]int32{}
	for _, t := range topics {
		for _, part := range t.Partitions {
			leaders[kafka.TopicPartition{Topic: t.Name, Partition: part.ID}] = part.Leader
		}
	}
	return leaders
}

// lagcalcPoll is the snapshot as lagcalc sees it: offsets, commits (with
// the position the records showed where they were read), memberships and
// retention policies.
func lagcalcPoll(snap *Snapshot, reads recordCache) lagcalc.Poll {
	partitions, groupPartitions := 0, 0
	for _, t := range snap.Topics {
		partitions += len(t.Partitions)
	}
	for _, g := range snap.Groups {
		groupPartitions += len(g.Partitions)
	}
	poll := lagcalc.Poll{
		Time:       snap.PolledAt,
		Retention:  make(map[string]lagcalc.RetentionPolicy, len(snap.Topics)),
		Partitions: make([]lagcalc.PartitionOffsets, 0, partitions),
		Groups:     make([]lagcalc.GroupState, 0, len(snap.Groups)),
		Commits:    make([]lagcalc.Commit, 0, groupPartitions),
	}
	for _, t := range snap.Topics {
		if t.Config.Known {
			poll.Retention[t.Name] = lagcalc.RetentionPolicy{
				Delete:         strings.Contains(t.Config.CleanupPolicy, "delete"),
				RetentionMs:    t.Config.RetentionMs,
				RetentionBytes: t.Config.RetentionBytes,
			}
		}
		for _, part := range t.Partitions {
			if part.HasOffsets {
				poll.Partitions = append(poll.Partitions, lagcalc.PartitionOffsets{
					TopicPartition: lagcalc.TopicPartition{Topic: t.Name, Partition: part.ID},
					LogStart:       part.LogStart, LogEnd: part.LogEnd, LastStable: part.LastStable,
				})
			}
		}
	}
	for gi := range snap.Groups {
		g := &snap.Groups[gi]
		// A group not described has unknown members: left out, lagcalc
		// decides what unknown membership means.
		if g.Described {
			poll.Groups = append(poll.Groups, lagcalc.GroupState{Group: g.Name, HasMembers: len(g.Members) > 0})
		}
		for i := range g.Partitions {
			// Commits whose partition's log offsets failed this poll are
			// passed anyway: lagcalc keeps their history and reports them
			// unknown instead of forgetting them.
			gp := &g.Partitions[i]
			c := lagcalc.Commit{GroupPartition: groupPartitionKey(g.Name, gp), Committed: gp.Committed}
			if r, ok := reads[kafka.TopicPartitionOffset{TopicPartition: kafka.TopicPartition{Topic: gp.Topic, Partition: gp.Partition}, Offset: gp.Committed}]; ok {
				c.Position = r.DataAt
			}
			poll.Commits = append(poll.Commits, c)
		}
	}
	return poll
}

// applyResult copies lagcalc's numbers into the snapshot.
func applyResult(snap *Snapshot, res lagcalc.Result) {
	for ti := range snap.Topics {
		t := &snap.Topics[ti]
		for pi := range t.Partitions {
			part := &t.Partitions[pi]
			if pr, ok := res.Partition(lagcalc.TopicPartition{Topic: t.Name, Partition: part.ID}); ok {
				part.ProduceRate, part.HasProduceRate = pr.ProduceRate, pr.HasProduceRate
			}
		}
	}
	for gi := range snap.Groups {
		g := &snap.Groups[gi]
		if gr, ok := res.Group(g.Name); ok {
			g.Status, g.MaxLagSeconds, g.HasMaxLagSeconds = gr.Status, gr.MaxLagSeconds, gr.HasMaxLagSeconds
		}
		for i := range g.Partitions {
			gp := &g.Partitions[i]
			if r, ok := res.GroupPartition(groupPartitionKey(g.Name, gp)); ok {
				gp.Eval = r
			}
		}
	}
}
