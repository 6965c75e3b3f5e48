package collector

import (
	"bufio"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/lagwatch/lagwatch/lagcalc"
)

// groupStates are the values of kafka_consumergroup_state: the classic
// protocol's states, then those only the consumer protocol (KIP-848) has.
var groupStates = []string{"Stable", "PreparingRebalance", "CompletingRebalance", "Empty", "Dead", "Assigning", "Reconciling", "NotReady", "Unknown"}

// Exporter renders the poller's last snapshot in the Prometheus text
// format. A scrape reads one immutable snapshot and never waits on Kafka.
type Exporter struct {
	source snapshotSource
	opts   ExporterOptions
	// skip holds the metrics ExporterOptions.Exclude drops.
	skip map[*metric]bool

	statuses         []string
	statusLabels     [][]byte
	groupStateLabels [][]byte
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
	statuses := statusNames()
	return &Exporter{
		source: source, opts: opts, skip: skip,
		statuses:         statuses,
		statusLabels:     stateLabelPairs("status", statuses),
		groupStateLabels: stateLabelPairs("state", groupStates),
	}
}

// Write renders the last snapshot into out, one metric family after the
// other; the caller flushes. Nothing is written before the first poll.
func (e *Exporter) Write(out *bufio.Writer) {
	snap := e.source.Snapshot()
	if snap == nil {
		return
	}
	w := newTextWriter(out, e.skip)
	renderCluster(w, snap)
	// Once polls have failed for longer than StaleAfter, the consumer-group
	// series are dropped rather than report frozen lag as current; the
	// cluster's shape changes rarely and stays.
	if e.source.Now().Sub(snap.PolledAt) <= e.source.StaleAfter() {
		e.renderGroups(w, snap)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// quantity is a measurement that cannot be negative: it is written when
// it is known and ≥ 0, whatever Kafka answered.
func quantity(v float64, known bool) (float64, bool) {
	return v, known && v >= 0
}

func always(v float64) (float64, bool) { return v, true }

// partitionSeries are the per-partition families, in the order written.
var partitionSeries = []struct {
	m     *metric
	value func(t *Topic, p *Partition) (float64, bool)
}{
	{partitionCurrentOffset, func(_ *Topic, p *Partition) (float64, bool) { return quantity(float64(p.LogEnd), p.HasOffsets) }},
	{partitionOldestOffset, func(_ *Topic, p *Partition) (float64, bool) { return quantity(float64(p.LogStart), p.HasOffsets) }},
	{partitionLeader, func(_ *Topic, p *Partition) (float64, bool) { return always(float64(p.Leader)) }},
	{partitionReplicas, func(_ *Topic, p *Partition) (float64, bool) { return always(float64(len(p.Replicas))) }},
	{partitionISR, func(_ *Topic, p *Partition) (float64, bool) { return always(float64(len(p.ISR))) }},
	{partitionPreferred, func(_ *Topic, p *Partition) (float64, bool) { return always(boolValue(p.LeaderIsPreferred())) }},
	{partitionUnderRepl, func(_ *Topic, p *Partition) (float64, bool) { return always(boolValue(p.UnderReplicated())) }},
	{partitionUnderMinISR, func(t *Topic, p *Partition) (float64, bool) {
		return boolValue(int64(len(p.ISR)) < t.Config.MinInsyncReplicas), t.Config.Known
	}},
	{partitionOffline, func(_ *Topic, p *Partition) (float64, bool) { return always(boolValue(p.Offline())) }},
	{partitionProduceRate, func(_ *Topic, p *Partition) (float64, bool) { return quantity(p.ProduceRate, p.HasProduceRate) }},
}

// familyOf is one metric family with one sample per item (topic, group)
// that has a value.
type familyOf[T any] struct {
	m     *metric
	value func(*T) (float64, bool)
}

// writeSeries writes each family of table over items, labelled by one
// label.
func writeSeries[T any](w *textWriter, table []familyOf[T], items []T, label string, labelValue func(*T) string) {
	var labels []byte
	for _, s := range table {
		for i := range items {
			if v, ok := s.value(&items[i]); ok {
				labels = appendLabel(labels[:0], label, labelValue(&items[i]))
				w.write(s.m, labels, v)
			}
		}
	}
}

// topicSeries are the per-topic families.
var topicSeries = []familyOf[Topic]{
	{topicPartitionsMetric, func(t *Topic) (float64, bool) { return always(float64(len(t.Partitions))) }},
	{topicRetention, func(t *Topic) (float64, bool) { return retentionSeconds(t.Config.RetentionMs), t.Config.Known }},
	{topicRetentionBytes, func(t *Topic) (float64, bool) { return float64(t.Config.RetentionBytes), t.Config.Known }},
	{topicMinISR, func(t *Topic) (float64, bool) { return float64(t.Config.MinInsyncReplicas), t.Config.Known }},
	{topicDeadLetter, func(t *Topic) (float64, bool) { return 1, t.DeadLetter }},
}

// retentionSeconds converts retention.ms to the base unit Prometheus
// wants, keeping Kafka's -1 for "no limit" as it is.
func retentionSeconds(ms int64) float64 {
	if ms < 0 {
		return -1
	}
	return float64(ms) / 1000
}

func renderCluster(w *textWriter, snap *Snapshot) {
	w.write(brokersMetric, nil, float64(len(snap.Brokers)))
	var labels []byte
	for _, b := range snap.Brokers {
		labels = appendLabel(appendLabel(labels[:0], "address", b.Addr), "id", strconv.Itoa(int(b.ID)))
		w.write(brokerInfoMetric, labels, 1)
	}
	w.write(clusterOffline, nil, float64(snap.OfflinePartitions))
	w.write(clusterUnderReplicated, nil, float64(snap.UnderReplicatedPartitions))
	writeSeries(w, topicSeries, snap.Topics, "topic", func(t *Topic) string { return t.Name })
	for _, s := range partitionSeries {
		if w.skip[s.m] {
			continue
		}
		for i := range snap.Topics {
			t := &snap.Topics[i]
			topic := appendLabel(labels[:0], "topic", t.Name)
			for j := range t.Partitions {
				p := &t.Partitions[j]
				if v, ok := s.value(t, p); ok {
					labels = appendPartitionLabel(topic, p.ID)
					w.write(s.m, labels, v)
				}
			}
		}
	}
}

// hasLag reports whether the group committed the partition and lagcalc
// could compare the commit with the log: only then are there numbers.
func (gp *GroupPartition) hasLag() bool { return gp.HasCommit() && gp.Eval.HasLag }

// groupPartitionSeries are the per-group-partition families but the
// status StateSet, in the order written.
var groupPartitionSeries = []struct {
	m     *metric
	value func(gp *GroupPartition) (float64, bool)
}{
	{groupCurrentOffset, func(gp *GroupPartition) (float64, bool) { return quantity(float64(gp.Committed), gp.hasLag()) }},
	{groupLag, func(gp *GroupPartition) (float64, bool) { return quantity(float64(gp.Eval.Lag), gp.hasLag()) }},
	{groupLagSeconds, func(gp *GroupPartition) (float64, bool) { return quantity(gp.Eval.LagSeconds, gp.hasLag()) }},
	{groupConsumeRate, func(gp *GroupPartition) (float64, bool) {
		return quantity(gp.Eval.ConsumeRate, gp.hasLag() && gp.Eval.HasConsumeRate)
	}},
	{groupTimeToDrain, func(gp *GroupPartition) (float64, bool) {
		return quantity(gp.Eval.TimeToDrainSeconds, gp.hasLag() && gp.Eval.HasTimeToDrain)
	}},
	{groupHeadroom, func(gp *GroupPartition) (float64, bool) {
		return quantity(gp.Eval.RetentionHeadroomSeconds, gp.hasLag() && gp.Eval.HasRetentionHeadroom)
	}},
	{groupExpired, func(gp *GroupPartition) (float64, bool) {
		return quantity(float64(gp.Eval.ExpiredMessages), gp.hasLag() && gp.Eval.HasExpiredMessages)
	}},
	{groupRewinds, func(gp *GroupPartition) (float64, bool) { return quantity(float64(gp.Eval.Rewinds), gp.hasLag()) }},
}

// groupSeries are the per-group families but the StateSets.
var groupSeries = []familyOf[Group]{
	{groupMembers, func(g *Group) (float64, bool) { return float64(len(g.Members)), g.Described }},
	{groupMaxLagSecs, func(g *Group) (float64, bool) { return quantity(g.MaxLagSeconds, len(g.Partitions) > 0) }},
	{groupIdleMembers, func(g *Group) (float64, bool) {
		return float64(g.IdleMembers), g.Described && g.tracksAssignment()
	}},
}

// groupTopicSeries summarise a group's assignment per topic.
var groupTopicSeries = []struct {
	m     *metric
	value func(gt *GroupTopic) float64
}{
	{groupAssigned, func(gt *GroupTopic) float64 { return float64(gt.Assigned) }},
	{groupUnassigned, func(gt *GroupTopic) float64 { return float64(gt.Unassigned) }},
}

func (e *Exporter) renderGroups(w *textWriter, snap *Snapshot) {
	writeSeries(w, groupSeries, snap.Groups, "consumergroup", func(g *Group) string { return g.Name })
	var labels []byte
	for i := range snap.Groups {
		g := &snap.Groups[i]
		if g.Described && !w.skip[groupState] {
			state := g.State
			if !slices.Contains(groupStates, state) {
				state = "Unknown"
			}
			labels = appendLabel(labels[:0], "consumergroup", g.Name)
			w.stateSet(groupState, labels, e.groupStateLabels, groupStates, state)
		}
	}
	for i := range snap.Groups {
		g := &snap.Groups[i]
		if len(g.Partitions) > 0 && !w.skip[groupStatus] {
			labels = appendLabel(labels[:0], "consumergroup", g.Name)
			w.stateSet(groupStatus, labels, e.statusLabels, e.statuses, g.Status.String())
		}
	}
	for _, s := range groupTopicSeries {
		for i := range snap.Groups {
			g := &snap.Groups[i]
			for j := range g.Topics {
				gt := &g.Topics[j]
				labels = appendLabel(appendLabel(labels[:0], "consumergroup", g.Name), "topic", gt.Topic)
				w.write(s.m, labels, s.value(gt))
			}
		}
	}
	if e.opts.MemberDetail {
		for i := range snap.Groups {
			g := &snap.Groups[i]
			for _, m := range g.Members {
				labels = appendLabel(labels[:0], "consumergroup", g.Name)
				labels = appendLabel(appendLabel(appendLabel(labels, "member_id", m.ID), "client_id", m.ClientID), "host", m.Host)
				w.write(memberAssignments, labels, float64(len(m.Assigned)))
			}
		}
	}
	e.renderTopicSums(w, snap)
	if !e.opts.TopicGranularity {
		e.renderGroupPartitions(w, snap)
	}
}

// renderTopicSums writes the kafka_exporter per-topic sums of each group's
// committed offsets and lag, over the partitions that have a lag.
func (e *Exporter) renderTopicSums(w *textWriter, snap *Snapshot) {
	var labels []byte
	for _, m := range []*metric{groupCurrentOffsetSum, groupLagSum} {
		if w.skip[m] {
			continue
		}
		for i := range snap.Groups {
			g := &snap.Groups[i]
			var (
				topic string
				sum   float64
				any   bool
			)
			flush := func() {
				if v, ok := quantity(sum, any); ok {
					labels = appendLabel(appendLabel(labels[:0], "consumergroup", g.Name), "topic", topic)
					w.write(m, labels, v)
				}
				sum, any = 0, false
			}
			for j := range g.Partitions {
				gp := &g.Partitions[j]
				if gp.Topic != topic {
					flush()
					topic = gp.Topic
				}
				if gp.hasLag() {
					any = true
					if m == groupLagSum {
						sum += float64(gp.Eval.Lag)
					} else {
						sum += float64(gp.Committed)
					}
				}
			}
			flush()
		}
	}
}

// renderGroupPartitions writes the per-group-partition families: one pass
// over the group-partitions per family, the format wanting each family's
// lines together.
func (e *Exporter) renderGroupPartitions(w *textWriter, snap *Snapshot) {
	var group, labels []byte
	each := func(write func(gp *GroupPartition, labels []byte)) {
		for i := range snap.Groups {
			g := &snap.Groups[i]
			group = appendLabel(group[:0], "consumergroup", g.Name)
			for j := range g.Partitions {
				gp := &g.Partitions[j]
				labels = appendPartitionLabel(appendLabel(append(labels[:0], group...), "topic", gp.Topic), gp.Partition)
				write(gp, labels)
			}
		}
	}
	if !w.skip[groupPartStatus] {
		each(func(gp *GroupPartition, labels []byte) {
			w.stateSet(groupPartStatus, labels, e.statusLabels, e.statuses, gp.Eval.Status.String())
		})
	}
	for _, s := range groupPartitionSeries {
		if w.skip[s.m] {
			continue
		}
		each(func(gp *GroupPartition, labels []byte) {
			if v, ok := s.value(gp); ok {
				w.write(s.m, labels, v)
			}
		})
	}
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
