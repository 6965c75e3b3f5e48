package alerts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// runbookBase is the one documented prefix of every runbook_url; the anchor
// after it is the lower-cased alert name, which is how GitHub renders the
// `## AlertName` heading of docs/runbooks.md.
const runbookBase = "https://github.com/lagwatch/lagwatch/blob/main/docs/runbooks.md#"

const runbooksPath = "../docs/runbooks.md"

// severities are the three levels README.md defines: page wakes someone up,
// warning goes to a ticket or chat, info is context for the other two.
var severities = []string{"page", "warning", "info"}

// minFor is the shortest `for` an alert may have: four polls at the default
// 15 s interval, so that a single odd poll never fires an alert.
const minFor = time.Minute

// internalTopicMatcher is the matcher every consumer alert uses to leave out
// Kafka's internal topics (__consumer_offsets, __transaction_state, ...).
const internalTopicMatcher = `topic!~"__.*"`

// lagwatchMetrics lists the metrics lagwatch exposes, with their labels, as
// fixed in collector/metrics.go. Rules may use only these, the series their
// own recording rules define, and Prometheus' `up`: a misspelt metric
// name would otherwise give an alert that silently never fires.
var lagwatchMetrics = map[string][]string{
	"kafka_brokers":                                    nil,
	"kafka_broker_info":                                {"address", "id"},
	"kafka_topic_partitions":                           {"topic"},
	"kafka_topic_partition_current_offset":             {"topic", "partition"},
	"kafka_topic_partition_oldest_offset":              {"topic", "partition"},
	"kafka_topic_partition_last_stable_offset":         {"topic", "partition"},
	"kafka_topic_partition_leader":                     {"topic", "partition"},
	"kafka_topic_partition_replicas":                   {"topic", "partition"},
	"kafka_topic_partition_in_sync_replica":            {"topic", "partition"},
	"kafka_topic_partition_leader_is_preferred":        {"topic", "partition"},
	"kafka_topic_partition_under_replicated_partition": {"topic", "partition"},
	"kafka_topic_partition_under_min_isr":              {"topic", "partition"},
	"kafka_topic_partition_offline":                    {"topic", "partition"},
	"kafka_topic_partition_produce_rate":               {"topic", "partition"},
	"kafka_cluster_offline_partitions":                 nil,
	"kafka_cluster_under_replicated_partitions":        nil,
	"kafka_topic_config_retention_seconds":             {"topic"},
	"kafka_topic_config_retention_bytes":               {"topic"},
	"kafka_topic_config_min_insync_replicas":           {"topic"},
	"kafka_topic_dead_letter":                          {"topic"},
	"kafka_consumergroup_current_offset":               {"consumergroup", "topic", "partition"},
	"kafka_consumergroup_lag":                          {"consumergroup", "topic", "partition"},
	"kafka_consumergroup_current_offset_sum":           {"consumergroup", "topic"},
	"kafka_consumergroup_lag_sum":                      {"consumergroup", "topic"},
	"kafka_consumergroup_members":                      {"consumergroup"},
	"kafka_consumergroup_lag_seconds":                  {"consumergroup", "topic", "partition"},
	"kafka_consumergroup_lag_seconds_lower_bound":      {"consumergroup", "topic", "partition"},
	"kafka_consumergroup_consume_rate":                 {"consumergroup", "topic", "partition"},
	"kafka_consumergroup_time_to_drain_seconds":        {"consumergroup", "topic", "partition"},
	"kafka_consumergroup_retention_headroom_seconds":   {"consumergroup", "topic", "partition"},
	"kafka_consumergroup_expired_messages":             {"consumergroup", "topic", "partition"},
	"kafka_consumergroup_offset_rewinds_total":         {"consumergroup", "topic", "partition"},
	"kafka_consumergroup_partition_status":             {"consumergroup", "topic", "partition", "status"},
	"kafka_consumergroup_status":                       {"consumergroup", "status"},
	"kafka_consumergroup_max_lag_seconds":              {"consumergroup"},
	"kafka_consumergroup_state":                        {"consumergroup", "state"},
	"kafka_consumergroup_assigned_partitions":          {"consumergroup", "topic"},
	"kafka_consumergroup_unassigned_partitions":        {"consumergroup", "topic"},
	"kafka_consumergroup_idle_members":                 {"consumergroup"},
	"kafka_consumergroup_member_assigned_partitions":   {"consumergroup", "member_id", "client_id", "host"},
	"kafka_consumergroup_info":                         {"consumergroup", "type"},
	"kafka_streamsgroup_tasks":                         {"consumergroup", "kind"},
	"kafka_sharegroup_members":                         {"consumergroup"},
	"kafka_sharegroup_state":                           {"consumergroup", "state"},
	"kafka_sharegroup_status":                          {"consumergroup", "status"},
	"kafka_sharegroup_lag_computed":                    {"consumergroup"},
	"kafka_sharegroup_assigned_partitions":             {"consumergroup", "topic"},
	"kafka_sharegroup_lag_sum":                         {"consumergroup", "topic"},
	"kafka_sharegroup_partition_status":                {"consumergroup", "topic", "partition", "status"},
	"kafka_sharegroup_start_offset":                    {"consumergroup", "topic", "partition"},
	"kafka_sharegroup_lag":                             {"consumergroup", "topic", "partition"},
	"lagwatch_build_info":                              {"version", "revision", "branch", "goversion", "goos", "goarch", "tags"},
	"lagwatch_up":                                      nil,
	"lagwatch_poll_duration_seconds_bucket":            {"le"},
	"lagwatch_poll_duration_seconds_sum":               nil,
	"lagwatch_poll_duration_seconds_count":             nil,
	"lagwatch_poll_errors_total":                       {"stage"},
	"lagwatch_last_successful_poll_timestamp_seconds":  nil,
	"lagwatch_kafka_requests_total":                    {"api"},
	"lagwatch_polls_overrun_total":                     nil,
	"lagwatch_stage_success":                           {"stage"},
	"lagwatch_stage_done_seconds":                      {"stage"},
	"lagwatch_kafka_authorized_resources":              {"operation", "resource_type"},
	"lagwatch_kafka_denied_resources":                  {"operation", "resource_type"},
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`

	file string
}

// loadedRules reads every *.rules.yml beside this file.
func loadedRules(t *testing.T) []rule {
	t.Helper()
	files := ruleFiles(t)
	var rules []rule
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rf ruleFile
		if err := yaml.Unmarshal(data, &rf); err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				r.file = f
				rules = append(rules, r)
			}
		}
	}
	return rules
}

func ruleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no *.rules.yml files beside alerts_test.go")
	}
	return files
}

func alertRules(t *testing.T) []rule {
	t.Helper()
	var alerts []rule
	for _, r := range loadedRules(t) {
		if r.Alert != "" {
			alerts = append(alerts, r)
		}
	}
	if len(alerts) == 0 {
		t.Fatal("no alerting rules found")
	}
	return alerts
}

// promtool finds Debian's promtool. Without it the rules cannot be checked,
// which is a failure, not a skip: a skipped check passes unnoticed.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not on PATH (%v): install Debian's prometheus package: make test does it", err)
	}
	return path
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
}

func TestRuleFilesPassPromtoolCheck(t *testing.T) {
	runPromtool(t, append([]string{"check", "rules"}, ruleFiles(t)...)...)
}

func TestPromtoolUnitTestsPass(t *testing.T) {
	tests, err := filepath.Glob("tests/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) == 0 {
		t.Fatal("no promtool test files in alerts/tests/")
	}
	runPromtool(t, append([]string{"test", "rules"}, tests...)...)
}

func TestEveryAlertHasSeverityAnnotationsAndFor(t *testing.T) {
	seen := map[string]string{}
	for _, a := range alertRules(t) {
		if prev, dup := seen[a.Alert]; dup {
			t.Errorf("alert %s is defined in both %s and %s", a.Alert, prev, a.file)
		}
		seen[a.Alert] = a.file
		if !slices.Contains(severities, a.Labels["severity"]) {
			t.Errorf("%s: severity label %q, want one of %v", a.Alert, a.Labels["severity"], severities)
		}
		for _, key := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(a.Annotations[key]) == "" {
				t.Errorf("%s: annotation %s is missing", a.Alert, key)
			}
		}
		if a.For == "" {
			t.Errorf("%s: no `for:`; a single poll must not fire an alert", a.Alert)
			continue
		}
		d, err := time.ParseDuration(a.For)
		if err != nil {
			t.Errorf("%s: for: %q: %v", a.Alert, a.For, err)
		} else if d < minFor {
			t.Errorf("%s: for: %s is shorter than %s", a.Alert, a.For, minFor)
		}
	}
}

// anchorsOf returns the anchors GitHub gives the headings of a Markdown
// file: lower case, spaces to hyphens, punctuation other than - and _ gone.
func anchorsOf(markdown string) map[string]bool {
	anchors := map[string]bool{}
	heading := regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*#*\s*$`)
	for _, m := range heading.FindAllStringSubmatch(markdown, -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		anchors[b.String()] = true
	}
	return anchors
}

func TestEveryRunbookURLPointsToItsSectionOfRunbooks(t *testing.T) {
	data, err := os.ReadFile(runbooksPath)
	if err != nil {
		t.Fatalf("read runbooks: %v", err)
	}
	anchors := anchorsOf(string(data))
	for _, a := range alertRules(t) {
		url := a.Annotations["runbook_url"]
		anchor, ok := strings.CutPrefix(url, runbookBase)
		if !ok {
			t.Errorf("%s: runbook_url %q does not start with %s", a.Alert, url, runbookBase)
			continue
		}
		if want := strings.ToLower(a.Alert); anchor != want {
			t.Errorf("%s: runbook anchor %q, want %q (the `## %s` heading)", a.Alert, anchor, want, a.Alert)
		}
		if !anchors[anchor] {
			t.Errorf("%s: docs/runbooks.md has no heading with anchor #%s", a.Alert, anchor)
		}
	}
}

func TestEveryAlertSectionOfRunbooksHasAnAlert(t *testing.T) {
	data, err := os.ReadFile(runbooksPath)
	if err != nil {
		t.Fatalf("read runbooks: %v", err)
	}
	alerts := map[string]bool{}
	for _, a := range alertRules(t) {
		alerts[a.Alert] = true
	}
	section := regexp.MustCompile(`(?m)^## ((?:Kafka|Lagwatch)[A-Za-z]+)\s*$`)
	for _, m := range section.FindAllStringSubmatch(string(data), -1) {
		if !alerts[m[1]] {
			t.Errorf("docs/runbooks.md has a section for %s, which is no alert", m[1])
		}
	}
}

type promtoolTestFile struct {
	Tests []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// Every alert needs a case where it fires and one where it must not, or the
// test could not tell a broken expression from a working one.
func TestEveryAlertHasAFiringCaseAndANearMiss(t *testing.T) {
	files, err := filepath.Glob("tests/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	fires, misses := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tf promtoolTestFile
		if err := yaml.Unmarshal(data, &tf); err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		for _, tc := range tf.Tests {
			for _, art := range tc.AlertRuleTest {
				if len(art.ExpAlerts) > 0 {
					fires[art.Alertname] = true
				} else {
					misses[art.Alertname] = true
				}
			}
		}
	}
	for _, a := range alertRules(t) {
		if !fires[a.Alert] {
			t.Errorf("%s: no promtool test case in which it fires", a.Alert)
		}
		if !misses[a.Alert] {
			t.Errorf("%s: no promtool test case in which it must not fire", a.Alert)
		}
	}
}

var seriesName = regexp.MustCompile(`\b(?:kafka|lagwatch)_[a-z0-9_]+\b|\b[a-z_]+:[a-z0-9_:]*[a-z0-9_]\b|\bup\b`)

// namesIn returns the metric names an expression or annotation refers to.
// Label values in quotes are removed first: instance="lagwatch:9308" names
// no metric.
func namesIn(s string) []string {
	s = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'[^']*'|`+"`[^`]*`").ReplaceAllStringFunc(s, func(q string) string {
		// Keep the inside of printf format strings of annotation queries,
		// which are themselves PromQL.
		if strings.ContainsAny(q, "{(") {
			return q[1 : len(q)-1]
		}
		return `""`
	})
	return seriesName.FindAllString(s, -1)
}

func TestRulesUseOnlyMetricsLagwatchExposes(t *testing.T) {
	rules := loadedRules(t)
	recorded := map[string]bool{}
	for _, r := range rules {
		if r.Record != "" {
			recorded[r.Record] = true
		}
	}
	for _, r := range rules {
		name := r.Record + r.Alert
		texts := []string{r.Expr}
		for _, a := range r.Annotations {
			if strings.Contains(a, "query") {
				texts = append(texts, a)
			}
		}
		for _, text := range texts {
			for _, n := range namesIn(text) {
				if _, ok := lagwatchMetrics[n]; ok || recorded[n] || n == "up" {
					continue
				}
				t.Errorf("%s (%s) uses %q, which neither lagwatch exposes nor a recording rule defines", name, r.file, n)
			}
		}
	}
}

// topicScoped reports whether a series has a topic label: every metric whose
// label set includes topic, and recording rules whose level names topic.
func topicScoped(name string) bool {
	if labels, ok := lagwatchMetrics[name]; ok {
		return slices.Contains(labels, "topic")
	}
	level, _, _ := strings.Cut(name, ":")
	return slices.Contains(strings.Split(level, "_"), "topic")
}

func TestConsumerAlertsIgnoreInternalTopics(t *testing.T) {
	for _, a := range alertRules(t) {
		if a.file != "consumer.rules.yml" {
			continue
		}
		for _, n := range namesIn(a.Expr) {
			if topicScoped(n) && !strings.Contains(a.Expr, internalTopicMatcher) {
				t.Errorf("%s uses %s but does not filter internal topics with %s", a.Alert, n, internalTopicMatcher)
				break
			}
		}
	}
}

// Thresholds live in thresholds.rules.yml and nowhere else: alert
// expressions compare against lagwatch:threshold... series, never against a
// number other than 0 or 1 (presence and StateSet checks).
func TestThresholdsLiveOnlyInThresholdsFile(t *testing.T) {
	rules := loadedRules(t)
	defined := map[string]bool{}
	constant := regexp.MustCompile(`^vector\(\s*[-+]?(?:[0-9.]+(?:e[0-9]+)?|Inf)\s*\)$`)
	for _, r := range rules {
		if r.file != "thresholds.rules.yml" {
			if strings.HasPrefix(r.Record, "lagwatch:threshold:") {
				t.Errorf("threshold %s is recorded in %s; thresholds live in thresholds.rules.yml", r.Record, r.file)
			}
			continue
		}
		if !strings.HasPrefix(r.Record, "lagwatch:threshold:") {
			t.Errorf("thresholds.rules.yml: %s%s is not a lagwatch:threshold: recording rule", r.Record, r.Alert)
		}
		if !constant.MatchString(strings.TrimSpace(r.Expr)) {
			t.Errorf("thresholds.rules.yml: %s = %q is not a constant vector(N)", r.Record, r.Expr)
		}
		if len(r.Labels) == 0 {
			defined[r.Record] = true
		}
	}
	comparison := regexp.MustCompile(`(?:[<>]=?|==|!=)\s*(?:bool\s+)?([0-9][0-9.e]*)`)
	for _, r := range rules {
		for _, n := range namesIn(r.Expr) {
			if strings.HasPrefix(n, "lagwatch:threshold:") && !defined[n] {
				t.Errorf("%s%s uses %s, which thresholds.rules.yml gives no default", r.Record, r.Alert, n)
			}
		}
		if r.Alert == "" {
			continue
		}
		for _, m := range comparison.FindAllStringSubmatch(r.Expr, -1) {
			if m[1] != "0" && m[1] != "1" {
				t.Errorf("%s compares against the number %s; put it in thresholds.rules.yml", r.Alert, m[1])
			}
		}
	}
}

// The list in README.md is what an operator reads to know what can page
// them; it must name every alert.
func TestReadmeListsEveryAlert(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, a := range alertRules(t) {
		if !strings.Contains(string(data), "`"+a.Alert+"`") {
			missing = append(missing, a.Alert)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("alerts/README.md does not list %v", missing)
	}
}

func TestRunbookLinksWithinTheFileResolve(t *testing.T) {
	data, err := os.ReadFile(runbooksPath)
	if err != nil {
		t.Fatalf("read runbooks: %v", err)
	}
	anchors := anchorsOf(string(data))
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(string(data), -1) {
		if !anchors[m[1]] {
			t.Errorf("docs/runbooks.md links to #%s, which is no heading", m[1])
		}
	}
}

// docs/metrics.md is generated from collector/metrics.go, the single source
// of metric names; the list above must name the same metrics, or a renamed
// metric would leave alerts that never fire.
func TestMetricListMatchesTheMetricReference(t *testing.T) {
	data, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatalf("read the generated metric reference: %v", err)
	}
	row := regexp.MustCompile("(?m)^\\| `((?:kafka|lagwatch)_[a-z0-9_]+)` \\|")
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(data), -1) {
		documented[m[1]] = true
	}
	listed := map[string]bool{}
	for name := range lagwatchMetrics {
		// A histogram is documented once, exposed as _bucket, _sum, _count.
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && strings.HasSuffix(base, "_seconds") {
				name = base
			}
		}
		listed[name] = true
		if !documented[name] {
			t.Errorf("%s is listed here but not in docs/metrics.md", name)
		}
	}
	for name := range documented {
		if !listed[name] {
			t.Errorf("docs/metrics.md documents %s, which the list in alerts_test.go lacks", name)
		}
	}
}
