package collector

import (
	"slices"
	"strings"
	"time"

	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// fillGroups joins what ListGroups, DescribeGroups and OffsetFetch said of
// each group with the topics of this poll; where a coordinator failed, the
// last answer stands in while it is fresh (see lastKnown). Committed
// offsets on topics that no longer exist or that the filters drop are left
// out.
func fillGroups(snap *Snapshot, a answers, last *lastKnown, assignedOnly bool) {
	// The snapshot's topics by name. A group-partition takes its topic's
	// name from there: every group-partition of a topic then shares the
	// one string, not one decoded per group from each OffsetFetch answer,
	// which the snapshot would otherwise keep alive until the next poll.
	topics := make(map[string]*Topic, len(snap.Topics))
	for ti := range snap.Topics {
		topics[snap.Topics[ti].Name] = &snap.Topics[ti]
	}
	partitionCount := func(topic string) int {
		if t := topics[topic]; t != nil {
			return len(t.Partitions)
		}
		return 0
	}
	exists := func(tp kafka.TopicPartition) bool {
		return tp.Partition >= 0 && int(tp.Partition) < partitionCount(tp.Topic)
	}

	// Every group's partitions live in one array sized up front: a
	// snapshot is rebuilt every poll and two are alive while a poll runs,
	// so per-group slices grown by append would cost half again as much.
	all := make([]GroupPartition, 0, groupPartitionsToHold(a, last))
	snap.Groups = make([]Group, 0, len(a.listed))
	for _, lg := range a.listed {
		g := groupOf(lg, a, last, snap.PolledAt)
		committed, fetched := a.committed[lg.Name]
		if !fetched {
			committed, g.CommittedAt, fetched = last.committed(lg.Name)
		}
		assigned := assignedPartitions(g.Members, exists)
		start := len(all)
		var t *Topic // the last partition's topic: most groups commit on few
		for tp, off := range committed {
			if t == nil || t.Name != tp.Topic {
				t = topics[tp.Topic]
			}
			if t == nil || tp.Partition < 0 || int(tp.Partition) >= len(t.Partitions) {
				continue // gone, or dropped by the filters
			}
			if isAssigned := assigned[tp]; isAssigned || !assignedOnly {
				all = append(all, GroupPartition{Topic: t.Name, Partition: tp.Partition, Committed: off, Assigned: isAssigned})
			}
		}
		// "Never committed" is known only from an OffsetFetch answer: a
		// failed one says nothing of the assigned partitions.
		for tp := range assigned {
			if _, ok := committed[tp]; !ok && fetched {
				all = append(all, GroupPartition{Topic: topics[tp.Topic].Name, Partition: tp.Partition, Committed: -1, Assigned: true})
			}
		}
		g.Partitions = all[start:len(all):len(all)]
		slices.SortFunc(g.Partitions, compareGroupPartitions)
		if g.Described && g.TracksAssignment() {
			g.Topics, g.IdleMembers = assignmentSummary(&g, a.described[lg.Name].Subscribed, assigned, partitionCount)
		}
		snap.Groups = append(snap.Groups, g)
	}
}

// groupOf is one listed group with its description: this poll's, or the
// last one while it is fresh. Its committed offsets are joined by the
// caller.
func groupOf(lg kafka.ListedGroup, a answers, last *lastKnown, now time.Time) Group {
	g := Group{
		Name: lg.Name, Coordinator: lg.Coordinator, ProtocolType: lg.ProtocolType, State: lg.State,
		Protocol: ProtocolClassic, ListedAt: now, CommittedAt: now,
	}
	if !lg.ListedAt.IsZero() {
		g.ListedAt = lg.ListedAt
	}
	if t := lg.GroupType(); t == ProtocolConsumer || t == ProtocolStreams {
		g.Protocol = t
	}
	if d, ok := a.described[lg.Name]; ok {
		g.Described, g.State, g.Members, g.DescribedAt, g.Subscribed = true, d.State, d.Members, now, d.Subscribed
	} else if known, ok := last.description(lg.Name); ok {
		g.Described, g.State, g.Members, g.DescribedAt, g.Subscribed = true, known.State, known.Members, known.DescribedAt, known.Subscribed
	}
	return g
}

// groupPartitionsToHold counts the group-partitions of this poll: the
// committed ones (or last known) and those only assigned.
func groupPartitionsToHold(a answers, last *lastKnown) int {
	total := 0
	for _, lg := range a.listed {
		if c, ok := a.committed[lg.Name]; ok {
			total += len(c)
		} else if g := last.group(lg.Name); g != nil {
			total += len(g.Partitions)
		}
		for _, m := range a.described[lg.Name].Members {
			total += len(m.Assigned)
		}
	}
	return total
}

// assignedPartitions is the set of existing partitions some member is
// assigned; nil when there is none.
func assignedPartitions(members []Member, exists func(kafka.TopicPartition) bool) map[kafka.TopicPartition]bool {
	var assigned map[kafka.TopicPartition]bool
	for _, m := range members {
		for _, tp := range m.Assigned {
			if exists(tp) {
				if assigned == nil {
					assigned = map[kafka.TopicPartition]bool{}
				}
				assigned[tp] = true
			}
		}
	}
	return assigned
}

func compareGroupPartitions(a, b GroupPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return int(a.Partition - b.Partition)
}

// assignmentSummary counts, per topic the group consumes (it committed
// there or a member subscribed to it), the partitions some member is
// assigned and, while the group has members, those none is: orphaned
// partitions whose lag nobody works off. It also counts idle members,
// those assigned no partition. The group's partitions are sorted by
// topic.
func assignmentSummary(g *Group, subscribed map[string]bool, assigned map[kafka.TopicPartition]bool, partitionCount func(string) int) ([]GroupTopic, int) {
	newTopic := func(i int) bool { return i == 0 || g.Partitions[i].Topic != g.Partitions[i-1].Topic }
	n := len(subscribed)
	for i := range g.Partitions {
		if newTopic(i) {
			n++
		}
	}
	if n == 0 {
		return nil, idleMembers(g.Members)
	}
	topics := make([]GroupTopic, 0, n)
	for i := range g.Partitions {
		if newTopic(i) {
			topics = append(topics, GroupTopic{Topic: g.Partitions[i].Topic})
		}
	}
	for t := range subscribed {
		if partitionCount(t) > 0 {
			topics = append(topics, GroupTopic{Topic: t})
		}
	}
	byTopic := func(a GroupTopic, topic string) int { return strings.Compare(a.Topic, topic) }
	slices.SortFunc(topics, func(a, b GroupTopic) int { return byTopic(a, b.Topic) })
	topics = slices.CompactFunc(topics, func(a, b GroupTopic) bool { return a.Topic == b.Topic })
	for tp := range assigned {
		if i, ok := slices.BinarySearchFunc(topics, tp.Topic, byTopic); ok {
			topics[i].Assigned++
		}
	}
	if len(g.Members) > 0 {
		for i := range topics {
			topics[i].Unassigned = partitionCount(topics[i].Topic) - topics[i].Assigned
		}
	}
	if len(topics) == 0 {
		topics = nil // subscribed to no existing topic, as before: none
	}
	return topics, idleMembers(g.Members)
}

// idleMembers counts the members assigned no partition.
func idleMembers(members []Member) int {
	idle := 0
	for _, m := range members {
		if len(m.Assigned) == 0 {
			idle++
		}
	}
	return idle
}

// groupPartitionKey is lagcalc's name of one of the group's partitions.
func groupPartitionKey(group string, gp *GroupPartition) lagcalc.GroupPartition {
	return lagcalc.GroupPartition{Group: group, TopicPartition: lagcalc.TopicPartition{Topic: gp.Topic, Partition: gp.Partition}}
}
