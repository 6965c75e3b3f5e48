// Package scrapetest reads a /metrics response the way the tests need it:
// parsed and validated as Prometheus text, one series per key.
package scrapetest

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Series is a scrape as a map from `name{label="value",...}` (labels
// sorted) to the sample value, so tests can ask for one series by name.
type Series map[string]float64

// Scrape requests /metrics the way Prometheus does (gzip accepted),
// checks that the body is valid text format with every series once, and
// flattens it.
func Scrape(t testing.TB, metrics http.Handler) Series {
	t.Helper()
	body := ScrapeBody(t, metrics)
	// Legacy validation: the names Prometheus accepts without quoting.
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the scrape is not valid Prometheus text format: %v", err)
	}
	out := Series{}
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

// ScrapeBody returns the uncompressed /metrics body.
func ScrapeBody(t testing.TB, metrics http.Handler) string {
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

// Key builds a series key from a name and label pairs given in any order.
func Key(name string, labelPairs ...string) string {
	pairs := make([]string, 0, len(labelPairs)/2)
	for i := 0; i+1 < len(labelPairs); i += 2 {
		pairs = append(pairs, fmt.Sprintf("%s=%q", labelPairs[i], labelPairs[i+1]))
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// Value returns the series' value and fails the test when it is missing.
func (s Series) Value(t testing.TB, name string, labelPairs ...string) float64 {
	t.Helper()
	k := Key(name, labelPairs...)
	v, ok := s[k]
	if !ok {
		t.Fatalf("series %s is missing; have:\n%s", k, s.Matching(name))
	}
	return v
}

// Has reports whether the series is in the scrape.
func (s Series) Has(name string, labelPairs ...string) bool {
	_, ok := s[Key(name, labelPairs...)]
	return ok
}

// Mentions reports whether any series carries the given label value.
func (s Series) Mentions(label, value string) bool {
	needle := fmt.Sprintf("%s=%q", label, value)
	for k := range s {
		if strings.Contains(k, needle) {
			return true
		}
	}
	return false
}

// Matching lists the series whose key starts with prefix, one a line.
func (s Series) Matching(prefix string) string {
	var lines []string
	for k, v := range s {
		if strings.HasPrefix(k, prefix) {
			lines = append(lines, fmt.Sprintf("  %s %g", k, v))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
