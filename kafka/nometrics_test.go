package kafka

import (
	"testing"

	metrics "github.com/rcrowley/go-metrics"
)

// TestSaramaKeepsNoMetrics: the meters sarama registers per topic and per
// broker are nil ones, and the registry keeps none of them, so a cluster's
// topic count does not grow lagwatch's heap through them.
func TestSaramaKeepsNoMetrics(t *testing.T) {
	registry := NewSaramaConfig().MetricRegistry
	meter := metrics.GetOrRegisterMeter("consumer-fetch-rate-for-topic-orders", registry)
	if _, isNil := meter.(metrics.NilMeter); !isNil {
		t.Errorf("sarama's per-topic meter is a %T, want a nil meter", meter)
	}
	histogram := registry.GetOrRegister("request-size", func() metrics.Histogram {
		return metrics.NewHistogram(metrics.NewExpDecaySample(1028, 0.015))
	})
	if _, isNil := histogram.(metrics.NilHistogram); !isNil {
		t.Errorf("sarama's histogram is a %T, want a nil histogram", histogram)
	}
	if kept := registry.Get("consumer-fetch-rate-for-topic-orders"); kept != nil {
		t.Errorf("the registry kept %T", kept)
	}
}
