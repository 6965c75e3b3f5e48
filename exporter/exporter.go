package exporter

import (
	"bufio"
	"regexp"
	"sync/atomic"
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
	// Shard is this replica's part of the work: every shard writes the
	// consumer groups its poller keeps (collector.Filters.Shard), and only
	// shard 0 the brokers, topics and partitions.
	Shard collector.Shard
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

// Source is what the exporter renders for one cluster: its poller.
type Source interface {
	Snapshot() *collector.Snapshot
	Health() collector.HealthReport
	StaleAfter() time.Duration
	// Stale reports whether the snapshot's Kafka-derived series are no
	// longer to be served at the given time (collector.Poller.Stale).
	Stale(now time.Time) bool
	Now() time.Time
}

// Cluster is one polled cluster: its source and the constant labels on
// each of its series (cluster="…" from --config.file, --kafka.labels).
type Cluster struct {
	Source Source
	Labels []Label
}

// Exporter renders the last snapshot and health of each cluster in the
// Prometheus text format. A scrape reads one immutable snapshot per
// cluster and never waits on Kafka.
type Exporter struct {
	opts     Options
	families []*Family
	// clusters are replaced whole when --config.file is reloaded; a scrape
	// renders the set it loaded first.
	clusters atomic.Pointer[[]cluster]
	reload   atomic.Pointer[ConfigReload]
}

type cluster struct {
	source      Source
	constLabels []byte
}

// ConfigReload is the outcome of the last load of --config.file.
type ConfigReload struct {
	Successful bool
	// LastSuccess is when a configuration was last loaded successfully.
	LastSuccess time.Time
}

// New renders one source's snapshots with opts, without constant labels.
func New(source Source, opts Options) *Exporter {
	return NewClusters(opts, Cluster{Source: source})
}

// NewClusters renders the snapshots of each cluster with opts.
func NewClusters(opts Options, clusters ...Cluster) *Exporter {
	e := &Exporter{opts: opts}
	for _, f := range Table {
		if opts.enabled(f) {
			e.families = append(e.families, f)
		}
	}
	e.SetClusters(clusters)
	return e
}

// SetClusters replaces the clusters rendered from the next scrape on, in
// the order given.
func (e *Exporter) SetClusters(clusters []Cluster) {
	cs := make([]cluster, len(clusters))
	for i, c := range clusters {
		cs[i] = cluster{source: c.Source, constLabels: appendConstLabels(nil, c.Labels)}
	}
	e.clusters.Store(&cs)
}

// SetConfigReload records the outcome of a load of --config.file; from the
// first call on, lagwatch_config_last_reload_successful is written.
func (e *Exporter) SetConfigReload(r ConfigReload) { e.reload.Store(&r) }

// Write renders each cluster's last snapshot and lagwatch's own families
// into out, one family after the other with the series of every cluster
// together, as the text format wants; the caller flushes. Before a
// cluster's first poll only its lagwatch_* series are written.
func (e *Exporter) Write(out *bufio.Writer) {
	clusters := *e.clusters.Load()
	renderings := make([]rendering, len(clusters))
	for i, c := range clusters {
		r := &renderings[i]
		*r = rendering{snap: c.source.Snapshot(), health: c.source.Health(), opts: e.opts}
		// Once polls have failed for longer than StaleAfter, every
		// Kafka-derived series is dropped, the cluster's shape and log
		// offsets as well as the groups', rather than report frozen
		// figures as current: one rule for all. lagwatch's own series
		// (lagwatch_up 0, the last successful poll) say why. A poll
		// that is slow, not failed, drops nothing (Poller.Stale).
		r.fresh = r.snap != nil && !c.source.Stale(c.source.Now())
		// A snapshot too old to serve is blindness, whatever the last
		// finished poll said: the poll that will report the failure may
		// still be waiting on a dead broker. lagwatch_up 0 goes out in
		// the very scrape that drops the series, so no scrape ever shows
		// them gone while lagwatch_up reads 1, which is what the alert
		// rules' hold of the last known status relies on.
		if !r.fresh {
			r.health.Up = false
		}
	}
	process := rendering{opts: e.opts, reload: e.reload.Load()}
	w := newTextWriter(out)
	for _, f := range e.families {
		w.startFamily(f)
		if f.Level == LevelProcess {
			w.writeSeries(&process, nil)
			continue
		}
		if !e.opts.Shard.ServesCluster() && isTopologyLevel(f.Level) {
			// Only shard 0 writes what every shard sees alike (brokers,
			// topics, partitions), so that a sum over the shards counts it
			// once.
			continue
		}
		for i := range renderings {
			r := &renderings[i]
			if f.Level != LevelExporter && !r.fresh {
				continue
			}
			w.writeSeries(r, clusters[i].constLabels)
		}
	}
}

// isTopologyLevel reports whether l describes the cluster's shape and
// logs, which every shard sees alike, rather than a group, which one
// shard owns.
func isTopologyLevel(l Level) bool {
	return l == LevelCluster || l == LevelBroker || l == LevelTopic || l == LevelPartition
}
