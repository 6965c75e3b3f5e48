package collector

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/lagcalc"
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

	p, err := NewPoller(Config{Servers: cluster.ListenAddrs(), PollInterval: interval, Lag: lagcalc.Settings{Window: time.Minute}})
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

	health := p.Health()
	count := health.PollDurations.Count
	overruns := float64(health.Overruns)
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

// While no broker answers, polls go on once per interval, never further
// apart, so that lagwatch is current within one interval of the broker's
// return; the failure is logged once, not once per poll.
func TestUnreachableClusterIsPolledEveryIntervalAndLoggedOnce(t *testing.T) {
	const interval = 50 * time.Millisecond
	var logged bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p, err := NewPoller(Config{Servers: []string{"127.0.0.1:1"}, PollInterval: interval, Lag: lagcalc.Settings{Window: time.Minute}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*interval)
	defer cancel()
	p.Run(ctx)

	// One poll per interval gives 40; a back-off doubling up to 4
	// intervals would give about 11.
	if polls := p.Health().PollDurations.Count; polls < 20 || polls > 41 {
		t.Errorf("%d polls of an unreachable cluster in 40 intervals, want between 20 and 41 (one per interval)", polls)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logged.String(), "poll failed"); n != 1 {
		t.Errorf("the same failure was logged %d times, want once:\n%s", n, logged.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
