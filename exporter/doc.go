// Package exporter is the Prometheus side of lagwatch: the metric table
// (every family's name, type, help, labels, level and value), the writer
// that streams a collector.Snapshot in the Prometheus text format, the
// /metrics handler, and the rendering of the poller's own health.
//
// It reads collector's snapshots and lagcalc's result types; it never
// talks to Kafka and nothing upstream imports it.
package exporter
