package collector

import (
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/internal/benchcluster"
	"github.com/lagwatch/lagwatch/kafka"
)

// benchTopics is the benchmark cluster's metadata.
func benchTopics() []kafka.TopicMetadata {
	topics := make([]kafka.TopicMetadata, benchcluster.Topics)
	for i := range topics {
		t := kafka.TopicMetadata{Name: benchcluster.TopicName(i)}
		for p := int32(0); p < benchcluster.Partitions; p++ {
			leader := benchcluster.Leader(i, p)
			t.Partitions = append(t.Partitions, kafka.PartitionMetadata{ID: p, Leader: leader, Replicas: []int32{leader}, ISR: []int32{leader}})
		}
		topics[i] = t
	}
	return topics
}

// BenchmarkFillAndEvaluate measures the CPU side of one poll once the Kafka
// answers are in (Poller.join, as poll calls it): joining groups with
// topics and lagcalc's Observe and Evaluate over a full 10 m window of
// history. The poller is made by NewPoller, as the binary makes it. No
// Kafka is involved: the poller's client has no brokers, so the records
// lagcalc asks for fail at once and the committed offsets stay dated by
// the history alone.
func BenchmarkFillAndEvaluate(b *testing.B) {
	p, err := NewPoller(Config{Servers: []string{"127.0.0.1:1"}, PollInterval: benchcluster.PollInterval})
	if err != nil {
		b.Fatal(err)
	}
	metadata := benchTopics()
	for _, t := range metadata {
		p.configs[t.Name] = TopicConfig{Known: true, CleanupPolicy: "delete", RetentionMs: 604800000, RetentionBytes: -1, MinInsyncReplicas: 1}
	}
	a := answers{described: make(map[string]kafka.GroupDescription, benchcluster.Groups)}
	for g := range benchcluster.Groups {
		name := benchcluster.GroupName(g)
		a.listed = append(a.listed, kafka.ListedGroup{Name: name, Coordinator: int32(g%benchcluster.Brokers) + 1, ProtocolType: "consumer", State: "Stable"})
		a.described[name] = kafka.GroupDescription{State: "Stable", Members: []Member{{ID: "m-1", ClientID: "client-1", Host: "/10.0.0.1"}}, Subscribed: map[string]bool{}}
	}
	// Committed and log-end offsets advance every poll so that lagcalc has
	// rates to compute.
	answersAt := func(poll int) answers {
		at := a
		at.committed = make(map[string]map[kafka.TopicPartition]int64, benchcluster.Groups)
		for g := range benchcluster.Groups {
			offsets := make(map[kafka.TopicPartition]int64, benchcluster.TopicsPerGroup*benchcluster.Partitions)
			for _, ti := range benchcluster.GroupTopics(g) {
				for part := int32(0); part < benchcluster.Partitions; part++ {
					offsets[kafka.TopicPartition{Topic: benchcluster.TopicName(ti), Partition: part}] = int64(900_000 + 100*poll)
				}
			}
			at.committed[benchcluster.GroupName(g)] = offsets
		}
		at.offsets = make(map[kafka.TopicPartition]kafka.LogOffsets, benchcluster.Topics*benchcluster.Partitions)
		for _, t := range metadata {
			for _, part := range t.Partitions {
				end := int64(1_000_000 + 120*poll)
				at.offsets[kafka.TopicPartition{Topic: t.Name, Partition: part.ID}] = kafka.LogOffsets{Start: 0, End: end, LastStable: end}
			}
		}
		return at
	}
	poll := 0
	pollOnce := func(at answers) int {
		now := t0.Add(time.Duration(poll) * benchcluster.PollInterval)
		poll++
		snap := &Snapshot{PolledAt: now, Topics: topicsOf(metadata)}
		_ = p.join(b.Context(), snap, &at, p.lastKnown(now)) // fails only for the records it reads
		p.snapshot.Store(snap)
		n := 0
		for _, g := range snap.Groups {
			n += len(g.Partitions)
		}
		return n
	}
	// Fill the 10 m window before timing.
	for range 41 {
		pollOnce(answersAt(poll))
	}
	if n := pollOnce(answersAt(poll)); n != benchcluster.GroupPartitions {
		b.Fatalf("snapshot has %d group-partitions, want %d", n, benchcluster.GroupPartitions)
	}

	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		at := answersAt(poll)
		b.StartTimer()
		pollOnce(at)
	}
	b.ReportMetric(benchcluster.GroupPartitions, "group-partitions/op")
}
