package collector

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// shareAnswers is what Kafka said of the share groups in one poll.
type shareAnswers struct {
	listed    []kafka.ListedGroup
	described map[string]kafka.GroupDescription
	offsets   map[string]kafka.ShareGroupOffsets
}

// splitShareGroups separates the share groups from the others: they are
// neither described with DescribeGroups nor fetched with OffsetFetch.
func splitShareGroups(listed []kafka.ListedGroup) (others, share []kafka.ListedGroup) {
	isShare := func(g kafka.ListedGroup) bool { return g.GroupType() == ProtocolShare }
	if !slices.ContainsFunc(listed, isShare) {
		// The common case needs no copy of a list of every group.
		return listed, nil
	}
	others = make([]kafka.ListedGroup, 0, len(listed))
	for _, g := range listed {
		if isShare(g) {
			share = append(share, g)
		} else {
			others = append(others, g)
		}
	}
	return others, share
}

// readShareGroups describes the share groups and fetches their offsets,
// concurrently: one request of each per coordinator.
func (p *Poller) readShareGroups(ctx context.Context, sa *shareAnswers) error {
	if len(sa.listed) == 0 {
		return nil
	}
	var (
		wg                      sync.WaitGroup
		describeErr, offsetsErr error
	)
	wg.Go(func() { sa.described, describeErr = p.kafka.DescribeShareGroups(ctx, sa.listed) })
	wg.Go(func() { sa.offsets, offsetsErr = p.kafka.ShareGroupOffsets(ctx, sa.listed) })
	wg.Wait()
	return errors.Join(describeErr, offsetsErr)
}

// fillShareGroups joins what Kafka said of each share group with the
// topics of this poll, stands in the last answers where a coordinator
// failed, and sets the statuses. A share group whose coordinator does not
// answer the share-group APIs at all (before Kafka 4.0, or the feature
// off) is left out: it has neither a description nor offsets.
func (p *Poller) fillShareGroups(snap *Snapshot, sa shareAnswers, last *lastKnown) {
	snap.ShareGroups = nil
	if len(sa.listed) == 0 {
		// lagcalc forgets the share groups no longer listed.
		p.shareTracker.Observe(snap.PolledAt, nil)
		return
	}
	ends := map[kafka.TopicPartition]int64{}
	partitionCount := make(map[string]int, len(snap.Topics))
	for _, t := range snap.Topics {
		partitionCount[t.Name] = len(t.Partitions)
		for _, part := range t.Partitions {
			if part.HasOffsets {
				ends[kafka.TopicPartition{Topic: t.Name, Partition: part.ID}] = part.LogEnd
			}
		}
	}
	var samples []lagcalc.ShareSample
	for _, lg := range sa.listed {
		g, ok := shareGroupOf(lg, sa, last, snap.PolledAt, ends, partitionCount)
		if !ok {
			continue
		}
		for _, sp := range g.Partitions {
			samples = append(samples, lagcalc.ShareSample{
				SharePartition: lagcalc.SharePartition{Group: g.Name, TopicPartition: lagcalc.TopicPartition{Topic: sp.Topic, Partition: sp.Partition}},
				StartOffset:    sp.StartOffset, Lag: sp.Lag,
				MembersKnown: g.Described, HasMembers: len(g.Members) > 0,
				ReadAt: g.OffsetsAt, // before PolledAt: a failing coordinator's last answer
			})
		}
		snap.ShareGroups = append(snap.ShareGroups, g)
	}
	statuses := p.shareTracker.Observe(snap.PolledAt, samples)
	for gi := range snap.ShareGroups {
		g := &snap.ShareGroups[gi]
		worst := make([]lagcalc.Status, len(g.Partitions))
		for i := range g.Partitions {
			sp := &g.Partitions[i]
			sp.Status = statuses[lagcalc.SharePartition{Group: g.Name, TopicPartition: lagcalc.TopicPartition{Topic: sp.Topic, Partition: sp.Partition}}]
			worst[i] = sp.Status
		}
		g.Status = lagcalc.WorstShareStatus(worst)
	}
}

// shareGroupOf is one listed share group with this poll's description and
// offsets, or the last ones while fresh; false when neither is known.
func shareGroupOf(lg kafka.ListedGroup, sa shareAnswers, last *lastKnown, now time.Time, ends map[kafka.TopicPartition]int64, partitionCount map[string]int) (ShareGroup, bool) {
	g := ShareGroup{Name: lg.Name, Coordinator: lg.Coordinator, State: lg.State, ListedAt: now}
	if !lg.ListedAt.IsZero() {
		g.ListedAt = lg.ListedAt
	}
	prev := last.shareGroup(lg.Name)
	if d, ok := sa.described[lg.Name]; ok {
		g.Described, g.State, g.Members, g.DescribedAt = true, d.State, d.Members, now
	} else if prev != nil && prev.Described && last.fresh(prev.DescribedAt) {
		g.Described, g.State, g.Members, g.DescribedAt = true, prev.State, prev.Members, prev.DescribedAt
	}
	assigned := map[kafka.TopicPartition]bool{}
	for _, m := range g.Members {
		for _, tp := range m.Assigned {
			assigned[tp] = true
		}
	}
	if o, ok := sa.offsets[lg.Name]; ok {
		g.OffsetsAt, g.LagReported = now, o.LagReported
		for _, tp := range kafka.SortedTopicPartitions(o.Partitions) {
			if int(tp.Partition) >= partitionCount[tp.Topic] {
				continue // the topic is gone or the filters drop it
			}
			so := o.Partitions[tp]
			sp := SharePartition{Topic: tp.Topic, Partition: tp.Partition, StartOffset: so.StartOffset, Lag: so.Lag, Assigned: assigned[tp]}
			if !o.LagReported {
				sp.Lag = computedShareLag(so.StartOffset, ends, tp)
			}
			g.Partitions = append(g.Partitions, sp)
		}
	} else if prev != nil && last.fresh(prev.OffsetsAt) {
		g.OffsetsAt, g.LagReported = prev.OffsetsAt, prev.LagReported
		g.Partitions = slices.Clone(prev.Partitions)
		for i := range g.Partitions {
			g.Partitions[i].Assigned = assigned[kafka.TopicPartition{Topic: g.Partitions[i].Topic, Partition: g.Partitions[i].Partition}]
		}
	}
	if !g.Described && g.OffsetsAt.IsZero() {
		return g, false
	}
	if g.Described {
		g.Topics = shareAssignmentSummary(&g, assigned, partitionCount)
	}
	return g, true
}

// computedShareLag is the lag where Kafka does not report it: the log end
// minus the start offset, an upper bound (records acknowledged above the
// start offset count too). -1 when either is unknown.
func computedShareLag(start int64, ends map[kafka.TopicPartition]int64, tp kafka.TopicPartition) int64 {
	end, ok := ends[tp]
	if !ok || start < 0 {
		return -1
	}
	return max(end-start, 0)
}

// shareAssignmentSummary counts, per topic the group reads (a member
// subscribed to it or the group has state there), the partitions some
// member is assigned. Several members may be assigned one partition: it
// counts once.
func shareAssignmentSummary(g *ShareGroup, assigned map[kafka.TopicPartition]bool, partitionCount map[string]int) []GroupTopic {
	perTopic := map[string]int{}
	for tp := range assigned {
		if int(tp.Partition) < partitionCount[tp.Topic] {
			perTopic[tp.Topic]++
		}
	}
	read := map[string]bool{}
	for t := range perTopic {
		read[t] = true
	}
	for _, sp := range g.Partitions {
		read[sp.Topic] = true
	}
	var topics []GroupTopic
	for t := range read {
		gt := GroupTopic{Topic: t, Assigned: perTopic[t]}
		if len(g.Members) > 0 {
			gt.Unassigned = partitionCount[t] - perTopic[t]
		}
		topics = append(topics, gt)
	}
	slices.SortFunc(topics, func(a, b GroupTopic) int { return strings.Compare(a.Topic, b.Topic) })
	return topics
}

// shareGroup is the share group of the previous snapshot.
func (l *lastKnown) shareGroup(name string) *ShareGroup {
	if l.prev == nil {
		return nil
	}
	for i := range l.prev.ShareGroups {
		if l.prev.ShareGroups[i].Name == name {
			return &l.prev.ShareGroups[i]
		}
	}
	return nil
}

// shareListedOn returns the share groups the previous snapshot had on the
// brokers whose ListGroups failed and that are not listed now.
func (l *lastKnown) shareListedOn(failed map[int32]bool, listed []kafka.ListedGroup) []kafka.ListedGroup {
	if l.prev == nil {
		return nil
	}
	return listedBefore(l, l.prev.ShareGroups, failed, listed, func(g *ShareGroup) kafka.ListedGroup {
		return kafka.ListedGroup{Name: g.Name, Coordinator: g.Coordinator, ProtocolType: ProtocolShare, Type: ProtocolShare, State: g.State, ListedAt: g.ListedAt}
	})
}
