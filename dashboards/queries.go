package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
)

//go:embed *.json
var files embed.FS

// Query is one PromQL expression of a dashboard: a panel target or the
// metric selector of a templating variable's label_values() query.
type Query struct {
	Dashboard string // file name, e.g. "overview.json"
	Panel     string // panel title, or "variable NAME" for a templating variable
	RefID     string // the target's refId; empty for a variable
	Expr      string // as written in the dashboard, Grafana variables included
	// PromQL is Expr with every Grafana variable replaced: dashboard
	// variables inside label matchers by ".*" (they are all regex matchers, so
	// this selects what "All" selects), $__rate_interval and $__interval by
	// 1m, $__range by 1h. It is valid PromQL, ready to run.
	PromQL string
	// Variables are the dashboard variables Expr uses (not Grafana's
	// built-in $__ ones); NeedsVariable is len(Variables) > 0.
	Variables     []string
	NeedsVariable bool
	// Instant is true for targets Grafana runs as instant queries (tables,
	// stats of the current value); false for range queries and variables.
	Instant bool
	// RecordingRules is true when PromQL reads series recorded by
	// alerts/recording.rules.yml (names with a colon): it returns nothing
	// from a Prometheus that does not load lagwatch's rules.
	RecordingRules bool
	// Table is true for targets with format "table": Grafana's
	// Prometheus data source turns their answer into one table frame per
	// query (see the tablecheck package).
	Table bool
	// EmptyWhenHealthy is true for panels that show only trouble (stalled
	// partitions, retention risk, dead letters, rewinds, time to drain):
	// their description says "empty when healthy", and an empty answer from
	// a healthy cluster is the right one.
	EmptyWhenHealthy bool
}

// builtins are Grafana's own variables, replaced by values of the right
// kind: durations inside range selectors.
var builtins = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "1m",
	"__range":         "1h",
	"__range_s":       "3600",
	"__interval_ms":   "60000",
}

// variableRef matches $name, ${name}, ${name:format} and [[name]].
var variableRef = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

// Substitute replaces Grafana's template variables in expr so that it is
// plain PromQL: Grafana built-ins by a representative value, dashboard
// variables by ".*" (they only appear inside regex label matchers). It also
// returns the dashboard variables it replaced, in order of appearance.
func Substitute(expr string) (promql string, variables []string) {
	seen := map[string]bool{}
	promql = variableRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := variableRef.FindStringSubmatch(ref)
		name := m[1] + m[2] + m[3]
		if v, ok := builtins[name]; ok {
			return v
		}
		if !seen[name] {
			seen[name] = true
			variables = append(variables, name)
		}
		return ".*"
	})
	return promql, variables
}

type dashboard struct {
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title           string          `json:"title"`
	Description     string          `json:"description"`
	Type            string          `json:"type"`
	Targets         []target        `json:"targets"`
	Transformations json.RawMessage `json:"transformations"`
	FieldConfig     json.RawMessage `json:"fieldConfig"`
	Panels          []panel         `json:"panels"` // panels of a collapsed row
}

type target struct {
	RefID   string `json:"refId"`
	Expr    string `json:"expr"`
	Instant bool   `json:"instant"`
	Format  string `json:"format"`
}

type variable struct {
	Name  string          `json:"name"`
	Type  string          `json:"type"`
	Query json.RawMessage `json:"query"`
}

// labelValues matches Grafana's label_values(selector, label).
var labelValues = regexp.MustCompile(`^\s*label_values\(\s*(.+?)\s*,\s*\w+\s*\)\s*$`)

// variableQuery returns the label_values() query of a query variable;
// Grafana stores it as a string or as {"query": "..."}.
func (v variable) variableQuery() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var obj struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(v.Query, &obj) == nil {
		return obj.Query
	}
	return ""
}

// Queries returns every query of every dashboard in this package, ordered
// by dashboard file and then as they appear in it.
func Queries() ([]Query, error) {
	names, err := fs.Glob(files, "*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var queries []Query
	for _, name := range names {
		data, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		qs, err := dashboardQueries(name, data)
		if err != nil {
			return nil, err
		}
		queries = append(queries, qs...)
	}
	return queries, nil
}

// Table is a table panel: its queries and the transformations Grafana
// applies to their answers before it draws the rows.
type Table struct {
	Dashboard string
	Panel     string
	Queries   []Query
	// Transformations and FieldConfig are the panel's, as written.
	Transformations json.RawMessage
	FieldConfig     json.RawMessage
}

// Tables returns every table panel of every dashboard in this package,
// ordered by dashboard file and then as they appear in it.
func Tables() ([]Table, error) {
	names, err := fs.Glob(files, "*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var tables []Table
	for _, name := range names {
		data, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var d dashboard
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, fmt.Errorf("parse dashboard %s: %w", name, err)
		}
		var walk func([]panel)
		walk = func(panels []panel) {
			for _, p := range panels {
				if p.Type == "table" {
					tb := Table{Dashboard: name, Panel: p.Title, Transformations: p.Transformations, FieldConfig: p.FieldConfig}
					for _, t := range p.Targets {
						tb.Queries = append(tb.Queries, targetQuery(name, p, t))
					}
					tables = append(tables, tb)
				}
				walk(p.Panels)
			}
		}
		walk(d.Panels)
	}
	return tables, nil
}

func dashboardQueries(name string, data []byte) ([]Query, error) {
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("parse dashboard %s: %w", name, err)
	}
	var queries []Query
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.variableQuery())
		if m == nil {
			return nil, fmt.Errorf("dashboard %s: variable %s: query %q is not label_values(selector, label)", name, v.Name, v.variableQuery())
		}
		queries = append(queries, completed(name, Query{Panel: "variable " + v.Name, Expr: m[1]}))
	}
	var walk func([]panel) error
	walk = func(panels []panel) error {
		for _, p := range panels {
			for _, t := range p.Targets {
				if strings.TrimSpace(t.Expr) == "" {
					return fmt.Errorf("dashboard %s: panel %q target %s has no expr", name, p.Title, t.RefID)
				}
				queries = append(queries, targetQuery(name, p, t))
			}
			if err := walk(p.Panels); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(d.Panels); err != nil {
		return nil, err
	}
	return queries, nil
}

func targetQuery(dashboard string, p panel, t target) Query {
	return completed(dashboard, Query{
		Panel: p.Title, RefID: t.RefID, Expr: t.Expr, Instant: t.Instant, Table: t.Format == "table",
		EmptyWhenHealthy: strings.Contains(strings.ToLower(p.Description), "empty when healthy"),
	})
}

// completed fills in what follows from a query's dashboard and Expr.
func completed(dashboard string, q Query) Query {
	q.Dashboard = dashboard
	q.PromQL, q.Variables = Substitute(q.Expr)
	q.NeedsVariable = len(q.Variables) > 0
	q.RecordingRules = usesRecordedSeries(q.PromQL)
	return q
}

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
var recordedName = regexp.MustCompile(`\b[a-zA-Z_]+:[a-zA-Z0-9_:]*[a-zA-Z0-9_]\b`)

// usesRecordedSeries reports whether a PromQL expression names a series
// with a colon, which by Prometheus convention only recording rules create.
func usesRecordedSeries(promql string) bool {
	return recordedName.MatchString(quoted.ReplaceAllString(promql, `""`))
}
