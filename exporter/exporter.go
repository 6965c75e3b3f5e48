package exporter

import (
	"bufio"
	"regexp"
	"time"

	"github.com/lagwatch/lagwatch/collector"
)

// Options trade detail for cardinality.
type Options struct {
	// MemberDetail adds the per-member assignment series, one per consumer.
	MemberDetail bool
	// TopicGranularity drops the per-partition consumer-group series and
	// keeps the per-topic sums and per-group series: for clusters where
	// one series per group-partition costs more than it tells.
	TopicGranularity bool
	// Exclude drops every family whose name it matches: the table's,
	// lagwatch's own, and the Go and process metrics of the registry.
	Exclude *regexp.Regexp
}

// excluded reports whether the options drop the family named name.
func (o Options) excluded(name string) bool {
	return o.Exclude != nil && o.Exclude.MatchString(name)
}

// enabled reports whether f is written at all under the options.
func (o Options) enabled(f *Family) bool {
	switch {
	case o.excluded(f.Name):
		return false
	case f.Level == LevelMember:
		return o.MemberDetail
	case f.Level == LevelGroupPartition:
		return !o.TopicGranularity
	}
	return true
}

// NeedsRecordDating reports whether anything the options export needs the
// timestamps of old records: lag in seconds and retention headroom do.
// Without them the poller skips the Fetch requests that read them.
func (o Options) NeedsRecordDating() bool {
	for _, f := range Table {
		if datedFamilies[f.Name] && o.enabled(f) {
			return true
		}
	}
	return false
}

var datedFamilies = map[string]bool{
	"kafka_consumergroup_lag_seconds":                true,
	"kafka_consumergroup_max_lag_seconds":            true,
	"kafka_consumergroup_retention_headroom_seconds": true,
}

// Source is what the exporter renders: the poller.
type Source interface {
	Snapshot() *collector.Snapshot
	Health() collector.HealthReport
	StaleAfter() time.Duration
	Now() time.Time
}

// Exporter renders the poller's last snapshot and health in the Prometheus
// text format. A scrape reads one immutable snapshot and never waits on
// Kafka.
type Exporter struct {
	source   Source
	opts     Options
	families []*Family
}

// New renders source's snapshots with opts.
func New(source Source, opts Options) *Exporter {
	e := &Exporter{source: source, opts: opts}
	for _, f := range Table {
		if opts.enabled(f) {
			e.families = append(e.families, f)
		}
	}
	return e
}

// Write renders the last snapshot and lagwatch's own families into out,
// one family after the other; the caller flushes. Before the first poll
// only lagwatch's own families are written.
func (e *Exporter) Write(out *bufio.Writer) {
	r := &rendering{snap: e.source.Snapshot(), health: e.source.Health(), opts: e.opts}
	// Once polls have failed for longer than StaleAfter, the consumer-group
	// series are dropped rather than report frozen lag as current; the
	// cluster's shape changes rarely and stays.
	r.fresh = r.snap != nil && e.source.Now().Sub(r.snap.PolledAt) <= e.source.StaleAfter()
	w := newTextWriter(out)
	for _, f := range e.families {
		if f.Level != LevelExporter && (r.snap == nil || (isGroupLevel(f.Level) && !r.fresh)) {
			continue
		}
		w.writeFamily(f, r)
	}
}

func isGroupLevel(l Level) bool {
	return l == LevelGroup || l == LevelGroupTopic || l == LevelGroupPartition || l == LevelMember
}
