package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// describeStreamsGroups describes streams groups (KIP-1071) with one
// StreamsGroupDescribe. A coordinator that does not advertise the API (a
// broker before 4.1, or streams groups turned off) is asked nothing and is
// no error: its streams groups go undescribed.
func (c *Client) describeStreamsGroups(ctx context.Context, coordinator int32, names []string) (map[string]GroupDescription, error) {
	if _, ok, err := c.supports(ctx, coordinator, keyStreamsGroupDescribe); err != nil || !ok {
		return nil, err
	}
	req := kmsg.NewPtrStreamsGroupDescribeRequest()
	req.Groups = names
	resp, err := c.doKmsg(ctx, coordinator, req)
	if err != nil {
		return nil, fmt.Errorf("describe %d streams groups on broker %d: %w", len(names), coordinator, err)
	}
	out := make(map[string]GroupDescription, len(names))
	var errs []error
	for _, g := range resp.(*kmsg.StreamsGroupDescribeResponse).Groups {
		if err := errKmsg(g.ErrorCode, g.ErrorMessage); err != nil {
			errs = append(errs, fmt.Errorf("describe streams group %q on broker %d: %w", g.Group, coordinator, err))
			continue
		}
		out[g.Group] = streamsGroupDescription(&g)
	}
	return out, errors.Join(errs...)
}

// streamsGroupDescription turns the tasks of a streams group into the
// partitions its members consume. A task is a subtopology and a partition
// number; the member processing it reads that partition of each of the
// subtopology's source topics (user topics and repartition topics alike),
// and commits its offsets there under the group's name.
func streamsGroupDescription(g *kmsg.StreamsGroupDescribeResponseGroup) GroupDescription {
	d := GroupDescription{State: consumerProtocolState(g.State), Subscribed: map[string]bool{}}
	sources := map[string][]string{}
	if g.Topology != nil {
		for _, st := range g.Topology.Subtopologies {
			topics := append([]string(nil), st.SourceTopics...)
			for _, r := range st.RepartitionSourceTopics {
				topics = append(topics, r.Topic)
			}
			sources[st.SubtopologyID] = topics
			for _, t := range topics {
				d.Subscribed[t] = true
			}
		}
	}
	for _, m := range g.Members {
		topics := map[string][]int32{}
		for _, task := range m.Assignment.ActiveTasks {
			for _, t := range sources[task.SubtopologyID] {
				topics[t] = append(topics[t], task.Partitions...)
			}
		}
		d.Members = append(d.Members, Member{
			ID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost,
			Assigned:     assignedPartitions(topics),
			ActiveTasks:  countTasks(m.Assignment.ActiveTasks),
			StandbyTasks: countTasks(m.Assignment.StandbyTasks),
			WarmupTasks:  countTasks(m.Assignment.WarmupTasks),
		})
	}
	sortMembers(d.Members)
	return d
}

// countTasks counts tasks: one per subtopology and partition.
func countTasks(tasks []kmsg.TaskIDs) int {
	n := 0
	for _, t := range tasks {
		n += len(t.Partitions)
	}
	return n
}
