package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// Groups per DescribeGroups, ConsumerGroupDescribe and OffsetFetch request.
// Many groups per request keep the requests of a poll nearly a function of
// the brokers, not of the groups: 10,000 groups on one coordinator take 5
// requests each way. Batches of this size are sent in parallel over
// several connections to the coordinator, each with a deadline sized to
// it (see batches.go), where one request of 10,000 groups was one long
// wait that a single fixed deadline cut off on every poll.
const groupsPerRequest = 2000

// The group types, as ListGroups v5 names them: the classic rebalance
// protocol, the Kafka 4 consumer protocol (KIP-848), share groups (KIP-932)
// and streams groups (KIP-1071).
const (
	ProtocolClassic  = "classic"
	ProtocolConsumer = "consumer"
	ProtocolShare    = "share"
	ProtocolStreams  = "streams"
)

// groupType is a group's type from ListGroups: the type v5 reports, and
// before v5 (or when a broker leaves it out) the protocol type, which is
// "share" or "streams" for those groups and tells nothing more.
func groupType(listed, protocolType string) string {
	switch {
	case listed != "":
		return strings.ToLower(listed)
	case protocolType == ProtocolShare || protocolType == ProtocolStreams:
		return protocolType
	default:
		return ProtocolClassic
	}
}

// ListedGroup is a group as ListGroups names it. ListGroups is answered by
// each broker for the groups it coordinates, so listing every broker also
// finds every group's coordinator without a FindCoordinator per group.
type ListedGroup struct {
	Name         string
	Coordinator  int32
	ProtocolType string
	State        string
	// ConsumerProtocol is true for groups of the Kafka 4 consumer protocol
	// (KIP-848), which classic DescribeGroups cannot describe.
	ConsumerProtocol bool
	// Type is the group's type (ProtocolClassic, …); see GroupType.
	Type string
	// ListedAt is set when the group comes from an earlier poll's listing
	// because its broker failed to list it now; zero when this poll listed
	// it. The collector sets it; this package never does.
	ListedAt time.Time
}

// GroupType is the group's type: Type as listed, or for a group rebuilt
// from an earlier poll without it, what its protocol tells.
func (g ListedGroup) GroupType() string {
	switch {
	case g.Type != "":
		return g.Type
	case g.ConsumerProtocol:
		return ProtocolConsumer
	default:
		return groupType("", g.ProtocolType)
	}
}

// ListGroups asks every broker for the groups it coordinates and keeps
// those keepGroup accepts (all when it is nil), sorted by name. A broker
// that fails is reported in failed and in the error; the groups of the
// others are still returned.
func (c *Client) ListGroups(ctx context.Context, brokers []int32, keepGroup func(string) bool) (_ []ListedGroup, failed map[int32]bool, _ error) {
	var (
		answers = make([][]ListedGroup, len(brokers))
		errs    = make([]error, len(brokers))
		wg      sync.WaitGroup
	)
	for i, id := range brokers {
		wg.Go(func() { answers[i], errs[i] = c.brokerGroups(ctx, id) })
	}
	wg.Wait()
	failed = map[int32]bool{}
	for i, id := range brokers {
		if errs[i] != nil {
			failed[id] = true
		}
	}
	return listedOnce(answers, keepGroup), failed, errors.Join(errs...)
}

// listedOnce is the brokers' answers in one list sorted by name, each group
// once (a group listed by two brokers while its coordinator moves is kept
// as the first broker listed it), of those keepGroup accepts; keepGroup is
// asked once per group. The list is sized once and thinned in place.
func listedOnce(answers [][]ListedGroup, keepGroup func(string) bool) []ListedGroup {
	total := 0
	for _, groups := range answers {
		total += len(groups)
	}
	out := make([]ListedGroup, 0, total)
	for _, groups := range answers {
		out = append(out, groups...)
	}
	slices.SortStableFunc(out, func(a, b ListedGroup) int { return strings.Compare(a.Name, b.Name) })
	kept, previous := out[:0], ""
	for i, g := range out {
		if i > 0 && g.Name == previous {
			continue
		}
		previous = g.Name
		if keepGroup == nil || keepGroup(g.Name) {
			kept = append(kept, g)
		}
	}
	return kept
}

func (c *Client) brokerGroups(ctx context.Context, id int32) ([]ListedGroup, error) {
	b, ok := c.broker(id)
	if !ok {
		return nil, fmt.Errorf("list groups: broker %d is not in the metadata", id)
	}
	req := &sarama.ListGroupsRequest{Version: listGroupsVersion(groupRequestsVersion)}
	var resp *sarama.ListGroupsResponse
	err := c.do(ctx, "ListGroups", b, func(b *sarama.Broker) (err error) {
		resp, err = b.ListGroups(req)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list groups on broker %d: %w", id, err)
	}
	if resp.Err != sarama.ErrNoError {
		return nil, fmt.Errorf("list groups on broker %d: %w", id, resp.Err)
	}
	out := make([]ListedGroup, 0, len(resp.Groups))
	for name, protocolType := range resp.Groups {
		g := ListedGroup{Name: name, Coordinator: id, ProtocolType: protocolType}
		listedType := ""
		if data, ok := resp.GroupsData[name]; ok {
			g.State = data.GroupState
			listedType = data.GroupType
		}
		g.Type = groupType(listedType, protocolType)
		g.ConsumerProtocol = g.Type == ProtocolConsumer
		out = append(out, g)
	}
	return out, nil
}

func listGroupsVersion(v sarama.KafkaVersion) int16 {
	switch {
	case v.IsAtLeast(sarama.V3_8_0_0):
		return 5 // adds the group type: classic, consumer (KIP-848), share, streams
	case v.IsAtLeast(sarama.V2_6_0_0):
		return 4 // adds the group state
	default:
		return 0
	}
}

// GroupDescription is what DescribeGroups or ConsumerGroupDescribe says of
// a group: its state, members and their assignments and subscriptions.
type GroupDescription struct {
	State      string
	Members    []Member
	Subscribed map[string]bool
}

// addMember adds a member of a group of the consumer or share protocol,
// whose descriptions name each member's subscription and assignment.
func (d *GroupDescription) addMember(id, clientID, host string, subscribed []string, assigned map[string][]int32) {
	for _, t := range subscribed {
		d.Subscribed[t] = true
	}
	d.Members = append(d.Members, Member{ID: id, ClientID: clientID, Host: host, Assigned: assignedPartitions(assigned)})
}

// Member is one member of a group and the partitions it is assigned.
type Member struct {
	ID       string
	ClientID string
	Host     string
	Assigned []TopicPartition
	// ActiveTasks, StandbyTasks and WarmupTasks count the tasks of a
	// streams-group member (KIP-1071); 0 in other groups.
	ActiveTasks, StandbyTasks, WarmupTasks int
}

// DescribeGroups describes the groups in batches per coordinator and type:
// classic groups with DescribeGroups, groups of the consumer protocol with
// ConsumerGroupDescribe and streams groups with StreamsGroupDescribe. Share
// groups are left out: DescribeGroups answers GROUP_ID_NOT_FOUND for them,
// which is no sign of a deleted group (see DescribeShareGroups). Groups
// missing from the result could not be described; the error says why.
func (c *Client) DescribeGroups(ctx context.Context, groups []ListedGroup) (map[string]GroupDescription, error) {
	batches := batchesByCoordinator(groups, func(g ListedGroup) bool { return g.GroupType() != ProtocolShare })
	coordinator := func(bt groupBatch) int32 { return bt.coordinator }
	return gatherInLanes(ctx, batches, coordinator, func(ctx context.Context, bt groupBatch) (map[string]GroupDescription, error) {
		switch bt.groupType {
		case ProtocolConsumer:
			return c.describeConsumerProtocolGroups(ctx, bt.coordinator, bt.names)
		case ProtocolStreams:
			return c.describeStreamsGroups(ctx, bt.coordinator, bt.names)
		default:
			return c.describeClassicGroups(ctx, bt.coordinator, bt.names)
		}
	})
}

// groupBatch is groups of one type on one coordinator, at most
// groupsPerRequest of them: what one describe request carries.
type groupBatch struct {
	coordinator int32
	groupType   string
	names       []string
}

// batchesByCoordinator splits the groups keep accepts into batches.
func batchesByCoordinator(groups []ListedGroup, keep func(ListedGroup) bool) []groupBatch {
	var batches []groupBatch
	type key struct {
		coordinator int32
		groupType   string
	}
	open := map[key]int{}
	for _, g := range groups {
		if !keep(g) {
			continue
		}
		k := key{g.Coordinator, g.GroupType()}
		if k.groupType != ProtocolConsumer && k.groupType != ProtocolStreams && k.groupType != ProtocolShare {
			k.groupType = ProtocolClassic
		}
		i, ok := open[k]
		if !ok || len(batches[i].names) >= groupsPerRequest {
			batches = append(batches, groupBatch{coordinator: k.coordinator, groupType: k.groupType})
			i = len(batches) - 1
			open[k] = i
		}
		batches[i].names = append(batches[i].names, g.Name)
	}
	return batches
}

func (c *Client) describeClassicGroups(ctx context.Context, coordinator int32, names []string) (map[string]GroupDescription, error) {
	b, ok := c.broker(coordinator)
	if !ok {
		return nil, fmt.Errorf("describe groups: coordinator %d is not in the metadata", coordinator)
	}
	req := &sarama.DescribeGroupsRequest{Version: describeGroupsVersion(groupRequestsVersion), Groups: names}
	var resp *sarama.DescribeGroupsResponse
	err := c.doSized(ctx, "DescribeGroups", b, perGroupAllowance*time.Duration(len(names)), func(b *sarama.Broker) (err error) {
		resp, err = b.DescribeGroups(req)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("describe %d groups on broker %d: %w", len(names), coordinator, err)
	}
	out := make(map[string]GroupDescription, len(resp.Groups))
	var errs []error
	for _, g := range resp.Groups {
		if g.Err != sarama.ErrNoError {
			errs = append(errs, &ResourceError{Type: ResourceGroup, Name: g.GroupId, Operation: OpDescribe, Err: fmt.Errorf("describe on broker %d: %w", coordinator, g.Err)})
			continue
		}
		d := GroupDescription{State: g.State, Subscribed: map[string]bool{}}
		for _, m := range g.Members {
			member := Member{ID: m.MemberId, ClientID: m.ClientId, Host: m.ClientHost}
			// Only groups of protocol type "consumer" carry the consumer
			// embedded protocol's subscription and assignment; Connect
			// workers and others carry their own formats.
			if g.ProtocolType == "consumer" {
				if meta, err := m.GetMemberMetadata(); err == nil && meta != nil {
					for _, t := range meta.Topics {
						d.Subscribed[t] = true
					}
				}
				if a, err := m.GetMemberAssignment(); err == nil && a != nil {
					member.Assigned = assignedPartitions(a.Topics)
				}
			}
			d.Members = append(d.Members, member)
		}
		sortMembers(d.Members)
		out[g.GroupId] = d
	}
	return out, errors.Join(errs...)
}

func (c *Client) describeConsumerProtocolGroups(ctx context.Context, coordinator int32, names []string) (map[string]GroupDescription, error) {
	b, ok := c.broker(coordinator)
	if !ok {
		return nil, fmt.Errorf("describe consumer groups: coordinator %d is not in the metadata", coordinator)
	}
	req := sarama.NewConsumerGroupDescribeRequest(groupRequestsVersion)
	req.GroupIDs = names
	var resp *sarama.ConsumerGroupDescribeResponse
	err := c.doSized(ctx, "ConsumerGroupDescribe", b, perGroupAllowance*time.Duration(len(names)), func(b *sarama.Broker) (err error) {
		resp, err = b.ConsumerGroupDescribe(req)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("describe %d consumer-protocol groups on broker %d: %w", len(names), coordinator, err)
	}
	out := make(map[string]GroupDescription, len(resp.Groups))
	var errs []error
	for _, g := range resp.Groups {
		if g.ErrorCode != sarama.ErrNoError {
			// A group of the consumer protocol subscribed to a topic the
			// principal may not Describe fails as a whole with
			// TOPIC_AUTHORIZATION_FAILED; the message may name the topic.
			err := fmt.Errorf("describe consumer-protocol group on broker %d: %w", coordinator, g.ErrorCode)
			if g.ErrorMessage != nil && *g.ErrorMessage != "" {
				err = fmt.Errorf("%w (%s)", err, *g.ErrorMessage)
			}
			errs = append(errs, &ResourceError{Type: ResourceGroup, Name: g.GroupID, Operation: OpDescribe, Err: err})
			continue
		}
		d := GroupDescription{State: consumerProtocolState(g.GroupState), Subscribed: map[string]bool{}}
		for _, m := range g.Members {
			topics := map[string][]int32{}
			for _, tp := range m.Assignment.TopicPartitions {
				topics[tp.TopicName] = append(topics[tp.TopicName], tp.Partitions...)
			}
			d.addMember(m.MemberID, m.ClientID, m.ClientHost, m.SubscribedTopicNames, topics)
		}
		sortMembers(d.Members)
		out[g.GroupID] = d
	}
	return out, errors.Join(errs...)
}

// consumerProtocolState maps the KIP-848 group states, which the broker
// reports in lower case ("stable", "assigning", ...), to the capitalised
// names of the classic states so both protocols share one label set.
func consumerProtocolState(s string) string {
	switch s {
	case "empty":
		return "Empty"
	case "assigning":
		return "Assigning"
	case "reconciling":
		return "Reconciling"
	case "stable":
		return "Stable"
	case "dead":
		return "Dead"
	case "not_ready", "notready":
		return "NotReady"
	}
	return s
}

func describeGroupsVersion(v sarama.KafkaVersion) int16 {
	if v.IsAtLeast(sarama.V2_4_0_0) {
		return 5
	}
	return 0
}

func assignedPartitions(topics map[string][]int32) []TopicPartition {
	var out []TopicPartition
	for t, ps := range topics {
		for _, p := range ps {
			out = append(out, TopicPartition{Topic: t, Partition: p})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

func sortMembers(ms []Member) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
}

// CommittedOffsetsOn fetches every group's committed offsets from its
// coordinator: on Kafka 3.0 and later many groups share one OffsetFetch
// (v8, KIP-709), so the number of requests grows with coordinators, not
// with groups. A committed offset of -1 (the group never committed the
// partition) is left out. Groups missing from the result failed.
//
// For each group that partitions names (partitions(group) not nil), it
// asks only for those partitions: without a list Kafka authorizes every
// topic the group committed on, and logs a DENIED line for each the
// principal may not Describe, at every request. partitions nil asks every
// group for all it committed.
func (c *Client) CommittedOffsetsOn(ctx context.Context, groups []ListedGroup, partitions func(group string) map[string][]int32) (map[string]map[TopicPartition]int64, error) {
	perRequest := groupsPerRequest
	if !groupRequestsVersion.IsAtLeast(sarama.V3_0_0_0) {
		perRequest = 1 // OffsetFetch before v8 carries one group
	}
	byCoordinator := map[int32][][]string{}
	for _, g := range groups {
		// A share group has no committed offsets: OffsetFetch answers it
		// empty, and its progress is its start offsets.
		if g.GroupType() == ProtocolShare {
			continue
		}
		chunks := byCoordinator[g.Coordinator]
		if len(chunks) == 0 || len(chunks[len(chunks)-1]) >= perRequest {
			chunks = append(chunks, nil)
		}
		chunks[len(chunks)-1] = append(chunks[len(chunks)-1], g.Name)
		byCoordinator[g.Coordinator] = chunks
	}

	type chunk struct {
		coordinator int32
		names       []string
	}
	var requests []chunk
	for coordinator, chunks := range byCoordinator {
		for _, names := range chunks {
			requests = append(requests, chunk{coordinator, names})
		}
	}
	coordinator := func(r chunk) int32 { return r.coordinator }
	return gatherInLanes(ctx, requests, coordinator, func(ctx context.Context, r chunk) (map[string]map[TopicPartition]int64, error) {
		return c.fetchCommitted(ctx, r.coordinator, r.names, partitions)
	})
}

func (c *Client) fetchCommitted(ctx context.Context, coordinator int32, names []string, partitions func(string) map[string][]int32) (map[string]map[TopicPartition]int64, error) {
	b, ok := c.broker(coordinator)
	if !ok {
		return nil, fmt.Errorf("offset fetch: coordinator %d is not in the metadata", coordinator)
	}
	// A nil partition list asks for every partition the group committed.
	of := func(group string) map[string][]int32 {
		if partitions == nil {
			return nil
		}
		return partitions(group)
	}
	req := sarama.NewOffsetFetchRequest(groupRequestsVersion, names[0], of(names[0]))
	if req.Version >= 8 {
		req.Groups = make([]sarama.OffsetFetchRequestGroup, len(names))
		for i, n := range names {
			req.Groups[i] = sarama.OffsetFetchRequestGroup{GroupId: n, Partitions: of(n)}
		}
	}
	var resp *sarama.OffsetFetchResponse
	err := c.doSized(ctx, "OffsetFetch", b, perGroupAllowance*time.Duration(len(names)), func(b *sarama.Broker) (err error) {
		resp, err = b.FetchOffset(req)
		return err
	})
	var tooOld sarama.PacketEncodingError
	if errors.As(err, &tooOld) && len(names) > 1 {
		// The broker is older than Kafka 3.0: sarama lowered the request
		// below v8, which carries one group, and refused to encode it.
		return c.fetchCommittedOneByOne(ctx, coordinator, names, partitions)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch committed offsets of %d groups on broker %d: %w", len(names), coordinator, err)
	}

	out := make(map[string]map[TopicPartition]int64, len(names))
	var errs []error
	collect := func(group string, groupErr sarama.KError, blocks map[string]map[int32]*sarama.OffsetFetchResponseBlock) {
		// kfake answers GROUP_ID_NOT_FOUND for a group that has nothing
		// committed, where Apache Kafka answers no offsets: both mean none.
		if groupErr != sarama.ErrNoError && groupErr != sarama.ErrGroupIDNotFound {
			errs = append(errs, &ResourceError{Type: ResourceGroup, Name: group, Operation: OpDescribe, Err: fmt.Errorf("fetch committed offsets on broker %d: %w", coordinator, groupErr)})
			return
		}
		n := 0
		for _, parts := range blocks {
			n += len(parts)
		}
		// Sized once: grown by inserts, the map of a group with many
		// partitions would leave its smaller tables behind as garbage.
		offsets := make(map[TopicPartition]int64, n)
		for topic, parts := range blocks {
			for p, block := range parts {
				if block == nil || block.Err != sarama.ErrNoError || block.Offset < 0 {
					continue
				}
				offsets[TopicPartition{Topic: topic, Partition: p}] = block.Offset
			}
		}
		out[group] = offsets
	}
	if resp.Version >= 8 {
		for _, g := range resp.Groups {
			collect(g.GroupId, g.Err, g.Blocks)
		}
		return out, errors.Join(errs...)
	}
	collect(names[0], resp.Err, resp.Blocks)
	return out, errors.Join(errs...)
}

// fetchCommittedOneByOne sends one OffsetFetch per group, as brokers
// older than Kafka 3.0 need.
func (c *Client) fetchCommittedOneByOne(ctx context.Context, coordinator int32, names []string, partitions func(string) map[string][]int32) (map[string]map[TopicPartition]int64, error) {
	out := make(map[string]map[TopicPartition]int64, len(names))
	var errs []error
	for _, name := range names {
		offsets, err := c.fetchCommitted(ctx, coordinator, []string{name}, partitions)
		maps.Copy(out, offsets)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}
