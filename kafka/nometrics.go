package kafka

import (
	"reflect"

	metrics "github.com/rcrowley/go-metrics"
)

// sarama keeps go-metrics meters and histograms of its own: per broker and,
// for every Fetch and produce, per topic. lagwatch exports none of them, yet
// each costs memory for as long as the process runs (the record reads of a
// cluster with 100,000 topics would register meters for each), and every
// meter is ticked by go-metrics' background goroutine every five seconds.
// So sarama's metrics are off: nil meters, and a registry that keeps
// nothing.
func init() { metrics.UseNilMetrics = true }

// discardMetrics is a go-metrics registry that registers nothing: every
// lookup builds a (nil, with UseNilMetrics) metric and forgets it.
type discardMetrics struct{}

var _ metrics.Registry = discardMetrics{}

func (discardMetrics) Each(func(string, any))            {}
func (discardMetrics) Get(string) any                    { return nil }
func (discardMetrics) GetAll() map[string]map[string]any { return nil }
func (discardMetrics) Register(string, any) error        { return nil }
func (discardMetrics) RunHealthchecks()                  {}
func (discardMetrics) Unregister(string)                 {}
func (discardMetrics) UnregisterAll()                    {}

// GetOrRegister returns the metric, building it when given its constructor
// (a function without arguments), as go-metrics' own registry does for a
// name it has not seen.
func (discardMetrics) GetOrRegister(_ string, metric any) any {
	if build := reflect.ValueOf(metric); build.Kind() == reflect.Func {
		return build.Call(nil)[0].Interface()
	}
	return metric
}
