package tablecheck

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lagwatch/lagwatch/dashboards"
)

// answers is what Prometheus answers for a partitions table of two
// queries: the same three partitions under two metric names.
func answers() map[string][]Sample {
	a := map[string][]Sample{}
	for i, name := range []string{"kafka_consumergroup_lag", "kafka_consumergroup_current_offset"} {
		refID := string(rune('A' + i))
		for p := range 3 {
			a[refID] = append(a[refID], Sample{
				Metric: map[string]string{"__name__": name, "consumergroup": "billing", "topic": "payments", "partition": fmt.Sprint(p), "instance": "lagwatch:9308", "job": "lagwatch"},
				Value:  [2]any{1700000000.0, fmt.Sprint(10 * (p + 1))},
			})
		}
	}
	return a
}

func table(transformations string) dashboards.Table {
	return dashboards.Table{
		Dashboard: "test.json", Panel: "Partitions",
		Queries:         []dashboards.Query{{RefID: "A"}, {RefID: "B"}},
		Transformations: json.RawMessage(transformations),
	}
}

func TestFramesAreOnePerQueryWithLabelColumnsAndANumberedValue(t *testing.T) {
	frames := Frames([]string{"A", "B", "C"}, answers())
	if len(frames) != 3 {
		t.Fatalf("%d frames for 3 queries", len(frames))
	}
	var names []string
	for _, f := range frames[0].Fields {
		names = append(names, f.Name)
	}
	want := []string{"Time", "__name__", "consumergroup", "instance", "job", "partition", "topic", "Value #A"}
	if !slices.Equal(names, want) {
		t.Errorf("fields %v, want %v", names, want)
	}
	if got := frames[2].Fields; len(got) != 2 || got[1].Name != "Value #C" || len(got[0].Values) != 0 {
		t.Errorf("a query that answered nothing gives %+v, want an empty Time and Value #C", got)
	}
}

// The bug of issue 13: merging queries whose __name__ differs gives one
// row per query and partition, each with one value.
func TestProblemsCatchesAMergeThatKeepsOneRowPerQuery(t *testing.T) {
	r := Install(t)
	c := Case{Table: table(`[{"id": "merge", "options": {}}]`), Answers: answers()}
	drawn, err := r.Transform([]Case{c})
	if err != nil {
		t.Fatal(err)
	}
	problems := Problems(c, drawn[0])
	if len(problems) == 0 || !strings.Contains(problems[0], "6 rows for 3 distinct") {
		t.Errorf("Problems = %q, want 6 rows for 3 partitions reported", problems)
	}
}

func TestDroppingNameAndTimeBeforeTheMergeGivesOneRowPerPartition(t *testing.T) {
	r := Install(t)
	c := Case{
		Table: table(`[
			{"id": "organize", "options": {"excludeByName": {"Time": true, "__name__": true}}},
			{"id": "merge", "options": {}},
			{"id": "organize", "options": {"renameByName": {"Value #A": "Lag", "Value #B": "Committed offset"}}}
		]`),
		Answers: answers(),
	}
	drawn, err := r.Transform([]Case{c})
	if err != nil {
		t.Fatal(err)
	}
	if problems := Problems(c, drawn[0]); len(problems) > 0 {
		t.Errorf("Problems = %q", problems)
	}
	var names []string
	for _, f := range drawn[0][0].Fields {
		names = append(names, f.Name)
	}
	if !slices.Contains(names, "Lag") || !slices.Contains(names, "Committed offset") {
		t.Errorf("columns %v, want the renamed titles", names)
	}
}

func TestAMissingValueIsAnEmptyCell(t *testing.T) {
	r := Install(t)
	a := answers()
	a["B"] = a["B"][:2]
	transformations := `[
		{"id": "organize", "options": {"excludeByName": {"Time": true, "__name__": true}}},
		{"id": "merge", "options": {}},
		{"id": "organize", "options": {"renameByName": {"Value #B": "Committed offset"}}}
	]`
	c := Case{Table: table(transformations), Answers: a}
	drawn, err := r.Transform([]Case{c})
	if err != nil {
		t.Fatal(err)
	}
	if problems := Problems(c, drawn[0]); len(problems) == 0 || !strings.Contains(problems[0], `"Committed offset" is empty`) {
		t.Errorf("Problems = %q, want the empty cell reported", problems)
	}
}

// A query that answers nothing still gives Grafana a frame, without label
// fields: merge then finds no field common to all frames and gives up.
func TestAQueryThatAnswersNothingDefeatsTheMerge(t *testing.T) {
	r := Install(t)
	a := answers()
	a["B"] = nil
	c := Case{Table: table(`[
		{"id": "organize", "options": {"excludeByName": {"Time": true, "__name__": true}}},
		{"id": "merge", "options": {}}
	]`), Answers: a}
	drawn, err := r.Transform([]Case{c})
	if err != nil {
		t.Fatal(err)
	}
	if problems := Problems(c, drawn[0]); len(problems) == 0 || !strings.Contains(problems[0], "2 frames") {
		t.Errorf("Problems = %q, want 2 frames reported", problems)
	}
}

func TestAnUnknownTransformationFailsRatherThanBeingSkipped(t *testing.T) {
	r := Install(t)
	c := Case{Table: table(`[{"id": "joinByLabels", "options": {}}]`), Answers: answers()}
	if _, err := r.Transform([]Case{c}); err == nil || !strings.Contains(err.Error(), "joinByLabels") {
		t.Errorf("Transform = %v, want an error naming joinByLabels", err)
	}
}

// identityLabels are the labels a dashboard table's last organize step
// names or hides (group, topic, partition, the lagwatch target), that is
// the labels its queries answer with.
func identityLabels(t *testing.T, tb dashboards.Table) []string {
	t.Helper()
	var steps []struct {
		ID      string `json:"id"`
		Options struct {
			ExcludeByName map[string]bool   `json:"excludeByName"`
			RenameByName  map[string]string `json:"renameByName"`
		} `json:"options"`
	}
	if err := json.Unmarshal(tb.Transformations, &steps); err != nil {
		t.Fatalf("%s: transformations: %v", name(tb), err)
	}
	labels := map[string]bool{}
	for _, s := range steps {
		if s.ID != "organize" {
			continue
		}
		clear(labels)
		for l := range s.Options.ExcludeByName {
			labels[l] = true
		}
		for l := range s.Options.RenameByName {
			labels[l] = true
		}
	}
	var out []string
	for l := range labels {
		if l != "Time" && l != "__name__" && !strings.HasPrefix(l, "Value") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// One lagwatch process watching two clusters whose groups, topics and
// partitions have the same names: every table of the dashboards shows each
// cluster's rows apart, in a Cluster column, with every cell filled.
func TestEveryDashboardTableKeepsTwoClustersOfOneLagwatchApart(t *testing.T) {
	r := Install(t)
	tables, err := dashboards.Tables()
	if err != nil {
		t.Fatal(err)
	}
	var cases []Case
	for _, tb := range tables {
		labels := identityLabels(t, tb)
		if !slices.Contains(labels, "cluster") {
			t.Errorf("%s: the table neither names nor hides the cluster label (labels %v)", name(tb), labels)
		}
		c := Case{Table: tb, Answers: map[string][]Sample{}}
		for _, q := range tb.Queries {
			for _, cluster := range []string{"prod-eu", "prod-us"} {
				for i := range 2 {
					metric := map[string]string{"__name__": "series_" + q.RefID, "cluster": cluster, "instance": "lagwatch:9308", "job": "lagwatch"}
					for _, l := range labels {
						if metric[l] == "" {
							metric[l] = fmt.Sprint(l, i)
						}
					}
					c.Answers[q.RefID] = append(c.Answers[q.RefID], Sample{Metric: metric, Value: [2]any{1700000000.0, "1"}})
				}
			}
		}
		cases = append(cases, c)
	}
	drawn, err := r.Transform(cases)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		for _, p := range Problems(c, drawn[i]) {
			t.Errorf("%s: %s", name(c.Table), p)
		}
		if len(drawn[i]) != 1 {
			continue
		}
		var columns []string
		for _, f := range drawn[i][0].Fields {
			columns = append(columns, f.Name)
		}
		if !slices.Contains(columns, "Cluster") {
			t.Errorf("%s: columns %v, want a Cluster column", name(c.Table), columns)
		}
	}
}
