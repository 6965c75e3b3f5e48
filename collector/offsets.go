package collector

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"

	"github.com/lagwatch/lagwatch/lagcalc"
)

// logOffsets is a partition's log-start and log-end offsets.
type logOffsets struct{ start, end int64 }

// fetchLogOffsets asks every partition leader for the log-start and
// log-end offsets of all the partitions it leads: two ListOffsets requests
// per leader, however many partitions (Kafka accepts each partition once
// per request, so earliest and latest cannot share one). Partitions without
// a leader, or whose leader failed, are missing from the result; the error
// says which leaders failed.
func (c *cluster) fetchLogOffsets(ctx context.Context, topics []Topic) (map[lagcalc.TopicPartition]logOffsets, error) {
	byLeader := map[int32][]lagcalc.TopicPartition{}
	for _, t := range topics {
		for _, p := range t.Partitions {
			if p.Leader >= 0 {
				byLeader[p.Leader] = append(byLeader[p.Leader], lagcalc.TopicPartition{Topic: t.Name, Partition: p.ID})
			}
		}
	}

	return gatherPerBroker(byLeader, func(leader int32, tps []lagcalc.TopicPartition) (map[lagcalc.TopicPartition]logOffsets, error) {
		return c.leaderLogOffsets(ctx, leader, tps)
	})
}

func (c *cluster) leaderLogOffsets(ctx context.Context, leader int32, tps []lagcalc.TopicPartition) (map[lagcalc.TopicPartition]logOffsets, error) {
	b, ok := c.broker(leader)
	if !ok {
		return nil, fmt.Errorf("list offsets: leader %d is not in the metadata", leader)
	}
	ends, err := c.listOffsets(ctx, b, tps, sarama.OffsetNewest)
	if err != nil {
		return nil, fmt.Errorf("list log-end offsets on broker %d: %w", leader, err)
	}
	starts, err := c.listOffsets(ctx, b, tps, sarama.OffsetOldest)
	if err != nil {
		return nil, fmt.Errorf("list log-start offsets on broker %d: %w", leader, err)
	}
	out := make(map[lagcalc.TopicPartition]logOffsets, len(tps))
	var partErrs []error
	for tp, end := range ends {
		start, ok := starts[tp]
		if !ok {
			continue
		}
		out[tp] = logOffsets{start: start, end: end}
	}
	if len(out) < len(tps) {
		partErrs = append(partErrs, fmt.Errorf("list offsets on broker %d: %d of %d partitions answered with an error", leader, len(tps)-len(out), len(tps)))
	}
	return out, errors.Join(partErrs...)
}

// listOffsets sends one ListOffsets request for all tps at the given
// timestamp (sarama.OffsetNewest or OffsetOldest). Partitions the broker
// answers with an error (e.g. NOT_LEADER_OR_FOLLOWER during a leader
// change) are left out.
func (c *cluster) listOffsets(ctx context.Context, b *sarama.Broker, tps []lagcalc.TopicPartition, timestamp int64) (map[lagcalc.TopicPartition]int64, error) {
	req := sarama.NewOffsetRequest(c.conf.Version)
	for _, tp := range tps {
		req.AddBlock(tp.Topic, tp.Partition, timestamp, 1)
	}
	var resp *sarama.OffsetResponse
	err := c.do(ctx, "ListOffsets", b, func(b *sarama.Broker) (err error) {
		resp, err = b.GetAvailableOffsets(req)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[lagcalc.TopicPartition]int64, len(tps))
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
