// Package dashboards holds lagwatch's Grafana dashboards as JSON, ready to
// import (they declare the DS_PROMETHEUS input) or to provision (a data
// source variable of the same name resolves ${DS_PROMETHEUS} to the default
// Prometheus data source).
//
// Queries lists every PromQL expression of every dashboard, with Grafana's
// template variables replaced by values that select everything, so tests can
// parse them with promtool or run them against a real Prometheus.
package dashboards
