package collector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/lagwatch/lagwatch/lagcalc"
)

// Bytes asked for per partition when reading one record's timestamp. Kafka
// returns the whole first batch at the offset even when it is larger, so a
// small limit is enough and keeps the response small.
const recordTimestampFetchBytes = 1024

// recordTimestamps reads the timestamp of the record at each given offset,
// one Fetch request per partition leader. lagcalc asks for this when a
// committed offset is older than the log-end history it keeps, so that a
// backlog of days reads as days rather than as the history's length.
// Offsets whose record cannot be read (deleted by retention, a leader that
// failed) are missing from the result.
func (c *cluster) recordTimestamps(ctx context.Context, leaders map[lagcalc.TopicPartition]int32, offsets []lagcalc.TopicPartitionOffset) (map[lagcalc.TopicPartitionOffset]time.Time, error) {
	byLeader := map[int32][]lagcalc.TopicPartitionOffset{}
	for _, o := range offsets {
		leader, ok := leaders[o.TopicPartition]
		if !ok || leader < 0 {
			continue
		}
		byLeader[leader] = append(byLeader[leader], o)
	}
	return gatherPerBroker(byLeader, func(leader int32, wanted []lagcalc.TopicPartitionOffset) (map[lagcalc.TopicPartitionOffset]time.Time, error) {
		return c.leaderRecordTimestamps(ctx, leader, wanted)
	})
}

func (c *cluster) leaderRecordTimestamps(ctx context.Context, leader int32, wanted []lagcalc.TopicPartitionOffset) (map[lagcalc.TopicPartitionOffset]time.Time, error) {
	b, ok := c.broker(leader)
	if !ok {
		return nil, fmt.Errorf("fetch record timestamps: leader %d is not in the metadata", leader)
	}
	// One request can name a partition once; several groups stuck at
	// different offsets of one partition need several requests.
	var rounds [][]lagcalc.TopicPartitionOffset
	seen := map[lagcalc.TopicPartition]int{}
	for _, w := range wanted {
		r := seen[w.TopicPartition]
		seen[w.TopicPartition] = r + 1
		if r == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[r] = append(rounds[r], w)
	}
	out := map[lagcalc.TopicPartitionOffset]time.Time{}
	var errs []error
	for _, round := range rounds {
		if err := c.fetchTimestamps(ctx, b, round, out); err != nil {
			errs = append(errs, fmt.Errorf("fetch record timestamps on broker %d: %w", leader, err))
		}
	}
	return out, errors.Join(errs...)
}

func (c *cluster) fetchTimestamps(ctx context.Context, b *sarama.Broker, wanted []lagcalc.TopicPartitionOffset, out map[lagcalc.TopicPartitionOffset]time.Time) error {
	req := &sarama.FetchRequest{
		Version:     fetchVersion(c.conf.Version),
		MaxWaitTime: 0,
		MinBytes:    0,
		MaxBytes:    int32(recordTimestampFetchBytes * len(wanted)),
		// Epoch -1 with session 0 is a sessionless fetch: the broker keeps
		// no fetch session for lagwatch between polls.
		SessionEpoch: -1,
	}
	for _, w := range wanted {
		req.AddBlock(w.Topic, w.Partition, w.Offset, recordTimestampFetchBytes, -1)
	}
	var resp *sarama.FetchResponse
	err := c.do(ctx, "Fetch", b, func(b *sarama.Broker) (err error) {
		resp, err = b.Fetch(req)
		return err
	})
	if err != nil {
		return err
	}
	for _, w := range wanted {
		block := resp.GetBlock(w.Topic, w.Partition)
		if block == nil || block.Err != sarama.ErrNoError {
			continue
		}
		if ts, ok := timestampAt(block.RecordsSet, w.Offset); ok {
			out[w] = ts
		}
	}
	return nil
}

// timestampAt finds the first record at or after offset in the fetched
// batches and returns its timestamp. A compacted log may have no record at
// exactly the committed offset; the next one is the oldest unconsumed.
func timestampAt(sets []*sarama.Records, offset int64) (time.Time, bool) {
	for _, rs := range sets {
		if rs == nil || rs.RecordBatch == nil || rs.RecordBatch.Control {
			continue
		}
		batch := rs.RecordBatch
		for _, r := range batch.Records {
			if batch.FirstOffset+r.OffsetDelta < offset {
				continue
			}
			// With LogAppendTime the broker stamps the whole batch with one
			// time, carried as the batch's max timestamp.
			if batch.LogAppendTime {
				return batch.MaxTimestamp, true
			}
			return batch.FirstTimestamp.Add(r.TimestampDelta), true
		}
	}
	return time.Time{}, false
}

func fetchVersion(v sarama.KafkaVersion) int16 {
	switch {
	case v.IsAtLeast(sarama.V2_3_0_0):
		return 11
	case v.IsAtLeast(sarama.V0_11_0_0):
		return 4 // the first version that returns v2 record batches
	default:
		return 0
	}
}
