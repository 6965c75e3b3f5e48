package collector

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// selfMetrics are the poller's own metrics: live instruments updated as
// polls run, unlike the cluster metrics rendered from the snapshot.
type selfMetrics struct {
	up           prometheus.Gauge
	pollDuration prometheus.Histogram
	pollErrors   *prometheus.CounterVec
	lastSuccess  prometheus.Gauge
	requests     *prometheus.CounterVec
	overruns     prometheus.Counter
}

func newSelfMetrics() *selfMetrics {
	s := &selfMetrics{
		up: prometheus.NewGauge(prometheus.GaugeOpts{Name: upMetric.name, Help: upMetric.help}),
		pollDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: pollDurationMet.name, Help: pollDurationMet.help,
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 30, 60},
		}),
		pollErrors:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: pollErrorsMetric.name, Help: pollErrorsMetric.help}, pollErrorsMetric.labels),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: lastSuccessMetric.name, Help: lastSuccessMetric.help}),
		requests:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: requestsMetric.name, Help: requestsMetric.help}, requestsMetric.labels),
		overruns:    prometheus.NewCounter(prometheus.CounterOpts{Name: overrunsMetric.name, Help: overrunsMetric.help}),
	}
	// Every stage's series exists from the start, so rate() and alerts
	// see the first failure as an increase from 0.
	for _, stage := range pollStages {
		s.pollErrors.WithLabelValues(stage)
	}
	return s
}

func (s *selfMetrics) register(reg prometheus.Registerer) error {
	var errs []error
	for _, c := range []prometheus.Collector{s.up, s.pollDuration, s.pollErrors, s.lastSuccess, s.requests, s.overruns} {
		errs = append(errs, reg.Register(c))
	}
	return errors.Join(errs...)
}
