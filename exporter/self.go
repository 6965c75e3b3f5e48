package exporter

import (
	"runtime"
	"slices"
	"strconv"

	"github.com/prometheus/common/version"

	"github.com/lagwatch/lagwatch/collector"
)

// exporterFamily is one of lagwatch's own families, written from the
// poller's health whether or not a snapshot exists.
func exporterFamily(name, typ, help string, labels []string, write func(*textWriter, *collector.HealthReport)) *Family {
	return &Family{Name: name, Type: typ, Help: help, Labels: labels, Level: LevelExporter,
		write: func(w *textWriter, r *rendering) { write(w, &r.health) }}
}

func buildInfoFamily() *Family {
	labels := []string{"version", "revision", "branch", "goversion", "goos", "goarch", "tags"}
	return &Family{
		Name: "lagwatch_build_info", Type: gauge, Labels: labels, Level: LevelProcess,
		Help: "A metric with a constant '1' value labeled by version, revision, branch, goversion from which lagwatch was built, and the goos and goarch for the build.",
		write: func(w *textWriter, _ *rendering) {
			values := []string{version.Version, version.GetRevision(), version.Branch, version.GoVersion, runtime.GOOS, runtime.GOARCH, version.GetTags()}
			l := w.labels[:0]
			for i, name := range labels {
				l = appendLabel(l, name, values[i])
			}
			w.sample(l, 1)
		},
	}
}

// processFamily is one of lagwatch's families about the process itself.
func processFamily(name, typ, help string, labels []string, write func(*textWriter, *rendering)) *Family {
	return &Family{Name: name, Type: typ, Help: help, Labels: labels, Level: LevelProcess, write: write}
}

func writeShardInfo(w *textWriter, r *rendering) {
	shard := r.opts.Shard
	w.sample(appendLabel(appendLabel(w.labels[:0], "shard", strconv.Itoa(shard.Index)), "shards", strconv.Itoa(max(shard.Count, 1))), 1)
}

func writeConfigReloadSuccessful(w *textWriter, r *rendering) {
	if r.reload != nil {
		w.sample(nil, oneIf(r.reload.Successful))
	}
}

func writeConfigReloadTimestamp(w *textWriter, r *rendering) {
	if r.reload != nil && !r.reload.LastSuccess.IsZero() {
		w.sample(nil, float64(r.reload.LastSuccess.UnixNano())/1e9)
	}
}

// writeByLabel writes one sample per key, labelled by it, in keys' order.
func writeByLabel(w *textWriter, label string, keys []string, counts map[string]uint64) {
	for _, k := range keys {
		w.sample(appendLabel(w.labels[:0], label, k), float64(counts[k]))
	}
}

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// writeHistogram writes a histogram's cumulative buckets, +Inf, sum and
// count.
func writeHistogram(w *textWriter, h *collector.Histogram) {
	for i, bound := range h.Bounds {
		w.sampleWithSuffix("_bucket", appendLabel(w.labels[:0], "le", strconv.FormatFloat(bound, 'g', -1, 64)), float64(h.Counts[i]))
	}
	w.sampleWithSuffix("_bucket", appendLabel(w.labels[:0], "le", "+Inf"), float64(h.Count))
	w.sampleWithSuffix("_sum", nil, h.Sum)
	w.sampleWithSuffix("_count", nil, float64(h.Count))
}
