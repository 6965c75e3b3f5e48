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

// Anchored compiles a user's regular expression so that it must match the
// whole name, as kafka_exporter's filters do: "orders" matches the topic
// "orders" and not "orders-dlq".
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
