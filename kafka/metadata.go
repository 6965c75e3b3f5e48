package kafka

import (
	"context"
	"sort"

	"github.com/IBM/sarama"
)

// Broker is one broker of the cluster as the metadata names it.
type Broker struct {
	ID   int32
	Addr string
}

// TopicMetadata is one topic and its partitions as the metadata names them.
type TopicMetadata struct {
	Name       string
	Partitions []PartitionMetadata
	// AuthorizedOps is what the principal may do on the topic (KIP-430),
	// unknown where the broker does not say.
	AuthorizedOps AuthorizedOps
}

// PartitionMetadata is one partition's leader and replicas.
type PartitionMetadata struct {
	ID       int32
	Leader   int32 // -1 when the partition has no leader (offline)
	Replicas []int32
	ISR      []int32
}

// Metadata is the cluster's brokers and the topics keepTopic keeps.
type Metadata struct {
	Brokers []Broker
	Topics  []TopicMetadata
	// Visible counts the topics the metadata listed before keepTopic:
	// Kafka silently leaves out those the principal may not Describe, so
	// 0 means lagwatch sees no topic at all.
	Visible int
}

// Metadata reads the brokers and topics of the cluster, keeping the topics
// whose name keepTopic accepts (all when it is nil), sorted by name with
// partitions sorted by id.
func (c *Client) Metadata(ctx context.Context, keepTopic func(string) bool) (*Metadata, error) {
	resp, err := c.metadataResponse(ctx)
	if err != nil {
		return nil, err
	}
	return &Metadata{Brokers: brokersOf(resp), Topics: topicsOf(resp, keepTopic), Visible: len(resp.Topics)}, nil
}

func topicsOf(resp *sarama.MetadataResponse, keepTopic func(string) bool) []TopicMetadata {
	topics := make([]TopicMetadata, 0, len(resp.Topics))
	for _, tm := range resp.Topics {
		// A topic being deleted or not yet created answers with an error and
		// no usable partitions; it is not part of the cluster for this poll.
		if tm.Err != sarama.ErrNoError && len(tm.Partitions) == 0 {
			continue
		}
		if keepTopic != nil && !keepTopic(tm.Name) {
			continue
		}
		t := TopicMetadata{Name: tm.Name, Partitions: make([]PartitionMetadata, 0, len(tm.Partitions)), AuthorizedOps: opsUnknown}
		if resp.Version >= 8 {
			t.AuthorizedOps = AuthorizedOps(tm.TopicAuthorizedOperations)
		}
		for _, pm := range tm.Partitions {
			t.Partitions = append(t.Partitions, PartitionMetadata{ID: pm.ID, Leader: pm.Leader, Replicas: pm.Replicas, ISR: pm.Isr})
		}
		sort.Slice(t.Partitions, func(i, j int) bool { return t.Partitions[i].ID < t.Partitions[j].ID })
		topics = append(topics, t)
	}
	sort.Slice(topics, func(i, j int) bool { return topics[i].Name < topics[j].Name })
	return topics
}

func brokersOf(resp *sarama.MetadataResponse) []Broker {
	out := make([]Broker, 0, len(resp.Brokers))
	for _, b := range resp.Brokers {
		out = append(out, Broker{ID: b.ID(), Addr: b.Addr()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
