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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.yaml.in/yaml/v3"

	"github.com/lagwatch/lagwatch/dashboards"
	"github.com/lagwatch/lagwatch/dashboards/tablecheck"
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
		case <-time.After(waitfor.Scaled(10 * time.Second)):
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
	Receiver string `json:"receiver"`
	Status   string `json:"status"`
	Alerts   []struct {
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

// first returns the index of the first notification with an alert of
// the given status and labels, -1 if none.
func (w *webhook) first(status string, labels map[string]string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, n := range w.seen {
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
			return i
		}
	}
	return -1
}

// about returns the notifications, from the from-th on, with at least one
// alert carrying the given labels.
func (w *webhook) about(from int, labels map[string]string) []notification {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []notification
	for _, n := range w.seen[from:] {
	alerts:
		for _, a := range n.Alerts {
			for k, v := range labels {
				if a.Labels[k] != v {
					continue alerts
				}
			}
			out = append(out, n)
			break
		}
	}
	return out
}

func (n notification) String() string {
	var alerts []string
	for _, a := range n.Alerts {
		alerts = append(alerts, fmt.Sprintf("%s %s%v", a.Status, a.Labels["alertname"], a.Labels))
	}
	return fmt.Sprintf("%s to %s: %v", n.Status, n.Receiver, alerts)
}

// alertmanagerConfig is deploy/alertmanager/alertmanager.yml, the routing
// and inhibition users run, with its page and ticket receivers sending to
// the webhook (info still goes nowhere) and its waits cut to a second.
func alertmanagerConfig(t *testing.T, hookURL string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "alertmanager", "alertmanager.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("parse alertmanager.yml: %v", err)
	}
	route, _ := cfg["route"].(map[string]any)
	if route == nil {
		t.Fatal("alertmanager.yml has no route")
	}
	route["group_wait"], route["group_interval"] = "1s", "1s"
	receivers, _ := cfg["receivers"].([]any)
	notifying := 0
	for _, r := range receivers {
		rm, _ := r.(map[string]any)
		if name := rm["name"]; name == "page" || name == "ticket" {
			rm["webhook_configs"] = []any{map[string]any{"url": hookURL, "send_resolved": true}}
			notifying++
		}
	}
	if notifying != 2 {
		t.Fatalf("alertmanager.yml has no page and ticket receivers: %v", receivers)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// stack is Prometheus and Alertmanager wired to lagwatch and a webhook.
type stack struct {
	prometheus   string // base URL
	alertmanager string // base URL
	webhook      *webhook
}

func startStack(t *testing.T, lagwatchAddr string) stack {
	t.Helper()
	hook := &webhook{}
	hookServer := httptest.NewServer(hook)
	t.Cleanup(hookServer.Close)

	dir := t.TempDir()
	amAddr, promAddr := waitfor.FreeAddr(t), waitfor.FreeAddr(t)
	amConfig := alertmanagerConfig(t, hookServer.URL)
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
	s := stack{prometheus: "http://" + promAddr, alertmanager: "http://" + amAddr, webhook: hook}
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

// vectorOf returns the series of an instant query.
func (s stack) vectorOf(promql string) ([]tablecheck.Sample, error) {
	r, err := s.query("/api/v1/query", url.Values{"query": {promql}})
	if err != nil {
		return nil, err
	}
	samples := make([]tablecheck.Sample, len(r.Data.Result))
	for i, raw := range r.Data.Result {
		if err := json.Unmarshal(raw, &samples[i]); err != nil {
			return nil, err
		}
	}
	return samples, nil
}

// logTimeline logs, for each query, every change of its series' values
// from from to now at a one-second step: when a test about timing fails,
// what Prometheus saw (scrapes, blindness, held statuses, alert states) is
// the evidence.
func (s stack) logTimeline(t *testing.T, from time.Time, queries ...string) {
	t.Helper()
	for _, q := range queries {
		r, err := s.query("/api/v1/query_range", url.Values{
			"query": {q},
			"start": {fmt.Sprint(from.Unix())},
			"end":   {fmt.Sprint(time.Now().Unix())},
			"step":  {"1"},
		})
		if err != nil {
			t.Logf("timeline of %s: %v", q, err)
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "timeline of %s (seconds from %s):", q, from.Format("15:04:05"))
		for _, raw := range r.Data.Result {
			var series struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			}
			if err := json.Unmarshal(raw, &series); err != nil {
				t.Logf("timeline of %s: %v", q, err)
				continue
			}
			fmt.Fprintf(&b, "\n  %v:", series.Metric)
			last, lastAt := "", -2.0
			for _, v := range series.Values {
				at, _ := v[0].(float64)
				val, _ := v[1].(string)
				rel := at - float64(from.Unix())
				if val != last || rel != lastAt+1 {
					if rel != lastAt+1 && lastAt >= 0 {
						fmt.Fprintf(&b, " [gap after %.0f]", lastAt)
					}
					fmt.Fprintf(&b, " %.0f=%s", rel, val)
				}
				last, lastAt = val, rel
			}
			fmt.Fprintf(&b, " (last %.0f)", lastAt)
		}
		t.Log(b.String())
	}
}

// counters sums, per label set, the samples of the counter name on a
// Prometheus-format /metrics page.
func counters(base, name string) (map[string]float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(value, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", line, err)
		}
		out[series] += v
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s/metrics has no %s", base, name)
	}
	return out, nil
}

// settle waits until the alerting chain has worked through what happened
// before it was called, instead of sleeping for a time that is long on a
// quiet machine and short on a busy one: every rule group of Prometheus
// has evaluated n more times, and Alertmanager has then received alerts
// from Prometheus twice more (it notifies a change within its 1 s group
// interval of receiving it). A check that something did not happen reads
// the webhook after settle.
func (s stack) settle(t *testing.T, n int) {
	t.Helper()
	const evaluations = "prometheus_rule_group_iterations_total"
	before, err := counters(s.prometheus, evaluations)
	if err != nil {
		t.Fatal(err)
	}
	waitfor.Condition(t, time.Duration(n)*10*time.Second, fmt.Sprintf("%d more evaluations of every rule group", n), func() error {
		now, err := counters(s.prometheus, evaluations)
		if err != nil {
			return err
		}
		for group, was := range before {
			if now[group] < was+float64(n) {
				return fmt.Errorf("%s: %v evaluations, want %v", group, now[group], was+float64(n))
			}
		}
		return nil
	})
	// Prometheus sends its active alerts every second (resend delay 1 s):
	// the first send after the evaluations brings Alertmanager up to date,
	// the second comes at least a second later, by when Alertmanager (group
	// interval 1 s) has notified what the first one changed.
	const received = "alertmanager_alerts_received_total"
	for i := range 2 {
		before, err := counters(s.alertmanager, received)
		if err != nil {
			t.Fatal(err)
		}
		waitfor.Condition(t, 30*time.Second, fmt.Sprintf("Alertmanager receiving alerts (%d of 2)", i+1), func() error {
			now, err := counters(s.alertmanager, received)
			if err != nil {
				return err
			}
			if sum(now) <= sum(before) {
				return fmt.Errorf("still %v alerts received", sum(now))
			}
			return nil
		})
	}
}

// sum adds up a map's values.
func sum(m map[string]float64) (total float64) {
	for _, v := range m {
		total += v
	}
	return total
}

// logOwnMetrics logs the lines of Prometheus's own /metrics that start
// with one of prefixes: missed rule evaluations and late scrapes.
func (s stack) logOwnMetrics(t *testing.T, prefixes ...string) {
	t.Helper()
	resp, err := http.Get(s.prometheus + "/metrics")
	if err != nil {
		t.Logf("Prometheus's own metrics: %v", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var b strings.Builder
	b.WriteString("Prometheus's own metrics:")
	for _, line := range strings.Split(string(body), "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				b.WriteString("\n  " + line)
			}
		}
	}
	t.Log(b.String())
}

// has returns nil once promql answers at least one series.
func (s stack) has(promql string) error {
	v, err := s.vectorOf(promql)
	if err != nil {
		return err
	}
	if len(v) == 0 {
		return fmt.Errorf("%s answers nothing", promql)
	}
	return nil
}

// One stalled partition, watched through the whole chain: it pages once
// (the bundled routing and inhibition leave one notification), the
// dashboards show it, losing the broker neither resolves the page nor
// pages anew, and the page resolves once the broker is back and the
// consumer moves on.
func TestStalledPartitionPagesOnceSurvivesTheBrokerLossAndResolvesWhenTheConsumerMoves(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	const topic, group = "e2e-payments", "e2e-billing"
	day := "86400000"
	kafkatest.CreateTopic(t, addr, topic, 3, map[string]*string{"retention.ms": &day})
	// Records 0 and 1 of partition 0 process fine; record 2 is the poison.
	kafkatest.Produce(t, addr, topic, 0, 5)
	// The consumer's dead-letter topic, empty until the test parks records
	// there, so Prometheus sees it grow.
	const deadLetters = topic + ".DLT"
	kafkatest.CreateTopic(t, addr, deadLetters, 1, nil)

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
				time.Sleep(200 * time.Millisecond)
			}
		}
	}()

	// A memberless committer (as Flink or Spark commit) working through a
	// backlog written 13 hours ago on a topic kept a day: more than half
	// the retention old, so it has a retention headroom (11 hours) for the
	// dashboards' retention-risk table, far above the 2-hour threshold
	// that would page. It moves, so it is neither stalled nor stopped.
	const archive, archiver = "e2e-archive", "e2e-archiver"
	kafkatest.CreateTopic(t, addr, archive, 1, map[string]*string{"retention.ms": &day})
	written := time.Now().Add(-13 * time.Hour)
	stamps := make([]time.Time, 2000)
	for i := range stamps {
		stamps[i] = written.Add(time.Duration(i) * time.Second)
	}
	kafkatest.ProduceAt(t, addr, archive, 0, stamps)
	adm := kafkatest.NewKadm(t, addr)
	workers.Add(1)
	go func() {
		defer workers.Done()
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for next := int64(1); next < int64(len(stamps)); next++ {
			var offs kadm.Offsets
			offs.Add(kadm.Offset{Topic: archive, Partition: 0, At: next, LeaderEpoch: -1})
			_, _ = adm.CommitOffsets(ctx, archiver, offs)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()

	// A share group (KIP-932) whose member accepts every record: the
	// share-group dashboard's panels have data, and nothing about it pages.
	const shareGroup, shareTopic = "e2e-share", "e2e-queue"
	kafkatest.CreateTopic(t, addr, shareTopic, 1, nil)
	kafkatest.ShareFromEarliest(t, addr, shareGroup)
	kafkatest.ShareConsumer(t, addr, shareGroup, shareTopic, func(cl *kgo.Client, records []*kgo.Record) {
		cl.MarkAcks(kgo.AckAccept, records...)
	})
	kafkatest.Produce(t, addr, shareTopic, 0, 5)

	lagwatchAddr := waitfor.FreeAddr(t)
	bin := buildLagwatch(t)
	// The consumer is stuck from its first poll: the time to page runs
	// from lagwatch's start.
	start := time.Now()
	startProcess(t, bin,
		"--kafka.server="+addr,
		"--web.listen-address="+lagwatchAddr,
		"--kafka.poll-interval=1s",
		"--lag.window=10s",
		// Stalled once the offset has sat still for 5 s (default 60 s).
		"--lag.stall-after=5s",
		// The consumer is stuck before lagwatch ever sees it move: without
		// an override lagwatch waits out the cadence warm-up (15 min)
		// before calling a partition it never saw move stalled.
		"--group.stall-after=e2e-.*=5s",
		// Group series dropped 3 s after polls stop succeeding, as the
		// default (a few polls) does in production: the held status must
		// keep the page up without them.
		"--kafka.stale-after=3s",
		"--group.filter=e2e-.*",
	)
	s := startStack(t, lagwatchAddr)
	stalled := map[string]string{"alertname": "KafkaConsumerPartitionStalled", "consumergroup": group, "topic": topic, "partition": "0"}
	waitfor.Condition(t, 90*time.Second, "firing notification for the stalled partition", func() error {
		return s.webhook.received("firing", stalled)
	})
	t.Logf("stalled partition paged %s after lagwatch started", time.Since(start).Round(time.Second))
	// From the page on, nothing else may page. (Before it, with every for:
	// cut to 1 s, LagwatchDown fires for the moment before Prometheus's
	// first scrape.)
	paged := s.webhook.first("firing", stalled)

	t.Run("one stalled partition is one notification", func(t *testing.T) {
		// Every for: is cut to 1 s, so any other alert this stall raised
		// would be notified within a few evaluations.
		s.settle(t, 5)
		about := s.webhook.about(0, map[string]string{"consumergroup": group})
		if len(about) != 1 || about[0].Receiver != "page" {
			t.Errorf("%d notifications about group %s, want 1 page: %v", len(about), group, about)
		}
		for _, n := range s.webhook.about(paged, map[string]string{}) {
			// The LagwatchDown of the moment before Prometheus's first
			// scrape (see above) may be resolved after the stall page:
			// a resolution is no page.
			if n.Receiver == "page" && n.Status == "firing" && n.Alerts[0].Labels["consumergroup"] != group {
				t.Errorf("paged for something else: %v", n)
			}
		}
		for _, p := range []string{"1", "2"} {
			if s.webhook.received("firing", map[string]string{"alertname": "KafkaConsumerPartitionStalled", "partition": p}) == nil {
				t.Errorf("partition %s flows but was paged as stalled", p)
			}
		}
	})

	// Two records parked in the dead-letter topic, for its dashboard panel.
	kafkatest.Produce(t, addr, deadLetters, 0, 2)
	waitfor.Condition(t, 30*time.Second, "the dead-letter topic's growth in Prometheus", func() error {
		return s.has(fmt.Sprintf(`delta(kafka_topic_partition_current_offset{topic=%q}[1m]) > 0`, deadLetters))
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

	t.Run("every table shows one row per partition or group with every column", func(t *testing.T) {
		runner := tablecheck.Install(t)
		tables, err := dashboards.Tables()
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		var cases []tablecheck.Case
		for _, tb := range tables {
			c, err := tablecheck.Query(s.prometheus, tb, now)
			if err != nil {
				t.Fatal(err)
			}
			rows := 0
			for _, a := range c.Answers {
				rows = max(rows, len(a))
			}
			// The stall, the archiver's retention headroom and the dead
			// letters fill even the tables that show only trouble; no
			// share group is in trouble here, and no group is inactive
			// (that needs a backlog older than --group.inactive-after)
			// (those tables' transformations are checked on synthetic
			// answers in dashboards/tablecheck).
			if rows == 0 && (tb.Dashboard == "share-groups.json" || tb.Panel == "Inactive groups") {
				continue
			}
			if rows == 0 {
				t.Errorf("%s / %s: no query answered, the check would prove nothing", tb.Dashboard, tb.Panel)
			}
			cases = append(cases, c)
		}
		runner.Check(t, cases)
	})

	t.Run("losing the broker neither resolves the page nor pages again", func(t *testing.T) {
		before := len(s.webhook.about(0, map[string]string{"consumergroup": group}))
		from := time.Now().Add(-10 * time.Second)
		t.Cleanup(func() {
			if t.Failed() {
				s.logTimeline(t, from,
					`up`, `lagwatch_up`,
					fmt.Sprintf(`kafka_consumergroup_partition_status{consumergroup=%q, partition="0"} > 0`, group),
					fmt.Sprintf(`kafka_consumergroup_members{consumergroup=%q}`, group),
					fmt.Sprintf(`lagwatch:consumergroup_partition_status:held{consumergroup=%q, partition="0"}`, group),
					`lagwatch:blind`,
					`ALERTS{alertname="KafkaConsumerPartitionStalled", partition="0"}`,
					`scrape_duration_seconds`,
				)
				s.logOwnMetrics(t, "prometheus_rule_group_iterations_missed_total", "prometheus_rule_group_last_duration_seconds", "prometheus_target_interval_length_seconds")
			}
		})
		if err := broker.Kill(); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		restarted := false
		t.Cleanup(func() {
			if !restarted {
				_ = broker.Restart()
			}
		})
		// lagwatch blind, and its group series gone after --kafka.stale-after.
		waitfor.Condition(t, 60*time.Second, "lagwatch failing its polls and the group series dropped", func() error {
			if err := s.has(`lagwatch_up == 0`); err != nil {
				return err
			}
			if s.has(fmt.Sprintf(`kafka_consumergroup_lag{consumergroup=%q}`, group)) == nil {
				return fmt.Errorf("group %s still has series", group)
			}
			return nil
		})
		t.Logf("lagwatch blind and the group's series dropped %s after the kill", time.Since(killed).Round(time.Second))
		// Long enough for a resolve to go out: keep_firing_for is cut to
		// 1 s, Alertmanager's group_interval to 1 s.
		s.settle(t, 8)
		if err := s.has(`ALERTS{alertname="KafkaConsumerPartitionStalled", alertstate="firing", partition="0"}`); err != nil {
			t.Errorf("the stall alert is no longer firing while lagwatch is blind: %v", err)
		}
		if s.webhook.received("resolved", stalled) == nil {
			t.Error("the stall page was resolved while lagwatch could not see Kafka")
		}
		// What the rules' hold relies on: no scrape showed the group's
		// series gone while lagwatch_up still read 1.
		r, err := s.query("/api/v1/query_range", url.Values{
			"query": {fmt.Sprintf(`lagwatch_up == 1 unless on () kafka_consumergroup_members{consumergroup=%q}`, group)},
			"start": {fmt.Sprint(killed.Unix())},
			"end":   {fmt.Sprint(time.Now().Unix())},
			"step":  {"1"},
		})
		if err != nil {
			t.Error(err)
		} else if len(r.Data.Result) > 0 {
			t.Errorf("lagwatch_up read 1 while the group's series were gone: %s", r.Data.Result)
		}

		if err := broker.Restart(); err != nil {
			t.Fatalf("restart the broker: %v", err)
		}
		restarted = true
		back := time.Now()
		waitfor.Condition(t, 60*time.Second, "lagwatch polling again and the group's series back", func() error {
			if err := s.has(`lagwatch_up == 1`); err != nil {
				return err
			}
			return s.has(fmt.Sprintf(`kafka_consumergroup_lag{consumergroup=%q, partition="0"} > 0`, group))
		})
		t.Logf("lagwatch saw the group again %s after the broker restarted", time.Since(back).Round(time.Second))
		s.settle(t, 3)
		if s.webhook.received("resolved", stalled) == nil {
			t.Error("the stall page was resolved once the broker was back, though the consumer is still stuck")
		}
		// The blind page (4 minutes by default) does not come within this
		// outage; nothing else about the group may have been sent.
		if after := s.webhook.about(0, map[string]string{"consumergroup": group}); len(after) != before {
			t.Errorf("%d notifications about group %s during the outage: %v", len(after)-before, group, after[before:])
		}
	})

	close(handler.skip)
	skipped := time.Now()
	waitfor.Condition(t, 60*time.Second, "resolved notification once the consumer skips the poison message", func() error {
		return s.webhook.received("resolved", stalled)
	})
	t.Logf("stall page resolved %s after the consumer moved", time.Since(skipped).Round(time.Second))
}
