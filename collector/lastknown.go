package collector

import (
	"slices"
	"time"

	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// lastKnown stands in for a part of the cluster that failed to answer
// this poll (one coordinator's OffsetFetch, one leader's ListOffsets, one
// broker's ListGroups) with what the previous snapshot knew of it, for as
// long as that is no older than StaleAfter. Without it a blip on one
// broker makes its groups' series vanish for a poll, which resets every
// alert's `for:` on them and the history behind their statuses; with it
// they read as of the last answer, the poll counts its error by stage and
// lagwatch_up is 0. After StaleAfter the part is dropped, as the whole
// cluster's groups are when no poll succeeds.
type lastKnown struct {
	prev       *Snapshot
	now        time.Time
	staleAfter time.Duration

	// Indexes of prev, built on first use: only polls with a failure need them.
	groups     map[string]*Group
	partitions map[lagcalc.TopicPartition]*Partition
}

func newLastKnown(prev *Snapshot, now time.Time, staleAfter time.Duration) *lastKnown {
	return &lastKnown{prev: prev, now: now, staleAfter: staleAfter}
}

// fresh reports whether something read at t may still stand in.
func (l *lastKnown) fresh(t time.Time) bool {
	return !t.IsZero() && l.now.Sub(t) <= l.staleAfter
}

func (l *lastKnown) group(name string) *Group {
	if l.prev == nil {
		return nil
	}
	if l.groups == nil {
		l.groups = make(map[string]*Group, len(l.prev.Groups))
		for i := range l.prev.Groups {
			l.groups[l.prev.Groups[i].Name] = &l.prev.Groups[i]
		}
	}
	return l.groups[name]
}

// description is the group's last description, if still fresh.
func (l *lastKnown) description(name string) (*Group, bool) {
	g := l.group(name)
	return g, g != nil && g.Described && l.fresh(g.DescribedAt)
}

// committed is the group's last committed offsets and when they were read,
// if still fresh.
func (l *lastKnown) committed(name string) (map[kafka.TopicPartition]int64, time.Time, bool) {
	g := l.group(name)
	if g == nil || !l.fresh(g.CommittedAt) {
		return nil, time.Time{}, false
	}
	offsets := make(map[kafka.TopicPartition]int64, len(g.Partitions))
	for i := range g.Partitions {
		if gp := &g.Partitions[i]; gp.HasCommit() {
			offsets[kafka.TopicPartition{Topic: gp.Topic, Partition: gp.Partition}] = gp.Committed
		}
	}
	return offsets, g.CommittedAt, true
}

// offsets is the partition's last log offsets, if still fresh.
func (l *lastKnown) offsets(tp lagcalc.TopicPartition) (*Partition, bool) {
	if l.prev == nil {
		return nil, false
	}
	if l.partitions == nil {
		l.partitions = map[lagcalc.TopicPartition]*Partition{}
		for ti := range l.prev.Topics {
			t := &l.prev.Topics[ti]
			for pi := range t.Partitions {
				l.partitions[lagcalc.TopicPartition{Topic: t.Name, Partition: t.Partitions[pi].ID}] = &t.Partitions[pi]
			}
		}
	}
	p := l.partitions[tp]
	return p, p != nil && p.HasOffsets && l.fresh(p.OffsetsAt)
}

// listedOn returns the groups the previous snapshot had on the brokers
// whose ListGroups failed, and that are not listed elsewhere now, so that
// they are still described and fetched from their coordinator.
func (l *lastKnown) listedOn(failed map[int32]bool, listed []kafka.ListedGroup) []kafka.ListedGroup {
	if l.prev == nil {
		return nil
	}
	return listedBefore(l, l.prev.Groups, failed, listed, func(g *Group) kafka.ListedGroup {
		return kafka.ListedGroup{
			Name: g.Name, Coordinator: g.Coordinator, ProtocolType: g.ProtocolType, State: g.State,
			ConsumerProtocol: g.Protocol == ProtocolConsumer, ListedAt: g.ListedAt,
		}
	})
}

// listedBefore returns, as listed, the groups of an earlier snapshot that
// a failed broker coordinates, that are not listed now, and whose listing
// is still fresh.
func listedBefore[G any](l *lastKnown, groups []G, failed map[int32]bool, listed []kafka.ListedGroup, asListed func(*G) kafka.ListedGroup) []kafka.ListedGroup {
	if len(failed) == 0 {
		return nil
	}
	have := make(map[string]bool, len(listed))
	for _, g := range listed {
		have[g.Name] = true
	}
	var out []kafka.ListedGroup
	for i := range groups {
		if lg := asListed(&groups[i]); failed[lg.Coordinator] && !have[lg.Name] && l.fresh(lg.ListedAt) {
			out = append(out, lg)
		}
	}
	return out
}

// hadGroupPartition reports whether the previous snapshot had the group's
// committed offset on gp's partition. A group's partitions are sorted.
func (l *lastKnown) hadGroupPartition(group string, gp *GroupPartition) bool {
	g := l.group(group)
	if g == nil {
		return false
	}
	_, ok := slices.BinarySearchFunc(g.Partitions, *gp, compareGroupPartitions)
	return ok
}
