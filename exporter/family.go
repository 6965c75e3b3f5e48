package exporter

import (
	"strconv"

	"github.com/lagwatch/lagwatch/collector"
)

// Level is what one series of a family describes: its labels follow.
type Level string

// The levels, from the cluster down to one member of a group.
const (
	LevelCluster        Level = "cluster"
	LevelBroker         Level = "broker"
	LevelTopic          Level = "topic"
	LevelPartition      Level = "partition"
	LevelGroup          Level = "group"
	LevelGroupTopic     Level = "group-topic"
	LevelGroupPartition Level = "group-partition"
	LevelMember         Level = "member"
	// LevelExporter families describe lagwatch's work on one cluster: its
	// polls, their errors and requests.
	LevelExporter Level = "exporter"
	// LevelProcess families describe the lagwatch process, whatever the
	// clusters: its build, its shard, its configuration file. They carry no
	// cluster's labels.
	LevelProcess Level = "process"
)

// The metric types of the text format.
const (
	gauge     = "gauge"
	counter   = "counter"
	histogram = "histogram"
)

// Family is one row of the metric table: the single source of a metric's
// name, type, help, labels and level, and of how its series are written.
// docs/metrics.md is generated from the table, the writer walks it, and
// --metric.exclude removes rows from it.
type Family struct {
	Name   string
	Type   string
	Help   string
	Labels []string
	Level  Level
	// Compatible marks families that keep danielqsj/kafka_exporter's name,
	// labels and meaning, so its users' dashboards and alerts keep working.
	Compatible bool
	// write writes every series of the family.
	write func(w *textWriter, r *rendering)
}

// rendering is one scrape's view: the snapshot, the poller's health and
// what the options enable.
type rendering struct {
	snap   *collector.Snapshot // nil before the first poll
	health collector.HealthReport
	// fresh is false once the snapshot is older than StaleAfter: the
	// consumer-group series are dropped then rather than report frozen lag
	// as current.
	fresh bool
	opts  Options
	// reload is the last load of --config.file; nil without one. Only
	// the process-level rendering has it.
	reload *ConfigReload
}

// value is a sample value and whether to write it.
type value struct {
	v  float64
	ok bool
}

// quantity is a measurement that cannot be negative: it is written when
// it is known and ≥ 0, whatever Kafka answered.
func quantity(v float64, known bool) value { return value{v, known && v >= 0} }

func always(v float64) value { return value{v, true} }

// oneIf is 1 when b holds, 0 otherwise.
func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func clusterFamily(name, help string, compatible bool, f func(*collector.Snapshot) value) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Level: LevelCluster, Compatible: compatible,
		write: func(w *textWriter, r *rendering) {
			if v := f(r.snap); v.ok {
				w.sample(nil, v.v)
			}
		}}
}

func topicFamily(name, help string, compatible bool, f func(*collector.Topic) value) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: []string{"topic"}, Level: LevelTopic, Compatible: compatible,
		write: func(w *textWriter, r *rendering) {
			for i := range r.snap.Topics {
				t := &r.snap.Topics[i]
				if v := f(t); v.ok {
					w.sample(appendLabel(w.labels[:0], "topic", t.Name), v.v)
				}
			}
		}}
}

func partitionFamily(name, help string, compatible bool, f func(*collector.Topic, *collector.Partition) value) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: []string{"topic", "partition"}, Level: LevelPartition, Compatible: compatible,
		write: func(w *textWriter, r *rendering) {
			for i := range r.snap.Topics {
				t := &r.snap.Topics[i]
				for j := range t.Partitions {
					p := &t.Partitions[j]
					if v := f(t, p); v.ok {
						w.sample(appendPartitionLabel(appendLabel(w.labels[:0], "topic", t.Name), p.ID), v.v)
					}
				}
			}
		}}
}

func groupFamily(name, help string, compatible bool, f func(*collector.Group) value) *Family {
	return namedFamily(name, help, compatible, LevelGroup, "consumergroup", consumerGroups, groupName, f)
}

// groupStateFamily writes one series per group whose label carries the
// group's current state (or status), value 1: where a StateSet would write
// one series per possible state, most of them 0.
func groupStateFamily(name, help, label string, f func(*collector.Group) (string, bool)) *Family {
	return namedStateFamily(name, help, label, "consumergroup", consumerGroups, groupName, f)
}

func consumerGroups(s *collector.Snapshot) []collector.Group { return s.Groups }
func groupName(g *collector.Group) string                    { return g.Name }

// namedFamily is one series per item (a group of some kind), labelled by
// its name.
func namedFamily[T any](name, help string, compatible bool, level Level, label string, items func(*collector.Snapshot) []T, nameOf func(*T) string, f func(*T) value) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: []string{label}, Level: level, Compatible: compatible,
		write: func(w *textWriter, r *rendering) {
			list := items(r.snap)
			for i := range list {
				if v := f(&list[i]); v.ok {
					w.sample(appendLabel(w.labels[:0], label, nameOf(&list[i])), v.v)
				}
			}
		}}
}

// namedStateFamily is one series per item whose second label carries its
// current state, value 1.
func namedStateFamily[T any](name, help, stateLabel, label string, items func(*collector.Snapshot) []T, nameOf func(*T) string, f func(*T) (string, bool)) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: []string{label, stateLabel}, Level: LevelGroup,
		write: func(w *textWriter, r *rendering) {
			list := items(r.snap)
			for i := range list {
				if state, ok := f(&list[i]); ok {
					w.sample(appendLabel(appendLabel(w.labels[:0], label, nameOf(&list[i])), stateLabel, state), 1)
				}
			}
		}}
}

func groupTopicFamily(name, help string, compatible bool, f func(*collector.GroupTopic) value) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: []string{"consumergroup", "topic"}, Level: LevelGroupTopic, Compatible: compatible,
		write: func(w *textWriter, r *rendering) {
			for i := range r.snap.Groups {
				g := &r.snap.Groups[i]
				for j := range g.Topics {
					gt := &g.Topics[j]
					if v := f(gt); v.ok {
						w.sample(appendLabel(appendLabel(w.labels[:0], "consumergroup", g.Name), "topic", gt.Topic), v.v)
					}
				}
			}
		}}
}

// groupTopicSumFamily sums f over each group's partitions of one topic that
// have a lag: kafka_exporter's per-topic sums.
func groupTopicSumFamily(name, help string, f func(*collector.GroupPartition) float64) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: []string{"consumergroup", "topic"}, Level: LevelGroupTopic, Compatible: true,
		write: func(w *textWriter, r *rendering) {
			for i := range r.snap.Groups {
				g := &r.snap.Groups[i]
				writeTopicSums(w, g.Name, g.Partitions, func(gp *collector.GroupPartition) string { return gp.Topic },
					func(gp *collector.GroupPartition) (float64, bool) { return f(gp), gp.HasLag() })
			}
		}}
}

// writeTopicSums writes, for one group whose partitions are sorted by
// topic, the sum per topic of the partitions that have a value: a topic
// where none has one gets no series.
func writeTopicSums[P any](w *textWriter, group string, parts []P, topicOf func(*P) string, valueOf func(*P) (float64, bool)) {
	for start := 0; start < len(parts); {
		topic := topicOf(&parts[start])
		sum, any := 0.0, false
		end := start
		for ; end < len(parts) && topicOf(&parts[end]) == topic; end++ {
			if v, ok := valueOf(&parts[end]); ok {
				sum, any = sum+v, true
			}
		}
		if v := quantity(sum, any); v.ok {
			w.sample(appendLabel(appendLabel(w.labels[:0], "consumergroup", group), "topic", topic), v.v)
		}
		start = end
	}
}

// eachGroupPartition calls write with each group-partition's labels.
func eachGroupPartition(w *textWriter, snap *collector.Snapshot, write func(gp *collector.GroupPartition, labels []byte)) {
	for i := range snap.Groups {
		g := &snap.Groups[i]
		w.group = appendLabel(w.group[:0], "consumergroup", g.Name)
		// A group's partitions come by topic: the topic label is escaped
		// when the topic changes, not for every partition.
		topic := ""
		for j := range g.Partitions {
			gp := &g.Partitions[j]
			if j == 0 || gp.Topic != topic {
				topic = gp.Topic
				w.topic = appendLabel(w.topic[:0], "topic", topic)
			}
			labels := append(append(append(w.labels[:0], w.group...), ','), w.topic...)
			write(gp, appendPartitionLabel(labels, gp.Partition))
		}
	}
}

var groupPartitionLabels = []string{"consumergroup", "topic", "partition"}

func groupPartitionFamily(name, typ, help string, compatible bool, f func(*collector.GroupPartition) value) *Family {
	return &Family{Name: name, Type: typ, Help: help, Labels: groupPartitionLabels, Level: LevelGroupPartition, Compatible: compatible,
		write: func(w *textWriter, r *rendering) {
			eachGroupPartition(w, r.snap, func(gp *collector.GroupPartition, labels []byte) {
				if v := f(gp); v.ok {
					w.sample(labels, v.v)
				}
			})
		}}
}

// groupPartitionStateFamily writes one series per group-partition whose
// label carries its current status, value 1.
func groupPartitionStateFamily(name, help, label string, f func(*collector.GroupPartition) string) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: append(groupPartitionLabels[:3:3], label), Level: LevelGroupPartition,
		write: func(w *textWriter, r *rendering) {
			eachGroupPartition(w, r.snap, func(gp *collector.GroupPartition, labels []byte) {
				w.sample(appendLabel(labels, label, f(gp)), 1)
			})
		}}
}

func memberFamily(name, help string, f func(*collector.Member) float64) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: []string{"consumergroup", "member_id", "client_id", "host"}, Level: LevelMember,
		write: func(w *textWriter, r *rendering) {
			for i := range r.snap.Groups {
				g := &r.snap.Groups[i]
				for j := range g.Members {
					m := &g.Members[j]
					labels := appendLabel(w.labels[:0], "consumergroup", g.Name)
					labels = appendLabel(appendLabel(appendLabel(labels, "member_id", m.ID), "client_id", m.ClientID), "host", m.Host)
					w.sample(labels, f(m))
				}
			}
		}}
}

func brokerInfoFamily(name, help string) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: []string{"address", "id"}, Level: LevelBroker, Compatible: true,
		write: func(w *textWriter, r *rendering) {
			for _, b := range r.snap.Brokers {
				w.sample(appendLabel(appendLabel(w.labels[:0], "address", b.Addr), "id", strconv.Itoa(int(b.ID))), 1)
			}
		}}
}
