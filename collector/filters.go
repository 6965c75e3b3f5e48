package collector

import (
	"fmt"
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
