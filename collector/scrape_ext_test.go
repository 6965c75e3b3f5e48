package collector_test

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/internal/scrapetest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// newMetricsHandler serves /metrics for p the way main does.
func newMetricsHandler(p *collector.Poller, opts exporter.Options) http.Handler {
	return exporter.Handler(exporter.New(p, opts), prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
}

type series = scrapetest.Series

func scrape(t testing.TB, metrics http.Handler) series { return scrapetest.Scrape(t, metrics) }

var key = scrapetest.Key

// newTestPoller polls the shared broker with filters and serves its own
// /metrics.
func newTestPoller(t *testing.T, addr string, filters collector.Filters) (*collector.Poller, http.Handler) {
	t.Helper()
	p, err := collector.NewPoller(collector.Config{
		Servers:        []string{addr},
		Filters:        filters,
		PollInterval:   time.Second,
		RequestTimeout: waitfor.Scaled(time.Second),
		// Seconds, not the default minute, for a partition to sit still
		// before it is stalled or stopped: these tests poll every second
		// in real time. Their groups are stuck before lagwatch ever sees
		// them move, so the threshold is given for every group (as
		// --group.stall-after gives it) rather than left to the cadence
		// warm-up, which waits 15 minutes for a partition never seen to
		// move.
		Lag: lagcalc.Settings{Window: time.Minute, StallAfter: 3 * time.Second,
			GroupStallAfter: []lagcalc.GroupStallAfter{{Pattern: regexp.MustCompile(".*"), StallAfter: 3 * time.Second}}},
	})
	if err != nil {
		t.Fatalf("new poller: %v", err)
	}
	t.Cleanup(p.Close)
	return p, newMetricsHandler(p, exporter.Options{MemberDetail: true})
}

func pollOnce(t *testing.T, p *collector.Poller) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.PollOnce(ctx); err != nil {
		t.Fatalf("poll: %v", err)
	}
}
