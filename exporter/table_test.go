package exporter

import (
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lagwatch/lagwatch/collector"
)

// healthySource is fixedSource with a poller health to render.
type healthySource struct {
	fixedSource
	health collector.HealthReport
}

func (h healthySource) Health() collector.HealthReport { return h.health }

func sampleHealth() collector.HealthReport {
	return collector.HealthReport{
		Up:          true,
		LastSuccess: t0,
		PollErrors:  map[string]uint64{collector.StageMetadata: 0, collector.StageLogOffsets: 2},
		Requests:    map[string]uint64{"Metadata": 7, "ListOffsets": 21},
		Overruns:    1,
		PollDurations: collector.Histogram{
			Bounds: []float64{0.1, 1}, Counts: []uint64{3, 5}, Count: 6, Sum: 9.5,
		},
	}
}

func TestLagwatchsOwnFamiliesComeFromThePollersHealth(t *testing.T) {
	src := healthySource{fixedSource{snap: sampleSnapshot(), now: t0, staleAfter: time.Minute}, sampleHealth()}
	s := scrape(t, Handler(New(src, Options{}), prometheus.NewRegistry(), slog.New(slog.DiscardHandler)))
	for k, want := range map[string]float64{
		key("lagwatch_up"): 1,
		key("lagwatch_last_successful_poll_timestamp_seconds"):          float64(t0.Unix()),
		key("lagwatch_poll_errors_total", "stage", "log_offsets"):       2,
		key("lagwatch_poll_errors_total", "stage", "committed_offsets"): 0,
		key("lagwatch_kafka_requests_total", "api", "ListOffsets"):      21,
		key("lagwatch_polls_overrun_total"):                             1,
		key("lagwatch_poll_duration_seconds") + "_count":                6,
	} {
		if got, ok := s[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if !strings.Contains(scrapeBody(t, Handler(New(src, Options{}), prometheus.NewRegistry(), slog.New(slog.DiscardHandler))), `lagwatch_poll_duration_seconds_bucket{le="+Inf"} 6`) {
		t.Errorf("the poll duration histogram lacks its +Inf bucket")
	}
}

func TestMetricExcludeCoversEveryFamilyIncludingGoAndProcessMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	exclude := regexp.MustCompile(`^(?:go_.*|lagwatch_.*|kafka_brokers)$`)
	src := healthySource{fixedSource{snap: sampleSnapshot(), now: t0, staleAfter: time.Minute}, sampleHealth()}
	s := scrape(t, Handler(New(src, Options{Exclude: exclude}), reg, slog.New(slog.DiscardHandler)))
	for k := range s {
		name, _, _ := strings.Cut(k, "{")
		if exclude.MatchString(strings.TrimSuffix(name, "_count")) {
			t.Errorf("excluded series %s rendered", k)
		}
	}
	if !s.Has("kafka_topic_partitions", "topic", "orders") {
		t.Errorf("a family not excluded is missing")
	}
}

func TestRecordDatingIsNeededOnlyWhileAFamilyThatUsesItIsExported(t *testing.T) {
	for _, tc := range []struct {
		exclude string
		want    bool
	}{
		{"", true},
		{"kafka_consumergroup_lag_seconds", true},
		{"kafka_consumergroup_(lag_seconds|max_lag_seconds|retention_headroom_seconds)", false},
	} {
		opts := Options{}
		if tc.exclude != "" {
			opts.Exclude = regexp.MustCompile("^(?:" + tc.exclude + ")$")
		}
		if got := opts.NeedsRecordDating(); got != tc.want {
			t.Errorf("exclude %q: NeedsRecordDating = %v, want %v", tc.exclude, got, tc.want)
		}
	}
}

func TestEveryFamilyHasAUniqueNameAndALevel(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Table {
		if seen[f.Name] || f.Level == "" || f.Help == "" || f.write == nil {
			t.Errorf("family %q: duplicate %v, level %q, help %q, writer %v", f.Name, seen[f.Name], f.Level, f.Help, f.write != nil)
		}
		seen[f.Name] = true
	}
}
