package charttest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Helm reads nothing outside the chart's folder, so the chart carries copies
// of alerts/*.rules.yml and dashboards/*.json in files/. They are copies made
// by `make helm-sync`, never edited by hand: this test fails as soon as one
// differs from its source, is missing, or outlives it. (A symlink would spare
// the copy, but Helm logs a warning about every symlinked file on each
// install, and symlinks break on Windows checkouts.)
func TestChartFilesAreExactCopiesOfAlertsAndDashboards(t *testing.T) {
	for _, c := range []struct{ source, pattern, copy string }{
		{"alerts", "*.rules.yml", "files/alerts"},
		{"dashboards", "*.json", "files/dashboards"},
	} {
		sources := sourceFiles(t, c.source, c.pattern)
		copies, err := filepath.Glob(filepath.Join(chartDir, c.copy, "*"))
		if err != nil {
			t.Fatal(err)
		}
		var sourceNames, copyNames []string
		for _, p := range sources {
			sourceNames = append(sourceNames, filepath.Base(p))
		}
		for _, p := range copies {
			copyNames = append(copyNames, filepath.Base(p))
		}
		slices.Sort(copyNames)
		if !slices.Equal(sourceNames, copyNames) {
			t.Errorf("chart's %s holds %v, %s/%s is %v: run make helm-sync", c.copy, copyNames, c.source, c.pattern, sourceNames)
			continue
		}
		for _, src := range sources {
			want, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(chartDir, c.copy, filepath.Base(src)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("chart's %s/%s differs from %s: run make helm-sync", c.copy, filepath.Base(src), src)
			}
		}
	}
}
