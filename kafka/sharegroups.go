package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Share groups (KIP-932) are read with their own two RPCs, one request of
// each per coordinator: ShareGroupDescribe for state and members, and
// DescribeShareGroupOffsets for the share-partition start offset (SPSO) and
// the lag of every partition the group has state for. Neither the classic
// DescribeGroups (GROUP_ID_NOT_FOUND, "is not a classic group") nor
// OffsetFetch (an empty answer) knows a share group, and those answers do
// not mean it is gone.

// ShareOffset is what DescribeShareGroupOffsets says of one share-partition.
type ShareOffset struct {
	// StartOffset is the share-partition start offset: every record below it
	// is acknowledged or archived. -1 while Kafka has no state for it (a
	// member joined but has not fetched yet).
	StartOffset int64
	// Lag is the records at or past StartOffset not yet acknowledged or
	// archived, as Kafka computes it (v1, KIP-1226); -1 when Kafka does not
	// report it: before v1, or before the first fetch.
	Lag int64
}

// ShareGroupOffsets is one share group's offsets.
type ShareGroupOffsets struct {
	Partitions map[TopicPartition]ShareOffset
	// LagReported is false when the coordinator answered
	// DescribeShareGroupOffsets v0, which has no lag: the caller must
	// compute it from the log end.
	LagReported bool
}

// shareKeys are the APIs a coordinator must advertise before lagwatch asks
// it about share groups: both are answered from Kafka 4.0 when share groups
// are enabled, and production-ready from 4.2.
var shareKeys = []int16{keyShareGroupDescribe, keyDescribeShareGroupOffsets}

// DescribeShareGroups describes the share groups among groups, one
// ShareGroupDescribe per coordinator. A coordinator that does not advertise
// the share-group APIs is asked nothing, and that is no error. Groups
// missing from the result could not be described; the error says why.
func (c *Client) DescribeShareGroups(ctx context.Context, groups []ListedGroup) (map[string]GroupDescription, error) {
	batches := batchesByCoordinator(groups, func(g ListedGroup) bool { return g.GroupType() == ProtocolShare })
	return gather(batches, func(bt groupBatch) (map[string]GroupDescription, error) {
		return c.describeShareGroups(ctx, bt.coordinator, bt.names)
	})
}

func (c *Client) describeShareGroups(ctx context.Context, coordinator int32, names []string) (map[string]GroupDescription, error) {
	if _, ok, err := c.supports(ctx, coordinator, shareKeys...); err != nil || !ok {
		return nil, err
	}
	req := kmsg.NewPtrShareGroupDescribeRequest()
	req.GroupIDs = names
	resp, err := c.doKmsg(ctx, coordinator, req)
	if err != nil {
		return nil, fmt.Errorf("describe %d share groups on broker %d: %w", len(names), coordinator, err)
	}
	out := make(map[string]GroupDescription, len(names))
	var errs []error
	for _, g := range resp.(*kmsg.ShareGroupDescribeResponse).Groups {
		if shareGroupsOff(g.ErrorCode) {
			continue
		}
		if err := errKmsg(g.ErrorCode, g.ErrorMessage); err != nil {
			errs = append(errs, fmt.Errorf("describe share group %q on broker %d: %w", g.GroupID, coordinator, err))
			continue
		}
		d := GroupDescription{State: consumerProtocolState(g.GroupState), Subscribed: map[string]bool{}}
		for _, m := range g.Members {
			topics := map[string][]int32{}
			for _, tp := range m.Assignment.TopicPartitions {
				topics[tp.Topic] = append(topics[tp.Topic], tp.Partitions...)
			}
			d.addMember(m.MemberID, m.ClientID, m.ClientHost, m.SubscribedTopicNames, topics)
		}
		sortMembers(d.Members)
		out[g.GroupID] = d
	}
	return out, errors.Join(errs...)
}

// ShareGroupOffsets fetches the start offsets and lag of the share groups
// among groups: one DescribeShareGroupOffsets per coordinator carries all of
// its share groups, each asking for every partition it has state for.
func (c *Client) ShareGroupOffsets(ctx context.Context, groups []ListedGroup) (map[string]ShareGroupOffsets, error) {
	batches := batchesByCoordinator(groups, func(g ListedGroup) bool { return g.GroupType() == ProtocolShare })
	return gather(batches, func(bt groupBatch) (map[string]ShareGroupOffsets, error) {
		return c.shareGroupOffsets(ctx, bt.coordinator, bt.names)
	})
}

func (c *Client) shareGroupOffsets(ctx context.Context, coordinator int32, names []string) (map[string]ShareGroupOffsets, error) {
	if _, ok, err := c.supports(ctx, coordinator, shareKeys...); err != nil || !ok {
		return nil, err
	}
	req := kmsg.NewPtrDescribeShareGroupOffsetsRequest()
	for _, n := range names {
		g := kmsg.NewDescribeShareGroupOffsetsRequestGroup()
		g.GroupID = n
		g.Topics = nil // null: every partition the group has state for
		req.Groups = append(req.Groups, g)
	}
	resp, err := c.doKmsg(ctx, coordinator, req)
	if err != nil {
		return nil, fmt.Errorf("fetch share-group offsets of %d groups on broker %d: %w", len(names), coordinator, err)
	}
	r := resp.(*kmsg.DescribeShareGroupOffsetsResponse)
	out := make(map[string]ShareGroupOffsets, len(names))
	var errs []error
	for _, g := range r.Groups {
		if shareGroupsOff(g.ErrorCode) {
			continue
		}
		if err := errKmsg(g.ErrorCode, g.ErrorMessage); err != nil {
			errs = append(errs, fmt.Errorf("fetch share-group offsets of group %q on broker %d: %w", g.GroupID, coordinator, err))
			continue
		}
		offsets := ShareGroupOffsets{Partitions: map[TopicPartition]ShareOffset{}, LagReported: r.Version >= 1}
		for _, t := range g.Topics {
			for _, p := range t.Partitions {
				if err := errKmsg(p.ErrorCode, p.ErrorMessage); err != nil {
					errs = append(errs, fmt.Errorf("fetch share-group offsets of group %q on %s/%d: %w", g.GroupID, t.Topic, p.Partition, err))
					continue
				}
				o := ShareOffset{StartOffset: p.StartOffset, Lag: -1}
				if offsets.LagReported {
					o.Lag = p.Lag
				}
				offsets.Partitions[TopicPartition{Topic: t.Topic, Partition: p.Partition}] = o
			}
		}
		out[g.GroupID] = offsets
	}
	return out, errors.Join(errs...)
}

// shareGroupsOff reports whether a group's error code says the coordinator
// has share groups turned off: Kafka then answers both share-group APIs
// with UNSUPPORTED_VERSION for every group, though it may advertise them
// and still list the share groups it has. That is read as a broker that
// does not advertise the APIs is: nothing to report, and no error.
func shareGroupsOff(code int16) bool { return code == kerr.UnsupportedVersion.Code }

// SortedTopicPartitions returns the keys of m in topic, partition order.
func SortedTopicPartitions[V any](m map[TopicPartition]V) []TopicPartition {
	out := make([]TopicPartition, 0, len(m))
	for tp := range m {
		out = append(out, tp)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}
