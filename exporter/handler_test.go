package exporter

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

func sampleHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	e := New(fixedSource{snap: sampleSnapshot(), now: t0, staleAfter: 1 << 62}, Options{MemberDetail: true})
	return Handler(e, reg, slog.New(slog.DiscardHandler))
}

func get(h http.Handler, method, acceptEncoding string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/metrics", nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestScrapeIsGzippedOnlyWhenTheClientAcceptsIt(t *testing.T) {
	cases := map[string]bool{
		"":                     false,
		"gzip":                 true,
		"identity":             false,
		"deflate, gzip;q=0.5":  true,
		"gzip;q=0":             false,
		"GZIP":                 true,
		"br, *":                true,
		"gzip ; q=0.000, zstd": false,
	}
	for accept, gzipped := range cases {
		rec := get(sampleHandler(), http.MethodGet, accept)
		if got := rec.Header().Get("Content-Encoding") == "gzip"; got != gzipped {
			t.Errorf("Accept-Encoding %q: gzipped %v, want %v", accept, got, gzipped)
		}
		if !gzipped && !strings.Contains(rec.Body.String(), "kafka_brokers 2\n") {
			t.Errorf("Accept-Encoding %q: plain body lacks the snapshot:\n%.300s", accept, rec.Body)
		}
	}
}

func TestScrapeServesTheSnapshotAndTheRegistryTogether(t *testing.T) {
	s := scrape(t, sampleHandler())
	if s.Value(t, "kafka_consumergroup_lag", "consumergroup", "billing", "topic", "orders", "partition", "0") != 10 {
		t.Errorf("snapshot lag wrong")
	}
	if !s.Has("go_goroutines") {
		t.Errorf("the registry's metrics are missing from the scrape")
	}
}

func TestHeadRequestSendsHeadersOnly(t *testing.T) {
	rec := get(sampleHandler(), http.MethodHead, "gzip")
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD: %d with %d body bytes", rec.Code, rec.Body.Len())
	}
}

func TestLabelValuesAreEscapedAndMadeValidUTF8(t *testing.T) {
	snap := sampleSnapshot()
	// Kafka takes any bytes in a group name; Prometheus takes UTF-8 with
	// backslash, quote and newline escaped.
	snap.Groups[0].Name = "quote\" back\\slash new\nline bad\xffbyte"
	e := New(fixedSource{snap: snap, now: t0, staleAfter: 1 << 62}, Options{})
	s := scrape(t, Handler(e, prometheus.NewRegistry(), slog.New(slog.DiscardHandler)))
	if got := s.Value(t, "kafka_consumergroup_lag", "consumergroup", "quote\" back\\slash new\nline bad\uFFFDbyte", "topic", "orders", "partition", "0"); got != 10 {
		t.Errorf("lag of the oddly named group = %v, want 10", got)
	}
}

// promtool's linter is what Prometheus users run on an exporter's output:
// naming, units, help text, counters ending in _total. The metrics that
// keep kafka_exporter's names keep its lint findings too (lag_sum is a
// gauge, not a summary's sum); nothing else may have any.
func TestScrapePassesPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if testing.Short() {
			t.Skip("promtool not installed; make test installs it")
		}
		t.Fatal("promtool not installed; make test installs it")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(scrapeBody(t, sampleHandler()))
	out, _ := cmd.CombinedOutput()
	for _, finding := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, _, _ := strings.Cut(finding, " ")
		if finding == "" || isCompatible(name) {
			continue
		}
		t.Errorf("promtool check metrics: %s", finding)
	}
}

func isCompatible(name string) bool {
	for _, f := range Table {
		if f.Name == name {
			return f.Compatible
		}
	}
	return false
}
