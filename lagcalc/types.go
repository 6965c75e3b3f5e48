package lagcalc

import (
	"cmp"
	"slices"
	"time"
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// GroupPartition names one partition as seen by one consumer group.
type GroupPartition struct {
	Group string
	TopicPartition
}

// TopicPartitionOffset names one record: the collector reads its timestamp
// when the history cannot date it (see Tracker.UnresolvedOffsets).
type TopicPartitionOffset struct {
	TopicPartition
	Offset int64
}

// RetentionPolicy is what a topic's configs say about deleting old messages.
type RetentionPolicy struct {
	// Delete is true when cleanup.policy contains "delete" (alone or with
	// "compact"); only then do old messages disappear, so only then is there
	// a retention headroom.
	Delete bool
	// RetentionMs is retention.ms; -1 means infinite.
	RetentionMs int64
	// RetentionBytes is retention.bytes; -1 means infinite. It is not used in
	// arithmetic: size-based deletion shows up as the log start advancing,
	// which the headroom measures directly.
	RetentionBytes int64
}

// PartitionOffsets is what ListOffsets said about one partition in a poll.
// Kafka never reports negative offsets or a log start past the log end;
// should such values arrive they are clamped (to 0, and to LogEnd).
type PartitionOffsets struct {
	TopicPartition
	LogStart int64 // earliest offset still in the log
	LogEnd   int64 // offset the next produced message will get (high watermark)
	// LastStable is the last stable offset (LSO): ListOffsets with
	// IsolationLevel read_committed. A read_committed consumer never reads at
	// or past it while a transaction that started before it is open, so lag
	// is measured against it. A value ≤ 0 (not asked, not known) means "same
	// as LogEnd" (a topic without open transactions has LSO = high
	// watermark); any value is clamped into [LogStart, LogEnd].
	LastStable int64
	// ReadAt is when these offsets were read. The zero value, or the poll's
	// Time, means in this poll; an earlier time marks an answer reused for
	// a leader that failed now (see Poll): it keeps the partition in the
	// output, and nothing is derived from it.
	ReadAt time.Time
}

// Commit is one group's committed offset for one partition in a poll.
type Commit struct {
	GroupPartition
	// Committed is the offset of the next message the group will read. -1
	// (OffsetFetch's answer when the group never committed the partition)
	// is passed when a member is assigned the partition anyway: the status is
	// then no_commit and no numbers are derived. Any negative value is taken
	// the same way.
	Committed int64
	// Position is a verified effective position: the collector read the
	// records at Committed (see Tracker.VerifyCandidates) and found that
	// every record in [Committed, Position) is not consumable data —
	// transaction control markers or aborted transactional data, which a
	// read_committed consumer skips without ever returning them. Lag is then
	// measured from Position. Position ≤ Committed means "not verified" (the
	// zero value). It applies to this poll's Committed only.
	Position int64
	// ReadAt is when Committed was read. The zero value, or the poll's
	// Time, means in this poll; an earlier time marks an answer reused for
	// a coordinator that failed now (see Poll).
	ReadAt time.Time
}

// GroupState is what DescribeGroups (or ConsumerGroupDescribe) said about a
// group in a poll.
type GroupState struct {
	Group      string
	HasMembers bool
	// Subscribed are the topics the members subscribe to; nil (or empty)
	// when unknown (a Connect group, a protocol whose subscriptions
	// lagwatch does not read). A topic with committed offsets that no
	// member subscribes to is left behind (see isLeftBehind).
	Subscribed []string
}

// Poll is everything the collector saw in one poll.
//
// Whatever is absent from a poll is forgotten with its history: deleted
// topics and groups disappear from the output. A group-partition in Commits
// whose topic-partition is absent from Partitions gets no lag numbers
// (status unknown); a group in Commits but absent from Groups has unknown
// membership (see isStalled: a stuck partition of such a group reads
// stalled, never hidden).
// Within one poll only the first occurrence of a key counts.
//
// Answers reused for a failing broker (the collector's last answers, see
// PartitionOffsets.ReadAt and Commit.ReadAt) keep their keys in the output,
// but no status and no number is derived from them: a group-partition
// whose committed offset or partition offsets were reused keeps the status
// and the lag numbers of the last poll that read both fresh (lag only from
// values read together), and reads unknown once that poll is older than
// Settings.StaleAfter. out_of_range counts only polls that read both.
type Poll struct {
	// Time is when the poll was taken. Pass time.Now() as is: its monotonic
	// reading keeps the history immune to wall-clock steps. If Time is
	// before the previous poll's, all history is dropped (it cannot be placed
	// on the new timeline) and rebuilt from this poll on.
	Time       time.Time
	Partitions []PartitionOffsets
	Commits    []Commit
	Groups     []GroupState
	// Retention holds each topic's policy. A topic missing from it has an
	// unknown policy and gets no retention headroom. The map is copied.
	Retention map[string]RetentionPolicy
}

// Result is what Evaluate derives. Every slice is sorted by its key (group,
// then topic, then partition), so output order is deterministic.
type Result struct {
	Time            time.Time // the now passed to Evaluate
	Partitions      []PartitionResult
	GroupPartitions []GroupPartitionResult
	Groups          []GroupResult
}

// PartitionResult holds per topic-partition numbers.
type PartitionResult struct {
	TopicPartition
	LogStart, LogEnd int64 // as in the last poll
	// LastStable is the last stable offset as used (clamped into
	// [LogStart, LogEnd]; LogEnd when the poll had none). LogEnd − LastStable
	// is what open transactions hold back from read_committed consumers.
	LastStable int64
	// ProduceRate is messages per second by which the log end advanced over
	// the window (after the last time it went backwards, if it did).
	ProduceRate    float64
	HasProduceRate bool
	// LogStartRate is messages per second by which the log start advanced
	// over the window: how fast retention deletes.
	LogStartRate    float64
	HasLogStartRate bool
}

// GroupPartitionResult holds per group-partition numbers: its name, its
// offsets, and what lagcalc derived (GroupPartitionNumbers).
type GroupPartitionResult struct {
	GroupPartition
	// Committed is the last committed offset, -1 for no_commit.
	Committed int64
	// Position is the effective position lag is measured from:
	// max(Committed, the verified Commit.Position), -1 for no_commit.
	Position int64
	GroupPartitionNumbers
}

// GroupPartitionNumbers are what lagcalc derives for a group-partition,
// without its name: what a caller keeping a million of them needs (see
// Tracker.EvaluateInto). The zero value is status unknown with no numbers.
// A Has… flag that is false means "no series for this": its value is zero
// and must not be exported.
//
// The numbers come first and the status and the flags last, where they
// pack into 8 bytes: 64 bytes in all (see TestGroupPartitionNumbersSize).
type GroupPartitionNumbers struct {
	// Rewinds counts every backward step of the committed offset since this
	// group-partition was first seen (a Prometheus counter).
	Rewinds uint64

	// Lag is max(last stable offset − Position, 0) messages: what a
	// read_committed consumer can actually reach. It is measured against the
	// LSO, not the high watermark, because records past an open transaction
	// cannot be read yet (the lag is the producer's, not the consumer's), and
	// from Position, not Committed, because transaction markers and aborted
	// records take offsets that no consumer ever receives: a consumer that
	// committed "last record + 1" on an idle transactional topic is caught
	// up. It is 0 when the committed offset is past the log end
	// (out_of_range: there is nothing to read, only a reset to come).
	// Set when HasLag.
	Lag int64
	// LagSeconds is the age of the oldest unconsumed message, the one at
	// Position; 0 when Lag is 0. Set when HasLag.
	LagSeconds float64

	// ConsumeRate is messages per second by which the committed offset
	// advanced over the window (after the last rewind), never negative.
	ConsumeRate float64

	// TimeToDrainSeconds is Lag ÷ (ConsumeRate − ProduceRate) while the group
	// consumes faster than producers write, and 0 when Lag is 0.
	TimeToDrainSeconds float64

	// RetentionHeadroomSeconds is the time until retention may delete a
	// message the group has not consumed; only for a backlog at risk, on a
	// topic with a retention limit (see retentionHeadroom).
	RetentionHeadroomSeconds float64

	// ExpiredMessages is max(log start − committed, 0): messages deleted
	// before the group read them. The collector reads the log start before
	// the committed offsets, so an application that deletes up to its own
	// committed offset (Kafka Streams) never shows here.
	ExpiredMessages int64

	Status Status
	// HasLag is false for no_commit and when the partition's log end was not
	// in the poll; Lag, LagSeconds and ExpiredMessages are then unset.
	HasLag bool
	// LagSecondsLowerBound is true when the history could not date the
	// committed offset and no record timestamp was given for it: LagSeconds
	// is then now − the oldest history point, which the true age exceeds.
	// It is also true when the committed offset was deleted by retention and
	// the record read was the oldest one left.
	LagSecondsLowerBound bool
	HasConsumeRate       bool
	HasTimeToDrain       bool
	HasRetentionHeadroom bool
	HasExpiredMessages   bool
}

// GroupResult holds per group numbers.
type GroupResult struct {
	Group string
	// MembersKnown is false when the group was not in Poll.Groups (only in
	// Commits); HasMembers is then false too.
	MembersKnown bool
	HasMembers   bool
	// Status is the worst status of the group's partitions (see
	// Status.Severity); ok for a group without partitions.
	Status Status
	// Lag is the sum of the partitions' lag (saturating).
	Lag int64
	// MaxLagSeconds is the largest LagSeconds of the group's partitions.
	// HasMaxLagSeconds is false when no partition has lag numbers (then the
	// series must be absent, not 0).
	MaxLagSeconds    float64
	HasMaxLagSeconds bool
	// MaxLagSecondsLowerBound is true when some partition's LagSeconds is
	// only a lower bound: its true age may exceed MaxLagSeconds.
	MaxLagSecondsLowerBound bool
	// Partitions is how many group-partitions the group has in this result.
	Partitions int
}

// Partition returns the result for tp, found by binary search.
func (r Result) Partition(tp TopicPartition) (PartitionResult, bool) {
	i, ok := slices.BinarySearchFunc(r.Partitions, tp, func(p PartitionResult, k TopicPartition) int {
		return compareTopicPartitions(p.TopicPartition, k)
	})
	if !ok {
		return PartitionResult{}, false
	}
	return r.Partitions[i], true
}

// GroupPartition returns the result for gp, found by binary search: a
// pointer into r.GroupPartitions, so that a caller keeping results for
// 100,000 group-partitions shares them instead of copying each.
func (r Result) GroupPartition(gp GroupPartition) (*GroupPartitionResult, bool) {
	i, ok := slices.BinarySearchFunc(r.GroupPartitions, gp, func(p GroupPartitionResult, k GroupPartition) int {
		return compareGroupPartitions(p.GroupPartition, k)
	})
	if !ok {
		return nil, false
	}
	return &r.GroupPartitions[i], true
}

// Group returns the result for group, found by binary search.
func (r Result) Group(group string) (GroupResult, bool) {
	i, ok := slices.BinarySearchFunc(r.Groups, group, func(g GroupResult, k string) int {
		return cmp.Compare(g.Group, k)
	})
	if !ok {
		return GroupResult{}, false
	}
	return r.Groups[i], true
}

func compareTopicPartitions(a, b TopicPartition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

func compareGroupPartitions(a, b GroupPartition) int {
	if c := cmp.Compare(a.Group, b.Group); c != 0 {
		return c
	}
	return compareTopicPartitions(a.TopicPartition, b.TopicPartition)
}
