package exporter

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lagwatch/lagwatch/collector"
)

func scrapeClusters(t *testing.T, opts Options, clusters ...Cluster) series {
	t.Helper()
	return scrape(t, Handler(NewClusters(opts, clusters...), prometheus.NewRegistry(), slog.New(slog.DiscardHandler)))
}

func sampleSource() healthySource {
	return healthySource{fixedSource{snap: sampleSnapshot(), now: t0, staleAfter: time.Minute}, sampleHealth()}
}

// hasLabels reports whether the series key carries every pair.
func hasLabels(k string, pairs ...string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(k, pairs[i]+`="`+pairs[i+1]+`"`) {
			return false
		}
	}
	return true
}

func TestConstantLabelsAreOnEveryKafkaAndPerClusterSeriesButNotOnTheProcesss(t *testing.T) {
	labels := []Label{{"cluster", "prod-eu"}, {"env", "prod"}}
	s := scrapeClusters(t, Options{MemberDetail: true}, Cluster{Source: sampleSource(), Labels: labels})
	if got := s.Value(t, "kafka_consumergroup_lag", "cluster", "prod-eu", "env", "prod", "consumergroup", "billing", "topic", "orders", "partition", "0"); got != 10 {
		t.Errorf("lag with constant labels = %v, want 10", got)
	}
	if s.Value(t, "lagwatch_up", "cluster", "prod-eu", "env", "prod") != 1 {
		t.Errorf("lagwatch_up of the cluster is not 1")
	}
	if _, ok := s[key("lagwatch_poll_duration_seconds", "cluster", "prod-eu", "env", "prod")+"_count"]; !ok {
		t.Errorf("the poll duration histogram lacks the cluster's labels")
	}
	for k := range s {
		process := strings.HasPrefix(k, "lagwatch_build_info{") || strings.HasPrefix(k, "lagwatch_shard_info{")
		switch {
		case process && strings.Contains(k, "cluster="):
			t.Errorf("process-level series %s carries a cluster's labels", k)
		case !process && !hasLabels(k, "cluster", "prod-eu", "env", "prod"):
			t.Errorf("series %s lacks the constant labels", k)
		}
	}
}

func TestTwoClustersWriteEachFamilyOnceWithTheSeriesOfBoth(t *testing.T) {
	// scrape parses the body as Prometheus does: a family split in two, or
	// a series written twice, fails it.
	s := scrapeClusters(t, Options{},
		Cluster{Source: sampleSource(), Labels: []Label{{"cluster", "a"}}},
		Cluster{Source: sampleSource(), Labels: []Label{{"cluster", "b"}}},
	)
	for _, c := range []string{"a", "b"} {
		if got := s.Value(t, "kafka_consumergroup_lag", "cluster", c, "consumergroup", "billing", "topic", "orders", "partition", "0"); got != 10 {
			t.Errorf("cluster %s: lag = %v, want 10", c, got)
		}
		if !s.Has("kafka_brokers", "cluster", c) || !s.Has("lagwatch_up", "cluster", c) {
			t.Errorf("cluster %s: kafka_brokers or lagwatch_up missing", c)
		}
	}
	if n := strings.Count(scrapeBody(t, Handler(NewClusters(Options{},
		Cluster{Source: sampleSource(), Labels: []Label{{"cluster", "a"}}},
		Cluster{Source: sampleSource(), Labels: []Label{{"cluster", "b"}}},
	), prometheus.NewRegistry(), slog.New(slog.DiscardHandler))), "# TYPE lagwatch_build_info "); n != 1 {
		t.Errorf("lagwatch_build_info has %d TYPE lines, want 1", n)
	}
}

func TestAClusterNotYetPolledHasOnlyItsOwnSeriesWhileTheOtherIsComplete(t *testing.T) {
	down := fixedSource{now: t0, staleAfter: time.Minute} // no snapshot
	s := scrapeClusters(t, Options{},
		Cluster{Source: sampleSource(), Labels: []Label{{"cluster", "up"}}},
		Cluster{Source: down, Labels: []Label{{"cluster", "down"}}},
	)
	if s.Value(t, "lagwatch_up", "cluster", "up") != 1 || s.Value(t, "lagwatch_up", "cluster", "down") != 0 {
		t.Errorf("lagwatch_up must tell the clusters apart")
	}
	if !s.Has("kafka_consumergroup_lag", "cluster", "up", "consumergroup", "billing", "topic", "orders", "partition", "0") {
		t.Errorf("the polled cluster's lag is missing")
	}
	for k := range s {
		if hasLabels(k, "cluster", "down") && !strings.HasPrefix(k, "lagwatch_") {
			t.Errorf("the cluster never polled has %s", k)
		}
	}
}

func TestSetClustersReplacesTheClustersFromTheNextScrape(t *testing.T) {
	e := NewClusters(Options{}, Cluster{Source: sampleSource(), Labels: []Label{{"cluster", "a"}}})
	h := Handler(e, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if !scrape(t, h).Has("lagwatch_up", "cluster", "a") {
		t.Fatal("cluster a missing")
	}
	e.SetClusters([]Cluster{{Source: sampleSource(), Labels: []Label{{"cluster", "b"}}}})
	s := scrape(t, h)
	if s.Mentions("cluster", "a") || !s.Has("lagwatch_up", "cluster", "b") {
		t.Errorf("after SetClusters: want only cluster b; have\n%s", s.Matching("lagwatch_up"))
	}
}

func TestConfigReloadSeriesAreWrittenOnlyOnceAConfigFileWasLoaded(t *testing.T) {
	e := NewClusters(Options{}, Cluster{Source: sampleSource()})
	h := Handler(e, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if scrape(t, h).Has("lagwatch_config_last_reload_successful") {
		t.Errorf("lagwatch_config_last_reload_successful written without --config.file")
	}
	e.SetConfigReload(ConfigReload{Successful: false, LastSuccess: t0})
	s := scrape(t, h)
	if s.Value(t, "lagwatch_config_last_reload_successful") != 0 || s.Value(t, "lagwatch_config_last_reload_success_timestamp_seconds") != float64(t0.Unix()) {
		t.Errorf("reload series: %v", s.Matching("lagwatch_config"))
	}
}

func TestShardsOtherThanZeroWriteOnlyGroupsAndTheirOwnHealth(t *testing.T) {
	for _, shard := range []collector.Shard{{Index: 0, Count: 3}, {Index: 2, Count: 3}} {
		s := scrapeClusters(t, Options{Shard: shard}, Cluster{Source: sampleSource()})
		for k := range s {
			groupOrOwn := strings.HasPrefix(k, "kafka_consumergroup") || strings.HasPrefix(k, "lagwatch_")
			if shard.Index != 0 && !groupOrOwn {
				t.Errorf("shard %d writes %s", shard.Index, k)
			}
		}
		if shard.Index == 0 && !s.Has("kafka_topic_partitions", "topic", "orders") {
			t.Errorf("shard 0 lacks the topic series")
		}
		if s.Value(t, "lagwatch_shard_info", "shard", []string{"0", "1", "2"}[shard.Index], "shards", "3") != 1 {
			t.Errorf("lagwatch_shard_info wrong")
		}
	}
	if !scrapeClusters(t, Options{}, Cluster{Source: sampleSource()}).Has("lagwatch_shard_info", "shard", "0", "shards", "1") {
		t.Errorf("an unsharded lagwatch must say shard 0 of 1")
	}
}

func TestKafkaLabelsParseAsKafkaExportersAndRejectWhatPrometheusWould(t *testing.T) {
	labels, err := ParseLabels("cluster=prod-eu,env=prod=1")
	if err != nil || len(labels) != 2 || labels[0] != (Label{"cluster", "prod-eu"}) || labels[1] != (Label{"env", "prod=1"}) {
		t.Fatalf("ParseLabels = %v, %v", labels, err)
	}
	for _, bad := range []string{"cluster", "1x=a", "a-b=c", "__name=x", "topic=orders", "le=1", "a=1,a=2", "cluster=a,"} {
		if _, err := ParseLabels(bad); err == nil {
			t.Errorf("ParseLabels(%q) accepted", bad)
		}
	}
}
