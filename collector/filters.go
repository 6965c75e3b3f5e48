package collector

import (
	"fmt"
	"hash/fnv"
	"regexp"
)

// Filters decide which groups and topics lagwatch polls. They are applied
// to the lists Kafka returns before any offsets are fetched, so excluded
// groups and topics cost no requests.
type Filters struct {
	GroupInclude, GroupExclude *regexp.Regexp
	TopicInclude, TopicExclude *regexp.Regexp
	// Shard keeps only the groups this replica's shard owns; the zero
	// value is one shard that owns every group.
	Shard Shard
}

// Shard is one replica's part of the consumer groups when several
// replicas share the work of one deployment (--shard.count,
// --shard.index). Every group belongs to exactly one shard, decided by
// its name alone, so replicas agree without talking to each other and a
// group stays on its shard (and keeps its history) as long as the number
// of shards does not change.
type Shard struct {
	Index int // 0-based
	Count int // 0 or 1: one shard
}

// ShardOf is the shard that owns group among count: FNV-1a (32-bit) of
// the group's name, modulo count.
func ShardOf(group string, count int) int {
	if count <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(group))
	return int(h.Sum32() % uint32(count))
}

// Owns reports whether the shard polls and exports group.
func (s Shard) Owns(group string) bool { return ShardOf(group, s.Count) == s.Index }

// ServesCluster reports whether the shard exports what every shard sees
// alike: brokers, topics, partitions and the cluster's totals. Shard 0
// does; the others would only duplicate it, and a sum over the shards
// must count each partition once.
func (s Shard) ServesCluster() bool { return s.Index == 0 }

// MatchAnywhere compiles a group or topic filter with kafka_exporter's
// meaning (its --group.filter, --group.exclude, --topic.filter and
// --topic.exclude call regexp.MatchString): the expression keeps a name
// when it matches anywhere in it, so "orders" keeps "orders" and
// "orders-dlq", and "^orders$" keeps only "orders".
func MatchAnywhere(expr string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", expr, err)
	}
	return re, nil
}

// Anchored compiles a user's regular expression so that it must match the
// whole name: lagwatch's own name filters (--metric.exclude,
// --topic.dead-letter-regex), which kafka_exporter does not have.
func Anchored(expr string) (*regexp.Regexp, error) {
	re, err := regexp.Compile("^(?:" + expr + ")$")
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", expr, err)
	}
	return re, nil
}

func (f Filters) keepGroup(name string) bool {
	return keep(name, f.GroupInclude, f.GroupExclude) && f.Shard.Owns(name)
}

func (f Filters) keepTopic(name string) bool {
	return keep(name, f.TopicInclude, f.TopicExclude)
}

func keep(name string, include, exclude *regexp.Regexp) bool {
	if include != nil && !include.MatchString(name) {
		return false
	}
	return exclude == nil || !exclude.MatchString(name)
}
