package collector_test

import (
	"math"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

// The age lagwatch reports for the oldest unconsumed message is compared
// with the true age computed from the record timestamps Kafka stored.

func TestBacklogOlderThanTheWindowReadsItsTrueAge(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	// Retention far beyond the test's old timestamps, so Kafka keeps them.
	week := "604800000"
	kafkatest.CreateTopic(t, addr, "age-backlog", 1, map[string]*string{"retention.ms": &week})
	written := time.Now().Add(-3 * time.Hour).Truncate(time.Millisecond)
	stamps := []time.Time{written.Add(-time.Minute), written, written.Add(time.Minute), written.Add(2 * time.Minute)}
	kafkatest.ProduceAt(t, addr, "age-backlog", 0, stamps)
	// The group read the first record; the oldest unconsumed is offset 1.
	kafkatest.CommitOffsets(t, addr, "age-group", map[string]map[int32]int64{"age-backlog": {0: 1}})

	p, metrics := newTestPoller(t, addr, collector.Filters{})
	pollOnce(t, p)
	s := scrape(t, metrics)
	got := s.Value(t, "kafka_consumergroup_lag_seconds", "consumergroup", "age-group", "topic", "age-backlog", "partition", "0")
	want := time.Since(written).Seconds()
	// The history holds one poll; only the record's own timestamp can say
	// three hours.
	if math.Abs(got-want) > 5 {
		t.Errorf("lag seconds = %.0f, want the record's true age %.0f", got, want)
	}
}

func TestLagSecondsIsWithinOnePollIntervalOfTheTrueAge(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	kafkatest.CreateTopic(t, addr, "age-live", 1, nil)
	kafkatest.CommitOffsets(t, addr, "age-live-group", map[string]map[int32]int64{"age-live": {0: 0}})
	p, metrics := newTestPoller(t, addr, collector.Filters{})
	const pollInterval = 500 * time.Millisecond

	// The interval that bounds the error is the one the polls really had:
	// on a busy machine a poll itself takes a while, and the gap between
	// two polls' starts grows past pollInterval.
	var last time.Time
	var widest time.Duration
	pollPaced := func() {
		if !last.IsZero() {
			widest = max(widest, time.Since(last))
		}
		last = time.Now()
		pollOnce(t, p)
		time.Sleep(pollInterval)
	}
	// History starts before the message: the log end is 0 for a while.
	for range 4 {
		pollPaced()
	}
	written := time.Now()
	kafkatest.Produce(t, addr, "age-live", 0, 1)
	for range 6 {
		pollPaced()
	}
	widest = max(widest, time.Since(last))
	pollOnce(t, p)
	got := scrape(t, metrics).Value(t, "kafka_consumergroup_lag_seconds", "consumergroup", "age-live-group", "topic", "age-live", "partition", "0")
	want := time.Since(written).Seconds()
	if math.Abs(got-want) > widest.Seconds()+0.5 {
		t.Errorf("lag seconds = %.2f, want %.2f ± one poll interval (the widest was %s)", got, want, widest.Round(time.Millisecond))
	}
}
