package collector_test

import (
	"regexp"
	"testing"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

func TestLagIsLogEndMinusCommittedForAGroupThatCommittedKnownOffsets(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	kafkatest.CreateTopic(t, addr, "lag-orders", 3, nil)
	kafkatest.Produce(t, addr, "lag-orders", 0, 10)
	kafkatest.Produce(t, addr, "lag-orders", 1, 5)
	kafkatest.CommitOffsets(t, addr, "lag-group", map[string]map[int32]int64{"lag-orders": {0: 4, 1: 5}})

	p, metrics := newTestPoller(t, addr, collector.Filters{})
	pollOnce(t, p)
	s := scrape(t, metrics)

	labels := func(partition string) []string {
		return []string{"consumergroup", "lag-group", "topic", "lag-orders", "partition", partition}
	}
	if got := s.Value(t, "kafka_topic_partition_current_offset", "topic", "lag-orders", "partition", "0"); got != 10 {
		t.Errorf("log-end offset of partition 0 = %v, want 10", got)
	}
	if got := s.Value(t, "kafka_consumergroup_current_offset", labels("0")...); got != 4 {
		t.Errorf("committed offset of partition 0 = %v, want 4", got)
	}
	if got := s.Value(t, "kafka_consumergroup_lag", labels("0")...); got != 6 {
		t.Errorf("lag of partition 0 = %v, want 10-4 = 6", got)
	}
	if got := s.Value(t, "kafka_consumergroup_lag", labels("1")...); got != 0 {
		t.Errorf("lag of partition 1 = %v, want 5-5 = 0", got)
	}
	if s.Has("kafka_consumergroup_lag", labels("2")...) {
		t.Errorf("partition 2 was never committed but has a lag series")
	}
	if got := s.Value(t, "kafka_consumergroup_lag_sum", "consumergroup", "lag-group", "topic", "lag-orders"); got != 6 {
		t.Errorf("lag sum = %v, want 6", got)
	}
	if got := s.Value(t, "kafka_consumergroup_current_offset_sum", "consumergroup", "lag-group", "topic", "lag-orders"); got != 9 {
		t.Errorf("committed offset sum = %v, want 9", got)
	}
	if got := s.Value(t, "kafka_consumergroup_members", "consumergroup", "lag-group"); got != 0 {
		t.Errorf("members = %v, want 0", got)
	}
	if got := s.Value(t, "kafka_topic_partitions", "topic", "lag-orders"); got != 3 {
		t.Errorf("partitions = %v, want 3", got)
	}
	if got := s.Value(t, "kafka_brokers"); got != 1 {
		t.Errorf("brokers = %v, want 1", got)
	}
	if got := s.Value(t, "lagwatch_up"); got != 1 {
		t.Errorf("lagwatch_up = %v, want 1 after a complete poll", got)
	}
}

func TestDeletedTopicAndDeletedGroupDisappearWithTheNextPoll(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	kafkatest.CreateTopic(t, addr, "doomed-topic", 1, nil)
	kafkatest.CreateTopic(t, addr, "kept-topic", 1, nil)
	kafkatest.Produce(t, addr, "doomed-topic", 0, 3)
	kafkatest.Produce(t, addr, "kept-topic", 0, 3)
	kafkatest.CommitOffsets(t, addr, "doomed-group", map[string]map[int32]int64{"kept-topic": {0: 1}})
	kafkatest.CommitOffsets(t, addr, "kept-group", map[string]map[int32]int64{"doomed-topic": {0: 1}, "kept-topic": {0: 2}})

	p, metrics := newTestPoller(t, addr, collector.Filters{})
	pollOnce(t, p)
	before := scrape(t, metrics)
	if !before.Mentions("topic", "doomed-topic") || !before.Mentions("consumergroup", "doomed-group") {
		t.Fatalf("the topic and group to delete are not in the output before deletion")
	}

	kafkatest.DeleteTopic(t, addr, "doomed-topic")
	kafkatest.DeleteGroup(t, addr, "doomed-group")
	pollOnce(t, p)
	after := scrape(t, metrics)
	if after.Mentions("topic", "doomed-topic") {
		t.Errorf("deleted topic still in the output:\n%s", after.Matching("kafka_"))
	}
	if after.Mentions("consumergroup", "doomed-group") {
		t.Errorf("deleted group still in the output")
	}
	if got := after.Value(t, "kafka_consumergroup_lag", "consumergroup", "kept-group", "topic", "kept-topic", "partition", "0"); got != 1 {
		t.Errorf("kept group's lag = %v, want 1", got)
	}
}

func TestFiltersKeepAndDropGroupsAndTopics(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	for _, topic := range []string{"filter-keep", "filter-skip"} {
		kafkatest.CreateTopic(t, addr, topic, 1, nil)
		kafkatest.Produce(t, addr, topic, 0, 2)
	}
	for _, group := range []string{"filter-team-a", "filter-team-b", "filter-other"} {
		kafkatest.CommitOffsets(t, addr, group, map[string]map[int32]int64{"filter-keep": {0: 1}, "filter-skip": {0: 1}})
	}
	must := func(expr string) *regexp.Regexp {
		re, err := collector.Anchored(expr)
		if err != nil {
			t.Fatal(err)
		}
		return re
	}
	p, metrics := newTestPoller(t, addr, collector.Filters{
		GroupInclude: must("filter-team-.*"),
		GroupExclude: must("filter-team-b"),
		TopicInclude: must("filter-.*"),
		TopicExclude: must("filter-skip"),
	})
	pollOnce(t, p)
	s := scrape(t, metrics)

	if !s.Has("kafka_consumergroup_lag", "consumergroup", "filter-team-a", "topic", "filter-keep", "partition", "0") {
		t.Errorf("the included group on the included topic is missing:\n%s", s.Matching("kafka_consumergroup_lag{"))
	}
	for _, dropped := range []struct{ label, value string }{
		{"consumergroup", "filter-team-b"}, // excluded
		{"consumergroup", "filter-other"},  // not included
		{"topic", "filter-skip"},           // excluded topic
		{"topic", "lag-orders"},            // another test's topic, not included
	} {
		if s.Mentions(dropped.label, dropped.value) {
			t.Errorf("%s=%q should be filtered out", dropped.label, dropped.value)
		}
	}
}

func TestRequestsPerPollDoNotGrowWithTheNumberOfGroups(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	kafkatest.CreateTopic(t, addr, "scale-topic", 2, nil)
	kafkatest.Produce(t, addr, "scale-topic", 0, 5)
	include, _ := collector.Anchored("scale-.*")
	countRequests := func(groups int) float64 {
		for i := range groups {
			kafkatest.CommitOffsets(t, addr, "scale-group-"+string(rune('a'+i)), map[string]map[int32]int64{"scale-topic": {0: 1}})
		}
		p, metrics := newTestPoller(t, addr, collector.Filters{GroupInclude: include, TopicInclude: include})
		pollOnce(t, p) // the first poll also reads topic configs
		before := scrape(t, metrics)
		pollOnce(t, p)
		after := scrape(t, metrics)
		total := 0.0
		for k, v := range after {
			if len(k) > len("lagwatch_kafka_requests_total") && k[:len("lagwatch_kafka_requests_total")] == "lagwatch_kafka_requests_total" {
				total += v - before[k]
			}
		}
		return total
	}
	few := countRequests(2)
	many := countRequests(20)
	if few != many {
		t.Errorf("a poll sent %v requests with 2 groups but %v with 20: requests must not grow with groups", few, many)
	}
}

func TestPartitionsAddedWhilePollingAppearWithTheNextPoll(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	kafkatest.CreateTopic(t, addr, "grow-topic", 1, nil)
	p, metrics := newTestPoller(t, addr, collector.Filters{})
	pollOnce(t, p)
	if got := scrape(t, metrics).Value(t, "kafka_topic_partitions", "topic", "grow-topic"); got != 1 {
		t.Fatalf("partitions = %v, want 1", got)
	}
	if err := kafkatest.NewAdmin(t, addr).CreatePartitions("grow-topic", 3, nil, false); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, p, metrics, "added partitions", expect(map[string]float64{
		key("kafka_topic_partitions", "topic", "grow-topic"):                                 3,
		key("kafka_topic_partition_current_offset", "topic", "grow-topic", "partition", "2"): 0,
	}))
}
