package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// groupRow is one line of the status table.
type groupRow struct {
	group, kind, status, members, lagSeconds string
}

// StatusTable prints, every interval until ctx is done, a compact table
// of the groups lagwatch exports and their statuses, read from its own
// metrics at metricsURL as a scraper would: the scenarios unfolding,
// without leaving the terminal.
func StatusTable(ctx context.Context, w io.Writer, metricsURL string, every time.Duration) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		rows, err := scrapeGroups(ctx, metricsURL)
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(w, "lagwatch demo: no table this time: %v\n", err)
			}
			continue
		}
		writeTable(w, time.Now(), rows)
	}
}

func scrapeGroups(ctx context.Context, url string) ([]groupRow, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", url, err)
	}
	return groupRows(families), nil
}

// groupRows joins the group families into one row per group.
func groupRows(families map[string]*dto.MetricFamily) []groupRow {
	rows := map[string]*groupRow{}
	row := func(m *dto.Metric) *groupRow {
		name := label(m, "consumergroup")
		if rows[name] == nil {
			rows[name] = &groupRow{group: name, kind: "-", status: "-", members: "-", lagSeconds: "-"}
		}
		return rows[name]
	}
	each := func(family string, set func(*groupRow, *dto.Metric)) {
		if f := families[family]; f != nil {
			for _, m := range f.Metric {
				set(row(m), m)
			}
		}
	}
	each("kafka_consumergroup_info", func(r *groupRow, m *dto.Metric) { r.kind = label(m, "type") })
	each("kafka_consumergroup_status", func(r *groupRow, m *dto.Metric) { r.status = label(m, "status") })
	each("kafka_sharegroup_status", func(r *groupRow, m *dto.Metric) { r.status = label(m, "status") })
	each("kafka_consumergroup_members", func(r *groupRow, m *dto.Metric) { r.members = number(m) })
	each("kafka_sharegroup_members", func(r *groupRow, m *dto.Metric) { r.members = number(m) })
	each("kafka_consumergroup_max_lag_seconds", func(r *groupRow, m *dto.Metric) { r.lagSeconds = number(m) })
	out := make([]groupRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b groupRow) int { return strings.Compare(a.group, b.group) })
	return out
}

func writeTable(w io.Writer, at time.Time, rows []groupRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "lagwatch demo, groups at %s:\n", at.Format("15:04:05"))
	fmt.Fprintln(tw, "  GROUP\tTYPE\tSTATUS\tMEMBERS\tMAX LAG (s)")
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", r.group, r.kind, r.status, r.members, r.lagSeconds)
	}
	_ = tw.Flush()
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func number(m *dto.Metric) string {
	return strconv.FormatFloat(m.GetGauge().GetValue(), 'f', 0, 64)
}
