package exporter

import (
	"slices"

	"github.com/lagwatch/lagwatch/collector"
)

// The families of share groups (KIP-932) are their own (kafka_sharegroup_*)
// rather than consumer-group series with a type label: a share group's lag
// is Kafka's count of unacknowledged records, not a distance from a
// committed offset, and a `sum` over kafka_consumergroup_lag must not mix
// the two. They use the group levels, so staleness and --lag.granularity
// treat them as they treat consumer groups.

// shareGroupStates are the values kafka_sharegroup_state takes; anything
// else is written as Unknown.
var shareGroupStates = []string{"Empty", "Stable", "Dead", "Unknown"}

// groupInfoFamily writes one series per group of every type Kafka lists,
// value 1, with its type: classic, consumer, streams or share.
func groupInfoFamily(name, help string) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: []string{"consumergroup", "type"}, Level: LevelGroup,
		write: func(w *textWriter, r *rendering) {
			for i := range r.snap.Groups {
				g := &r.snap.Groups[i]
				w.sample(appendLabel(appendLabel(w.labels[:0], "consumergroup", g.Name), "type", g.Protocol), 1)
			}
			for i := range r.snap.ShareGroups {
				g := &r.snap.ShareGroups[i]
				w.sample(appendLabel(appendLabel(w.labels[:0], "consumergroup", g.Name), "type", collector.ProtocolShare), 1)
			}
		}}
}

// streamsTasksFamily writes, per described streams group, its members'
// tasks by kind: active, standby and warmup.
func streamsTasksFamily(name, help string) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: []string{"consumergroup", "kind"}, Level: LevelGroup,
		write: func(w *textWriter, r *rendering) {
			for i := range r.snap.Groups {
				g := &r.snap.Groups[i]
				if g.Protocol != collector.ProtocolStreams || !g.Described {
					continue
				}
				var active, standby, warmup int
				for _, m := range g.Members {
					active, standby, warmup = active+m.ActiveTasks, standby+m.StandbyTasks, warmup+m.WarmupTasks
				}
				for _, k := range []struct {
					kind string
					n    int
				}{{"active", active}, {"standby", standby}, {"warmup", warmup}} {
					w.sample(appendLabel(appendLabel(w.labels[:0], "consumergroup", g.Name), "kind", k.kind), float64(k.n))
				}
			}
		}}
}

func shareGroupFamily(name, help string, f func(*collector.ShareGroup) value) *Family {
	return namedFamily(name, help, false, LevelGroup, "consumergroup", shareGroups, shareGroupName, f)
}

// shareGroupStateFamily writes one series per share group whose label
// carries its current state (or status), value 1.
func shareGroupStateFamily(name, help, label string, f func(*collector.ShareGroup) (string, bool)) *Family {
	return namedStateFamily(name, help, label, "consumergroup", shareGroups, shareGroupName, f)
}

func shareGroups(s *collector.Snapshot) []collector.ShareGroup { return s.ShareGroups }
func shareGroupName(g *collector.ShareGroup) string            { return g.Name }

func shareGroupTopicFamily(name, help string, f func(*collector.GroupTopic) value) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: []string{"consumergroup", "topic"}, Level: LevelGroupTopic,
		write: func(w *textWriter, r *rendering) {
			for i := range r.snap.ShareGroups {
				g := &r.snap.ShareGroups[i]
				for j := range g.Topics {
					if v := f(&g.Topics[j]); v.ok {
						w.sample(appendLabel(appendLabel(w.labels[:0], "consumergroup", g.Name), "topic", g.Topics[j].Topic), v.v)
					}
				}
			}
		}}
}

// shareLagSumFamily sums the known lags of each share group's partitions
// of one topic.
func shareLagSumFamily(name, help string) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: []string{"consumergroup", "topic"}, Level: LevelGroupTopic,
		write: func(w *textWriter, r *rendering) {
			for i := range r.snap.ShareGroups {
				g := &r.snap.ShareGroups[i]
				writeTopicSums(w, g.Name, g.Partitions, func(sp *collector.SharePartition) string { return sp.Topic },
					func(sp *collector.SharePartition) (float64, bool) { return float64(sp.Lag), sp.Lag >= 0 })
			}
		}}
}

func eachSharePartition(w *textWriter, snap *collector.Snapshot, write func(sp *collector.SharePartition, labels []byte)) {
	for i := range snap.ShareGroups {
		g := &snap.ShareGroups[i]
		w.group = appendLabel(w.group[:0], "consumergroup", g.Name)
		for j := range g.Partitions {
			sp := &g.Partitions[j]
			write(sp, appendPartitionLabel(appendLabel(append(w.labels[:0], w.group...), "topic", sp.Topic), sp.Partition))
		}
	}
}

func sharePartitionFamily(name, help string, f func(*collector.SharePartition) value) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: []string{"consumergroup", "topic", "partition"}, Level: LevelGroupPartition,
		write: func(w *textWriter, r *rendering) {
			eachSharePartition(w, r.snap, func(sp *collector.SharePartition, labels []byte) {
				if v := f(sp); v.ok {
					w.sample(labels, v.v)
				}
			})
		}}
}

func sharePartitionStatusFamily(name, help string) *Family {
	return &Family{Name: name, Type: gauge, Help: help, Labels: []string{"consumergroup", "topic", "partition", "status"}, Level: LevelGroupPartition,
		write: func(w *textWriter, r *rendering) {
			eachSharePartition(w, r.snap, func(sp *collector.SharePartition, labels []byte) {
				w.sample(appendLabel(labels, "status", sp.Status.String()), 1)
			})
		}}
}

// shareGroupState is the state label of kafka_sharegroup_state.
func shareGroupState(g *collector.ShareGroup) (string, bool) {
	if !slices.Contains(shareGroupStates, g.State) {
		return "Unknown", g.Described
	}
	return g.State, g.Described
}
