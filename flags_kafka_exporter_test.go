package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/internal/scrapetest"
	"github.com/lagwatch/lagwatch/internal/securetest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// The groups and the topics they committed, in the cluster the filter
// tests poll.
var filterCluster = map[string][]string{
	"svc-orders": {"orders", "payments-dlq"},
	"orders-svc": {"orders"},
	"billing":    {"payments", "payments-dlq"},
	"audit":      {"svc-audit"},
}

var filterTopics = []string{"orders", "payments", "payments-dlq", "svc-audit"}

// startFilterCluster starts a kfake cluster with filterCluster's topics,
// records and committed offsets (each group one record behind), with the
// options given (TLS, SASL).
func startFilterCluster(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(1, filterTopics...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func scramSHA512(user, password string) sasl.Mechanism {
	return scram.Auth{User: user, Pass: password}.AsSha512Mechanism()
}

// populate produces two records on every topic and commits offset 1 for
// each group on its topics.
func populate(t *testing.T, addrs []string, clientOpts ...kgo.Opt) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...)}, clientOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, topic := range filterTopics {
		for range 2 {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("x")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	adm := kadm.NewClient(cl)
	for group, topics := range filterCluster {
		offsets := kadm.Offsets{}
		for _, topic := range topics {
			offsets.AddOffset(topic, 0, 1, -1)
		}
		resp, err := adm.CommitOffsets(ctx, group, offsets)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// keptBy parses args as lagwatch's command line, polls the cluster once
// with the configuration they make and returns what the scrape shows: the
// groups (kafka_consumergroup_members), the topics (kafka_topic_partitions)
// and each group's topics (kafka_consumergroup_lag_sum), sorted.
func keptBy(t *testing.T, addrs []string, args ...string) (groups, topics, groupTopics []string) {
	t.Helper()
	app, f := newApp(io.Discard, io.Discard)
	f.args = args
	if _, err := app.Parse(args); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if err := f.compat.applyBeforeLogging(f.args, f.log.Level, f.security); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	logger := slog.New(slog.DiscardHandler)
	cfg, err := f.pollerConfig(false, logger)
	if err == nil {
		err = f.compat.applyToConfig(f.configFile, &cfg, logger)
	}
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	cfg.Servers = addrs
	p, err := collector.NewPoller(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.PollOnce(ctx); err != nil {
		t.Fatalf("%v: poll: %v", args, err)
	}
	e := exporter.NewClusters(f.exporterOpts, exporter.Cluster{Source: p})
	s := scrapetest.Scrape(t, exporter.Handler(e, prometheus.NewRegistry(), logger))
	return labelValues(s, "kafka_consumergroup_members", "consumergroup"),
		labelValues(s, "kafka_topic_partitions", "topic"),
		labelValues(s, "kafka_consumergroup_lag_sum", "consumergroup", "topic")
}

// labelValues are the values of the labels of every series of metric,
// joined by "/" when there are several, sorted.
func labelValues(s scrapetest.Series, metric string, labels ...string) []string {
	var out []string
	for key := range s {
		if !strings.HasPrefix(key, metric+"{") {
			continue
		}
		var values []string
		for _, l := range labels {
			m := regexp.MustCompile(`[{,]` + l + `="([^"]*)"`).FindStringSubmatch(key)
			if m == nil {
				break
			}
			values = append(values, m[1])
		}
		if len(values) == len(labels) {
			out = append(out, strings.Join(values, "/"))
		}
	}
	slices.Sort(out)
	return out
}

// Each filter form of kafka_exporter's README (its defaults) and the
// forms its users write keep what kafka_exporter keeps: a name is kept
// when the filter matches anywhere in it (Go's regexp.MatchString) and
// the exclusion matches nowhere in it.
func TestFiltersKeepTheGroupsAndTopicsKafkaExporterKeeps(t *testing.T) {
	addrs := startFilterCluster(t)
	populate(t, addrs)
	all := []string{"audit", "billing", "orders-svc", "svc-orders"}
	allTopics := []string{"orders", "payments", "payments-dlq", "svc-audit"}
	for _, c := range []struct {
		name        string
		args        []string
		groups      []string
		topics      []string
		groupTopics []string
	}{
		{"no filter", nil, all, allTopics,
			[]string{"audit/svc-audit", "billing/payments", "billing/payments-dlq", "orders-svc/orders", "svc-orders/orders", "svc-orders/payments-dlq"}},
		{"kafka_exporter's defaults spelled out", []string{"--group.filter=.*", "--group.exclude=^$", "--topic.filter=.*", "--topic.exclude=^$"}, all, allTopics,
			[]string{"audit/svc-audit", "billing/payments", "billing/payments-dlq", "orders-svc/orders", "svc-orders/orders", "svc-orders/payments-dlq"}},
		{"a word keeps every name containing it, and excludes every name containing one", []string{"--group.filter=svc", "--topic.exclude=dlq"},
			[]string{"orders-svc", "svc-orders"}, []string{"orders", "payments", "svc-audit"},
			[]string{"orders-svc/orders", "svc-orders/orders"}},
		{"^ anchors at the start", []string{"--group.filter=^svc"}, []string{"svc-orders"}, allTopics,
			[]string{"svc-orders/orders", "svc-orders/payments-dlq"}},
		{"$ anchors at the end", []string{"--group.exclude=svc$", "--topic.filter=s$"}, []string{"audit", "billing", "svc-orders"}, []string{"orders", "payments"},
			[]string{"billing/payments", "svc-orders/orders"}},
		{"both anchors match the whole name", []string{"--topic.filter=^(orders|payments)$"}, all, []string{"orders", "payments"},
			[]string{"billing/payments", "orders-svc/orders", "svc-orders/orders"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			groups, topics, groupTopics := keptBy(t, addrs, c.args...)
			if !slices.Equal(groups, c.groups) {
				t.Errorf("groups %v, want kafka_exporter's %v", groups, c.groups)
			}
			if !slices.Equal(topics, c.topics) {
				t.Errorf("topics %v, want kafka_exporter's %v", topics, c.topics)
			}
			if !slices.Equal(groupTopics, c.groupTopics) {
				t.Errorf("group/topic lag sums %v, want %v", groupTopics, c.groupTopics)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for lagwatch's log writer and a test
// reading it at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// runLagwatch runs lagwatch as main would with args on a free loopback
// port and returns its base URL and its log (stderr). It stops when the
// test ends.
func runLagwatch(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	addr := waitfor.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	stderr := &syncBuffer{}
	go func() {
		done <- run(ctx, append([]string{"--web.listen-address=" + addr}, args...), io.Discard, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("lagwatch exited with %d: %s", code, stderr.String())
		}
	})
	base := "http://" + addr
	waitfor.Condition(t, 20*time.Second, "lagwatch serves", func() error {
		r, err := get(base + "/healthz")
		if err == nil && r.status != http.StatusOK {
			err = fmt.Errorf("/healthz answers %d", r.status)
		}
		return err
	})
	return base, stderr
}

// kafka_exporter's Helm chart, with TLS (client certificate) and SASL
// SCRAM enabled, renders this command line; lagwatch runs on it as
// kafka_exporter did, answers its liveness probe on /healthz and serves
// the cluster's lag, with no warning about any of these flags.
func TestKafkaExporterChartCommandLineRunsLagwatch(t *testing.T) {
	ca, err := securetest.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	serverCert, serverKey, err := ca.Issue("kfake", "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	clientCert, clientKey, err := ca.Issue("lagwatch")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := securetest.WriteFile(t, dir, "ca-file", ca.CertPEM)
	certFile := securetest.WriteFile(t, dir, "cert-file", clientCert)
	keyFile := securetest.WriteFile(t, dir, "key-file", clientKey)
	pair, err := tls.X509KeyPair(serverCert, serverKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	addrs := startFilterCluster(t,
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "lagwatch", "s3cret"))
	clientPair, err := tls.X509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	populate(t, addrs,
		kgo.DialTLSConfig(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientPair}, MinVersion: tls.VersionTLS12}),
		kgo.SASL(scramSHA512("lagwatch", "s3cret")))

	// deploy/templates/deployment.yaml of charts/kafka-exporter, values:
	// kafka.servers, kafka.version 2.0.0 (its flag's default), sasl
	// enabled with handshake, tls enabled with the three files, log
	// verbosity 0 and enableSarama.
	chartArgs := []string{
		"--kafka.server=" + addrs[0],
		"--kafka.version=2.0.0",
		"--sasl.enabled",
		"--sasl.username=lagwatch",
		"--sasl.password=s3cret",
		"--sasl.mechanism=scram-sha512",
		"--sasl.oauthbearer-token-url=",
		"--tls.enabled",
		"--tls.ca-file=" + caFile,
		"--tls.cert-file=" + certFile,
		"--tls.key-file=" + keyFile,
		"--verbosity=0",
		"--log.enable-sarama",
	}
	base, logs := runLagwatch(t, append(chartArgs, "--kafka.poll-interval=300ms", "--lag.window=10s")...)
	waitfor.Condition(t, 30*time.Second, "the lag of each group", func() error {
		for _, line := range []string{
			`kafka_consumergroup_lag{consumergroup="svc-orders",topic="orders",partition="0"} 1`,
			`kafka_consumergroup_lag{consumergroup="billing",topic="payments-dlq",partition="0"} 1`,
			"lagwatch_up 1",
		} {
			if err := metricLine(base, line); err != nil {
				return err
			}
		}
		return nil
	})
	if strings.Contains(logs.String(), "does nothing in lagwatch") {
		t.Errorf("the chart's own flags drew a warning:\n%s", logs.String())
	}
}

// The chart's other renderings: --tls.insecure-skip-tls-verify in place
// of the files, --sasl.handshake=false, a verbosity above 0.
func TestKafkaExporterFlagsTakeKafkaExportersMeaning(t *testing.T) {
	parse := func(t *testing.T, env string, args ...string) (*flagValues, collector.Config, string) {
		t.Helper()
		t.Setenv(saslPasswordEnvKafkaExporter, env)
		app, f := newApp(io.Discard, io.Discard)
		f.args = args
		args, err := boolFlagsWithValues(app, args)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err = f.compat.applyBeforeLogging(f.args, f.log.Level, f.security); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		cfg, err := f.pollerConfig(false, logger)
		if err == nil {
			err = f.compat.applyToConfig(f.configFile, &cfg, logger)
		}
		if err != nil {
			t.Fatal(err)
		}
		return f, cfg, logs.String()
	}

	t.Run("sasl.handshake=false skips Kafka's SaslHandshake", func(t *testing.T) {
		_, cfg, _ := parse(t, "", "--sasl.enabled", "--sasl.handshake=false", "--sasl.username=u", "--sasl.password=p", "--sasl.mechanism=plain")
		if cfg.Kafka.Sarama().Net.SASL.Handshake {
			t.Error("handshake still on")
		}
	})
	t.Run("mechanism in upper case and the password from $SASL_USER_PASSWORD", func(t *testing.T) {
		_, cfg, _ := parse(t, "from-env", "--sasl.enabled", "--sasl.username=u", "--sasl.mechanism=SCRAM-SHA256", "--tls.enabled", "--tls.insecure-skip-tls-verify")
		sasl := cfg.Kafka.Sarama().Net.SASL
		if sasl.Mechanism != sarama.SASLTypeSCRAMSHA256 || sasl.Password != "from-env" || !sasl.Handshake {
			t.Errorf("SASL %s with password from the environment %v, handshake %v", sasl.Mechanism, sasl.Password == "from-env", sasl.Handshake)
		}
		if !cfg.Kafka.Sarama().Net.TLS.Enable || !cfg.Kafka.Sarama().Net.TLS.Config.InsecureSkipVerify {
			t.Error("TLS without verification not set")
		}
	})
	t.Run("verbosity 1 or more is debug, unless --log.level says otherwise", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--verbosity=0"}, "info"},
			{[]string{"--verbosity=1"}, "debug"},
			{[]string{"--verbosity=2"}, "debug"},
			{[]string{"--verbosity=2", "--log.level=warn"}, "warn"},
		} {
			f, _, _ := parse(t, "", c.args...)
			if got := f.log.Level.String(); got != c.want {
				t.Errorf("%v: log level %s, want %s", c.args, got, c.want)
			}
		}
	})
	t.Run("kafka.version below 2.3 says once what the cap loses", func(t *testing.T) {
		_, cfg, logs := parse(t, "", "--kafka.version=2.0.0")
		if n := strings.Count(logs, "caps the protocol versions"); n != 1 || !strings.Contains(logs, "Metadata v8") || !strings.Contains(logs, "level=WARN") {
			t.Errorf("%d lines, want one warning naming Metadata v8:\n%s", n, logs)
		}
		if cfg.Kafka.Sarama().Version != sarama.V2_0_0_0 {
			t.Errorf("the cap is %s, want 2.0.0 for the requests other than the group requests", cfg.Kafka.Sarama().Version)
		}
		_, _, logs = parse(t, "")
		if strings.Contains(logs, "caps the protocol versions") {
			t.Errorf("no --kafka.version, yet:\n%s", logs)
		}
	})
	t.Run("a flag with no meaning in lagwatch is accepted with one warning naming it", func(t *testing.T) {
		_, _, logs := parse(t, "", "--concurrent.enable", "--topic.workers=20", "--refresh.metadata=1m", "--kafka.allow-auto-topic-creation",
			"--use.consumelag.zookeeper", "--zookeeper.server=zk-1:2181", "--zookeeper.server=zk-2:2181", "--offset.show-all=true")
		for _, flag := range []string{"--concurrent.enable value=true", "--topic.workers value=20", "--refresh.metadata value=1m", "--kafka.allow-auto-topic-creation value=true",
			"--use.consumelag.zookeeper value=true", "--zookeeper.server value=zk-1:2181,zk-2:2181"} {
			if n := strings.Count(logs, "flag="+flag+" "); n != 1 {
				t.Errorf("%s: %d warnings, want 1:\n%s", flag, n, logs)
			}
		}
		if strings.Contains(logs, "offset.show-all") {
			t.Errorf("--offset.show-all=true (lagwatch's own behaviour) drew a warning:\n%s", logs)
		}
	})
	t.Run("offset.show-all=false keeps only the partitions members are assigned, as in kafka_exporter", func(t *testing.T) {
		_, cfg, logs := parse(t, "", "--offset.show-all=false")
		if !cfg.AssignedPartitionsOnly {
			t.Error("--offset.show-all=false: lagwatch still reports every committed partition")
		}
		if strings.Contains(logs, "offset.show-all") {
			t.Errorf("--offset.show-all=false is followed, yet drew a warning:\n%s", logs)
		}
		if _, cfg, _ := parse(t, ""); cfg.AssignedPartitionsOnly {
			t.Error("without --offset.show-all, lagwatch reports only assigned partitions")
		}
	})
}

// kafka_exporter's --server.tls.* flags serve HTTPS; lagwatch does that
// from --web.config.file, so it refuses them, in one line giving the
// file's content, which is valid as it is.
func TestServerTLSFlagsAreRefusedWithTheWebConfigToWrite(t *testing.T) {
	files := newTestFiles(t)
	args := []string{"--server.tls.enabled", "--server.tls.mutual-auth-enabled", "--server.tls.ca-file=" + files.ca,
		"--server.tls.cert-file=" + files.cert, "--server.tls.key-file=" + files.key}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage {
		t.Fatalf("exit code %d, want %d", code, exitUsage)
	}
	line := strings.TrimSpace(stderr.String())
	if strings.Contains(line, "\n") || !strings.Contains(line, "--web.config.file") {
		t.Fatalf("want one line naming --web.config.file, got:\n%s", line)
	}
	m := regexp.MustCompile(`write (tls_server_config: \{.*\}) to a file`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no web configuration in %q", line)
	}
	webConfig := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(webConfig, []byte(m[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := web.Validate(webConfig); err != nil {
		t.Fatalf("the suggested %q is not a valid --web.config.file: %v", m[1], err)
	}
	for _, want := range []string{"RequireAndVerifyClientCert", files.ca, files.cert, files.key} {
		if !strings.Contains(m[1], want) {
			t.Errorf("the suggested web configuration lacks %q: %s", want, m[1])
		}
	}
}

func TestUnknownFlagsAreAllNamedAtOnce(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--kafka.servr=a:1", "--group.filter", "x", "--no-such-flag", "--lag.windw=1m"}, &stdout, &stderr)
	if code != exitUsage {
		t.Fatalf("exit code %d, want %d", code, exitUsage)
	}
	line := strings.TrimSpace(stderr.String())
	want := "lagwatch: error: unknown flag --kafka.servr (did you mean --kafka.server?), --no-such-flag, --lag.windw (did you mean --lag.window?) (see --help)"
	if line != want {
		t.Errorf("stderr\n%s\nwant\n%s", line, want)
	}
}
