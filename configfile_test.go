package main

import (
	"bytes"
	"context"
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
	specs, err := loadConfigFile(path, baseConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].name != "prod-eu" || specs[1].name != "prod-us" {
		t.Fatalf("clusters %+v", specs)
	}
	eu, us := specs[0], specs[1]
	if want := []exporter.Label{{Name: "cluster", Value: "prod-eu"}, {Name: "env", Value: "prod"}, {Name: "region", Value: "eu"}}; !equalLabels(eu.labels, want) {
		t.Errorf("labels %v, want %v (cluster first, then the others by name)", eu.labels, want)
	}
	if strings.Join(eu.config.Servers, ",") != "kafka-1:9092,kafka-2:9092" {
		t.Errorf("servers %v", eu.config.Servers)
	}
	if eu.config.Kafka.Sarama().Version != sarama.V3_9_0_0 || us.config.Kafka.Sarama().Version != sarama.MaxVersion {
		t.Errorf("versions %v, %v", eu.config.Kafka.Sarama().Version, us.config.Kafka.Sarama().Version)
	}
	if sasl := eu.config.Kafka.Sarama().Net.SASL; !sasl.Enable || sasl.Mechanism != sarama.SASLTypeSCRAMSHA512 || sasl.Password != "s3cret" {
		t.Errorf("prod-eu SASL %v %v (password from the file)", sasl.Enable, sasl.Mechanism)
	}
	if sasl := us.config.Kafka.Sarama().Net.SASL; sasl.Mechanism != sarama.SASLTypePlaintext || sasl.Password != "from-env" {
		t.Errorf("prod-us SASL %v (password from the environment)", sasl.Mechanism)
	}
	if o := eu.config.Lag.GroupStallAfter; len(o) != 1 || !o[0].Pattern.MatchString("sink-s3") || o[0].Pattern.MatchString("my-sink-s3") || o[0].StallAfter != 10*time.Minute {
		t.Errorf("prod-eu group stall overrides %+v, want sink-.* (anchored) = 10m", o)
	}
	if o := us.config.Lag.GroupStallAfter; len(o) != 0 {
		t.Errorf("prod-us group stall overrides %+v, want none", o)
	}
	f := eu.config.Filters
	if !f.GroupInclude.MatchString("billing-1") || f.GroupInclude.MatchString("orders") || !f.TopicExclude.MatchString("__consumer_offsets") {
		t.Errorf("filters not applied")
	}
	if !us.config.Filters.GroupInclude.MatchString("anything") || us.config.Filters.Shard != (collector.Shard{Index: 1, Count: 2}) {
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

func TestBadConfigFileIsOneLineNamingTheFileTheClusterAndTheField(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string // fragments of the error line
	}{
		{"no clusters", `clusters: []`, []string{"clusters"}},
		{"unknown top-level key", "cluster:\n  - name: a\n", []string{"line 1: unknown field cluster"}},
		{"not YAML", "clusters: [", []string{"line 1"}},
		{"no name", "clusters:\n  - servers: [a:1]\n", []string{"clusters[0]", "name"}},
		{"name not a label value", "clusters:\n  - name: 'prod eu'\n    servers: [a:1]\n", []string{"clusters[0]", "name"}},
		{"duplicate name", "clusters:\n  - {name: a, servers: [a:1]}\n  - {name: a, servers: [b:1]}\n", []string{`cluster "a" (clusters[1])`, "name"}},
		{"no servers", "clusters:\n  - name: a\n", []string{`cluster "a"`, "servers"}},
		{"server without port", "clusters:\n  - {name: a, servers: [kafka]}\n", []string{`cluster "a"`, "servers", `"kafka"`}},
		{"unknown field", "clusters:\n  - {name: a, servers: [a:1], sasl: {enabled: true, passwd: x}}\n", []string{`cluster "a"`, "unknown field passwd"}},
		{"cluster label", "clusters:\n  - {name: a, servers: [a:1], labels: {cluster: b}}\n", []string{`cluster "a"`, "labels", "cluster"}},
		{"reserved label", "clusters:\n  - {name: a, servers: [a:1], labels: {consumergroup: b}}\n", []string{`cluster "a"`, "labels", "consumergroup"}},
		{"bad version", "clusters:\n  - {name: a, servers: [a:1], version: 9.9.9}\n", []string{`cluster "a"`, "version"}},
		{"bad group filter", "clusters:\n  - {name: a, servers: [a:1], group_filter: '('}\n", []string{`cluster "a"`, "group_filter"}},
		{"bad group stall-after regex", "clusters:\n  - {name: a, servers: [a:1], group_stall_after: [{group: '(', stall_after: 5m}]}\n", []string{`cluster "a"`, "group_stall_after[0]"}},
		{"bad group stall-after duration", "clusters:\n  - {name: a, servers: [a:1], group_stall_after: [{group: 'x', stall_after: soon}]}\n", []string{`cluster "a"`, "group_stall_after[0]", "soon"}},
		{"bad topic exclude", "clusters:\n  - {name: a, servers: [a:1], topic_exclude: '['}\n", []string{`cluster "a"`, "topic_exclude"}},
		{"tls file without tls", "clusters:\n  - {name: a, servers: [a:1], tls: {ca_file: /x}}\n", []string{`cluster "a"`, "tls.ca_file is set but tls.enabled is not"}},
		{"missing ca file", "clusters:\n  - {name: a, servers: [a:1], tls: {enabled: true, ca_file: /nonexistent/ca.pem}}\n", []string{`cluster "a"`, "tls.ca_file"}},
		{"key without cert", "clusters:\n  - {name: a, servers: [a:1], tls: {enabled: true, key_file: /x}}\n", []string{`cluster "a"`, "tls.key_file needs tls.cert_file"}},
		{"insecure without tls", "clusters:\n  - {name: a, servers: [a:1], tls: {insecure_skip_verify: true}}\n", []string{`cluster "a"`, "tls.insecure_skip_verify"}},
		{"sasl without password", "clusters:\n  - {name: a, servers: [a:1], sasl: {enabled: true, username: u}}\n", []string{`cluster "a"`, "sasl.enabled needs sasl.password_file or sasl.password_env"}},
		{"sasl without user", "clusters:\n  - {name: a, servers: [a:1], sasl: {enabled: true, password_env: HOME}}\n", []string{`cluster "a"`, "sasl.username"}},
		{"bad mechanism", "clusters:\n  - {name: a, servers: [a:1], sasl: {enabled: true, mechanism: ntlm, username: u, password_env: HOME}}\n", []string{`cluster "a"`, "sasl.mechanism"}},
		{"empty password env", "clusters:\n  - {name: a, servers: [a:1], sasl: {enabled: true, username: u, password_env: LAGWATCH_TEST_UNSET}}\n", []string{`cluster "a"`, "sasl.password_env", "LAGWATCH_TEST_UNSET"}},
		{"two password sources", "clusters:\n  - {name: a, servers: [a:1], sasl: {enabled: true, username: u, password: x, password_env: HOME}}\n", []string{`cluster "a"`, "sasl.password_env"}},
		{"missing password file", "clusters:\n  - {name: a, servers: [a:1], sasl: {enabled: true, username: u, password_file: /nonexistent/pw}}\n", []string{`cluster "a"`, "sasl.password_file"}},
		{"oauthbearer without token source", "clusters:\n  - {name: a, servers: [a:1], sasl: {enabled: true, mechanism: oauthbearer}}\n", []string{`cluster "a"`, "sasl.oauthbearer_token_url"}},
		{"oauthbearer scopes with another mechanism", "clusters:\n  - {name: a, servers: [a:1], sasl: {enabled: true, username: u, password_env: HOME, oauthbearer_scopes: [x]}}\n", []string{`cluster "a"`, "sasl.oauthbearer_scopes"}},
		{"oauthbearer token URL without secret", "clusters:\n  - {name: a, servers: [a:1], sasl: {enabled: true, mechanism: oauthbearer, username: c, oauthbearer_token_url: \"https://idp/token\"}}\n", []string{`cluster "a"`, "sasl.password_file or sasl.password_env"}},
		{"gssapi keytab missing", "clusters:\n  - {name: a, servers: [a:1], sasl: {enabled: true, mechanism: gssapi, username: u, kerberos_config_path: /dev/null, realm: R, keytab_path: /nonexistent/kt}}\n", []string{`cluster "a"`, "sasl.keytab_path"}},
		{"awsiam without tls", "clusters:\n  - {name: a, servers: [a:1], sasl: {enabled: true, mechanism: awsiam, aws_region: eu-west-1}}\n", []string{`cluster "a"`, "tls.enabled"}},
		{"password without sasl", "clusters:\n  - {name: a, servers: [a:1], sasl: {password: x}}\n", []string{`cluster "a"`, "sasl.password is set but sasl.enabled is not"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.yaml)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"--config.file=" + path, "--web.listen-address=127.0.0.1:0"}, &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit code = %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("stderr has %d lines, want one:\n%s", len(lines), stderr.String())
			}
			want := append([]string{"lagwatch: error: --config.file " + `"` + path + `"`}, tc.want...)
			for _, w := range want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("error %q lacks %q", lines[0], w)
				}
			}
			if strings.Contains(lines[0], "s3cret") {
				t.Errorf("error %q shows a secret", lines[0])
			}
		})
	}
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
		specs, err := loadConfigFile(writeConfig(t, yaml), baseConfig())
		if err != nil {
			t.Fatal(err)
		}
		return specs[0].fingerprint
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
	specs, err := loadConfigFile(filepath.Join("deploy", "lagwatch", "clusters.yml"), baseConfig())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range specs {
		names = append(names, s.name)
		if !slices.Contains(s.labels, exporter.Label{Name: clusterLabel, Value: s.name}) {
			t.Errorf("cluster %s has labels %v, want cluster=%q", s.name, s.labels, s.name)
		}
	}
	if !slices.Equal(names, []string{"demo-1", "demo-2"}) {
		t.Errorf("clusters %v, want demo-1 and demo-2", names)
	}
}
