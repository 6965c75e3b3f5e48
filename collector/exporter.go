package collector

import (
	"math"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lagwatch/lagwatch/lagcalc"
)

// groupStates are the values of kafka_consumergroup_state: the classic
// protocol's states, then those only the consumer protocol (KIP-848) has.
var groupStates = []string{"Stable", "PreparingRebalance", "CompletingRebalance", "Empty", "Dead", "Assigning", "Reconciling", "NotReady", "Unknown"}

// Exporter is a prometheus.Collector that renders the poller's last
// snapshot. A scrape reads one immutable snapshot and never waits on Kafka.
type Exporter struct {
	source snapshotSource
	opts   ExporterOptions
	// skip holds the metrics ExporterOptions.Exclude drops.
	skip map[*metric]bool
}

// ExporterOptions trade detail for cardinality.
type ExporterOptions struct {
	// MemberDetail adds the per-member assignment series, one per consumer.
	MemberDetail bool
	// TopicGranularity drops the per-partition consumer-group series and
	// keeps the per-topic sums and per-group series: for clusters where
	// one series per group-partition costs more than it tells.
	TopicGranularity bool
	// Exclude drops every metric whose name it matches.
	Exclude *regexp.Regexp
}

type snapshotSource interface {
	Snapshot() *Snapshot
	StaleAfter() time.Duration
	Now() time.Time
}

// NewExporter renders source's snapshots.
func NewExporter(source snapshotSource, opts ExporterOptions) *Exporter {
	skip := map[*metric]bool{}
	for _, m := range allMetrics {
		if opts.Exclude != nil && opts.Exclude.MatchString(m.name) {
			skip[m] = true
		}
	}
	return &Exporter{source: source, opts: opts, skip: skip}
}

// Describe sends the descriptors of the snapshot metrics.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range allMetrics {
		if m.kind != histogram && !isSelfMetric(m) && !e.skip[m] {
			ch <- m.desc
		}
	}
}

func isSelfMetric(m *metric) bool {
	switch m {
	case upMetric, pollDurationMet, pollErrorsMetric, lastSuccessMetric, requestsMetric, overrunsMetric, buildInfoMetric:
		return true
	}
	return false
}

// Collect renders the last snapshot.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	snap := e.source.Snapshot()
	if snap == nil {
		return
	}
	w := writer{ch: ch, skip: e.skip}
	renderCluster(w, snap)
	// Once polls have failed for longer than StaleAfter, the consumer-group
	// series are dropped rather than report frozen lag as current; the
	// cluster's shape changes rarely and stays.
	if e.source.Now().Sub(snap.PolledAt) <= e.source.StaleAfter() {
		renderGroups(w, snap, e.opts)
	}
}

// writer emits const metrics, dropping any value that is not finite or is
// negative where the metric cannot be: whatever Kafka answered, the output
// never carries NaN, Inf or a negative lag.
type writer struct {
	ch   chan<- prometheus.Metric
	skip map[*metric]bool
}

func (w writer) gauge(m *metric, v float64, labels ...string) {
	if math.IsNaN(v) || math.IsInf(v, 0) || w.skip[m] {
		return
	}
	w.ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, v, labels...)
}

// nonNegative emits v only when it is a finite number ≥ 0.
func (w writer) nonNegative(m *metric, v float64, labels ...string) {
	if v < 0 {
		return
	}
	w.gauge(m, v, labels...)
}

func (w writer) counter(m *metric, v float64, labels ...string) {
	if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) || w.skip[m] {
		return
	}
	w.ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, v, labels...)
}

func (w writer) stateSet(m *metric, states []string, current string, labels ...string) {
	if w.skip[m] {
		return
	}
	for _, s := range states {
		v := 0.0
		if s == current {
			v = 1
		}
		w.ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, v, append(labels, s)...)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func renderCluster(w writer, snap *Snapshot) {
	w.gauge(brokersMetric, float64(len(snap.Brokers)))
	for _, b := range snap.Brokers {
		w.gauge(brokerInfoMetric, 1, b.Addr, strconv.Itoa(int(b.ID)))
	}
	w.gauge(clusterOffline, float64(snap.OfflinePartitions))
	w.gauge(clusterUnderReplicated, float64(snap.UnderReplicatedPartitions))
	for _, t := range snap.Topics {
		w.gauge(topicPartitionsMetric, float64(len(t.Partitions)), t.Name)
		if t.DeadLetter {
			w.gauge(topicDeadLetter, 1, t.Name)
		}
		if t.Config.Known {
			w.gauge(topicRetentionMs, float64(t.Config.RetentionMs), t.Name)
			w.gauge(topicRetentionBytes, float64(t.Config.RetentionBytes), t.Name)
			w.gauge(topicMinISR, float64(t.Config.MinInsyncReplicas), t.Name)
		}
		for _, p := range t.Partitions {
			part := strconv.Itoa(int(p.ID))
			if p.HasOffsets {
				w.nonNegative(partitionCurrentOffset, float64(p.LogEnd), t.Name, part)
				w.nonNegative(partitionOldestOffset, float64(p.LogStart), t.Name, part)
			}
			if p.HasProduceRate {
				w.nonNegative(partitionProduceRate, p.ProduceRate, t.Name, part)
			}
			w.gauge(partitionLeader, float64(p.Leader), t.Name, part)
			w.gauge(partitionReplicas, float64(len(p.Replicas)), t.Name, part)
			w.gauge(partitionISR, float64(len(p.ISR)), t.Name, part)
			w.gauge(partitionPreferred, boolValue(p.LeaderIsPreferred()), t.Name, part)
			w.gauge(partitionUnderRepl, boolValue(p.UnderReplicated()), t.Name, part)
			w.gauge(partitionOffline, boolValue(p.Offline()), t.Name, part)
			if t.Config.Known {
				w.gauge(partitionUnderMinISR, boolValue(int64(len(p.ISR)) < t.Config.MinInsyncReplicas), t.Name, part)
			}
		}
	}
}

func renderGroups(w writer, snap *Snapshot, opts ExporterOptions) {
	statuses := statusNames()
	for _, g := range snap.Groups {
		if g.Described {
			w.gauge(groupMembers, float64(len(g.Members)), g.Name)
			state := g.State
			if !contains(groupStates, state) {
				state = "Unknown"
			}
			w.stateSet(groupState, groupStates, state, g.Name)
		}
		if len(g.Partitions) > 0 {
			w.stateSet(groupStatus, statuses, g.Status.String(), g.Name)
			w.nonNegative(groupMaxLagSecs, g.MaxLagSeconds, g.Name)
		}
		for _, gt := range g.Topics {
			w.gauge(groupAssigned, float64(gt.Assigned), g.Name, gt.Topic)
			w.gauge(groupUnassigned, float64(gt.Unassigned), g.Name, gt.Topic)
		}
		if g.Described && g.tracksAssignment() {
			w.gauge(groupIdleMembers, float64(g.IdleMembers), g.Name)
		}
		if opts.MemberDetail {
			for _, m := range g.Members {
				w.gauge(memberAssignments, float64(len(m.Assigned)), g.Name, m.ID, m.ClientID, m.Host)
			}
		}
		renderGroupPartitions(w, g, statuses, opts.TopicGranularity)
	}
}

// renderGroupPartitions renders the per-partition series of a group and
// its per-topic sums; with topicOnly, only the sums.
func renderGroupPartitions(w writer, g Group, statuses []string, topicOnly bool) {
	var (
		topic             string
		offsetSum, lagSum float64
		any               bool
	)
	flush := func() {
		if any {
			w.nonNegative(groupCurrentOffsetSum, offsetSum, g.Name, topic)
			w.nonNegative(groupLagSum, lagSum, g.Name, topic)
		}
		offsetSum, lagSum, any = 0, 0, false
	}
	for _, gp := range g.Partitions {
		if gp.Topic != topic {
			flush()
			topic = gp.Topic
		}
		part := strconv.Itoa(int(gp.Partition))
		labels := []string{g.Name, gp.Topic, part}
		ev := gp.Eval
		if gp.HasCommit() && ev.HasLag {
			any = true
			offsetSum += float64(gp.Committed)
			lagSum += float64(ev.Lag)
		}
		if topicOnly {
			continue
		}
		w.stateSet(groupPartStatus, statuses, ev.Status.String(), labels...)
		if !gp.HasCommit() || !ev.HasLag {
			continue
		}
		w.nonNegative(groupCurrentOffset, float64(gp.Committed), labels...)
		w.nonNegative(groupLag, float64(ev.Lag), labels...)
		w.nonNegative(groupLagSeconds, ev.LagSeconds, labels...)
		if ev.HasExpiredMessages {
			w.nonNegative(groupExpired, float64(ev.ExpiredMessages), labels...)
		}
		w.counter(groupRewinds, float64(ev.Rewinds), labels...)
		if ev.HasConsumeRate {
			w.nonNegative(groupConsumeRate, ev.ConsumeRate, labels...)
		}
		if ev.HasTimeToDrain {
			w.nonNegative(groupTimeToDrain, ev.TimeToDrainSeconds, labels...)
		}
		if ev.HasRetentionHeadroom {
			w.nonNegative(groupHeadroom, ev.RetentionHeadroomSeconds, labels...)
		}
	}
	flush()
}

// statusNames are the values of the partition and group StateSets, in
// lagcalc's fixed order.
func statusNames() []string {
	var names []string
	for _, s := range lagcalc.Statuses() {
		names = append(names, s.String())
	}
	return names
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
