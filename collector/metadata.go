package collector

import (
	"sort"

	"github.com/IBM/sarama"
)

// topicsFromMetadata turns a Metadata response into the topics the filters
// keep, sorted by name, with partitions sorted by id. Offsets and configs
// are filled in by later stages.
func topicsFromMetadata(resp *sarama.MetadataResponse, f Filters) []Topic {
	topics := make([]Topic, 0, len(resp.Topics))
	for _, tm := range resp.Topics {
		// A topic being deleted or not yet created answers with an error and
		// no usable partitions; it is not part of the cluster for this poll.
		if tm.Err != sarama.ErrNoError && len(tm.Partitions) == 0 {
			continue
		}
		if !f.keepTopic(tm.Name) {
			continue
		}
		t := Topic{Name: tm.Name, Partitions: make([]Partition, 0, len(tm.Partitions))}
		for _, pm := range tm.Partitions {
			t.Partitions = append(t.Partitions, Partition{
				ID:       pm.ID,
				Leader:   pm.Leader,
				Replicas: pm.Replicas,
				ISR:      pm.Isr,
			})
		}
		sort.Slice(t.Partitions, func(i, j int) bool { return t.Partitions[i].ID < t.Partitions[j].ID })
		topics = append(topics, t)
	}
	sort.Slice(topics, func(i, j int) bool { return topics[i].Name < topics[j].Name })
	return topics
}

func brokersFromMetadata(resp *sarama.MetadataResponse) []Broker {
	out := make([]Broker, 0, len(resp.Brokers))
	for _, b := range resp.Brokers {
		out = append(out, Broker{ID: b.ID(), Addr: b.Addr()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
