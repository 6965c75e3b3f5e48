package main

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// kafka_exporter's --kafka.version defaults to 2.0.0 and its users copy
// it. Below 3.8 ListGroups does not say a group's type; lagwatch still
// reads a KIP-848 group (the Kafka 4 consumer protocol) as one: its type,
// members, state and assignment, with each broker's versions, whatever
// the flag says.
func TestKIP848GroupIsReadRightUnderKafkaVersion2_0_0(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	kafkatest.CreateTopic(t, addr, "cap-orders", 2, nil)
	kafkatest.Produce(t, addr, "cap-orders", 0, 10)
	kafkatest.Produce(t, addr, "cap-orders", 1, 10)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	for range 2 {
		// franz-go speaks the consumer protocol, where the broker assigns.
		member, err := kgo.NewClient(
			kgo.SeedBrokers(addr),
			kgo.ConsumerGroup("cap-kip848"),
			kgo.ConsumeTopics("cap-orders"),
			kgo.ServerSideBalancer(),
			kgo.Balancers(kgo.RangeBalancer()),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.DisableAutoCommit(),
		)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer func() { done <- struct{}{} }()
			for ctx.Err() == nil {
				member.PollRecords(ctx, 100) // consume, never commit
			}
		}()
		t.Cleanup(func() { member.Close() })
	}
	t.Cleanup(func() { cancel(); <-done; <-done })

	base := startExporter(t, "--kafka.server="+addr, "--kafka.version=2.0.0", "--kafka.poll-interval=300ms", "--lag.window=10s")
	waitfor.Condition(t, 90*time.Second, "the KIP-848 group read as one", func() error {
		for _, line := range []string{
			`kafka_consumergroup_info{consumergroup="cap-kip848",type="consumer"} 1`,
			`kafka_consumergroup_members{consumergroup="cap-kip848"} 2`,
			`kafka_consumergroup_state{consumergroup="cap-kip848",state="Stable"} 1`,
			`kafka_consumergroup_assigned_partitions{consumergroup="cap-kip848",topic="cap-orders"} 2`,
		} {
			if err := metricLine(base, line); err != nil {
				return err
			}
		}
		return nil
	})
}
