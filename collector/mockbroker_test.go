package collector_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/internal/waitfor"
	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// A single real broker cannot have an offline partition or an
// under-replicated one, nor report a negative offset; sarama's mock broker
// stands in for a cluster in those shapes.

// mockCluster answers as one broker (id 1) of a three-broker cluster whose
// metadata is the given response, with the given log-end offsets.
func mockCluster(t *testing.T, metadata func(version int16) *sarama.MetadataResponse, logEnd map[int32]int64) (*collector.Poller, http.Handler) {
	t.Helper()
	mb := sarama.NewMockBroker(t, 1)
	t.Cleanup(mb.Close)

	conf := kafka.NewSaramaConfig()
	// A fixed protocol version without ApiVersions negotiation, so the
	// canned Metadata response is encoded in the version asked for.
	conf.Version = sarama.V3_0_0_0
	conf.ApiVersionsRequest = false
	conf.Net.ReadTimeout = time.Second
	md := metadata(sarama.NewMetadataRequest(conf.Version, nil).Version)
	md.AddBroker(mb.Addr(), 1)

	offsets := sarama.NewMockOffsetResponse(t)
	for p, end := range logEnd {
		offsets.SetOffset("shaky", p, sarama.OffsetNewest, end)
		offsets.SetOffset("shaky", p, sarama.OffsetOldest, 0)
	}
	mb.SetHandlerByMap(map[string]sarama.MockResponse{
		"MetadataRequest":        sarama.NewMockWrapper(md),
		"OffsetRequest":          offsets,
		"ListGroupsRequest":      sarama.NewMockListGroupsResponse(t),
		"DescribeConfigsRequest": sarama.NewMockDescribeConfigsResponse(t),
	})

	p, err := collector.NewPoller(collector.Config{Servers: []string{mb.Addr()}, Kafka: kafka.WrapSarama(conf), PollInterval: time.Second, RequestTimeout: waitfor.Scaled(time.Second), Lag: lagcalc.Settings{Window: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, newMetricsHandler(p, exporter.Options{})
}

func TestOfflineAndUnderReplicatedPartitionsOnAMockedThreeBrokerCluster(t *testing.T) {
	p, metrics := mockCluster(t, func(v int16) *sarama.MetadataResponse {
		md := &sarama.MetadataResponse{Version: v}
		// Partition 0 healthy, 1 lost a replica from its ISR, 2 has no
		// leader at all (every replica is down).
		md.AddTopicPartition("shaky", 0, 1, []int32{1, 2, 3}, []int32{1, 2, 3}, nil, sarama.ErrNoError)
		md.AddTopicPartition("shaky", 1, 1, []int32{1, 2, 3}, []int32{1, 3}, []int32{2}, sarama.ErrNoError)
		md.AddTopicPartition("shaky", 2, -1, []int32{2, 3}, nil, []int32{2, 3}, sarama.ErrLeaderNotAvailable)
		return md
	}, map[int32]int64{0: 10, 1: 20})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = p.PollOnce(ctx) // the mock answers no group requests; partial polls are fine here
	s := scrape(t, metrics)
	checks := map[string]float64{
		key("kafka_topic_partition_offline", "topic", "shaky", "partition", "2"):                    1,
		key("kafka_topic_partition_leader", "topic", "shaky", "partition", "2"):                     -1,
		key("kafka_topic_partition_under_replicated_partition", "topic", "shaky", "partition", "1"): 1,
		key("kafka_topic_partition_under_replicated_partition", "topic", "shaky", "partition", "0"): 0,
		key("kafka_topic_partition_in_sync_replica", "topic", "shaky", "partition", "2"):            0,
		key("kafka_cluster_offline_partitions"):                                                     1,
		key("kafka_cluster_under_replicated_partitions"):                                            2,
		key("kafka_topic_partition_current_offset", "topic", "shaky", "partition", "1"):             20,
	}
	for k, want := range checks {
		if got, ok := s[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if s.Has("kafka_topic_partition_offline", "topic", "shaky", "partition", "0") {
		t.Errorf("a partition with a leader has an offline series: it is written only for offline ones")
	}
	if s.Has("kafka_topic_partition_current_offset", "topic", "shaky", "partition", "2") {
		t.Errorf("a partition without a leader has no offsets to report")
	}
}
