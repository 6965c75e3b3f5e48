package exporter

import (
	"slices"
	"strings"

	"github.com/lagwatch/lagwatch/collector"
)

// The families of lagwatch's per-stage health and of what Kafka allows
// it, written from the poller's HealthReport like its other own families.

// writeStageSuccess writes, per stage that has run, 1 when Kafka answered
// all its requests in the last poll that ran it.
func writeStageSuccess(w *textWriter, h *collector.HealthReport) {
	for _, stage := range stagesRun(h) {
		w.sample(appendLabel(w.labels[:0], "stage", stage), oneIf(h.Stages[stage].Success))
	}
}

// writeStageDone writes, per stage that has run, how long after the start
// of the poll it finished.
func writeStageDone(w *textWriter, h *collector.HealthReport) {
	for _, stage := range stagesRun(h) {
		w.sample(appendLabel(w.labels[:0], "stage", stage), h.Stages[stage].Done.Seconds())
	}
}

// stagesRun lists the stages of h in the order a poll runs them.
func stagesRun(h *collector.HealthReport) []string {
	out := make([]string, 0, len(h.Stages))
	for _, s := range collector.Stages {
		if _, ok := h.Stages[s]; ok {
			out = append(out, s)
		}
	}
	return out
}

// writeAuthorized writes, per permission lagwatch needs, how many
// resources the last poll was allowed (allowed) or denied (!allowed).
// Denials Kafka does not tell (it hides topics the principal may not
// Describe) are not written.
func writeAuthorized(allowed bool) func(*textWriter, *collector.HealthReport) {
	return func(w *textWriter, h *collector.HealthReport) {
		access := slices.Clone(h.Access)
		slices.SortFunc(access, func(a, b collector.Access) int {
			if c := strings.Compare(a.ResourceType, b.ResourceType); c != 0 {
				return c
			}
			return strings.Compare(a.Operation, b.Operation)
		})
		for _, a := range access {
			n := a.Allowed
			if !allowed {
				n = a.Denied
			}
			if n < 0 {
				continue
			}
			l := appendLabel(w.labels[:0], "operation", a.Operation)
			l = appendLabel(l, "resource_type", a.ResourceType)
			w.sample(l, float64(n))
		}
	}
}
