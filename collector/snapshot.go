package collector

import (
	"time"

	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// Snapshot is everything one poll learned about the cluster. It is built by
// the poller, never modified after it is published, and rendered by every
// scrape until the next poll replaces it: a scrape never talks to Kafka.
type Snapshot struct {
	// PolledAt is when the poll that built this snapshot started.
	PolledAt time.Time
	// Complete is true when every stage of the poll succeeded.
	Complete bool

	Brokers []Broker
	Topics  []Topic
	Groups  []Group
	// ShareGroups are the share groups (KIP-932), kept apart from Groups:
	// they commit no offsets and their lag is Kafka's, not lagcalc's.
	ShareGroups []ShareGroup

	// OfflinePartitions and UnderReplicatedPartitions are cluster totals
	// over every topic the filters keep.
	OfflinePartitions         int
	UnderReplicatedPartitions int

	// Seen is what Kafka listed before the filters and the shard kept
	// Topics and Groups.
	Seen Seen
}

// Seen counts the topics and groups Kafka listed, before the filters.
type Seen struct {
	Topics int
	// Groups counts the groups of every type the brokers that answered
	// ListGroups listed.
	Groups int
}

// Broker is one broker of the cluster as the metadata names it.
type Broker = kafka.Broker

// Topic is one topic with its partitions and, once fetched, its configs.
type Topic struct {
	Name       string
	Partitions []Partition
	Config     TopicConfig
	// DeadLetter marks a topic whose name matches --topic.dead-letter-regex.
	DeadLetter bool
}

// Partition is one topic-partition: its replicas from the metadata and its
// offsets from ListOffsets.
type Partition struct {
	ID       int32
	Leader   int32 // -1 when the partition has no leader (offline)
	Replicas []int32
	ISR      []int32

	// HasOffsets is false when ListOffsets failed for this partition's
	// leader; the offsets below are then meaningless and not exported.
	HasOffsets bool
	LogStart   int64
	LogEnd     int64
	// LastStable is the last stable offset: what a read_committed consumer
	// can read up to (the log end unless a transaction is open).
	LastStable int64
	// OffsetsAt is when the offsets were read: this poll's time, or an
	// earlier one when the leader failed and the last answer stands in.
	OffsetsAt time.Time

	ProduceRate    float64
	HasProduceRate bool
}

// Offline reports whether the partition has no leader to serve it.
func (p Partition) Offline() bool { return p.Leader < 0 }

// UnderReplicated reports whether some replica is out of the ISR.
func (p Partition) UnderReplicated() bool { return len(p.ISR) < len(p.Replicas) }

// LeaderIsPreferred reports whether the leader is the first replica, the
// one Kafka's preferred-leader election would choose.
func (p Partition) LeaderIsPreferred() bool {
	return len(p.Replicas) > 0 && p.Leader >= 0 && p.Replicas[0] == p.Leader
}

// UnderMinISR reports whether the partition has fewer in-sync replicas
// than the topic's min.insync.replicas, so acks=all producers fail; false
// while the topic's configs are unknown.
func (p Partition) UnderMinISR(c TopicConfig) bool {
	return c.Known && int64(len(p.ISR)) < c.MinInsyncReplicas
}

// TopicConfig holds the topic configs lagwatch reads with DescribeConfigs.
type TopicConfig = kafka.TopicConfig

// Group is one consumer group with its members and committed offsets.
type Group struct {
	Name string
	// Protocol is the group's type: "classic" for groups of the classic
	// rebalance protocol, "consumer" for the Kafka 4 consumer protocol
	// (KIP-848) and "streams" for streams groups (KIP-1071).
	Protocol string
	// ProtocolType is the classic protocol type ("consumer", "connect", or
	// "" for a group that only ever committed offsets).
	ProtocolType string
	State        string
	Members      []Member
	// Coordinator is the broker that coordinates the group.
	Coordinator int32
	// Described is false when the group could not be described this poll
	// nor recently enough; its members and state are then unknown and not
	// exported.
	Described bool
	// ListedAt, DescribedAt and CommittedAt are when ListGroups named the
	// group and when its description and committed offsets were read: this
	// poll's time, or an earlier one when the broker failed and the last
	// answer stands in (see lastKnown).
	ListedAt    time.Time
	DescribedAt time.Time
	CommittedAt time.Time

	Partitions []GroupPartition
	// Topics is per topic the group consumes: the assignment summary.
	Topics []GroupTopic
	// Subscribed are the topics its members subscribe to, as described
	// (nil when not described, or for protocols whose subscriptions are
	// not read): lagcalc calls a topic with offsets but no subscriber left
	// behind (inactive).
	Subscribed map[string]bool

	Status lagcalc.Status
	// MaxLagSeconds is the largest lag in seconds of the group's
	// partitions; HasMaxLagSeconds is false when none has a number.
	MaxLagSeconds    float64
	HasMaxLagSeconds bool
	IdleMembers      int
}

// Member is one member of a group and the partitions it is assigned.
type Member = kafka.Member

// The group protocols.
const (
	ProtocolClassic  = kafka.ProtocolClassic
	ProtocolConsumer = kafka.ProtocolConsumer
	ProtocolShare    = kafka.ProtocolShare
	ProtocolStreams  = kafka.ProtocolStreams
)

// TracksAssignment reports whether lagwatch can read the group's partition
// assignment: consumer groups of either protocol and streams groups can,
// Connect workers and other protocol types carry assignments in their own
// formats.
func (g *Group) TracksAssignment() bool {
	return g.Protocol == ProtocolConsumer || g.Protocol == ProtocolStreams || g.ProtocolType == "consumer" || len(g.Members) == 0
}

// GroupTopic summarises a group's assignment on one topic.
type GroupTopic struct {
	Topic      string
	Assigned   int
	Unassigned int
}

// GroupPartition is one partition a group has committed or is assigned,
// with what lagcalc derived for it.
//
// It takes 96 bytes: a snapshot holds one per group-partition, and two
// snapshots are alive while a poll replaces one (see
// TestGroupPartitionSize). lagcalc writes its numbers straight into Eval
// (lagcalc.Tracker.EvaluateInto), so no result of lagcalc's outlives the
// poll.
type GroupPartition struct {
	Topic string
	// Committed is -1 when the group is assigned the partition but never
	// committed it; such a partition has no lag series.
	Committed int64
	// Eval is what lagcalc derived; the zero value (status unknown, no
	// numbers) for a group-partition lagcalc did not evaluate.
	Eval lagcalc.GroupPartitionNumbers

	Partition int32
	Assigned  bool
}

// HasCommit reports whether the group committed this partition.
func (gp *GroupPartition) HasCommit() bool { return gp.Committed >= 0 }

// HasLag reports whether the group committed the partition and lagcalc
// could compare the commit with the log: only then are there numbers.
func (gp *GroupPartition) HasLag() bool { return gp.HasCommit() && gp.Eval.HasLag }

// ShareGroup is one share group (KIP-932): members that read the same
// partitions and acknowledge each record on its own, and per partition the
// start offset and lag its coordinator reports.
type ShareGroup struct {
	Name        string
	Coordinator int32
	State       string
	Members     []Member
	// Described is false when the group could not be described this poll
	// nor recently enough: its members and state are unknown.
	Described bool
	// ListedAt, DescribedAt and OffsetsAt are when ListGroups named the
	// group, and when its description and offsets were read (an earlier
	// poll's time when its coordinator failed now, see lastKnown).
	ListedAt    time.Time
	DescribedAt time.Time
	OffsetsAt   time.Time
	// LagReported is false when the coordinator does not report lag
	// (DescribeShareGroupOffsets before v1, Kafka before 4.2): each
	// partition's Lag is then the log end minus its start offset, which
	// counts acknowledged records above the start offset too.
	LagReported bool

	// Partitions are those the group has state for, sorted.
	Partitions []SharePartition
	// Topics is per topic the group reads: how many of its partitions some
	// member is assigned.
	Topics []GroupTopic
	// Status is the worst status of its partitions.
	Status lagcalc.Status
}

// SharePartition is one partition of a share group.
type SharePartition struct {
	Topic     string
	Partition int32
	// StartOffset is the share-partition start offset (SPSO): every record
	// below it is acknowledged or archived. -1 while unknown.
	StartOffset int64
	// Lag is the records at or past StartOffset not yet acknowledged or
	// archived; -1 while unknown.
	Lag int64
	// Assigned is true when some member is assigned the partition.
	Assigned bool
	Status   lagcalc.Status
}
