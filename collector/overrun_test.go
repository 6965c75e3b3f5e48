package collector

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A poll slower than the interval delays the next one instead of running
// beside it, and is counted: polls piling up on a slow cluster would
// multiply the load on it exactly when it can least take it.
func TestPollSlowerThanTheIntervalDelaysTheNextAndIsCounted(t *testing.T) {
	const (
		interval  = 20 * time.Millisecond
		slowness  = 150 * time.Millisecond
		wantPolls = 4
	)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	// Every poll starts with one Metadata request; kfake answers it after
	// a delay, making each poll take longer than the interval.
	var metadataRequests atomic.Int64
	cluster.ControlKey(int16(kmsg.Metadata), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		metadataRequests.Add(1)
		time.Sleep(slowness)
		return nil, nil, false
	})

	reg := prometheus.NewRegistry()
	p, err := NewPoller(Config{Servers: cluster.ListenAddrs(), PollInterval: interval, LagWindow: time.Minute}, reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	started := time.Now()
	go func() { defer close(done); p.Run(ctx) }()
	for metadataRequests.Load() < wantPolls+1 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	elapsed := time.Since(started)

	count := histogramCount(t, p.self.pollDuration)
	overruns := testutil.ToFloat64(p.self.overruns)
	if count < wantPolls {
		t.Fatalf("%d polls, want at least %d", count, wantPolls)
	}
	// Back to back at best: n polls of at least `slowness` each fit in the
	// elapsed time only if none ran beside another.
	if maxPolls := uint64(elapsed/slowness) + 1; count > maxPolls {
		t.Errorf("%d polls in %v, more than %d sequential ones fit: polls overlapped", count, elapsed, maxPolls)
	}
	// Every completed poll overran; the last may have been cut by cancel.
	if overruns < float64(count-1) {
		t.Errorf("lagwatch_polls_overrun_total = %v after %d polls each slower than the interval", overruns, count)
	}
}

func histogramCount(t *testing.T, h prometheus.Histogram) uint64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(h)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return families[0].GetMetric()[0].GetHistogram().GetSampleCount()
}
