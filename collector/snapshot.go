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

	// OfflinePartitions and UnderReplicatedPartitions are cluster totals
	// over every topic the filters keep.
	OfflinePartitions         int
	UnderReplicatedPartitions int
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
	// Protocol is "classic" for groups of the classic rebalance protocol
	// and "consumer" for the Kafka 4 consumer protocol (KIP-848).
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
)

// TracksAssignment reports whether lagwatch can read the group's partition
// assignment: consumer groups of either protocol can, Connect workers and
// other protocol types carry assignments in their own formats.
func (g *Group) TracksAssignment() bool {
	return g.Protocol == ProtocolConsumer || g.ProtocolType == "consumer" || len(g.Members) == 0
}

// GroupTopic summarises a group's assignment on one topic.
type GroupTopic struct {
	Topic      string
	Assigned   int
	Unassigned int
}

// GroupPartition is one partition a group has committed or is assigned,
// with what lagcalc derived for it.
type GroupPartition struct {
	Topic     string
	Partition int32
	// Committed is -1 when the group is assigned the partition but never
	// committed it; such a partition has no lag series.
	Committed int64
	Assigned  bool

	// Eval is what lagcalc derived: it points into the poll's lagcalc
	// result, which the snapshot keeps whole rather than copying 100,000
	// results into it. Never nil in a published snapshot; a partition
	// lagcalc did not evaluate points to notEvaluated (status unknown).
	Eval *lagcalc.GroupPartitionResult
}

// notEvaluated is the result of a group-partition lagcalc has not seen:
// status unknown and no numbers. Shared and never written.
var notEvaluated lagcalc.GroupPartitionResult

// HasCommit reports whether the group committed this partition.
func (gp *GroupPartition) HasCommit() bool { return gp.Committed >= 0 }

// HasLag reports whether the group committed the partition and lagcalc
// could compare the commit with the log: only then are there numbers.
func (gp *GroupPartition) HasLag() bool { return gp.HasCommit() && gp.Eval.HasLag }
