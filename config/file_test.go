package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/exporter"
)

// writeConfig writes a --config.file into the test's directory.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lagwatch.yml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func baseConfig() collector.Config {
	return collector.Config{Logger: slog.New(slog.DiscardHandler), Filters: collector.Filters{Shard: collector.Shard{Index: 1, Count: 2}}}
}

func TestConfigFileGivesEachClusterItsServersLabelsSecurityAndFilters(t *testing.T) {
	dir := t.TempDir()
	passwordFile := filepath.Join(dir, "prod-eu")
	if err := os.WriteFile(passwordFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LAGWATCH_TEST_US_PASSWORD", "from-env")
	path := writeConfig(t, `
clusters:
  - name: prod-eu
    servers: [kafka-1:9092, kafka-2:9092]
    labels: {env: prod, region: eu}
    version: 3.9.0
    sasl: {enabled: true, mechanism: scram-sha512, username: lagwatch, password_file: `+passwordFile+`}
    group_filter: "billing.*"
    topic_exclude: "__.*"
    group_stall_after: [{group: "sink-.*", stall_after: 10m}]
  - name: prod-us
    servers: [kafka-us:9092]
    sasl: {enabled: true, username: lagwatch, password_env: LAGWATCH_TEST_US_PASSWORD}
`)
	specs, err := Load(path, baseConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].Name != "prod-eu" || specs[1].Name != "prod-us" {
		t.Fatalf("clusters %+v", specs)
	}
	eu, us := specs[0], specs[1]
	if want := []exporter.Label{{Name: "cluster", Value: "prod-eu"}, {Name: "env", Value: "prod"}, {Name: "region", Value: "eu"}}; !equalLabels(eu.Labels, want) {
		t.Errorf("labels %v, want %v (cluster first, then the others by name)", eu.Labels, want)
	}
	if strings.Join(eu.Config.Servers, ",") != "kafka-1:9092,kafka-2:9092" {
		t.Errorf("servers %v", eu.Config.Servers)
	}
	if eu.Config.Kafka.Sarama().Version != sarama.V3_9_0_0 || us.Config.Kafka.Sarama().Version != sarama.MaxVersion {
		t.Errorf("versions %v, %v", eu.Config.Kafka.Sarama().Version, us.Config.Kafka.Sarama().Version)
	}
	if sasl := eu.Config.Kafka.Sarama().Net.SASL; !sasl.Enable || sasl.Mechanism != sarama.SASLTypeSCRAMSHA512 || sasl.Password != "s3cret" {
		t.Errorf("prod-eu SASL %v %v (password from the file)", sasl.Enable, sasl.Mechanism)
	}
	if sasl := us.Config.Kafka.Sarama().Net.SASL; sasl.Mechanism != sarama.SASLTypePlaintext || sasl.Password != "from-env" {
		t.Errorf("prod-us SASL %v (password from the environment)", sasl.Mechanism)
	}
	if o := eu.Config.Lag.GroupStallAfter; len(o) != 1 || !o[0].Pattern.MatchString("sink-s3") || o[0].Pattern.MatchString("my-sink-s3") || o[0].StallAfter != 10*time.Minute {
		t.Errorf("prod-eu group stall overrides %+v, want sink-.* (anchored) = 10m", o)
	}
	if o := us.Config.Lag.GroupStallAfter; len(o) != 0 {
		t.Errorf("prod-us group stall overrides %+v, want none", o)
	}
	f := eu.Config.Filters
	if !f.GroupInclude.MatchString("billing-1") || f.GroupInclude.MatchString("orders") || !f.TopicExclude.MatchString("__consumer_offsets") {
		t.Errorf("filters not applied")
	}
	if !us.Config.Filters.GroupInclude.MatchString("anything") || us.Config.Filters.Shard != (collector.Shard{Index: 1, Count: 2}) {
		t.Errorf("defaults: every group of the shard")
	}
}

func equalLabels(a, b []exporter.Label) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFingerprintChangesWithThePollersSettingsAndSecretsButNotTheLabels(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	writePassword := func(p string) {
		if err := os.WriteFile(pw, []byte(p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fingerprint := func(yaml string) string {
		specs, err := Load(writeConfig(t, yaml), baseConfig())
		if err != nil {
			t.Fatal(err)
		}
		return specs[0].Fingerprint
	}
	cluster := "clusters:\n  - {name: a, servers: [a:1], labels: {env: %s}, sasl: {enabled: true, username: u, password_file: " + pw + "}, group_filter: %s}\n"
	writePassword("one")
	base := fingerprint(strings.NewReplacer("%s", "x").Replace(cluster))
	if got := fingerprint(strings.Replace(strings.Replace(cluster, "%s", "y", 1), "%s", "x", 1)); got != base {
		t.Errorf("a label change restarts the poller (loses its history)")
	}
	if got := fingerprint(strings.Replace(strings.Replace(cluster, "%s", "x", 1), "%s", "z", 1)); got == base {
		t.Errorf("a filter change keeps the old poller")
	}
	writePassword("two")
	if got := fingerprint(strings.NewReplacer("%s", "x").Replace(cluster)); got == base {
		t.Errorf("a rotated password keeps the poller that logs in with the old one")
	}
}

// The demo stack's lagwatch reads deploy/lagwatch/clusters.yml
// (docker-compose.yml mounts it; internal/stack checks the mount and the
// servers): lagwatch's own loader accepts it, and each cluster has its
// name as its cluster label.
func TestDemoStackConfigFileLoads(t *testing.T) {
	specs, err := Load(filepath.Join("..", "deploy", "lagwatch", "clusters.yml"), baseConfig())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
		if !slices.Contains(s.Labels, exporter.Label{Name: clusterLabel, Value: s.Name}) {
			t.Errorf("cluster %s has labels %v, want cluster=%q", s.Name, s.Labels, s.Name)
		}
	}
	if !slices.Equal(names, []string{"demo-1", "demo-2"}) {
		t.Errorf("clusters %v, want demo-1 and demo-2", names)
	}
}
