package collector

import (
	"slices"
	"time"

	"github.com/lagwatch/lagwatch/kafka"
)

// committedTopics plans which topics each group's OffsetFetch asks for.
// Asked without a topic list, Kafka authorizes every topic the group ever
// committed on and logs a DENIED line for each the principal may not
// Describe, at every request: a group with offsets left on a hidden topic
// wrote one line per poll into the broker's authorizer log. Metadata
// lists exactly the topics the principal may Describe (KIP-430), so
// lagwatch asks each group for everything only when it first sees it and
// then once per recheckDenied (as it asks again for any denied resource),
// and in between for the visible topics it knows the group on: those it
// committed on, those its members subscribe to or are assigned, and
// topics created since its last full answer. A group that starts
// committing on an older topic it was never seen on (an assign() consumer
// adding a topic) shows there within recheckDenied.
type committedTopics struct {
	// fullAt is when each group was last answered for all it committed.
	fullAt map[string]time.Time
	// known is the topics each group was answered on, sorted: a group
	// commits on few topics, and a slice of names shared with the
	// metadata costs less than a map per group.
	known map[string][]string
	// partitions is every visible topic's partitions, 0 … n-1, as of this
	// poll's metadata; firstSeen is when each topic was first listed.
	partitions map[string][]int32
	firstSeen  map[string]time.Time
	// names is every visible topic's name, as the metadata spells it.
	names map[string]string
}

func newCommittedTopics() *committedTopics {
	return &committedTopics{fullAt: map[string]time.Time{}, known: map[string][]string{}, firstSeen: map[string]time.Time{}}
}

// setTopics records the topics of this poll's metadata.
func (c *committedTopics) setTopics(topics []Topic, now time.Time) {
	c.partitions = make(map[string][]int32, len(topics))
	c.names = make(map[string]string, len(topics))
	for _, t := range topics {
		c.names[t.Name] = t.Name
		ids := make([]int32, len(t.Partitions))
		for i, p := range t.Partitions {
			ids[i] = p.ID
		}
		c.partitions[t.Name] = ids
		if _, ok := c.firstSeen[t.Name]; !ok {
			c.firstSeen[t.Name] = now
		}
	}
	for name := range c.firstSeen {
		if _, ok := c.partitions[name]; !ok {
			delete(c.firstSeen, name)
		}
	}
}

// fetchPlan is, per group, the partitions to ask for; a group absent
// from it is asked for everything it committed.
type fetchPlan map[string]map[string][]int32

func (f fetchPlan) partitions(group string) map[string][]int32 { return f[group] }

// plan decides, for every listed group, what its OffsetFetch asks for.
// It is read by concurrent requests and never changed after.
func (c *committedTopics) plan(listed []kafka.ListedGroup, last *lastKnown, now time.Time) fetchPlan {
	// Topics first seen within recheckDenied, newest first: a group asked
	// for part is asked for those seen after its last full answer, and
	// the loop over them stops at the first older one, so the cost per
	// group is the topics created since, not all topics.
	type seenTopic struct {
		name string
		at   time.Time
	}
	var recent []seenTopic
	for name, at := range c.firstSeen {
		if now.Sub(at) < recheckDenied {
			recent = append(recent, seenTopic{name, at})
		}
	}
	slices.SortFunc(recent, func(a, b seenTopic) int { return b.at.Compare(a.at) })
	plan := make(fetchPlan, len(c.fullAt))
	for _, lg := range listed {
		full, ok := c.fullAt[lg.Name]
		if !ok || now.Sub(full) >= recheckDenied {
			continue // everything
		}
		topics := make(map[string][]int32, len(c.known[lg.Name]))
		add := func(topic string) {
			if ids, visible := c.partitions[topic]; visible {
				topics[topic] = ids
			}
		}
		for _, t := range c.known[lg.Name] {
			add(t)
		}
		if g := last.group(lg.Name); g != nil {
			for _, gt := range g.Topics {
				add(gt.Topic)
			}
			for _, m := range g.Members {
				for _, tp := range m.Assigned {
					add(tp.Topic)
				}
			}
		}
		for _, t := range recent {
			if !t.at.After(full) {
				break
			}
			add(t.name)
		}
		plan[lg.Name] = topics
	}
	return plan
}

// learn records what the groups were answered on, and forgets the groups
// no longer listed.
func (c *committedTopics) learn(listed []kafka.ListedGroup, committed map[string]map[kafka.TopicPartition]int64, plan fetchPlan, now time.Time) {
	present := make(map[string]bool, len(listed))
	for _, lg := range listed {
		present[lg.Name] = true
	}
	for name := range c.known {
		if !present[name] {
			delete(c.known, name)
			delete(c.fullAt, name)
		}
	}
	var scratch []string
	for group, offsets := range committed {
		_, partial := plan[group]
		if !partial {
			c.fullAt[group] = now
		}
		previous, wasKnown := c.known[group]
		scratch = scratch[:0]
		if partial {
			scratch = append(scratch, previous...)
		}
		for tp := range offsets {
			scratch = append(scratch, c.name(tp.Topic))
		}
		slices.Sort(scratch)
		scratch = slices.Compact(scratch)
		if !wasKnown || !slices.Equal(scratch, previous) {
			c.known[group] = slices.Clone(scratch)
		}
	}
}

// name is topic's name as the metadata spells it, so that what lasts
// across polls holds one copy of it, not the copy an OffsetFetch answer
// decoded for one group.
func (c *committedTopics) name(topic string) string {
	if name, ok := c.names[topic]; ok {
		return name
	}
	return topic
}
