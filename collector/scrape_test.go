package collector

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// series is a scrape as a map from `name{label="value",...}` (labels
// sorted) to the sample value, so tests can ask for one series by name.
type series map[string]float64

// scrape gathers reg the way a Prometheus scrape would and flattens it.
func scrape(t testing.TB, reg prometheus.Gatherer) series {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := series{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			key := seriesKey(mf.GetName(), m.GetLabel())
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
