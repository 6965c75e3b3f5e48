package collector

import (
	"context"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/kafka"
)

// kafka_exporter's --offset.show-all=false: only the partitions some
// member is assigned are reported. billing's member reads orders-0; its
// old offsets on orders-1 and those of the memberless group archive go.
func TestAssignedPartitionsOnlyKeepsWhatMembersAreAssigned(t *testing.T) {
	for _, tc := range []struct {
		assignedOnly bool
		want         map[string]int // group → partitions reported
	}{
		{false, map[string]int{"archive": 2, "billing": 2}},
		{true, map[string]int{"archive": 0, "billing": 1}},
	} {
		p, err := NewPoller(Config{Servers: []string{"127.0.0.1:1"}, AssignedPartitionsOnly: tc.assignedOnly})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		p0 := kafka.TopicPartition{Topic: "orders", Partition: 0}
		p1 := kafka.TopicPartition{Topic: "orders", Partition: 1}
		meta := kafka.PartitionMetadata{Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}
		meta1 := meta
		meta1.ID = 1
		snap := &Snapshot{PolledAt: t0, Topics: topicsOf([]kafka.TopicMetadata{{Name: "orders", Partitions: []kafka.PartitionMetadata{meta, meta1}}})}
		a := answers{
			listed: []kafka.ListedGroup{
				{Name: "archive", Coordinator: 1, ProtocolType: "consumer", State: "Empty"},
				{Name: "billing", Coordinator: 1, ProtocolType: "consumer", State: "Stable"},
			},
			described: map[string]kafka.GroupDescription{
				"archive": {State: "Empty"},
				"billing": {State: "Stable", Subscribed: map[string]bool{"orders": true}, Members: []kafka.Member{{ID: "m-1", Assigned: []kafka.TopicPartition{p0}}}},
			},
			committed: map[string]map[kafka.TopicPartition]int64{
				"archive": {p0: 10, p1: 10},
				"billing": {p0: 90, p1: 50},
			},
			offsets: map[kafka.TopicPartition]kafka.LogOffsets{p0: {End: 100, LastStable: 100}, p1: {End: 100, LastStable: 100}},
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = p.join(ctx, snap, &a, p.lastKnown(t0)) // only the record reads can fail: there is no broker
		got := map[string]int{}
		for _, g := range snap.Groups {
			got[g.Name] = len(g.Partitions)
		}
		for group, n := range tc.want {
			if got[group] != n {
				t.Errorf("AssignedPartitionsOnly %v: %s reports %d partitions, want %d", tc.assignedOnly, group, got[group], n)
			}
		}
	}
}
