package alerts

import (
	"regexp"
	"strings"
	"testing"
)

// lagwatch writes its constant labels (cluster from --kafka.labels or
// --config.file) on its own series, not on Prometheus's `up`, which has
// only the target's labels. A join of a lagwatch series with up on all
// labels, or ignoring a few, never matches once there is a cluster label:
// the alert would resolve, or never fire, when lagwatch cannot be scraped.
// up is joined on (job, instance), the target.
func TestUpIsJoinedOnTheTargetOnly(t *testing.T) {
	up := regexp.MustCompile(`up\{`)
	onTarget := regexp.MustCompile(`on\s*\(\s*job\s*,\s*instance\s*\)\s*\(?\s*$`)
	for _, r := range loadedRules(t) {
		for _, loc := range up.FindAllStringIndex(r.Expr, -1) {
			before := strings.TrimSpace(r.Expr[:loc[0]])
			switch {
			case loc[0] > 0 && isNameChar(r.Expr[loc[0]-1]):
				continue // another metric ending in up
			case onTarget.MatchString(before):
			case before == "" || strings.HasSuffix(before, "absent("):
				// LagwatchDown: up alone.
			case r.Record != "" && strings.HasSuffix(before, "or"):
				// A recorded union (lagwatch:blind) adds up's own series.
			default:
				t.Errorf("%s%s (%s): up is joined on lagwatch's labels after %q; join it `on (job, instance)`",
					r.Record, r.Alert, r.file, before[max(0, len(before)-60):])
			}
		}
	}
}

func isNameChar(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// One lagwatch may watch several clusters: a description that looks up
// series of the alert's lagwatch target must look up its cluster's only.
// `cluster=%q` of an alert without the label is cluster="", which matches
// series without it.
func TestDescriptionQueriesSelectTheAlertsCluster(t *testing.T) {
	printf := regexp.MustCompile(`printf "((?:[^"\\]|\\.)*)"((?:\s+\$labels\.\w+)*)`)
	for _, r := range alertRules(t) {
		for _, a := range r.Annotations {
			for _, m := range printf.FindAllStringSubmatch(a, -1) {
				if strings.Contains(m[1], "instance=%q") && !(strings.Contains(m[1], "cluster=%q") && strings.Contains(m[2], "$labels.cluster")) {
					t.Errorf("%s (%s): query %q selects the instance but not the cluster of the alert", r.Alert, r.file, m[1])
				}
			}
		}
	}
}
