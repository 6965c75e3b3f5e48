// Package collector runs the poll loop: it asks Kafka (through package
// kafka) what the cluster looks like, joins the answers into one immutable
// Snapshot, hands the offsets to lagcalc for lag, rates and statuses, and
// publishes the snapshot for scrapes to read. It keeps the poller's own
// health (stages, durations, requests) as plain numbers in Health.
//
// It may import kafka and lagcalc; it never imports the Prometheus side
// (package exporter), which reads its snapshots.
package collector
