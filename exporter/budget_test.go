package exporter

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// The README's table "Series per group, partition and group-partition"
// is what Prometheus pays for each thing lagwatch watches. Its figures are
// checked here against a rendering with default options, so the table
// cannot drift from the metric table: one healthy group reading one
// partition of one topic, then the same partition with a backlog.
func TestReadmeSeriesBudgetIsWhatTheExporterWrites(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := func(level string) int {
		m := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(level) + ` \| (\d+)`).FindSubmatch(readme)
		if m == nil {
			t.Fatalf("README has no row for %q in its series table", level)
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	backlogExtra := func() int {
		m := regexp.MustCompile(`(?m)^\| group-partition \| \d+ in steady state; \+(\d+) for a backlog`).FindSubmatch(readme)
		if m == nil {
			t.Fatal("README's group-partition row does not say what a backlog adds")
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}()

	// The chart's README sizes memory from the same figure.
	chart, err := os.ReadFile("../deploy/helm/lagwatch/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(\d+) per group-partition in steady state`).FindSubmatch(chart); m == nil || string(m[1]) != strconv.Itoa(documented("group-partition")) {
		t.Errorf("the chart's README sizes from %q series per group-partition, the README says %d", m, documented("group-partition"))
	}

	healthy := lagcalc.GroupPartitionNumbers{HasLag: true, Lag: 3, LagSeconds: 1, ConsumeRate: 20, HasConsumeRate: true, Status: lagcalc.StatusOK}
	backlog := lagcalc.GroupPartitionNumbers{HasLag: true, Lag: 90000, LagSeconds: 900, ConsumeRate: 120, HasConsumeRate: true, Status: lagcalc.StatusOK,
		TimeToDrainSeconds: 900, HasTimeToDrain: true, RetentionHeadroomSeconds: 3000, HasRetentionHeadroom: true}
	for _, tc := range []struct {
		name  string
		eval  lagcalc.GroupPartitionNumbers
		extra int
	}{{"steady state", healthy, 0}, {"backlog", backlog, backlogExtra}} {
		snap := &collector.Snapshot{
			PolledAt: t0, Complete: true,
			Brokers: []collector.Broker{{ID: 1, Addr: "kafka-1:9092"}},
			Topics: []collector.Topic{{
				Name:       "orders",
				Config:     collector.TopicConfig{Known: true, CleanupPolicy: "delete", RetentionMs: 3600000, RetentionBytes: -1, MinInsyncReplicas: 1},
				Partitions: []collector.Partition{{ID: 0, Leader: 1, Replicas: []int32{1}, ISR: []int32{1}, HasOffsets: true, LogEnd: 100000, LastStable: 100000, ProduceRate: 20, HasProduceRate: true}},
			}},
			Groups: []collector.Group{{
				Name: "billing", Protocol: collector.ProtocolClassic, ProtocolType: "consumer", State: "Stable", Described: true,
				Members:    []collector.Member{{ID: "m1", Assigned: []kafka.TopicPartition{{Topic: "orders", Partition: 0}}}},
				Partitions: []collector.GroupPartition{{Topic: "orders", Partition: 0, Committed: 99997, Assigned: true, Eval: tc.eval}},
				Topics:     []collector.GroupTopic{{Topic: "orders", Assigned: 1}},
				Status:     lagcalc.StatusOK, MaxLagSeconds: tc.eval.LagSeconds, HasMaxLagSeconds: true,
			}},
		}
		counts := map[string]int{}
		for k := range renderWith(t, snap, t0, Options{}) {
			if !strings.HasPrefix(k, "kafka_") || strings.HasPrefix(k, "kafka_cluster_") || strings.HasPrefix(k, "kafka_broker") {
				continue
			}
			has := func(label string) bool { return strings.Contains(k, label+`="`) }
			switch {
			case has("consumergroup") && has("partition"):
				counts["group-partition"]++
			case has("consumergroup") && has("topic"):
				counts["group-topic"]++
			case has("consumergroup"):
				counts["group"]++
			case has("partition"):
				counts["partition"]++
			case has("topic"):
				counts["topic"]++
			}
		}
		for _, level := range []string{"group-partition", "group-topic", "group", "partition", "topic"} {
			want := documented(level)
			if level == "group-partition" {
				want += tc.extra
			}
			if counts[level] != want {
				t.Errorf("%s: %d series per %s, the README says %d", tc.name, counts[level], level, want)
			}
		}
	}
}
