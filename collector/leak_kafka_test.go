package collector_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

func TestStoppedPollerLeavesNoGoroutinesBehind(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	before := goleak.IgnoreCurrent()
	p, metrics := newTestPoller(t, addr, collector.Filters{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	within := waitfor.Scaled(30 * time.Second)
	deadline := time.Now().Add(within)
	for scrape(t, metrics)["lagwatch_up{}"] != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no complete poll within %s", within)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	goleak.VerifyNone(t, before)
}
