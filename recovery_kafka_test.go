package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// pollCount is lagwatch_poll_duration_seconds_count: the polls so far.
func pollCount(base string) (int, error) {
	r, err := get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(r.body, "\n") {
		if v, ok := strings.CutPrefix(l, "lagwatch_poll_duration_seconds_count "); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("no lagwatch_poll_duration_seconds_count")
}

// After an outage of many poll intervals, lagwatch polls once per interval
// all along (no back-off), so it is up within about one interval of the
// broker's return, not up to four.
func TestAfterAnOutageLagwatchIsUpWithinAPollIntervalOfTheBrokersReturn(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	const interval = 3 * time.Second
	base := startExporter(t, "--kafka.server="+addr, "--kafka.poll-interval="+interval.String(), "--lag.window=1m", "--lag.stall-after=1m", "--group.filter=^none$")
	waitfor.Condition(t, 30*time.Second, "lagwatch is up", func() error { return metricLine(base, "lagwatch_up 1") })

	if err := broker.Kill(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = broker.Restart()
		}
	})
	waitfor.Condition(t, 30*time.Second, "lagwatch sees the outage", func() error { return metricLine(base, "lagwatch_up 0") })
	before, err := pollCount(base)
	if err != nil {
		t.Fatal(err)
	}
	outage := 5 * interval
	time.Sleep(outage) // the outage itself: what is measured is lagwatch's polling through it
	during, err := pollCount(base)
	if err != nil {
		t.Fatal(err)
	}
	if err := broker.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	back := time.Now()
	waitfor.Condition(t, 60*time.Second, "lagwatch is up again", func() error { return metricLine(base, "lagwatch_up 1") })
	took := time.Since(back)
	t.Logf("%d polls during a %v outage at a %v interval; up %v after the broker was ready", during-before, outage, interval, took.Round(100*time.Millisecond))
	if during-before < 3 {
		t.Errorf("%d polls in %v of outage at a %v interval: polls backed off", during-before, outage, interval)
	}
	if took > 2*interval+2*time.Second {
		t.Errorf("up %v after the broker's return, want within about one interval (%v)", took, interval)
	}
}
