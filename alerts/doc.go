// Package alerts holds lagwatch's Prometheus rule files and their tests.
//
// The rules themselves are YAML beside this file: thresholds.rules.yml (the
// one place for thresholds), recording.rules.yml (series shared by alerts and
// dashboards) and one *.rules.yml per concern. tests/ holds the
// `promtool test rules` cases. The Go tests run promtool on both and check
// the conventions README.md describes: every alert has a severity, summary,
// description, runbook_url and `for`, and its runbook section exists in
// docs/runbooks.md.
package alerts
