package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// Bytes asked for per partition when reading the records at an offset.
// Kafka returns the whole first batch of the response even when it is
// larger than the limit (KIP-74), so a small limit is enough for one
// partition; a partition cut short because another came first is read
// again on its own (see readAlone).
const recordReadBytes = 1024

// maxReadsAlonePerLeader bounds the partitions read again on their own
// per leader and call: a thousand partitions with old backlogs of large
// batches cost a thousand requests once, spread over a few polls, not in
// one. Those left over are read by the next call.
const maxReadsAlonePerLeader = 64

// RecordRead is what reading a partition from an offset found, as a
// read_committed consumer would see it.
type RecordRead struct {
	// DataAt is where the consumer's lag starts: the offset, moved past the
	// transaction markers (control records) and records of aborted
	// transactions that follow it, which no consumer ever receives. Gaps a
	// compacted log leaves are offsets like any other, as kafka_exporter
	// counts them. When the read found no data record, DataAt is the offset
	// just past the last batch read.
	DataAt int64
	// Timestamp is when the first data record at or after the offset was
	// written; zero when the read found none.
	Timestamp time.Time
	// Transactional is true when the read met a transaction marker.
	Transactional bool
}

// ReadRecords reads, for each given offset, the batches from that offset
// on: one Fetch per partition leader with a small limit per partition, and
// one more per partition that came back cut short. It tells what a
// consumer at the offset would receive first and when that record was
// written. Offsets whose records cannot be read (deleted by retention, a
// leader that failed, past the last stable offset) are missing from the
// result.
func (c *Client) ReadRecords(ctx context.Context, leaders map[TopicPartition]int32, offsets []TopicPartitionOffset) (map[TopicPartitionOffset]RecordRead, error) {
	byLeader := map[int32][]TopicPartitionOffset{}
	for _, o := range offsets {
		leader, ok := leaders[o.TopicPartition]
		if !ok || leader < 0 {
			continue
		}
		byLeader[leader] = append(byLeader[leader], o)
	}
	return gatherPerBroker(byLeader, func(leader int32, wanted []TopicPartitionOffset) (map[TopicPartitionOffset]RecordRead, error) {
		return c.leaderReadRecords(ctx, leader, wanted)
	})
}

func (c *Client) leaderReadRecords(ctx context.Context, leader int32, wanted []TopicPartitionOffset) (map[TopicPartitionOffset]RecordRead, error) {
	b, ok := c.broker(leader)
	if !ok {
		return nil, fmt.Errorf("read records: leader %d is not in the metadata", leader)
	}
	out := map[TopicPartitionOffset]RecordRead{}
	var (
		errs []error
		cut  []TopicPartitionOffset
	)
	for _, round := range onePerPartition(wanted) {
		short, err := c.fetchRecords(ctx, b, round, out)
		if err != nil {
			errs = append(errs, fmt.Errorf("read records on broker %d: %w", leader, err))
		}
		cut = append(cut, short...)
	}
	// Alone in its response, a partition's first batch comes back whole.
	for _, o := range cut[:min(len(cut), maxReadsAlonePerLeader)] {
		if _, err := c.fetchRecords(ctx, b, []TopicPartitionOffset{o}, out); err != nil {
			errs = append(errs, fmt.Errorf("read records on broker %d: %w", leader, err))
		}
	}
	return out, errors.Join(errs...)
}

// onePerPartition splits offsets into rounds that name each partition
// once: a Fetch can name a partition only once, and several groups stuck
// at different offsets of one partition need several requests.
func onePerPartition(wanted []TopicPartitionOffset) [][]TopicPartitionOffset {
	var rounds [][]TopicPartitionOffset
	seen := map[TopicPartition]int{}
	for _, w := range wanted {
		r := seen[w.TopicPartition]
		seen[w.TopicPartition] = r + 1
		if r == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[r] = append(rounds[r], w)
	}
	return rounds
}

// fetchRecords sends one read_committed Fetch for wanted and fills out. It
// returns the offsets whose partition came back cut short of a whole batch.
func (c *Client) fetchRecords(ctx context.Context, b *sarama.Broker, wanted []TopicPartitionOffset, out map[TopicPartitionOffset]RecordRead) (cut []TopicPartitionOffset, _ error) {
	req := &sarama.FetchRequest{
		Version:     fetchVersion(c.versionCap),
		MaxWaitTime: 0,
		MinBytes:    0,
		MaxBytes:    int32(recordReadBytes * len(wanted)),
		// read_committed: the broker lists the aborted transactions in
		// the range, so their records can be told from committed ones.
		Isolation: sarama.ReadCommitted,
		// Epoch -1 with session 0 is a sessionless fetch: the broker keeps
		// no fetch session for lagwatch between polls.
		SessionEpoch: -1,
	}
	for _, w := range wanted {
		req.AddBlock(w.Topic, w.Partition, w.Offset, recordReadBytes, -1)
	}
	var resp *sarama.FetchResponse
	err := c.do(ctx, "Fetch", b, func(b *sarama.Broker) (err error) {
		resp, err = b.Fetch(req)
		return err
	})
	if err != nil {
		return nil, err
	}
	var denied []error
	deniedTopic := map[string]bool{}
	for _, w := range wanted {
		block := resp.GetBlock(w.Topic, w.Partition)
		if block != nil && block.Err == sarama.ErrTopicAuthorizationFailed && !deniedTopic[w.Topic] {
			deniedTopic[w.Topic] = true
			denied = append(denied, &ResourceError{Type: ResourceTopic, Name: w.Topic, Operation: OpRead, Err: block.Err})
		}
		if block == nil || block.Err != sarama.ErrNoError {
			continue
		}
		if read, ok := firstData(block, w.Offset); ok {
			out[w] = read
		} else if len(wanted) > 1 && (cutShort(block) || (len(block.RecordsSet) == 0 && w.Offset < block.LastStableOffset)) {
			// Cut short, or left empty because an earlier partition's
			// whole batch (KIP-74) filled the response.
			cut = append(cut, w)
		}
	}
	return cut, errors.Join(denied...)
}

// cutShort reports whether the block holds a batch the response cut off.
func cutShort(block *sarama.FetchResponseBlock) bool {
	if block.Partial {
		return true
	}
	n := len(block.RecordsSet)
	return n > 0 && block.RecordsSet[n-1].RecordBatch != nil && block.RecordsSet[n-1].RecordBatch.PartialTrailingRecord
}

// firstData walks the fetched batches from offset on and finds the first
// record a read_committed consumer receives. Control batches are
// transaction markers; a transactional batch of a producer listed in the
// block's aborted transactions, from that transaction's first offset until
// the producer's next marker, is aborted data. ok is false when no whole
// batch at or after offset was read.
func firstData(block *sarama.FetchResponseBlock, offset int64) (RecordRead, bool) {
	abortedFrom := map[int64]int64{} // producer id → first offset of its aborted transaction
	for _, at := range block.AbortedTransactions {
		if first, ok := abortedFrom[at.ProducerID]; !ok || at.FirstOffset < first {
			abortedFrom[at.ProducerID] = at.FirstOffset
		}
	}
	read := RecordRead{DataAt: offset}
	any := false
	for _, rs := range block.RecordsSet {
		if rs == nil || rs.RecordBatch == nil || rs.RecordBatch.PartialTrailingRecord {
			continue
		}
		batch := rs.RecordBatch
		last := batch.FirstOffset + int64(batch.LastOffsetDelta)
		if last < offset {
			continue
		}
		any = true
		first, aborted := abortedFrom[batch.ProducerID]
		switch {
		case batch.Control:
			read.Transactional = true
			// The abort marker ends the aborted transaction: the
			// producer's later batches belong to a new one.
			if aborted && first <= batch.FirstOffset {
				delete(abortedFrom, batch.ProducerID)
			}
			read.DataAt = last + 1
			continue
		case batch.IsTransactional && aborted && first <= batch.FirstOffset:
			read.DataAt = last + 1
			continue
		}
		for _, r := range batch.Records {
			if batch.FirstOffset+r.OffsetDelta >= offset {
				read.Timestamp = recordTime(batch, r)
				return read, true
			}
		}
	}
	return read, any
}

// recordTime is when a record was written. With LogAppendTime the broker
// stamps the whole batch with one time, carried as the batch's max
// timestamp.
func recordTime(batch *sarama.RecordBatch, r *sarama.Record) time.Time {
	if batch.LogAppendTime {
		return batch.MaxTimestamp
	}
	return batch.FirstTimestamp.Add(r.TimestampDelta)
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
