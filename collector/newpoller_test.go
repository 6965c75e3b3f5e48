package collector

import (
	"context"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/kafka"
)

// A poller fresh from NewPoller can join answers before it has polled:
// every field the join reads is set by the constructor, so the benchmark
// that times the join, which never polls Kafka, runs the binary's poller
// (a field set only by the first poll once made it panic).
func TestNewPollerJoinsAnswersBeforeItsFirstPoll(t *testing.T) {
	p, err := NewPoller(Config{Servers: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tp := kafka.TopicPartition{Topic: "orders", Partition: 0}
	snap := &Snapshot{PolledAt: t0, Topics: topicsOf([]kafka.TopicMetadata{{Name: "orders", Partitions: []kafka.PartitionMetadata{{ID: 0, Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}}}})}
	a := answers{
		listed:    []kafka.ListedGroup{{Name: "billing", Coordinator: 1, ProtocolType: "consumer", State: "Stable"}},
		described: map[string]kafka.GroupDescription{"billing": {State: "Stable", Subscribed: map[string]bool{"orders": true}}},
		committed: map[string]map[kafka.TopicPartition]int64{"billing": {tp: 90}},
		offsets:   map[kafka.TopicPartition]kafka.LogOffsets{tp: {Start: 0, End: 100, LastStable: 100}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = p.join(ctx, snap, &a, p.lastKnown(t0)) // only the record reads can fail: there is no broker
	if a.listed != nil || a.described != nil || a.committed != nil || a.offsets != nil {
		t.Errorf("the answers outlive the join: %+v; lagcalc's input is built beside the next snapshot, and they are garbage by then", a)
	}
	if len(snap.Groups) != 1 || len(snap.Groups[0].Partitions) != 1 {
		t.Fatalf("joined snapshot has groups %+v, want billing with one partition", snap.Groups)
	}
	if gp := snap.Groups[0].Partitions[0]; !gp.HasLag() || gp.Eval.Lag != 10 {
		t.Errorf("billing on orders-0: lag %+v, want 10", gp.Eval)
	}
}
