package demo

import (
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// partialAssignor is a classic-group assignor that hands out only the
// partitions below keepBelow of each topic, all to the group's first
// member: a stand-in for a broken custom assignor. The partitions it
// leaves out are assigned to no member, so nobody consumes them while the
// group looks healthy (kafka_consumergroup_unassigned_partitions).
type partialAssignor struct {
	keepBelow int32
}

func (partialAssignor) ProtocolName() string { return "demo-partial" }
func (partialAssignor) IsCooperative() bool  { return false }

func (partialAssignor) JoinGroupMetadata(interests []string, _ map[string][]int32, generation int32) []byte {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Version = 3
	meta.Topics = interests
	meta.Generation = generation
	return meta.AppendTo(nil)
}

func (partialAssignor) ParseSyncAssignment(assignment []byte) (map[string][]int32, error) {
	return kgo.ParseConsumerSyncAssignment(assignment)
}

func (a partialAssignor) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	b, err := kgo.NewConsumerBalancer(a, members)
	if err != nil {
		return nil, nil, err
	}
	return b, b.MemberTopics(), nil
}

func (a partialAssignor) Balance(b *kgo.ConsumerBalancer, topics map[string]int32) kgo.IntoSyncAssignment {
	plan := b.NewPlan()
	first, _ := b.MemberAt(0)
	for topic, partitions := range topics {
		for p := range min(partitions, a.keepBelow) {
			plan.AddPartition(first, topic, p)
		}
	}
	return plan
}
