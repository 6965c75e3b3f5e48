package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lagwatch/lagwatch/collector"
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

// baseConfig is what the flags give every cluster of a --config.file in
// these tests.
func baseConfig() collector.Config {
	return collector.Config{Logger: slog.New(slog.DiscardHandler), Filters: collector.Filters{Shard: collector.Shard{Index: 1, Count: 2}}}
}
