package kafka

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
)

var written = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// batch is a record batch at first holding n records one second apart.
func batch(first int64, n int, modify ...func(*sarama.RecordBatch)) *sarama.Records {
	b := &sarama.RecordBatch{FirstOffset: first, LastOffsetDelta: int32(n - 1), FirstTimestamp: written.Add(time.Duration(first) * time.Second), ProducerID: -1}
	for i := range n {
		b.Records = append(b.Records, &sarama.Record{OffsetDelta: int64(i), TimestampDelta: time.Duration(i) * time.Second})
	}
	for _, m := range modify {
		m(b)
	}
	return &sarama.Records{RecordBatch: b}
}

func control(producer int64) func(*sarama.RecordBatch) {
	return func(b *sarama.RecordBatch) { b.Control, b.IsTransactional, b.ProducerID = true, true, producer }
}

func transactional(producer int64) func(*sarama.RecordBatch) {
	return func(b *sarama.RecordBatch) { b.IsTransactional, b.ProducerID = true, producer }
}

func TestFirstDataSkipsTransactionMarkersAndAbortedRecords(t *testing.T) {
	for _, tc := range []struct {
		name   string
		block  *sarama.FetchResponseBlock
		offset int64
		wantAt int64
		wantTS time.Time
		wantOK bool
	}{
		{
			name:   "plain data at the offset",
			block:  &sarama.FetchResponseBlock{RecordsSet: []*sarama.Records{batch(10, 3)}},
			offset: 11, wantAt: 11, wantTS: written.Add(11 * time.Second), wantOK: true,
		},
		{
			name: "a commit marker then nothing: caught up past the marker",
			// A consumer that committed "last record + 1" stands at the marker.
			block:  &sarama.FetchResponseBlock{RecordsSet: []*sarama.Records{batch(0, 5, transactional(7)), batch(5, 1, control(7))}},
			offset: 5, wantAt: 6, wantOK: true,
		},
		{
			name: "an aborted transaction and its marker: nothing to consume",
			block: &sarama.FetchResponseBlock{
				AbortedTransactions: []*sarama.AbortedTransaction{{ProducerID: 7, FirstOffset: 0}},
				RecordsSet:          []*sarama.Records{batch(0, 5, transactional(7)), batch(5, 1, control(7))},
			},
			offset: 0, wantAt: 6, wantOK: true,
		},
		{
			name: "committed data, its marker, then an aborted transaction of the same producer",
			block: &sarama.FetchResponseBlock{
				AbortedTransactions: []*sarama.AbortedTransaction{{ProducerID: 7, FirstOffset: 6}},
				RecordsSet: []*sarama.Records{
					batch(5, 1, control(7)), batch(6, 3, transactional(7)), batch(9, 1, control(7)), batch(10, 2),
				},
			},
			offset: 5, wantAt: 10, wantTS: written.Add(10 * time.Second), wantOK: true,
		},
		{
			name:   "compacted log: a gap counts as offsets, the next record dates it",
			block:  &sarama.FetchResponseBlock{RecordsSet: []*sarama.Records{batch(20, 2)}},
			offset: 15, wantAt: 15, wantTS: written.Add(20 * time.Second), wantOK: true,
		},
		{
			name:   "a batch cut short tells nothing",
			block:  &sarama.FetchResponseBlock{Partial: true},
			offset: 0, wantOK: false,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := firstData(tc.block, tc.offset)
			if ok != tc.wantOK || (ok && (got.DataAt != tc.wantAt || !got.Timestamp.Equal(tc.wantTS))) {
				t.Errorf("firstData at %d = %+v, %v; want DataAt %d written %v, %v", tc.offset, got, ok, tc.wantAt, tc.wantTS, tc.wantOK)
			}
		})
	}
}

func TestAPartitionNamedTwiceIsReadInTwoRounds(t *testing.T) {
	a := TopicPartition{Topic: "orders", Partition: 0}
	b := TopicPartition{Topic: "orders", Partition: 1}
	rounds := onePerPartition([]TopicPartitionOffset{{a, 1}, {b, 4}, {a, 9}})
	if len(rounds) != 2 || len(rounds[0]) != 2 || len(rounds[1]) != 1 || rounds[1][0].Offset != 9 {
		t.Errorf("rounds = %v, want [[a@1 b@4] [a@9]]", rounds)
	}
}
