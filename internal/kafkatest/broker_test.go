package kafkatest_test

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

var broker *kafkatest.Broker

func TestMain(m *testing.M) {
	// The extra listener costs nothing and proves listeners can be added
	// (lagwatch's SASL/TLS tests add theirs this way) without another
	// broker start.
	opts := kafkatest.Options{ExtraListeners: map[string]string{"EXTERNAL": "PLAINTEXT"}}
	os.Exit(kafkatest.Main(m, opts, &broker))
}

func TestPinnedKafkaVersionIsOneSaramaKnows(t *testing.T) {
	v, err := sarama.ParseKafkaVersion(kafkatest.KafkaVersion())
	if err != nil {
		t.Fatalf("pom.xml pins Kafka %q: %v", kafkatest.KafkaVersion(), err)
	}
	if !v.IsAtLeast(sarama.V4_0_0_0) {
		t.Errorf("pom.xml pins Kafka %s; lagwatch is tested against Kafka 4.x", v)
	}
	if !sarama.MaxVersion.IsAtLeast(v) {
		t.Errorf("pom.xml pins Kafka %s, newer than sarama's MaxVersion %s", v, sarama.MaxVersion)
	}
}

func TestEnsureJarsReusesCompleteCache(t *testing.T) {
	kafkatest.Require(t, broker) // the broker's start already filled the cache
	start := time.Now()
	libDir, err := kafkatest.EnsureJars()
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("EnsureJars took %v with a complete cache; want no Maven run", d)
	}
	jar := libDir + "/kafka_2.13-" + kafkatest.KafkaVersion() + ".jar"
	if _, err := os.Stat(jar); err != nil {
		t.Errorf("cache lacks the broker jar: %v", err)
	}
}

func TestBrokerListsItselfInMetadata(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	client := kafkatest.NewClient(t, addr)
	brokers := client.Brokers()
	if len(brokers) != 1 || brokers[0].Addr() != addr {
		t.Fatalf("metadata lists brokers %v, want exactly %s", brokerAddrs(brokers), addr)
	}
}

func TestExtraListenerAdvertisesItsOwnAddress(t *testing.T) {
	kafkatest.Require(t, broker)
	addr := broker.ListenerAddr("EXTERNAL")
	if addr == "" || addr == broker.Addr() {
		t.Fatalf("EXTERNAL listener address %q; want its own port beside PLAINTEXT %s", addr, broker.Addr())
	}
	// A broker answers Metadata with the addresses of the listener the
	// request arrived on.
	brokers := kafkatest.NewClient(t, addr).Brokers()
	if len(brokers) != 1 || brokers[0].Addr() != addr {
		t.Fatalf("metadata via EXTERNAL lists brokers %v, want exactly %s", brokerAddrs(brokers), addr)
	}
}

func TestProduceReturnsLastOffsetAndAdvancesHighWatermark(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	kafkatest.CreateTopic(t, addr, "produce", 3, nil)

	if got := kafkatest.Produce(t, addr, "produce", 1, 5); got != 4 {
		t.Errorf("first Produce of 5 returned last offset %d, want 4", got)
	}
	if got := kafkatest.Produce(t, addr, "produce", 1, 3); got != 7 {
		t.Errorf("second Produce of 3 returned last offset %d, want 7", got)
	}

	client := kafkatest.NewClient(t, addr)
	for partition, want := range map[int32]int64{0: 0, 1: 8, 2: 0} {
		if got := highWatermark(t, client, "produce", partition); got != want {
			t.Errorf("partition %d: high watermark %d, want %d", partition, got, want)
		}
	}
}

func TestProduceAtStoresTimestampsThatListOffsetsFinds(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	kafkatest.CreateTopic(t, addr, "timestamps", 1, nil)
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond)
	times := []time.Time{base, base.Add(time.Minute), base.Add(2 * time.Minute)}

	if got := kafkatest.ProduceAt(t, addr, "timestamps", 0, times); got != 2 {
		t.Fatalf("ProduceAt of 3 returned last offset %d, want 2", got)
	}

	// ListOffsets by time answers the first offset whose timestamp is at or
	// after the given one.
	client := kafkatest.NewClient(t, addr)
	at := base.Add(30 * time.Second).UnixMilli()
	offset, err := client.GetOffset("timestamps", 0, at)
	if err != nil {
		t.Fatal(err)
	}
	if offset != 1 {
		t.Errorf("offset for timestamp base+30s is %d, want 1", offset)
	}
}

func TestCommittedOffsetsAreReadBackAndGoneAfterDeleteGroup(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	kafkatest.CreateTopic(t, addr, "committed", 2, nil)
	kafkatest.Produce(t, addr, "committed", 0, 5)

	kafkatest.CommitOffsets(t, addr, "reader", map[string]map[int32]int64{"committed": {0: 3, 1: 0}})

	want := map[int32]int64{0: 3, 1: 0}
	if got := committedOffsets(t, addr, "reader", "committed", 2); !maps.Equal(got, want) {
		t.Errorf("committed offsets %v, want %v", got, want)
	}

	kafkatest.DeleteGroup(t, addr, "reader")
	// Kafka answers OffsetFetch for a group it does not know with offset -1
	// and no error.
	want = map[int32]int64{0: -1, 1: -1}
	if got := committedOffsets(t, addr, "reader", "committed", 2); !maps.Equal(got, want) {
		t.Errorf("after DeleteGroup: committed offsets %v, want %v", got, want)
	}
}

func TestDeleteTopicRemovesItFromMetadata(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	kafkatest.CreateTopic(t, addr, "doomed", 2, nil)
	kafkatest.DeleteTopic(t, addr, "doomed")

	admin := kafkatest.NewAdmin(t, addr)
	topics, err := admin.ListTopics()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := topics["doomed"]; ok {
		t.Errorf("ListTopics still lists the deleted topic")
	}
}

func TestKillAndRestartKeepRecordsCommittedOffsetsAndAddress(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	kafkatest.CreateTopic(t, addr, "durable", 1, nil)
	kafkatest.Produce(t, addr, "durable", 0, 10)
	kafkatest.CommitOffsets(t, addr, "survivor", map[string]map[int32]int64{"durable": {0: 7}})

	if err := broker.Kill(); err != nil {
		t.Fatal(err)
	}
	if client, err := sarama.NewClient([]string{addr}, kafkatest.NewConfig()); err == nil {
		client.Close()
		t.Fatal("a client still connects after Kill")
	}

	start := time.Now()
	if err := broker.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Logf("restart after SIGKILL took %v", time.Since(start).Round(time.Millisecond))
	if broker.Addr() != addr {
		t.Fatalf("address changed across Restart: %s, was %s", broker.Addr(), addr)
	}

	client := kafkatest.NewClient(t, addr)
	if got := highWatermark(t, client, "durable", 0); got != 10 {
		t.Errorf("high watermark after restart %d, want 10", got)
	}
	if got := committedOffsets(t, addr, "survivor", "durable", 1); got[0] != 7 {
		t.Errorf("committed offset after restart %d, want 7", got[0])
	}
	if got := kafkatest.Produce(t, addr, "durable", 0, 1); got != 10 {
		t.Errorf("first offset produced after restart %d, want 10", got)
	}
}

func TestStartFailureReportsTheBrokerLog(t *testing.T) {
	// Shares the broker's jar cache; the failing JVM costs about a second.
	kafkatest.Require(t, broker)
	// The storage tool accepts this config; only the broker instantiates
	// metric reporters, so the failure shows up in the broker's own log.
	b, err := kafkatest.Start(kafkatest.Options{
		ServerProperties: map[string]string{"metric.reporters": "org.example.NoSuchReporter"},
	})
	if err == nil {
		b.Stop()
		t.Fatal("Start succeeded with a missing metric reporter class")
	}
	if !strings.Contains(err.Error(), "org.example.NoSuchReporter") {
		t.Errorf("Start error does not quote the broker's log:\n%v", err)
	}
}

// highWatermark and committedOffsets send their request as any client
// would, and retry what a client retries: a partition without a leader yet,
// a coordinator still loading the offsets topic after a restart.
func highWatermark(t *testing.T, client sarama.Client, topic string, partition int32) int64 {
	t.Helper()
	var offset int64
	kafkatest.Retry(t, fmt.Sprintf("high watermark of %s/%d", topic, partition), func() (err error) {
		offset, err = client.GetOffset(topic, partition, sarama.OffsetNewest)
		return err
	})
	return offset
}

func committedOffsets(t *testing.T, addr, group, topic string, partitions int32) map[int32]int64 {
	t.Helper()
	ids := make([]int32, partitions)
	for i := range ids {
		ids[i] = int32(i)
	}
	admin := kafkatest.NewAdmin(t, addr)
	got := map[int32]int64{}
	kafkatest.Retry(t, fmt.Sprintf("fetch offsets of group %q", group), func() error {
		resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: ids})
		if err != nil {
			return err
		}
		if !errors.Is(resp.Err, sarama.ErrNoError) {
			return resp.Err
		}
		for _, p := range ids {
			block := resp.GetBlock(topic, p)
			if block == nil {
				return fmt.Errorf("no answer for %s/%d", topic, p)
			}
			if !errors.Is(block.Err, sarama.ErrNoError) {
				return fmt.Errorf("%s/%d: %w", topic, p, block.Err)
			}
			got[p] = block.Offset
		}
		return nil
	})
	return got
}

func brokerAddrs(brokers []*sarama.Broker) []string {
	addrs := make([]string, len(brokers))
	for i, b := range brokers {
		addrs[i] = b.Addr()
	}
	return addrs
}
