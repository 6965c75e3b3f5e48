// Package e2e runs lagwatch the way operators do: a real Apache Kafka
// broker, the lagwatch binary, Prometheus (Debian's package) scraping it
// with lagwatch's alert rules, and Alertmanager (Debian's package) sending
// notifications to a webhook in the test.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/lagwatch/lagwatch/dashboards"
	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

var broker *kafkatest.Broker

func TestMain(m *testing.M) {
	os.Exit(kafkatest.Main(m, kafkatest.Options{}, &broker))
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// tool finds a program from Debian's packages, failing with what to install.
func tool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Fatalf("%s not found: install Debian's prometheus and prometheus-alertmanager packages (make test does)", names[0])
	return ""
}

// startProcess runs a server process until the test ends; its output goes
// to a log file that is printed if the test fails.
func startProcess(t *testing.T, name string, args ...string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), filepath.Base(name)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("--- %s log (last 3000 bytes) ---\n%s", filepath.Base(name), tail(string(out), 3000))
		}
	})
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func httpOK(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return nil
}

// buildLagwatch compiles the binary the way a user would.
func buildLagwatch(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lagwatch")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var forClause = regexp.MustCompile(`(?m)^(\s+(?:keep_firing_)?for:\s*)\S+`)

// shortenedRules copies alerts/*.yml with every `for:` and
// `keep_firing_for:` cut to 1s, so the test does not wait the minutes that
// protect production from flapping. What keeps a page up while lagwatch is
// blind is in the expressions (held statuses), not in keep_firing_for, so
// the test still sees it.
func shortenedRules(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "alerts", "*.rules.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files in alerts/: %v", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out := forClause.ReplaceAll(src, []byte("${1}1s"))
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// notification is the part of Alertmanager's webhook payload the test reads.
type notification struct {
	Status string `json:"status"`
	Alerts []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

// webhook receives Alertmanager's notifications.
type webhook struct {
	mu   sync.Mutex
	seen []notification
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var n notification
	if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.seen = append(w.seen, n)
	w.mu.Unlock()
}

// received reports whether an alert with the given status and labels was
// notified.
func (w *webhook) received(status string, labels map[string]string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range w.seen {
	alerts:
		for _, a := range n.Alerts {
			if a.Status != status {
				continue
			}
			for k, v := range labels {
				if a.Labels[k] != v {
					continue alerts
				}
			}
			return nil
		}
	}
	return fmt.Errorf("no %s notification with labels %v among %d notifications", status, labels, len(w.seen))
}

// stack is Prometheus and Alertmanager wired to lagwatch and a webhook.
type stack struct {
	prometheus string // base URL
	webhook    *webhook
}

func startStack(t *testing.T, lagwatchAddr string) stack {
	t.Helper()
	hook := &webhook{}
	hookServer := httptest.NewServer(hook)
	t.Cleanup(hookServer.Close)

	dir := t.TempDir()
	amAddr, promAddr := waitfor.FreeAddr(t), waitfor.FreeAddr(t)
	amConfig := fmt.Sprintf(`route:
  receiver: test
  group_by: [alertname, consumergroup, topic, partition]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: %s
        send_resolved: true
`, hookServer.URL)
	writeFile(t, filepath.Join(dir, "alertmanager.yml"), amConfig)
	startProcess(t, tool(t, "prometheus-alertmanager", "alertmanager"),
		"--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "am-data"),
		"--web.listen-address="+amAddr,
		"--cluster.listen-address=",
	)

	rules := shortenedRules(t)
	promConfig := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %s/*.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
scrape_configs:
  - job_name: lagwatch
    static_configs:
      - targets: [%q]
`, rules, amAddr, lagwatchAddr)
	writeFile(t, filepath.Join(dir, "prometheus.yml"), promConfig)
	startProcess(t, tool(t, "prometheus"),
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "prom-data"),
		"--web.listen-address="+promAddr,
		"--rules.alert.resend-delay=1s",
	)
	s := stack{prometheus: "http://" + promAddr, webhook: hook}
	waitfor.Condition(t, 60*time.Second, "Alertmanager ready", func() error { return httpOK("http://" + amAddr + "/-/ready") })
	waitfor.Condition(t, 60*time.Second, "Prometheus ready", func() error { return httpOK(s.prometheus + "/-/ready") })
	return s
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// promResult is the part of Prometheus's query API answer the test reads.
type promResult struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		Result []json.RawMessage `json:"result"`
	} `json:"data"`
}

func (s stack) query(path string, params url.Values) (promResult, error) {
	var r promResult
	resp, err := http.Get(s.prometheus + path + "?" + params.Encode())
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &r); err != nil {
		return r, fmt.Errorf("%s: %s", resp.Status, body)
	}
	if r.Status != "success" {
		return r, fmt.Errorf("query failed: %s", r.Error)
	}
	return r, nil
}

// poisonedConsumer is a real member of a consumer group that processes its
// partitions but gets stuck on a poison message in partition 0 until skip
// is closed, as a consumer that cannot process one record does.
type poisonedConsumer struct {
	poisonOffset int64
	skip         chan struct{}
}

func (poisonedConsumer) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (poisonedConsumer) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (c poisonedConsumer) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for msg := range claim.Messages() {
		if msg.Partition == 0 && msg.Offset == c.poisonOffset {
			select {
			case <-c.skip:
			case <-sess.Context().Done():
				return nil
			}
		}
		sess.MarkMessage(msg, "")
	}
	return nil
}

// produceSteadily writes one record to every partition every 200 ms until
// ctx is done, so lag grows wherever the consumer does not keep up.
func produceSteadily(ctx context.Context, t *testing.T, addr, topic string, partitions int32) {
	producer, err := sarama.NewSyncProducer([]string{addr}, kafkatest.NewConfig())
	if err != nil {
		t.Errorf("producer: %v", err)
		return
	}
	defer producer.Close()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		for p := range partitions {
			_, _, _ = producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: p, Value: sarama.StringEncoder("event")})
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func TestStalledPartitionPagesThroughPrometheusAndAlertmanagerAndResolvesWhenSkipped(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	const topic, group = "e2e-payments", "e2e-billing"
	kafkatest.CreateTopic(t, addr, topic, 3, nil)
	// Records 0 and 1 of partition 0 process fine; record 2 is the poison.
	kafkatest.Produce(t, addr, topic, 0, 5)
	// The consumer's dead-letter topic, for the dashboards' DLQ panels.
	kafkatest.CreateTopic(t, addr, topic+"-dlq", 1, nil)
	kafkatest.Produce(t, addr, topic+"-dlq", 0, 2)

	ctx, cancel := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	t.Cleanup(func() { cancel(); workers.Wait() })
	workers.Add(1)
	go func() { defer workers.Done(); produceSteadily(ctx, t, addr, topic, 3) }()

	consumerConfig := kafkatest.NewConfig()
	consumerConfig.Consumer.Offsets.Initial = sarama.OffsetOldest
	consumerConfig.Consumer.Offsets.AutoCommit.Interval = 200 * time.Millisecond
	consumer, err := sarama.NewConsumerGroup([]string{addr}, group, consumerConfig)
	if err != nil {
		t.Fatal(err)
	}
	handler := poisonedConsumer{poisonOffset: 2, skip: make(chan struct{})}
	workers.Add(1)
	go func() {
		defer workers.Done()
		defer consumer.Close()
		for ctx.Err() == nil {
			if err := consumer.Consume(ctx, []string{topic}, handler); err != nil && ctx.Err() == nil {
				t.Logf("consume: %v", err)
				time.Sleep(200 * time.Millisecond)
			}
		}
	}()

	lagwatchAddr := waitfor.FreeAddr(t)
	startProcess(t, buildLagwatch(t),
		"--kafka.server="+addr,
		"--web.listen-address="+lagwatchAddr,
		"--kafka.poll-interval=1s",
		"--lag.window=10s",
		// Stalled once the offset has sat still for 5 s (default 90 s).
		"--lag.stall-after=5s",
		"--group.filter=e2e-.*",
	)
	s := startStack(t, lagwatchAddr)

	stalled := map[string]string{"alertname": "KafkaConsumerPartitionStalled", "consumergroup": group, "topic": topic, "partition": "0"}
	start := time.Now()
	waitfor.Condition(t, 90*time.Second, "firing notification for the stalled partition", func() error {
		return s.webhook.received("firing", stalled)
	})
	t.Logf("stalled partition paged %s after the consumer got stuck", time.Since(start).Round(time.Second))
	for _, p := range []string{"1", "2"} {
		other := map[string]string{"alertname": "KafkaConsumerPartitionStalled", "partition": p}
		if s.webhook.received("firing", other) == nil {
			t.Errorf("partition %s flows but was paged as stalled", p)
		}
	}

	close(handler.skip)
	waitfor.Condition(t, 60*time.Second, "resolved notification once the consumer skips the poison message", func() error {
		return s.webhook.received("resolved", stalled)
	})

	t.Run("every dashboard query runs and returns data unless it shows only trouble", func(t *testing.T) {
		queries, err := dashboards.Queries()
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for _, q := range queries {
			params := url.Values{"query": {q.PromQL}}
			path := "/api/v1/query"
			if !q.Instant {
				path = "/api/v1/query_range"
				params.Set("start", fmt.Sprint(now.Add(-2*time.Minute).Unix()))
				params.Set("end", fmt.Sprint(now.Unix()))
				params.Set("step", "1")
			}
			r, err := s.query(path, params)
			if err != nil {
				t.Errorf("%s / %s: %s: %v", q.Dashboard, q.Panel, q.PromQL, err)
				continue
			}
			// Every variable is replaced by ".*" (what "All" selects), so
			// each query runs; only panels that show trouble this scenario
			// does not cause may answer nothing.
			if len(r.Data.Result) == 0 && !q.EmptyWhenHealthy {
				t.Errorf("%s / %s returned no data: %s", q.Dashboard, q.Panel, q.PromQL)
			}
		}
	})
}
