package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// datasourceRef is what every panel, target and query variable must point
// at: the import input, which provisioning resolves through the data source
// variable of the same name.
var datasourceRef = map[string]any{"type": "prometheus", "uid": "${DS_PROMETHEUS}"}

// lagwatchMetrics are the metric names lagwatch exposes (collector/metrics.go).
// A dashboard query may use only these, series recorded by
// alerts/*.rules.yml, and `up`: a misspelt name draws an empty panel.
var lagwatchMetrics = []string{
	"kafka_brokers", "kafka_broker_info", "kafka_topic_partitions",
	"kafka_topic_partition_current_offset", "kafka_topic_partition_oldest_offset", "kafka_topic_partition_last_stable_offset",
	"kafka_topic_partition_leader", "kafka_topic_partition_replicas", "kafka_topic_partition_in_sync_replica",
	"kafka_topic_partition_leader_is_preferred", "kafka_topic_partition_under_replicated_partition",
	"kafka_topic_partition_under_min_isr", "kafka_topic_partition_offline", "kafka_topic_partition_produce_rate",
	"kafka_cluster_offline_partitions", "kafka_cluster_under_replicated_partitions",
	"kafka_topic_config_retention_seconds", "kafka_topic_config_retention_bytes", "kafka_topic_config_min_insync_replicas",
	"kafka_topic_dead_letter",
	"kafka_consumergroup_current_offset", "kafka_consumergroup_lag", "kafka_consumergroup_current_offset_sum",
	"kafka_consumergroup_lag_sum", "kafka_consumergroup_members",
	"kafka_consumergroup_lag_seconds", "kafka_consumergroup_lag_seconds_lower_bound", "kafka_consumergroup_consume_rate", "kafka_consumergroup_time_to_drain_seconds",
	"kafka_consumergroup_retention_headroom_seconds", "kafka_consumergroup_expired_messages",
	"kafka_consumergroup_offset_rewinds_total", "kafka_consumergroup_partition_status", "kafka_consumergroup_status",
	"kafka_consumergroup_max_lag_seconds", "kafka_consumergroup_state", "kafka_consumergroup_assigned_partitions",
	"kafka_consumergroup_unassigned_partitions", "kafka_consumergroup_idle_members",
	"kafka_consumergroup_member_assigned_partitions", "kafka_consumergroup_info", "kafka_streamsgroup_tasks",
	"kafka_sharegroup_members", "kafka_sharegroup_state", "kafka_sharegroup_status", "kafka_sharegroup_lag_computed",
	"kafka_sharegroup_assigned_partitions", "kafka_sharegroup_lag_sum", "kafka_sharegroup_partition_status",
	"kafka_sharegroup_start_offset", "kafka_sharegroup_lag",
	"lagwatch_build_info", "lagwatch_up", "lagwatch_poll_duration_seconds_bucket", "lagwatch_poll_duration_seconds_sum",
	"lagwatch_poll_duration_seconds_count", "lagwatch_poll_errors_total", "lagwatch_last_successful_poll_timestamp_seconds",
	"lagwatch_kafka_requests_total", "lagwatch_polls_overrun_total",
	"lagwatch_config_last_reload_success_timestamp_seconds", "lagwatch_config_last_reload_successful",
	"lagwatch_kafka_authorized_resources", "lagwatch_kafka_denied_resources", "lagwatch_shard_info",
	"lagwatch_stage_done_seconds", "lagwatch_stage_success",
}

type dashboardFile struct {
	name string
	raw  map[string]any
}

func dashboardFiles(t *testing.T) []dashboardFile {
	t.Helper()
	names, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no dashboards (*.json) beside dashboards_test.go")
	}
	var out []dashboardFile
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatalf("%s is not valid JSON: %v", n, err)
		}
		out = append(out, dashboardFile{n, raw})
	}
	return out
}

// allPanels flattens rows: a collapsed row keeps its panels in its own
// "panels" list.
func allPanels(d map[string]any) []map[string]any {
	var out []map[string]any
	var walk func([]any)
	walk = func(ps []any) {
		for _, p := range ps {
			pm, ok := p.(map[string]any)
			if !ok {
				continue
			}
			out = append(out, pm)
			if sub, ok := pm["panels"].([]any); ok {
				walk(sub)
			}
		}
	}
	ps, _ := d["panels"].([]any)
	walk(ps)
	return out
}

func variables(d map[string]any) []map[string]any {
	templating, _ := d["templating"].(map[string]any)
	list, _ := templating["list"].([]any)
	var out []map[string]any
	for _, v := range list {
		if vm, ok := v.(map[string]any); ok {
			out = append(out, vm)
		}
	}
	return out
}

func TestDashboardsDeclareThePrometheusInput(t *testing.T) {
	uids := map[string]string{}
	for _, f := range dashboardFiles(t) {
		inputs, _ := f.raw["__inputs"].([]any)
		found := false
		for _, in := range inputs {
			m, _ := in.(map[string]any)
			if m["name"] == "DS_PROMETHEUS" && m["type"] == "datasource" && m["pluginId"] == "prometheus" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: __inputs has no DS_PROMETHEUS datasource input for the prometheus plugin", f.name)
		}
		if id, ok := f.raw["id"]; !ok || id != nil {
			t.Errorf("%s: id must be null so that importing creates a new dashboard", f.name)
		}
		uid, _ := f.raw["uid"].(string)
		title, _ := f.raw["title"].(string)
		if uid == "" || title == "" {
			t.Errorf("%s: uid %q and title %q must be set (links between dashboards use the uid)", f.name, uid, title)
		}
		if prev, dup := uids[uid]; dup {
			t.Errorf("%s and %s share uid %q", prev, f.name, uid)
		}
		uids[uid] = f.name
	}
}

// File provisioning does not read __inputs; the data source variable named
// DS_PROMETHEUS is what resolves ${DS_PROMETHEUS} there.
func TestDashboardsHaveTheDatasourceVariableProvisioningResolves(t *testing.T) {
	for _, f := range dashboardFiles(t) {
		ok := false
		for _, v := range variables(f.raw) {
			if v["name"] == "DS_PROMETHEUS" && v["type"] == "datasource" && v["query"] == "prometheus" {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: no templating variable DS_PROMETHEUS of type datasource with query prometheus", f.name)
		}
	}
}

func TestPanelIDsAreUnique(t *testing.T) {
	for _, f := range dashboardFiles(t) {
		seen := map[float64]string{}
		for _, p := range allPanels(f.raw) {
			id, ok := p["id"].(float64)
			if !ok {
				t.Errorf("%s: panel %q has no numeric id", f.name, p["title"])
				continue
			}
			if prev, dup := seen[id]; dup {
				t.Errorf("%s: panels %q and %q share id %v", f.name, prev, p["title"], id)
			}
			seen[id] = fmt.Sprint(p["title"])
		}
	}
}

func TestEveryPanelTargetAndVariableUsesTheDatasourceInput(t *testing.T) {
	for _, f := range dashboardFiles(t) {
		for _, p := range allPanels(f.raw) {
			if p["type"] == "row" {
				continue
			}
			if !reflect.DeepEqual(p["datasource"], datasourceRef) {
				t.Errorf("%s: panel %q datasource %v, want %v", f.name, p["title"], p["datasource"], datasourceRef)
			}
			targets, _ := p["targets"].([]any)
			if len(targets) == 0 {
				t.Errorf("%s: panel %q has no targets", f.name, p["title"])
			}
			for _, tg := range targets {
				tm, _ := tg.(map[string]any)
				if !reflect.DeepEqual(tm["datasource"], datasourceRef) {
					t.Errorf("%s: panel %q target %v datasource %v, want %v", f.name, p["title"], tm["refId"], tm["datasource"], datasourceRef)
				}
			}
		}
		for _, v := range variables(f.raw) {
			if v["type"] == "query" && !reflect.DeepEqual(v["datasource"], datasourceRef) {
				t.Errorf("%s: variable %v datasource %v, want %v", f.name, v["name"], v["datasource"], datasourceRef)
			}
		}
	}
}

// Panels must lie inside Grafana's 24-column grid and not overlap, or
// Grafana moves them around on load.
func TestPanelsFitTheGridWithoutOverlapping(t *testing.T) {
	type rect struct {
		title      string
		x, y, w, h float64
	}
	for _, f := range dashboardFiles(t) {
		var rects []rect
		for _, p := range allPanels(f.raw) {
			g, _ := p["gridPos"].(map[string]any)
			r := rect{fmt.Sprint(p["title"]), num(g["x"]), num(g["y"]), num(g["w"]), num(g["h"])}
			if r.w <= 0 || r.h <= 0 || r.x < 0 || r.x+r.w > 24 {
				t.Errorf("%s: panel %q gridPos %v is outside the 24-column grid", f.name, r.title, g)
			}
			for _, o := range rects {
				if r.x < o.x+o.w && o.x < r.x+r.w && r.y < o.y+o.h && o.y < r.y+r.h {
					t.Errorf("%s: panels %q and %q overlap", f.name, o.title, r.title)
				}
			}
			rects = append(rects, r)
		}
	}
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

func TestSubstituteReplacesGrafanaVariables(t *testing.T) {
	tests := []struct {
		expr, want string
		vars       []string
	}{
		{`kafka_consumergroup_lag{consumergroup=~"$consumergroup"}`, `kafka_consumergroup_lag{consumergroup=~".*"}`, []string{"consumergroup"}},
		{`x{a=~"${topic}", b=~"[[topic]]", c=~"${instance:regex}"}`, `x{a=~".*", b=~".*", c=~".*"}`, []string{"topic", "instance"}},
		{`rate(x[$__rate_interval]) + delta(y[$__range])`, `rate(x[1m]) + delta(y[1h])`, nil},
		{`up`, `up`, nil},
	}
	for _, tc := range tests {
		got, vars := Substitute(tc.expr)
		if got != tc.want || !slices.Equal(vars, tc.vars) {
			t.Errorf("Substitute(%q) = %q, %v; want %q, %v", tc.expr, got, vars, tc.want, tc.vars)
		}
	}
}

func queries(t *testing.T) []Query {
	t.Helper()
	qs, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) == 0 {
		t.Fatal("Queries() returned no query")
	}
	return qs
}

func TestQueriesCoversEveryTargetAndVariable(t *testing.T) {
	want := 0
	for _, f := range dashboardFiles(t) {
		for _, p := range allPanels(f.raw) {
			targets, _ := p["targets"].([]any)
			want += len(targets)
		}
		for _, v := range variables(f.raw) {
			if v["type"] == "query" {
				want++
			}
		}
	}
	qs := queries(t)
	if len(qs) != want {
		t.Errorf("Queries() returned %d queries, the dashboards have %d targets and query variables", len(qs), want)
	}
	for _, q := range qs {
		if strings.ContainsAny(q.PromQL, "$[") && strings.Contains(q.PromQL, "$") {
			t.Errorf("%s / %s: PromQL still holds a variable: %s", q.Dashboard, q.Panel, q.PromQL)
		}
		if q.NeedsVariable != (len(q.Variables) > 0) {
			t.Errorf("%s / %s: NeedsVariable %v with variables %v", q.Dashboard, q.Panel, q.NeedsVariable, q.Variables)
		}
	}
}

// Multi-value and "All" variables expand to a|b|c or .*, which only a regex
// matcher accepts; every variable used must also be defined.
func TestTemplateVariablesAreDefinedAndUsedInRegexMatchers(t *testing.T) {
	defined := map[string]map[string]bool{}
	for _, f := range dashboardFiles(t) {
		defined[f.name] = map[string]bool{}
		for _, v := range variables(f.raw) {
			defined[f.name][fmt.Sprint(v["name"])] = true
		}
	}
	matcher := regexp.MustCompile(`(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	for _, q := range queries(t) {
		for _, v := range q.Variables {
			if !defined[q.Dashboard][v] {
				t.Errorf("%s / %s uses $%s, which the dashboard does not define", q.Dashboard, q.Panel, v)
			}
		}
		for _, m := range matcher.FindAllStringSubmatch(q.Expr, -1) {
			if strings.Contains(m[3], "$") && m[2] != "=~" && m[2] != "!~" {
				t.Errorf("%s / %s: %s%s\"%s\" must use =~ or !~ for a template variable", q.Dashboard, q.Panel, m[1], m[2], m[3])
			}
		}
	}
}

func TestQueriesUseOnlyMetricsLagwatchExposes(t *testing.T) {
	known := map[string]bool{"up": true}
	for _, m := range lagwatchMetrics {
		known[m] = true
	}
	rules, err := filepath.Glob("../alerts/*.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	record := regexp.MustCompile(`(?m)^\s*-?\s*record:\s*(\S+)`)
	for _, r := range rules {
		data, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range record.FindAllStringSubmatch(string(data), -1) {
			known[m[1]] = true
		}
	}
	name := regexp.MustCompile(`\b(?:kafka|lagwatch)_[a-z0-9_]+\b|\b[a-z_]+:[a-z0-9_:]*[a-z0-9_]\b`)
	for _, q := range queries(t) {
		for _, n := range name.FindAllString(quoted.ReplaceAllString(q.PromQL, `""`), -1) {
			if !known[n] {
				t.Errorf("%s / %s uses %q, which neither lagwatch exposes nor alerts/*.rules.yml records", q.Dashboard, q.Panel, n)
			}
		}
	}
}

// Every query, variables substituted, must parse as PromQL of Prometheus
// 2.42 (Debian's). promtool parses the expressions of recording rules, so
// each query becomes one rule in a temporary rule file (JSON is YAML), in a
// group named after its dashboard and panel so a failure says which one.
func TestEveryQueryParsesWithPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not on PATH (%v): install Debian's prometheus package: make test does it", err)
	}
	type ruleJSON struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	type groupJSON struct {
		Name  string     `json:"name"`
		Rules []ruleJSON `json:"rules"`
	}
	var groups []groupJSON
	for i, q := range queries(t) {
		groups = append(groups, groupJSON{
			Name:  fmt.Sprintf("%s / %s / %s #%d", q.Dashboard, q.Panel, q.RefID, i),
			Rules: []ruleJSON{{Record: fmt.Sprintf("dashboard_query_%d", i), Expr: q.PromQL}},
		})
	}
	data, err := json.MarshalIndent(map[string]any{"groups": groups}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard-queries.rules.yml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "rules", path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool check rules on the dashboards' queries: %v\n%s", err, out.String())
	}
}

// docs/metrics.md is generated from collector/metrics.go, the single source
// of metric names; the list above must name the same metrics.
func TestMetricListMatchesTheMetricReference(t *testing.T) {
	data, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatalf("read the generated metric reference: %v", err)
	}
	row := regexp.MustCompile("(?m)^\\| `((?:kafka|lagwatch)_[a-z0-9_]+)` \\|")
	var documented []string
	for _, m := range row.FindAllStringSubmatch(string(data), -1) {
		documented = append(documented, m[1])
	}
	var listed []string
	for _, name := range lagwatchMetrics {
		// A histogram is documented once, exposed as _bucket, _sum, _count.
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && strings.HasSuffix(base, "_seconds") {
				name = base
			}
		}
		if !slices.Contains(listed, name) {
			listed = append(listed, name)
		}
	}
	slices.Sort(documented)
	slices.Sort(listed)
	if !slices.Equal(documented, listed) {
		t.Errorf("metrics in dashboards_test.go %v\ndiffer from docs/metrics.md %v", listed, documented)
	}
}

// The end-to-end test accepts an empty answer only from panels flagged
// EmptyWhenHealthy; the flag must follow their descriptions.
func TestEmptyWhenHealthyMarksOnlyTroublePanels(t *testing.T) {
	trouble := map[string]bool{
		"Stalled partitions": true, "Retention risk": true, "Dead-letter topics receiving messages": true,
		"Offset rewinds": true, "Time to drain": true, "Retention headroom": true, "Share-partitions not ok": true,
		"Inactive groups": true,
	}
	for _, q := range queries(t) {
		if q.EmptyWhenHealthy != trouble[q.Panel] {
			t.Errorf("%s / %s: EmptyWhenHealthy = %v", q.Dashboard, q.Panel, q.EmptyWhenHealthy)
		}
	}
}

// Every dashboard selects the cluster label (--kafka.labels, --config.file)
// with a multi-value variable whose All is ".*": with no series carrying
// the label Grafana offers only All, and `cluster=~".*"` matches the empty
// label too, so single-cluster setups see everything as before.
func TestEveryDashboardHasAClusterVariableThatWorksWithoutTheLabel(t *testing.T) {
	for _, f := range dashboardFiles(t) {
		var cluster map[string]any
		for _, v := range variables(f.raw) {
			if v["name"] == "cluster" {
				cluster = v
			}
		}
		if cluster == nil {
			t.Errorf("%s: no cluster variable", f.name)
			continue
		}
		q, _ := cluster["query"].(map[string]any)
		if cluster["type"] != "query" || q["query"] != "label_values(lagwatch_up, cluster)" {
			t.Errorf("%s: cluster variable is %v %v, want a query of label_values(lagwatch_up, cluster)", f.name, cluster["type"], q["query"])
		}
		if cluster["multi"] != true || cluster["includeAll"] != true || cluster["allValue"] != ".*" {
			t.Errorf("%s: cluster variable multi=%v includeAll=%v allValue=%v, want multi-value with All = .*",
				f.name, cluster["multi"], cluster["includeAll"], cluster["allValue"])
		}
	}
}

var (
	selector    = regexp.MustCompile(`\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?`)
	labelList   = regexp.MustCompile(`\b(by|without|on|ignoring)\s*\(([^)]*)\)`)
	keywordLike = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"and": true, "or": true, "unless": true, "bool": true, "offset": true}
)

// Every series a dashboard reads is narrowed to the selected clusters, and
// a join or aggregation that names the lagwatch target's labels names
// cluster too: one lagwatch process may watch several clusters, whose
// topics and groups share names.
func TestEveryQuerySelectsTheClusterVariable(t *testing.T) {
	known := map[string]bool{"up": true}
	for _, m := range lagwatchMetrics {
		known[m] = true
	}
	for _, q := range queries(t) {
		if q.Panel == "variable cluster" {
			continue
		}
		expr := quoted.ReplaceAllString(q.Expr, `""`)
		for _, m := range selector.FindAllStringSubmatchIndex(q.Expr, -1) {
			name := q.Expr[m[2]:m[3]]
			if keywordLike[name] || !(known[name] || strings.Contains(name, ":")) {
				continue
			}
			if m[4] < 0 || !strings.Contains(q.Expr[m[4]:m[5]], `cluster=~"$cluster"`) {
				t.Errorf("%s / %s %s: %s is not narrowed by cluster=~\"$cluster\": %s", q.Dashboard, q.Panel, q.RefID, name, q.Expr)
			}
		}
		for _, m := range labelList.FindAllStringSubmatch(expr, -1) {
			labels := regexp.MustCompile(`\s*,\s*`).Split(strings.TrimSpace(m[2]), -1)
			if slices.Contains(labels, "instance") != slices.Contains(labels, "cluster") {
				t.Errorf("%s / %s %s: %s (%s) names one of instance and cluster without the other", q.Dashboard, q.Panel, q.RefID, m[1], m[2])
			}
		}
	}
}
