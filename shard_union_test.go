package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/internal/scrapetest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// populatedCluster starts a kfake cluster of 3 brokers with topics,
// records and groups that committed offsets behind the log end, shaped
// like bench/clustergen's at a smaller scale.
func populatedCluster(t *testing.T, topics, partitions, groups int) []string {
	t.Helper()
	names := make([]string, topics)
	for i := range names {
		names[i] = fmt.Sprintf("shard.topic-%03d", i)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(int32(partitions), names...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var records []*kgo.Record
	for _, topic := range names {
		for p := range partitions {
			for range 3 {
				records = append(records, &kgo.Record{Topic: topic, Partition: int32(p), Value: []byte("x")})
			}
		}
	}
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	for g := range groups {
		offsets := kadm.Offsets{}
		for k := range 2 {
			topic := names[(g*2+k)%topics]
			for p := range partitions {
				offsets.AddOffset(topic, int32(p), int64(1+g%2), -1)
			}
		}
		resp, err := adm.CommitOffsets(ctx, fmt.Sprintf("shard.group-%04d", g), offsets)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return c.ListenAddrs()
}

// shardScrape polls the cluster as shard (twice, at fixed times, so that
// rates and statuses have history) and returns its Kafka-derived series.
func shardScrape(t *testing.T, addrs []string, shard collector.Shard) scrapetest.Series {
	t.Helper()
	clock := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	p, err := collector.NewPoller(collector.Config{
		Servers:        addrs,
		Filters:        collector.Filters{Shard: shard},
		PollInterval:   time.Second,
		RequestTimeout: waitfor.Scaled(time.Second),
		Lag:            lagcalc.Settings{Window: time.Minute, StallAfter: 3 * time.Second},
		Now:            func() time.Time { return clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := p.PollOnce(ctx)
		cancel()
		if err != nil {
			t.Fatalf("shard %+v: poll: %v", shard, err)
		}
		clock = clock.Add(time.Second)
	}
	e := exporter.NewClusters(exporter.Options{Shard: shard}, exporter.Cluster{Source: p, Labels: []exporter.Label{{Name: "cluster", Value: "a"}}})
	all := scrapetest.Scrape(t, exporter.Handler(e, prometheus.NewRegistry(), slog.New(slog.DiscardHandler)))
	if shard.Count > 1 && all.Value(t, "lagwatch_shard_info", "shard", fmt.Sprint(shard.Index), "shards", fmt.Sprint(shard.Count)) != 1 {
		t.Fatalf("shard %+v does not say so", shard)
	}
	kafkaSeries := scrapetest.Series{}
	for k, v := range all {
		if strings.HasPrefix(k, "kafka_") {
			kafkaSeries[k] = v
		}
	}
	return kafkaSeries
}

func TestShardsTogetherExportExactlyTheUnshardedSeriesEachOnce(t *testing.T) {
	addrs := populatedCluster(t, 40, 3, 300)
	whole := shardScrape(t, addrs, collector.Shard{})
	if n := len(slices.Collect(func(yield func(string) bool) {
		for k := range whole {
			if strings.HasPrefix(k, "kafka_consumergroup_lag{") && !yield(k) {
				return
			}
		}
	})); n != 300*2*3 {
		t.Fatalf("the unsharded scrape has %d lag series, want %d: the cluster is not populated", n, 300*2*3)
	}

	const shards = 3
	union := scrapetest.Series{}
	owner := map[string]int{}
	for i := range shards {
		part := shardScrape(t, addrs, collector.Shard{Index: i, Count: shards})
		groups := 0
		for k, v := range part {
			if prev, dup := owner[k]; dup {
				t.Errorf("%s is served by shards %d and %d", k, prev, i)
			}
			owner[k], union[k] = i, v
			if strings.HasPrefix(k, "kafka_consumergroup_members{") {
				groups++
			}
			if i != 0 && !strings.HasPrefix(k, "kafka_consumergroup") {
				t.Errorf("shard %d serves %s, which only shard 0 serves", i, k)
			}
		}
		// The shard hash spreads 300 names about evenly; a shard with none would
		// mean the split does not happen.
		if groups < 300/shards/2 {
			t.Errorf("shard %d owns %d of 300 groups", i, groups)
		}
		t.Logf("shard %d of %d: %d series, %d groups", i, shards, len(part), groups)
	}
	for _, k := range slices.Sorted(maps.Keys(whole)) {
		if v, ok := union[k]; !ok {
			t.Errorf("%s is served by no shard", k)
		} else if v != whole[k] {
			t.Errorf("%s = %v in its shard, %v unsharded", k, v, whole[k])
		}
	}
	for k := range union {
		if _, ok := whole[k]; !ok {
			t.Errorf("%s is served by shard %d but not unsharded", k, owner[k])
		}
	}
	t.Logf("unsharded: %d series; union of %d shards: %d", len(whole), shards, len(union))
}
