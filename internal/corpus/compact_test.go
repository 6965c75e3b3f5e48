package corpus

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// On a compacted topic old values of a key are removed, leaving offset
// gaps: lag is still log end − committed (offsets, as every Kafka tool
// counts it), and the age of the oldest unconsumed record is that of the
// first record left at or after the committed offset.
func TestCompactedTopicWithOffsetGapsHasRightLagAgeAndStatus(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	const topic, caughtUp, behind = "compact-topic", "compact-caught-up", "compact-behind"
	str := func(s string) *string { return &s }
	kafkatest.CreateTopic(t, addr, topic, 1, map[string]*string{
		"cleanup.policy":            str("compact"),
		"segment.ms":                str("100"),
		"min.cleanable.dirty.ratio": str("0.01"),
		"min.compaction.lag.ms":     str("0"),
	})
	adm := kafkatest.NewKadm(t, addr)
	prod := producer(t, addr)

	// Overwrite ten keys round after round, plus one key per round that is
	// never overwritten, until the cleaner has compacted a rolled segment:
	// the log then has offset gaps between the records left.
	var hw int64
	var log []*kgo.Record
	rounds := 0
	waitfor.Condition(t, 60*time.Second, "the log cleaner compacts the topic", func() error {
		rs := []*kgo.Record{{Topic: topic, Key: []byte(fmt.Sprintf("kept-%d", rounds)), Value: randomBytes(100)}}
		for k := range 10 {
			rs = append(rs, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("key-%d", k)), Value: randomBytes(100)})
		}
		if err := prod.ProduceSync(t.Context(), rs...).FirstErr(); err != nil {
			return err
		}
		rounds++
		ends, _ := kafkatest.LogEnds(t, adm, topic)
		hw = ends[0]
		log = kafkatest.ReadLog(t, addr, topic, 0, 0, hw, kgo.ReadUncommitted())
		if int64(len(log)) == hw {
			return fmt.Errorf("%d records for %d offsets after %d rounds", len(log), hw, rounds)
		}
		return nil
	})
	present := map[int64]*kgo.Record{}
	for _, r := range log {
		present[r.Offset] = r
	}
	// The first offset compacted away after a record that is left.
	gap := int64(-1)
	for o := int64(1); o < hw; o++ {
		if present[o] == nil && present[o-1] != nil {
			gap = o
			break
		}
	}
	if gap < 0 {
		t.Fatalf("no gap after a record in %d offsets", hw)
	}
	var next *kgo.Record // the first record left at or after the gap
	for o := gap; o < hw && next == nil; o++ {
		next = present[o]
	}
	remaining := 0
	for _, r := range log {
		if r.Offset >= gap {
			remaining++
		}
	}
	t.Logf("compacted after %d rounds: %d records left of %d offsets; first gap at %d, next record at %d, %d records left after it",
		rounds, len(log), hw, gap, next.Offset, remaining)

	startSaramaMember(t, addr, caughtUp, topic, 100*time.Millisecond)
	waitCommitted(t, adm, caughtUp, topic, map[int32]int64{0: hw})
	// A job that read up to the first gap and stopped there.
	memberlessCommit(t, adm, behind, topic, map[int32]int64{0: gap})

	w := newWatcher(t, addr, "compact-", lagSettings{})
	var seqOK, seqBehind []string
	polls := 2 + int(stallWarmUpLimit/w.interval)
	for i := range polls {
		s := w.poll()
		ok, late := find(s, caughtUp, topic, 0), find(s, behind, topic, 0)
		seqOK, seqBehind = append(seqOK, ok.status()), append(seqBehind, late.status())
		if ok.lag() != 0 || (i > 0 && ok.status() != "ok") {
			t.Errorf("poll %d: caught-up consumer: %s, want ok with lag 0", i+1, ok)
		}
		// Offset lag (log end − committed) counts the compacted-away
		// offsets; the records left to read are fewer. Either is a
		// defensible "lag"; nothing outside that range is.
		if late.lag() < int64(remaining) || late.lag() > hw-gap {
			t.Errorf("poll %d: consumer at gap %d: lag %d, want between %d records left and %d offsets (log end %d − committed)",
				i+1, gap, late.lag(), remaining, hw-gap, hw)
		}
		if i == 0 {
			t.Logf("consumer at gap %d: lagwatch lag %d (records left %d, offsets %d, offsets from the first record left %d)",
				gap, late.lag(), remaining, hw-gap, hw-next.Offset)
		}
		if late.found {
			truth := w.Now().Sub(next.Timestamp).Seconds()
			if got := late.part.Eval.LagSeconds; got < truth-w.interval.Seconds() || got > truth+w.interval.Seconds() || late.part.Eval.LagSecondsLowerBound {
				t.Errorf("poll %d: consumer at gap %d: lag_seconds %.1f (lower bound %v), want %.1f ± %v (age of record %d)",
					i+1, gap, got, late.part.Eval.LagSecondsLowerBound, truth, w.interval, next.Offset)
			}
		}
		// Before the warm-up limit has passed, ok or unknown are honest
		// (see the idle topic's dead consumer); stalled and lagging never
		// are.
		if st := late.status(); st == "lagging" || st == "stalled" {
			t.Errorf("poll %d: consumer at gap %d, no members, offset still: %s", i+1, gap, late)
		}
	}
	t.Logf("caught up: %v; stuck at a gap: %v", counts(seqOK), counts(seqBehind))
	if last := seqBehind[len(seqBehind)-1]; last != "stopped" {
		t.Errorf("consumer stuck at the gap with no members since before lagwatch started: %s after %v, want stopped (warm-up limit %v)", last, time.Duration(polls)*w.interval, stallWarmUpLimit)
	}
}
