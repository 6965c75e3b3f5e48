package collector

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/kafka"
)

func topicsNamed(parts map[string]int) []Topic {
	var out []Topic
	for _, name := range slices.Sorted(maps.Keys(parts)) {
		t := Topic{Name: name}
		for i := range parts[name] {
			t.Partitions = append(t.Partitions, Partition{ID: int32(i)})
		}
		out = append(out, t)
	}
	return out
}

func planTopics(plan fetchPlan, group string) []string {
	topics, ok := plan[group]
	if !ok {
		return nil // everything
	}
	return append([]string{}, slices.Sorted(maps.Keys(topics))...)
}

// A group is asked for everything it committed when first seen and once
// per recheckDenied; in between only for the visible topics it is known
// on, topics created since, and none that metadata does not list.
func TestOffsetFetchAsksForAllOnFirstSightAndEveryRecheckAndForKnownVisibleTopicsBetween(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	c := newCommittedTopics()
	listed := []kafka.ListedGroup{{Name: "app"}}
	none := newLastKnown(nil, t0, time.Hour)

	c.setTopics(topicsNamed(map[string]int{"orders": 3, "payments": 2, "audit": 1}), t0)
	plan := c.plan(listed, none, t0)
	if got := planTopics(plan, "app"); got != nil {
		t.Fatalf("first sight asks for %v, want everything", got)
	}
	c.learn(listed, map[string]map[kafka.TopicPartition]int64{"app": {{Topic: "orders", Partition: 1}: 5}}, plan, t0)

	t1 := t0.Add(15 * time.Second)
	c.setTopics(topicsNamed(map[string]int{"orders": 3, "payments": 2, "audit": 1, "fresh": 1}), t1)
	plan = c.plan(listed, none, t1)
	if got := planTopics(plan, "app"); !slices.Equal(got, []string{"fresh", "orders"}) {
		t.Errorf("between rechecks asks for %v, want [fresh orders]: known and created since", got)
	}
	if ids := plan["app"]["orders"]; !slices.Equal(ids, []int32{0, 1, 2}) {
		t.Errorf("asks for partitions %v of orders, want all three", ids)
	}
	c.learn(listed, map[string]map[kafka.TopicPartition]int64{"app": {{Topic: "orders", Partition: 1}: 6}}, plan, t1)

	// orders disappears from the metadata (deleted, or no longer visible).
	t2 := t1.Add(15 * time.Second)
	c.setTopics(topicsNamed(map[string]int{"payments": 2}), t2)
	if got := planTopics(c.plan(listed, none, t2), "app"); len(got) != 0 || got == nil {
		t.Errorf("asks for %v, want an empty list: no topic the group is known on is visible", got)
	}

	t3 := t0.Add(recheckDenied)
	if got := planTopics(c.plan(listed, none, t3), "app"); got != nil {
		t.Errorf("after recheckDenied asks for %v, want everything", got)
	}
}

// A group no longer listed is forgotten: when it comes back it is asked
// for everything again.
func TestOffsetFetchForgetsGroupsNoLongerListed(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	c := newCommittedTopics()
	none := newLastKnown(nil, t0, time.Hour)
	c.setTopics(topicsNamed(map[string]int{"orders": 1}), t0)
	listed := []kafka.ListedGroup{{Name: "app"}}
	plan := c.plan(listed, none, t0)
	c.learn(listed, map[string]map[kafka.TopicPartition]int64{"app": {{Topic: "orders"}: 1}}, plan, t0)
	c.learn(nil, nil, fetchPlan{}, t0.Add(time.Second))
	if got := planTopics(c.plan(listed, none, t0.Add(2*time.Second)), "app"); got != nil {
		t.Errorf("a group listed again asks for %v, want everything", got)
	}
}
