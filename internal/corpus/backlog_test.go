package corpus

import (
	"math"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

// A backlog three hours old, in batches of about 120 KB (each larger than
// what a Fetch gives any partition but the first, KIP-74), on 8 partitions
// of the one broker, drained slowly by a job: every partition's lag_seconds
// must be the age of the record at its committed offset, to within one poll
// interval, in the first poll and at every poll while it drains.
func TestThreeHourBacklogOfLargeBatchesOnEightPartitionsIsDatedRightOnEveryPartitionWhileDraining(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	const topic, group = "backlog-topic", "backlog-drainer"
	const partitions, batches, perBatch, size = 8, 6, 100, 1200
	kafkatest.CreateTopic(t, addr, topic, partitions, nil)
	adm := kafkatest.NewKadm(t, addr)
	// No compression and a linger: each ProduceSync below becomes one
	// uncompressed batch per partition of perBatch × size bytes.
	prod := producer(t, addr,
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerLinger(50*time.Millisecond),
		kgo.ProducerBatchMaxBytes(4<<20))
	start := time.Now().Add(-3 * time.Hour)
	for b := range batches {
		var rs []*kgo.Record
		for p := range int32(partitions) {
			for i := range perBatch {
				ts := start.Add(time.Duration(b)*20*time.Minute + time.Duration(i)*time.Second + time.Duration(p)*time.Minute)
				rs = append(rs, &kgo.Record{Topic: topic, Partition: p, Timestamp: ts, Value: randomBytes(size)})
			}
		}
		if err := prod.ProduceSync(t.Context(), rs...).FirstErr(); err != nil {
			t.Fatalf("produce batch %d: %v", b, err)
		}
	}

	// The truth, from the records themselves: each offset's timestamp.
	hw, _ := kafkatest.LogEnds(t, adm, topic)
	stamps := map[int32][]time.Time{}
	for p := range int32(partitions) {
		if hw[p] != batches*perBatch {
			t.Fatalf("partition %d: high watermark %d, want %d", p, hw[p], batches*perBatch)
		}
		for _, r := range kafkatest.ReadLog(t, addr, topic, p, 0, hw[p], kgo.ReadUncommitted()) {
			stamps[p] = append(stamps[p], r.Timestamp)
		}
		if len(stamps[p]) != int(hw[p]) {
			t.Fatalf("partition %d: read %d records of %d", p, len(stamps[p]), hw[p])
		}
	}

	// The job commits 0 before lagwatch first polls, then 37 more records
	// per partition each interval: it crosses a batch boundary every 2 to 3
	// polls and lands inside batches in between.
	committed := map[int32]int64{}
	for p := range int32(partitions) {
		committed[p] = 0
	}
	memberlessCommit(t, adm, group, topic, committed)
	w := newWatcher(t, addr, "backlog-", lagSettings{})
	var worst float64
	for i := range 16 {
		s := w.poll()
		var ages, truths []float64
		for p := range int32(partitions) {
			v := find(s, group, topic, p)
			truth := w.Now().Sub(stamps[p][committed[p]]).Seconds()
			truths = append(truths, math.Round(truth))
			if !v.found || !v.part.Eval.HasLag {
				t.Errorf("poll %d partition %d: no lag: %s", i+1, p, v)
				ages = append(ages, math.NaN())
				continue
			}
			got := v.part.Eval.LagSeconds
			ages = append(ages, math.Round(got))
			worst = max(worst, math.Abs(got-truth))
			if math.Abs(got-truth) > w.interval.Seconds() || v.part.Eval.LagSecondsLowerBound {
				t.Errorf("poll %d partition %d (committed %d): lag_seconds %.1f (lower bound %v), want %.1f ± %v",
					i+1, p, committed[p], got, v.part.Eval.LagSecondsLowerBound, truth, w.interval)
			}
		}
		if i == 0 || i == 15 {
			t.Logf("poll %d: lag_seconds %v, truth %v", i+1, ages, truths)
		}
		for p := range int32(partitions) {
			committed[p] += 37
		}
		memberlessCommit(t, adm, group, topic, committed)
	}
	t.Logf("largest |lag_seconds − truth| over 16 polls × %d partitions: %.1f s (allowed %v)", partitions, worst, w.interval)
}
