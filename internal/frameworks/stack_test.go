package frameworks

import (
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
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lagwatch/lagwatch/internal/waitfor"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

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

var forClause = regexp.MustCompile(`(?m)^(\s+(?:keep_firing_)?for:\s*)(\S+)`)

// scaledRules copies alerts/*.rules.yml with every `for:` and
// `keep_firing_for:` divided by div (at least 1 s). div 1 is the shipped
// rules unchanged. Range windows and thresholds inside the expressions are
// not scaled.
func scaledRules(t *testing.T, div int) string {
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
		out := forClause.ReplaceAllFunc(src, func(m []byte) []byte {
			sub := forClause.FindSubmatch(m)
			d, err := time.ParseDuration(string(sub[2]))
			if err != nil {
				t.Fatalf("%s: for %q: %v", f, sub[2], err)
			}
			return []byte(fmt.Sprintf("%s%ds", sub[1], max(1, int(d.Seconds())/div)))
		})
		writeFile(t, filepath.Join(dir, filepath.Base(f)), string(out))
	}
	return dir
}

// notification is the part of Alertmanager's webhook payload the test
// reads, with the time it arrived.
type notification struct {
	at       time.Time
	Receiver string `json:"receiver"`
	Status   string `json:"status"`
	Alerts   []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
	GroupLabels map[string]string `json:"groupLabels"`
}

func (n notification) String() string {
	var alerts []string
	for _, a := range n.Alerts {
		alerts = append(alerts, fmt.Sprintf("%s %s{group=%s topic=%s partition=%s}", a.Status, a.Labels["alertname"], a.Labels["consumergroup"], a.Labels["topic"], a.Labels["partition"]))
	}
	return fmt.Sprintf("%s %s to %s: %v", n.at.Format("15:04:05"), n.Status, n.Receiver, alerts)
}

// group is the consumer group a notification is about, "" for none.
func (n notification) group() string {
	for _, a := range n.Alerts {
		if g := a.Labels["consumergroup"]; g != "" {
			return g
		}
	}
	return ""
}

type webhook struct {
	mu   sync.Mutex
	seen []notification
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	n := notification{at: time.Now()}
	if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.seen = append(w.seen, n)
	w.mu.Unlock()
}

func (w *webhook) all() []notification {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]notification(nil), w.seen...)
}

// alertmanagerConfig is deploy/alertmanager/alertmanager.yml with its page
// and ticket receivers sending to the webhook, and its group_wait and
// group_interval divided by div.
func alertmanagerConfig(t *testing.T, hookURL string, div int) string {
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
	if div > 1 {
		for _, k := range []string{"group_wait", "group_interval"} {
			s, _ := route[k].(string)
			d, err := time.ParseDuration(s)
			if err != nil {
				t.Fatalf("alertmanager.yml route %s %q: %v", k, s, err)
			}
			route[k] = fmt.Sprintf("%ds", max(1, int(d.Seconds())/div))
		}
	}
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
	prometheus string
	webhook    *webhook
	scrape     time.Duration
}

func startStack(t *testing.T, lagwatchAddr string, div int, scrape time.Duration) stack {
	t.Helper()
	hook := &webhook{}
	hookServer := httptest.NewServer(hook)
	t.Cleanup(hookServer.Close)

	dir := t.TempDir()
	amAddr, promAddr := waitfor.FreeAddr(t), waitfor.FreeAddr(t)
	writeFile(t, filepath.Join(dir, "alertmanager.yml"), alertmanagerConfig(t, hookServer.URL, div))
	startProcess(t, "alertmanager", exec.Command(tool(t, "prometheus-alertmanager", "alertmanager"),
		"--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "am-data"),
		"--web.listen-address="+amAddr,
		"--cluster.listen-address=",
	))
	writeFile(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`global:
  scrape_interval: %s
  evaluation_interval: %s
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
`, promDuration(scrape), promDuration(scrape), scaledRules(t, div), amAddr, lagwatchAddr))
	startProcess(t, "prometheus", exec.Command(tool(t, "prometheus"),
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "prom-data"),
		"--web.listen-address="+promAddr,
	))
	s := stack{prometheus: "http://" + promAddr, webhook: hook, scrape: scrape}
	waitfor.Condition(t, 60*time.Second, "Alertmanager ready", func() error { return httpOK("http://" + amAddr + "/-/ready") })
	waitfor.Condition(t, 60*time.Second, "Prometheus ready", func() error { return httpOK(s.prometheus + "/-/ready") })
	return s
}

type promAnswer struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

func (s stack) query(path string, params url.Values) (promAnswer, error) {
	var r promAnswer
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

// series is one labelled series of a range query: sample times in order.
type series struct {
	labels map[string]string
	times  []time.Time
}

// rangeOf runs a range query with the scrape interval as step.
func (s stack) rangeOf(promql string, from, to time.Time) ([]series, error) {
	r, err := s.query("/api/v1/query_range", url.Values{
		"query": {promql},
		"start": {strconv.FormatInt(from.Unix(), 10)},
		"end":   {strconv.FormatInt(to.Unix(), 10)},
		"step":  {promDuration(s.scrape)},
	})
	if err != nil {
		return nil, err
	}
	var out []series
	for _, res := range r.Data.Result {
		se := series{labels: res.Metric}
		for _, v := range res.Values {
			ts, _ := v[0].(float64)
			se.times = append(se.times, time.Unix(0, int64(ts*float64(time.Second))))
		}
		sort.Slice(se.times, func(i, j int) bool { return se.times[i].Before(se.times[j]) })
		out = append(out, se)
	}
	return out, nil
}

// instant runs an instant query and returns the label sets it answers.
func (s stack) instant(promql string) ([]map[string]string, error) {
	r, err := s.query("/api/v1/query", url.Values{"query": {promql}})
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, res := range r.Data.Result {
		out = append(out, res.Metric)
	}
	return out, nil
}

// promDuration writes d as Prometheus reads it (whole milliseconds; no
// fractions like Go's "1.5s").
func promDuration(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }
