package collector

import (
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// series is a scrape as a map from `name{label="value",...}` (labels
// sorted) to the sample value, so tests can ask for one series by name.
type series map[string]float64

// newMetricsHandler serves /metrics for p the way main does: the
// snapshot's series and then reg's.
func newMetricsHandler(p *Poller, reg *prometheus.Registry, opts ExporterOptions) http.Handler {
	return Handler(NewExporter(p, opts), reg, slog.New(slog.DiscardHandler))
}

// scrape requests /metrics the way Prometheus does (gzip accepted),
// checks that the body is valid text format with every series once, and
// flattens it.
func scrape(t testing.TB, metrics http.Handler) series {
	t.Helper()
	body := scrapeBody(t, metrics)
	// Legacy validation: the names Prometheus accepts without quoting.
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the scrape is not valid Prometheus text format: %v", err)
	}
	out := series{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			key := seriesKey(mf.GetName(), m.GetLabel())
			if _, dup := out[key]; dup {
				t.Fatalf("series %s appears twice in one scrape", key)
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key+"_count"] = float64(m.GetHistogram().GetSampleCount())
			default:
				out[key] = m.GetUntyped().GetValue()
			}
		}
	}
	return out
}

// scrapeBody returns the uncompressed /metrics body.
func scrapeBody(t testing.TB, metrics http.Handler) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	metrics.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("a scraper accepting gzip got an uncompressed body")
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return string(body)
}

func seriesKey(name string, labels []*dto.LabelPair) string {
	pairs := make([]string, 0, len(labels))
	for _, l := range labels {
		pairs = append(pairs, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// key builds a series key from a name and label pairs given in any order.
func key(name string, labelPairs ...string) string {
	pairs := make([]string, 0, len(labelPairs)/2)
	for i := 0; i+1 < len(labelPairs); i += 2 {
		pairs = append(pairs, fmt.Sprintf("%s=%q", labelPairs[i], labelPairs[i+1]))
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// value returns the series' value and fails the test when it is missing.
func (s series) value(t testing.TB, name string, labelPairs ...string) float64 {
	t.Helper()
	k := key(name, labelPairs...)
	v, ok := s[k]
	if !ok {
		t.Fatalf("series %s is missing; have:\n%s", k, s.matching(name))
	}
	return v
}

func (s series) has(name string, labelPairs ...string) bool {
	_, ok := s[key(name, labelPairs...)]
	return ok
}

// mentions reports whether any series carries the given label value.
func (s series) mentions(label, value string) bool {
	needle := fmt.Sprintf("%s=%q", label, value)
	for k := range s {
		if strings.Contains(k, needle) {
			return true
		}
	}
	return false
}

func (s series) matching(prefix string) string {
	var lines []string
	for k, v := range s {
		if strings.HasPrefix(k, prefix) {
			lines = append(lines, fmt.Sprintf("  %s %g", k, v))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
