package kafkatest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// NewConfig is the sarama configuration the helpers use: the newest protocol
// sarama knows (its default, 2.8, lacks APIs lagwatch relies on such as
// multi-group OffsetFetch), acks from all replicas, records go to the
// partition each message names, and no topic is created by a metadata
// lookup.
func NewConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "kafkatest"
	cfg.Version = sarama.MaxVersion
	// Timeouts and retry counts stretch with LAGWATCH_TEST_SLOWDOWN: on a
	// busy machine a broker answers late, it is not broken.
	cfg.Net.DialTimeout = waitfor.Scaled(5 * time.Second)
	cfg.Net.ReadTimeout = waitfor.Scaled(10 * time.Second)
	cfg.Net.WriteTimeout = waitfor.Scaled(10 * time.Second)
	cfg.Metadata.AllowAutoTopicCreation = false
	cfg.Metadata.Retry.Max = scaledCount(10)
	cfg.Metadata.Retry.Backoff = 250 * time.Millisecond
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	// Right after CreateTopic or Restart a leader may not yet serve
	// produce requests; 40 × 250 ms rides that out. sarama retries a
	// produce itself (LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER, …);
	// a helper resending a batch could duplicate records.
	cfg.Producer.Retry.Max = scaledCount(40)
	cfg.Producer.Retry.Backoff = 250 * time.Millisecond
	cfg.Admin.Retry.Max = scaledCount(10)
	cfg.Admin.Retry.Backoff = 250 * time.Millisecond
	cfg.Admin.Timeout = waitfor.Scaled(10 * time.Second)
	return cfg
}

// NewClient connects a sarama client to addr, closed when the test ends.
func NewClient(t testing.TB, addr string) sarama.Client {
	t.Helper()
	client, err := sarama.NewClient([]string{addr}, NewConfig())
	if err != nil {
		t.Fatalf("kafkatest: connect to %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// NewAdmin connects a sarama cluster admin to addr, closed when the test ends.
func NewAdmin(t testing.TB, addr string) sarama.ClusterAdmin {
	t.Helper()
	admin, err := sarama.NewClusterAdmin([]string{addr}, NewConfig())
	if err != nil {
		t.Fatalf("kafkatest: connect admin to %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	return admin
}

// CreateTopic creates a topic with replication factor 1 and waits until
// every partition has a leader. configs are topic configs such as
// "retention.ms"; nil means the broker's defaults.
func CreateTopic(t testing.TB, addr, name string, partitions int32, configs map[string]*string) {
	t.Helper()
	admin := NewAdmin(t, addr)
	detail := &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1, ConfigEntries: configs}
	err := pollAttempts(func(attempt int) error {
		err := admin.CreateTopic(name, detail, false)
		// A request that timed out may still have created the topic.
		if attempt > 1 && errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return nil
		}
		return err
	})
	if err != nil {
		t.Fatalf("kafkatest: create topic %q: %v", name, err)
	}
	client := NewClient(t, addr)
	err = poll(func() error {
		if err := client.RefreshMetadata(); err != nil {
			return err
		}
		ids, err := knownPartitions(client, name)
		if err != nil {
			return err
		}
		if int32(len(ids)) != partitions {
			return fmt.Errorf("metadata lists %d of %d partitions", len(ids), partitions)
		}
		for _, p := range ids {
			if _, err := client.Leader(name, p); err != nil {
				return fmt.Errorf("partition %d: %w", p, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("kafkatest: topic %q created but not ready: %v", name, err)
	}
}

// DeleteTopic deletes a topic and waits until metadata no longer lists it.
func DeleteTopic(t testing.TB, addr, name string) {
	t.Helper()
	admin := NewAdmin(t, addr)
	err := pollAttempts(func(attempt int) error {
		err := admin.DeleteTopic(name)
		// A request that timed out may still have deleted the topic.
		if attempt > 1 && errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			return nil
		}
		return err
	})
	if err != nil {
		t.Fatalf("kafkatest: delete topic %q: %v", name, err)
	}
	client := NewClient(t, addr)
	err = poll(func() error {
		if err := client.RefreshMetadata(); err != nil {
			return err
		}
		if ids, err := knownPartitions(client, name); err == nil {
			return fmt.Errorf("metadata still lists %d partitions", len(ids))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("kafkatest: topic %q deleted but still visible: %v", name, err)
	}
}

// knownPartitions reads only the client's cached metadata: for a topic it
// has not seen, Client.Partitions would refetch with retries, turning each
// poll round into seconds.
func knownPartitions(client sarama.Client, topic string) ([]int32, error) {
	topics, err := client.Topics()
	if err != nil {
		return nil, err
	}
	for _, name := range topics {
		if name == topic {
			return client.Partitions(topic)
		}
	}
	return nil, fmt.Errorf("metadata does not list topic %q", topic)
}

// Produce writes n records to one partition and returns the offset of the
// last one.
func Produce(t testing.TB, addr, topic string, partition int32, n int) (lastOffset int64) {
	t.Helper()
	if n < 1 {
		t.Fatalf("kafkatest: Produce needs n ≥ 1, got %d", n)
	}
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{
			Topic:     topic,
			Partition: partition,
			Value:     sarama.StringEncoder(fmt.Sprintf("kafkatest record %d", i)),
		}
	}
	return produce(t, addr, msgs)
}

// ProduceAt writes one record per timestamp, in order, to one partition and
// returns the offset of the last one. The broker keeps these CreateTime
// timestamps, so ListOffsets by time finds them. Kafka 4 rejects timestamps
// more than an hour in the future unless the topic raises
// message.timestamp.after.max.ms.
func ProduceAt(t testing.TB, addr, topic string, partition int32, timestamps []time.Time) (lastOffset int64) {
	t.Helper()
	if len(timestamps) == 0 {
		t.Fatal("kafkatest: ProduceAt needs at least one timestamp")
	}
	msgs := make([]*sarama.ProducerMessage, len(timestamps))
	for i, ts := range timestamps {
		msgs[i] = &sarama.ProducerMessage{
			Topic:     topic,
			Partition: partition,
			Value:     sarama.StringEncoder(fmt.Sprintf("kafkatest record at %s", ts.Format(time.RFC3339Nano))),
			Timestamp: ts,
		}
	}
	return produce(t, addr, msgs)
}

func produce(t testing.TB, addr string, msgs []*sarama.ProducerMessage) int64 {
	t.Helper()
	var producer sarama.SyncProducer
	// Connecting fails while a restarted broker is not listening yet.
	err := poll(func() (err error) {
		producer, err = sarama.NewSyncProducer([]string{addr}, NewConfig())
		return err
	})
	if err != nil {
		t.Fatalf("kafkatest: connect producer to %s: %v", addr, err)
	}
	defer producer.Close()
	if err := producer.SendMessages(msgs); err != nil {
		var perrs sarama.ProducerErrors
		if errors.As(err, &perrs) && len(perrs) > 0 {
			err = fmt.Errorf("%d of %d records failed, first: %w", len(perrs), len(msgs), perrs[0].Err)
		}
		t.Fatalf("kafkatest: produce to %s/%d: %v", msgs[0].Topic, msgs[0].Partition, err)
	}
	return msgs[len(msgs)-1].Offset
}

// CommitOffsets commits offsets (topic → partition → next offset to
// consume) for a group without members, as `kafka-consumer-groups
// --reset-offsets` does: OffsetCommit with generation -1 and no member ID,
// which Kafka accepts for a group that is empty or does not exist yet.
func CommitOffsets(t testing.TB, addr, group string, offsets map[string]map[int32]int64) {
	t.Helper()
	client := NewClient(t, addr)
	req := sarama.NewOffsetCommitRequest(client.Config(), group)
	for topic, partitions := range offsets {
		for p, offset := range partitions {
			// Leader epoch -1: unknown, so consumers skip epoch validation.
			req.AddBlockWithLeaderEpoch(topic, p, offset, -1, 0, "")
		}
	}
	err := poll(func() error {
		coordinator, err := client.Coordinator(group)
		if err != nil {
			return err
		}
		resp, err := coordinator.CommitOffset(req)
		if err != nil {
			_ = client.RefreshCoordinator(group)
			return err
		}
		for topic, partitions := range resp.Errors {
			for p, kerr := range partitions {
				if errors.Is(kerr, sarama.ErrNoError) {
					continue
				}
				if isKafkaCode(kerr, notCoordinator, coordinatorNotAvailable) {
					_ = client.RefreshCoordinator(group)
				}
				return fmt.Errorf("%s/%d: %w", topic, p, kerr)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("kafkatest: commit offsets for group %q: %v", group, err)
	}
}

// DeleteGroup deletes a consumer group and its committed offsets. Kafka
// refuses while the group has members.
func DeleteGroup(t testing.TB, addr, group string) {
	t.Helper()
	admin := NewAdmin(t, addr)
	err := pollAttempts(func(attempt int) error {
		err := admin.DeleteConsumerGroup(group)
		// A request that timed out may still have deleted the group.
		if attempt > 1 && errors.Is(err, sarama.ErrGroupIDNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		t.Fatalf("kafkatest: delete group %q: %v", group, err)
	}
}
