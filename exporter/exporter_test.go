package exporter

import (
	"flag"
	"log/slog"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// fixedSource serves one snapshot at a fixed time, standing in for the
// poller in rendering tests.
type fixedSource struct {
	snap       *collector.Snapshot
	now        time.Time
	staleAfter time.Duration
}

func (f fixedSource) Snapshot() *collector.Snapshot { return f.snap }
func (f fixedSource) StaleAfter() time.Duration     { return f.staleAfter }
func (f fixedSource) Stale(now time.Time) bool {
	return f.snap == nil || now.Sub(f.snap.PolledAt) > f.staleAfter
}
func (f fixedSource) Now() time.Time                 { return f.now }
func (f fixedSource) Health() collector.HealthReport { return collector.HealthReport{} }

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func render(t *testing.T, snap *collector.Snapshot, now time.Time) series {
	t.Helper()
	return renderWith(t, snap, now, Options{MemberDetail: true})
}

// renderWith scrapes a /metrics serving snap with opts and an empty
// registry.
func renderWith(t *testing.T, snap *collector.Snapshot, now time.Time, opts Options) series {
	t.Helper()
	e := New(fixedSource{snap: snap, now: now, staleAfter: time.Minute}, opts)
	return scrape(t, Handler(e, prometheus.NewRegistry(), slog.New(slog.DiscardHandler)))
}

func sampleSnapshot() *collector.Snapshot {
	return &collector.Snapshot{
		PolledAt: t0,
		Complete: true,
		Brokers:  []collector.Broker{{ID: 1, Addr: "kafka-1:9092"}, {ID: 2, Addr: "kafka-2:9092"}},
		Topics: []collector.Topic{{
			Name:   "orders",
			Config: collector.TopicConfig{Known: true, CleanupPolicy: "delete", RetentionMs: 3600000, RetentionBytes: -1, MinInsyncReplicas: 2},
			Partitions: []collector.Partition{
				{ID: 0, Leader: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, HasOffsets: true, LogStart: 5, LogEnd: 100, ProduceRate: 2.5, HasProduceRate: true},
				{ID: 1, Leader: 1, Replicas: []int32{2, 1}, ISR: []int32{1}, HasOffsets: true, LogStart: 0, LogEnd: 50},
				{ID: 2, Leader: -1, Replicas: []int32{1, 2}, ISR: nil},
			},
		}, {
			Name: "orders-dlq", DeadLetter: true,
			Partitions: []collector.Partition{{ID: 0, Leader: 2, Replicas: []int32{2}, ISR: []int32{2}, HasOffsets: true, LogEnd: 3}},
		}},
		OfflinePartitions:         1,
		UnderReplicatedPartitions: 2,
		Groups: []collector.Group{{
			Name: "billing", Protocol: collector.ProtocolClassic, ProtocolType: "consumer", State: "Stable", Described: true,
			Members: []collector.Member{
				{ID: "m1", ClientID: "billing-1", Host: "/10.0.0.1", Assigned: []kafka.TopicPartition{{Topic: "orders", Partition: 0}, {Topic: "orders", Partition: 1}}},
				{ID: "m2", ClientID: "billing-2", Host: "/10.0.0.2"},
			},
			Partitions: []collector.GroupPartition{
				{Topic: "orders", Partition: 0, Committed: 90, Assigned: true, Eval: lagcalc.GroupPartitionNumbers{
					HasLag: true, Lag: 10, LagSeconds: 4, ConsumeRate: 2, HasConsumeRate: true, Status: lagcalc.StatusLagging,
					RetentionHeadroomSeconds: 3596, HasRetentionHeadroom: true,
				}},
				{Topic: "orders", Partition: 1, Committed: -1, Assigned: true, Eval: lagcalc.GroupPartitionNumbers{Status: lagcalc.StatusNoCommit}},
			},
			Topics:        []collector.GroupTopic{{Topic: "orders", Assigned: 2, Unassigned: 1}},
			IdleMembers:   1,
			Status:        lagcalc.StatusLagging,
			MaxLagSeconds: 4, HasMaxLagSeconds: true,
		}},
	}
}

func TestRenderingKeepsKafkaExporterNamesAndLabels(t *testing.T) {
	s := render(t, sampleSnapshot(), t0)
	want := map[string]float64{
		key("kafka_brokers"): 2,
		key("kafka_broker_info", "address", "kafka-2:9092", "id", "2"):                                             1,
		key("kafka_topic_partitions", "topic", "orders"):                                                           3,
		key("kafka_topic_partition_current_offset", "topic", "orders", "partition", "0"):                           100,
		key("kafka_topic_partition_oldest_offset", "topic", "orders", "partition", "0"):                            5,
		key("kafka_topic_partition_leader", "topic", "orders", "partition", "2"):                                   -1,
		key("kafka_topic_partition_replicas", "topic", "orders", "partition", "1"):                                 2,
		key("kafka_topic_partition_in_sync_replica", "topic", "orders", "partition", "1"):                          1,
		key("kafka_topic_partition_leader_is_preferred", "topic", "orders", "partition", "0"):                      1,
		key("kafka_topic_partition_leader_is_preferred", "topic", "orders", "partition", "1"):                      0,
		key("kafka_topic_partition_under_replicated_partition", "topic", "orders", "partition", "1"):               1,
		key("kafka_consumergroup_current_offset", "consumergroup", "billing", "topic", "orders", "partition", "0"): 90,
		key("kafka_consumergroup_lag", "consumergroup", "billing", "topic", "orders", "partition", "0"):            10,
		key("kafka_consumergroup_current_offset_sum", "consumergroup", "billing", "topic", "orders"):               90,
		key("kafka_consumergroup_lag_sum", "consumergroup", "billing", "topic", "orders"):                          10,
		key("kafka_consumergroup_members", "consumergroup", "billing"):                                             2,
	}
	for k, v := range want {
		got, ok := s[k]
		if !ok {
			t.Errorf("missing %s", k)
			continue
		}
		if got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
}

func TestRenderingHealthAssignmentAndStatus(t *testing.T) {
	s := render(t, sampleSnapshot(), t0)
	gp := []string{"consumergroup", "billing", "topic", "orders", "partition", "0"}
	checks := []struct {
		key  string
		want float64
	}{
		{key("kafka_topic_partition_offline", "topic", "orders", "partition", "2"), 1},
		{key("kafka_topic_partition_under_min_isr", "topic", "orders", "partition", "1"), 1},
		{key("kafka_cluster_offline_partitions"), 1},
		{key("kafka_cluster_under_replicated_partitions"), 2},
		{key("kafka_topic_config_retention_seconds", "topic", "orders"), 3600},
		{key("kafka_topic_config_min_insync_replicas", "topic", "orders"), 2},
		{key("kafka_topic_dead_letter", "topic", "orders-dlq"), 1},
		{key("kafka_topic_partition_produce_rate", "topic", "orders", "partition", "0"), 2.5},
		{key("kafka_consumergroup_lag_seconds", gp...), 4},
		{key("kafka_consumergroup_consume_rate", gp...), 2},
		{key("kafka_consumergroup_retention_headroom_seconds", gp...), 3596},
		{key("kafka_consumergroup_partition_status", append(gp, "status", "lagging")...), 1},
		{key("kafka_consumergroup_partition_status", "consumergroup", "billing", "topic", "orders", "partition", "1", "status", "no_commit"), 1},
		{key("kafka_consumergroup_status", "consumergroup", "billing", "status", "lagging"), 1},
		{key("kafka_consumergroup_max_lag_seconds", "consumergroup", "billing"), 4},
		{key("kafka_consumergroup_state", "consumergroup", "billing", "state", "Stable"), 1},
		{key("kafka_consumergroup_assigned_partitions", "consumergroup", "billing", "topic", "orders"), 2},
		{key("kafka_consumergroup_unassigned_partitions", "consumergroup", "billing", "topic", "orders"), 1},
		{key("kafka_consumergroup_idle_members", "consumergroup", "billing"), 1},
		{key("kafka_consumergroup_member_assigned_partitions", "consumergroup", "billing", "member_id", "m1", "client_id", "billing-1", "host", "/10.0.0.1"), 2},
	}
	for _, c := range checks {
		got, ok := s[c.key]
		if !ok {
			t.Errorf("missing %s", c.key)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %v, want %v", c.key, got, c.want)
		}
	}
	if s.Has("kafka_consumergroup_lag", "consumergroup", "billing", "topic", "orders", "partition", "1") {
		t.Errorf("a partition never committed must have no lag series")
	}
	// A status or state is one series carrying the current value: no
	// series for the values it does not have.
	if s.Has("kafka_consumergroup_partition_status", append(gp, "status", "ok")...) || s.Has("kafka_consumergroup_state", "consumergroup", "billing", "state", "Empty") {
		t.Errorf("a status or state that is not current has a series")
	}
	// Partition flags are written only where they hold.
	if s.Has("kafka_topic_partition_under_min_isr", "topic", "orders", "partition", "0") || s.Has("kafka_topic_partition_offline", "topic", "orders", "partition", "0") {
		t.Errorf("a healthy partition has an under-min-ISR or offline series")
	}
	if s.Has("kafka_consumergroup_time_to_drain_seconds", gp...) {
		t.Errorf("time to drain must be absent while the group is not gaining")
	}
}

func TestEveryStateSetHasExactlyOneCurrentValue(t *testing.T) {
	s := render(t, sampleSnapshot(), t0)
	ones := map[string]int{}
	for k, v := range s {
		for _, name := range []string{"kafka_consumergroup_partition_status{", "kafka_consumergroup_status{", "kafka_consumergroup_state{"} {
			if len(k) > len(name) && k[:len(name)] == name && v == 1 {
				ones[name]++
			}
		}
	}
	// Two partitions of one group, one group, one group.
	if ones["kafka_consumergroup_partition_status{"] != 2 || ones["kafka_consumergroup_status{"] != 1 || ones["kafka_consumergroup_state{"] != 1 {
		t.Errorf("current values per StateSet = %v", ones)
	}
}

func TestNonFiniteAndNegativeValuesAreNeverRendered(t *testing.T) {
	snap := sampleSnapshot()
	ev := &snap.Groups[0].Partitions[0].Eval
	ev.LagSeconds = math.NaN()
	ev.ConsumeRate = math.Inf(1)
	ev.RetentionHeadroomSeconds = -5
	ev.Lag = -3
	snap.Groups[0].MaxLagSeconds = math.Inf(-1)
	s := render(t, snap, t0)
	for k, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s = %v", k, v)
		}
	}
	gp := []string{"consumergroup", "billing", "topic", "orders", "partition", "0"}
	for _, name := range []string{"kafka_consumergroup_lag_seconds", "kafka_consumergroup_consume_rate", "kafka_consumergroup_retention_headroom_seconds", "kafka_consumergroup_lag"} {
		if s.Has(name, gp...) {
			t.Errorf("%s rendered although its value is not a finite non-negative number", name)
		}
	}
}

// One staleness rule for every Kafka-derived series: once the snapshot is
// older than --kafka.stale-after, topic and partition series go with the
// group series (frozen log offsets would read as an idle topic), and only
// lagwatch's own series stay to say why.
func TestStaleSnapshotDropsEveryKafkaSeriesAndKeepsLagwatchsOwn(t *testing.T) {
	fresh := render(t, sampleSnapshot(), t0.Add(30*time.Second))
	if !fresh.Has("kafka_topic_partitions", "topic", "orders") || !fresh.Mentions("consumergroup", "billing") {
		t.Fatalf("a fresh snapshot should report topics and groups")
	}
	s := render(t, sampleSnapshot(), t0.Add(2*time.Minute)) // stale after 1m
	for k := range s {
		if !strings.HasPrefix(k, "lagwatch_") {
			t.Errorf("a snapshot older than --kafka.stale-after still reports %s", k)
		}
	}
	if !s.Has("lagwatch_up") {
		t.Errorf("lagwatch's own series must stay while the snapshot is stale")
	}
}

// The alert rules hold the last known status of a partition while
// lagwatch_up is 0: the scrape in which the group series go stale must
// already say lagwatch_up 0, even when the poll that will report the
// failure is still waiting on a dead broker (the last finished poll
// succeeded). Under load that poll can outlast --kafka.stale-after.
func TestLagwatchUpIsZeroInTheScrapeThatDropsStaleSeries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		now    time.Time
		wantUp float64
	}{
		{"fresh snapshot after a good poll", t0.Add(30 * time.Second), 1},
		{"snapshot older than stale-after, last finished poll good", t0.Add(2 * time.Minute), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := healthySource{fixedSource{snap: sampleSnapshot(), now: tc.now, staleAfter: time.Minute}, sampleHealth()}
			s := scrape(t, Handler(New(src, Options{}), prometheus.NewRegistry(), slog.New(slog.DiscardHandler)))
			if got := s.Value(t, "lagwatch_up"); got != tc.wantUp {
				t.Errorf("lagwatch_up = %v, want %v", got, tc.wantUp)
			}
			if fresh := s.Mentions("consumergroup", "billing"); fresh != (tc.wantUp == 1) {
				t.Errorf("group series served: %v, with lagwatch_up %v", fresh, tc.wantUp)
			}
		})
	}
}

func TestNoSnapshotRendersOnlyLagwatchsOwnSeries(t *testing.T) {
	s := render(t, nil, t0)
	for k := range s {
		if !strings.HasPrefix(k, "lagwatch_") {
			t.Errorf("rendered %s before the first poll", k)
		}
	}
	if s.Value(t, "lagwatch_up") != 0 || s.Has("lagwatch_last_successful_poll_timestamp_seconds") {
		t.Errorf("before the first poll lagwatch_up must be 0 and the last successful poll absent, not 1970")
	}
}

var update = flag.Bool("update", false, "rewrite docs/metrics.md from the metric table")

func TestMetricReferenceIsCurrent(t *testing.T) {
	const path = "../docs/metrics.md"
	want := MetricReference()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v (run: go test ./exporter -run TestMetricReferenceIsCurrent -update)", path, err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date with exporter/metrics.go; run: go test ./exporter -run TestMetricReferenceIsCurrent -update", path)
	}
}

func TestTopicGranularityKeepsSumsAndGroupSeriesButNoPartitionSeries(t *testing.T) {
	s := renderWith(t, sampleSnapshot(), t0, Options{TopicGranularity: true})
	if got := s.Value(t, "kafka_consumergroup_lag_sum", "consumergroup", "billing", "topic", "orders"); got != 10 {
		t.Errorf("lag sum = %v, want 10", got)
	}
	if !s.Has("kafka_consumergroup_status", "consumergroup", "billing", "status", "lagging") {
		t.Errorf("the group's status must stay")
	}
	for k := range s {
		if strings.HasPrefix(k, "kafka_consumergroup") && strings.Contains(k, `partition="`) {
			t.Errorf("per-partition group series %s rendered at topic granularity", k)
		}
	}
}

func TestExcludedMetricFamiliesAreNotRendered(t *testing.T) {
	exclude, err := collector.Anchored("kafka_consumergroup_partition_status|kafka_topic_partition_.*")
	if err != nil {
		t.Fatal(err)
	}
	s := renderWith(t, sampleSnapshot(), t0, Options{Exclude: exclude})
	for k := range s {
		if strings.HasPrefix(k, "kafka_consumergroup_partition_status{") || strings.HasPrefix(k, "kafka_topic_partition_") {
			t.Errorf("excluded series %s rendered", k)
		}
	}
	if !s.Has("kafka_consumergroup_lag", "consumergroup", "billing", "topic", "orders", "partition", "0") {
		t.Errorf("a metric not excluded is missing")
	}
}
