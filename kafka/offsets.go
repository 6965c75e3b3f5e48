package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// LogOffsets are a partition's log-start offset, its high watermark (the
// log end: the offset the next record will get) and its last stable offset:
// the first offset of the oldest open transaction, or the high watermark
// when none is open. A read_committed consumer never reads past the last
// stable offset.
type LogOffsets struct {
	Start, End, LastStable int64
}

// LogStarts asks every partition leader for the log-start offsets of all
// the partitions it leads: one ListOffsets request per leader, however many
// partitions. The poll reads them before the committed offsets (see
// LogOffsets). Partitions whose leader failed are missing from the result;
// the error says which leaders failed.
func (c *Client) LogStarts(ctx context.Context, byLeader map[int32][]TopicPartition) (map[TopicPartition]int64, error) {
	return gatherPerBroker(byLeader, func(leader int32, tps []TopicPartition) (map[TopicPartition]int64, error) {
		b, ok := c.broker(leader)
		if !ok {
			return nil, fmt.Errorf("list log-start offsets: leader %d is not in the metadata", leader)
		}
		starts, err := c.listOffsets(ctx, b, tps, sarama.OffsetOldest, sarama.ReadUncommitted)
		if err != nil {
			return nil, fmt.Errorf("list log-start offsets on broker %d: %w", leader, err)
		}
		if len(starts) < len(tps) {
			return starts, fmt.Errorf("list log-start offsets on broker %d: %d of %d partitions answered with an error", leader, len(tps)-len(starts), len(tps))
		}
		return starts, nil
	})
}

// LogOffsets asks every partition leader for the log ends and last stable
// offsets of the partitions it leads that have a log start in starts (read
// earlier by LogStarts), and joins the two: two ListOffsets requests per
// leader (Kafka accepts each partition once per request, and the isolation
// level is the request's), so with LogStarts three per leader and poll,
// however many partitions. Partitions without a start are not asked for
// (their leader's failure was LogStarts' error). Partitions whose leader
// failed now are missing from the result; the error says which leaders
// failed.
//
// The log start comes from a read made before the log end, so it is never
// above it unless the log was truncated in between; lagcalc clamps that.
func (c *Client) LogOffsets(ctx context.Context, byLeader map[int32][]TopicPartition, starts map[TopicPartition]int64) (map[TopicPartition]LogOffsets, error) {
	withStart := make(map[int32][]TopicPartition, len(byLeader))
	for leader, tps := range byLeader {
		for _, tp := range tps {
			if _, ok := starts[tp]; ok {
				withStart[leader] = append(withStart[leader], tp)
			}
		}
	}
	return gatherPerBroker(withStart, func(leader int32, tps []TopicPartition) (map[TopicPartition]LogOffsets, error) {
		return c.leaderLogOffsets(ctx, leader, tps, starts)
	})
}

func (c *Client) leaderLogOffsets(ctx context.Context, leader int32, tps []TopicPartition, starts map[TopicPartition]int64) (map[TopicPartition]LogOffsets, error) {
	b, ok := c.broker(leader)
	if !ok {
		return nil, fmt.Errorf("list offsets: leader %d is not in the metadata", leader)
	}
	ends, err := c.listOffsets(ctx, b, tps, sarama.OffsetNewest, sarama.ReadUncommitted)
	if err != nil {
		return nil, fmt.Errorf("list log-end offsets on broker %d: %w", leader, err)
	}
	// The last stable offset is optional: a broker too old to answer it
	// (before 0.11) has no transactions, so the high watermark stands in.
	stable, _ := c.listOffsets(ctx, b, tps, sarama.OffsetNewest, sarama.ReadCommitted)
	out := make(map[TopicPartition]LogOffsets, len(tps))
	for tp, end := range ends {
		start := starts[tp]
		lso, ok := stable[tp]
		if !ok || lso > end {
			lso = end
		}
		out[tp] = LogOffsets{Start: start, End: end, LastStable: max(lso, start)}
	}
	if len(out) < len(tps) {
		return out, fmt.Errorf("list offsets on broker %d: %d of %d partitions answered with an error", leader, len(tps)-len(out), len(tps))
	}
	return out, nil
}

// listOffsets sends one ListOffsets request for all tps at the given
// timestamp (sarama.OffsetNewest or OffsetOldest). Partitions the broker
// answers with an error (e.g. NOT_LEADER_OR_FOLLOWER during a leader
// change) are left out.
func (c *Client) listOffsets(ctx context.Context, b *sarama.Broker, tps []TopicPartition, timestamp int64, isolation sarama.IsolationLevel) (map[TopicPartition]int64, error) {
	req := sarama.NewOffsetRequest(c.versionCap)
	if isolation == sarama.ReadCommitted {
		if req.Version < 2 {
			return nil, errors.New("list offsets: read_committed needs ListOffsets v2 (Kafka 0.11)")
		}
		req.IsolationLevel = sarama.ReadCommitted
	}
	for _, tp := range tps {
		req.AddBlock(tp.Topic, tp.Partition, timestamp, 1)
	}
	var resp *sarama.OffsetResponse
	err := c.doSized(ctx, "ListOffsets", b, perPartitionAllowance*time.Duration(len(tps)), func(b *sarama.Broker) (err error) {
		resp, err = b.GetAvailableOffsets(req)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[TopicPartition]int64, len(tps))
	for _, tp := range tps {
		block := resp.GetBlock(tp.Topic, tp.Partition)
		if block == nil || block.Err != sarama.ErrNoError {
			continue
		}
		offset := block.Offset
		if req.Version == 0 && len(block.Offsets) > 0 {
			offset = block.Offsets[0]
		}
		// A broker never reports a negative log offset for a healthy
		// partition; treat one as no answer rather than export it.
		if offset < 0 {
			continue
		}
		out[tp] = offset
	}
	return out, nil
}
