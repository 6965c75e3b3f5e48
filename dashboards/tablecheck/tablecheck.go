// Package tablecheck runs the dashboards' table panels the way Grafana
// does, for tests: it builds the frames Grafana's Prometheus data source
// makes of instant "table" queries, applies the panel's transformations
// with Grafana's own code (the npm package @grafana/data under Node), and
// checks that the table shows one row per partition or group with every
// column filled.
//
// The Node side is package.json, package-lock.json and transform.cjs in
// this folder. Install runs `npm ci` once per lock file into the user's
// cache directory, not into the source tree: Grafana's file provisioning
// loads every .json file under the folder it is given.
package tablecheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/dashboards"
)

var (
	//go:embed package.json
	packageJSON []byte
	//go:embed package-lock.json
	packageLock []byte
	//go:embed transform.cjs
	transformScript []byte
)

// Sample is one series of a Prometheus instant query's vector answer, as
// the HTTP API returns it.
type Sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"` // [unix seconds, value as a string]
}

// Field and Frame are the JSON form of Grafana's DataFrame.
type Field struct {
	Name   string         `json:"name"`
	Type   string         `json:"type"`
	Config map[string]any `json:"config"`
	Values []any          `json:"values"`
}

type Frame struct {
	RefID  string  `json:"refId,omitempty"`
	Fields []Field `json:"fields"`
}

// Frames builds what Grafana's Prometheus data source hands a panel for
// its table queries (transformDFToTable in @grafana/prometheus's
// result_transformer): one frame per query, with a Time field, one string
// field per label in order of first appearance (each series' labels
// sorted; "" where a series lacks one), __name__ included, then the value
// field, "Value #<refId>" when the panel has more than one query and
// "Value" otherwise. A query that answered nothing still gives a frame,
// with no rows. Values stay as Prometheus wrote them ("NaN", "+Inf");
// transform.cjs parses them as Grafana's parseSampleValue does.
func Frames(refIDs []string, answers map[string][]Sample) []Frame {
	var frames []Frame
	for _, refID := range refIDs {
		series := answers[refID]
		valueName := "Value"
		if len(refIDs) > 1 {
			valueName = "Value #" + refID
		}
		var labels []string
		for _, s := range series {
			names := make([]string, 0, len(s.Metric))
			for name := range s.Metric {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				if !contains(labels, name) {
					labels = append(labels, name)
				}
			}
		}
		timeField := Field{Name: "Time", Type: "time", Config: map[string]any{}, Values: []any{}}
		labelFields := make([]Field, len(labels))
		for i, name := range labels {
			labelFields[i] = Field{Name: name, Type: "string", Config: map[string]any{"filterable": true}, Values: []any{}}
		}
		valueField := Field{Name: valueName, Type: "number", Config: map[string]any{}, Values: []any{}}
		for _, s := range series {
			seconds, _ := s.Value[0].(float64)
			timeField.Values = append(timeField.Values, seconds*1000)
			for i, name := range labels {
				labelFields[i].Values = append(labelFields[i].Values, s.Metric[name])
			}
			valueField.Values = append(valueField.Values, s.Value[1])
		}
		fields := append([]Field{timeField}, labelFields...)
		frames = append(frames, Frame{RefID: refID, Fields: append(fields, valueField)})
	}
	return frames
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Runner runs transform.cjs with an installed @grafana/data.
type Runner struct {
	node    string
	modules string // node_modules holding @grafana/data
	script  string
}

// Install makes @grafana/data ready under Node, once per lock file: later
// runs reuse the cached install. It skips the test under -short (it needs
// npm's registry the first time) and fails it if node or npm is missing.
func Install(t testing.TB) *Runner {
	t.Helper()
	if testing.Short() {
		t.Skip("tablecheck runs Grafana's transformations under Node after npm ci; skipped with -short")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (%v): install Node.js 20 or later", err)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("npm not found (%v): install npm", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256(append(append([]byte{}, packageJSON...), packageLock...))
	dir := filepath.Join(cache, "lagwatch", "tablecheck-"+hex.EncodeToString(sum[:8]))
	if err := installOnce(npm, dir); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "transform.cjs")
	if err := os.WriteFile(script, transformScript, 0o644); err != nil {
		t.Fatal(err)
	}
	return &Runner{node: node, modules: filepath.Join(dir, "node_modules"), script: script}
}

// installOnce runs npm ci in a fresh folder beside dir and renames it to
// dir, so a package test running at the same time never sees half an
// install, and an interrupted one leaves nothing behind that looks done.
func installOnce(npm, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@grafana", "data", "package.json")); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".installing-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for name, data := range map[string][]byte{"package.json": packageJSON, "package-lock.json": packageLock} {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline", "--loglevel=error")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci for @grafana/data in %s: %v\n%s", tmp, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another test installed it first.
		if _, statErr := os.Stat(filepath.Join(dir, "node_modules")); statErr == nil {
			return nil
		}
		return fmt.Errorf("move the install to %s: %w", dir, err)
	}
	return nil
}

// Case is a table panel with the answers of its queries, by refId.
type Case struct {
	Table   dashboards.Table
	Answers map[string][]Sample
}

type transformInput struct {
	Name            string          `json:"name"`
	Transformations json.RawMessage `json:"transformations"`
	Frames          []Frame         `json:"frames"`
}

type transformOutput struct {
	Name   string  `json:"name"`
	Frames []Frame `json:"frames"`
}

// Transform applies each case's transformations to its frames with
// Grafana's code, in one Node process, and returns the frames the table
// panel draws, by case.
func (r *Runner) Transform(cases []Case) ([][]Frame, error) {
	inputs := make([]transformInput, len(cases))
	for i, c := range cases {
		var refIDs []string
		for _, q := range c.Table.Queries {
			refIDs = append(refIDs, q.RefID)
		}
		inputs[i] = transformInput{Name: name(c.Table), Transformations: c.Table.Transformations, Frames: Frames(refIDs, c.Answers)}
		if len(inputs[i].Transformations) == 0 {
			inputs[i].Transformations = json.RawMessage("[]")
		}
	}
	in, err := json.Marshal(inputs)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.node, r.script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+r.modules)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("node transform.cjs: %v\n%s", err, stderr.String())
	}
	var outs []transformOutput
	if err := json.Unmarshal(stdout.Bytes(), &outs); err != nil {
		return nil, fmt.Errorf("read transform.cjs output: %v", err)
	}
	if len(outs) != len(cases) {
		return nil, fmt.Errorf("transform.cjs returned %d results for %d panels", len(outs), len(cases))
	}
	result := make([][]Frame, len(outs))
	for i, o := range outs {
		result[i] = o.Frames
	}
	return result, nil
}

func name(t dashboards.Table) string { return t.Dashboard + " / " + t.Panel }

// Problems returns what is wrong with the table Grafana draws for c from
// the frames Transform returned: it must be one table with one row per
// distinct set of the labels every answered series carries (partition, or
// group, and the lagwatch target), a column for every query that answered,
// and no empty cell. Nil means the table is right.
func Problems(c Case, drawn []Frame) []string {
	var problems []string
	answered := 0
	identities := map[string]bool{}
	var common []string
	first := true
	for _, q := range c.Table.Queries {
		for _, s := range c.Answers[q.RefID] {
			var names []string
			for l := range s.Metric {
				if l != "__name__" && (first || contains(common, l)) {
					names = append(names, l)
				}
			}
			common, first = names, false
		}
	}
	sort.Strings(common)
	for _, q := range c.Table.Queries {
		if len(c.Answers[q.RefID]) > 0 {
			answered++
		}
		for _, s := range c.Answers[q.RefID] {
			var key []string
			for _, l := range common {
				key = append(key, l+"="+s.Metric[l])
			}
			identities[strings.Join(key, ",")] = true
		}
	}
	if answered == 0 {
		return nil
	}
	if len(drawn) != 1 {
		return append(problems, fmt.Sprintf("%d frames after the transformations, want 1 table", len(drawn)))
	}
	table := drawn[0]
	rows := 0
	if len(table.Fields) > 0 {
		rows = len(table.Fields[0].Values)
	}
	if rows != len(identities) {
		problems = append(problems, fmt.Sprintf("%d rows for %d distinct %v", rows, len(identities), common))
	}
	numbers := 0
	for _, f := range table.Fields {
		if f.Type == "number" {
			numbers++
		}
		for i, v := range f.Values {
			if v == nil || v == "" {
				problems = append(problems, fmt.Sprintf("column %q is empty in row %d", f.Name, i))
				break
			}
		}
	}
	if numbers < answered {
		problems = append(problems, fmt.Sprintf("%d value columns for %d queries that answered", numbers, answered))
	}
	if len(problems) > 0 {
		var cols []string
		for _, f := range table.Fields {
			cols = append(cols, fmt.Sprintf("%s%v", f.Name, f.Values))
		}
		problems = append(problems, "table: "+strings.Join(cols, " "))
	}
	return problems
}

// Query asks Prometheus (base URL) for the answers of a table's queries,
// as instant queries all at the same time, as Grafana sends them.
func Query(prometheus string, table dashboards.Table, at time.Time) (Case, error) {
	c := Case{Table: table, Answers: map[string][]Sample{}}
	for _, q := range table.Queries {
		params := url.Values{"query": {q.PromQL}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
		resp, err := http.Get(prometheus + "/api/v1/query?" + params.Encode())
		if err != nil {
			return c, err
		}
		var body struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Data   struct {
				ResultType string   `json:"resultType"`
				Result     []Sample `json:"result"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			return c, fmt.Errorf("%s / %s %s: %s: %w", table.Dashboard, table.Panel, q.RefID, resp.Status, err)
		}
		if body.Status != "success" || body.Data.ResultType != "vector" {
			return c, fmt.Errorf("%s / %s %s: %s %s (result type %q)", table.Dashboard, table.Panel, q.RefID, body.Status, body.Error, body.Data.ResultType)
		}
		c.Answers[q.RefID] = body.Data.Result
	}
	return c, nil
}

// Check runs every case's transformations and reports each table's
// problems as test errors, naming dashboard and panel.
func (r *Runner) Check(t testing.TB, cases []Case) {
	t.Helper()
	drawn, err := r.Transform(cases)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		for _, p := range Problems(c, drawn[i]) {
			t.Errorf("%s: %s", name(c.Table), p)
		}
	}
}
