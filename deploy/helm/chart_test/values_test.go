package charttest

import (
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// Without the Prometheus operator's CRDs a ServiceMonitor or a
// PrometheusRule would fail the install: they are left out, the rest
// stays. With them, both are rendered.
func TestServiceMonitorAndPrometheusRuleOnlyWhereTheirCRDsExist(t *testing.T) {
	without, err := renderChartWith(values(t, oneCluster...))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(without.serviceMonitors) + len(without.prometheusRules); n != 0 {
		t.Errorf("%d monitoring.coreos.com objects rendered into a cluster without their CRDs", n)
	}
	if len(without.deployments) != 1 || len(without.services) != 1 || len(without.configMaps) == 0 {
		t.Error("the Deployment, Service and dashboards must stay")
	}
	with := mustRender(t, values(t, oneCluster...))
	if len(with.serviceMonitors) != 1 || len(with.prometheusRules) != 1 {
		t.Errorf("with the CRDs: %d ServiceMonitors and %d PrometheusRules, want one each", len(with.serviceMonitors), len(with.prometheusRules))
	}
}

// thresholdRules are the rules recording lagwatch:threshold:name, by
// their consumergroup label ("" for the default).
func thresholdRules(t *testing.T, r *rendered, name string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, g := range r.prometheusRules[0].Spec.Groups {
		for _, rule := range g.Rules {
			if rule.Record == "lagwatch:threshold:"+name {
				out[rule.Labels["consumergroup"]] = rule.Expr.String()
			}
		}
	}
	return out
}

func TestThresholdsAndPerGroupOverridesComeFromValues(t *testing.T) {
	r := mustRender(t, values(t, append(oneCluster,
		"prometheusRule.thresholds.lag_seconds=1800",
		"prometheusRule.groupThresholds.nightly-billing-export.lag_seconds=7200",
		"prometheusRule.groupThresholds.replay-tool.stopped_lag_messages=+Inf")...))
	if got := thresholdRules(t, r, "lag_seconds"); len(got) != 2 || got[""] != "vector(1800)" || got["nightly-billing-export"] != "vector(7200)" {
		t.Errorf("lag_seconds rules %v, want the default vector(1800) and nightly-billing-export's vector(7200)", got)
	}
	if got := thresholdRules(t, r, "stopped_lag_messages"); got["replay-tool"] != "vector(+Inf)" {
		t.Errorf("stopped_lag_messages rules %v, want replay-tool's vector(+Inf)", got)
	}
	// The others keep alerts/thresholds.rules.yml's values.
	defaults := mustRender(t, values(t, oneCluster...))
	if got, want := thresholdRules(t, r, "retention_headroom_seconds"), thresholdRules(t, defaults, "retention_headroom_seconds"); got[""] != want[""] || want[""] == "" {
		t.Errorf("retention_headroom_seconds %v, want the file's %v", got, want)
	}
}

func TestAThresholdNoRuleHasIsRefused(t *testing.T) {
	for _, set := range []string{"prometheusRule.thresholds.lag_secs=60", "prometheusRule.groupThresholds.billing.lag_secs=60"} {
		_, err := renderChart(values(t, append(oneCluster, set)...))
		if err == nil || !strings.Contains(err.Error(), "lagwatch:threshold:lag_secs") {
			t.Errorf("--set %s: want a refusal naming lagwatch:threshold:lag_secs, got %v", set, err)
		}
	}
}

func TestServiceAccountIsTheChartsOwnWithoutAToken(t *testing.T) {
	r := mustRender(t, values(t, append(oneCluster, "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/lagwatch")...))
	if len(r.serviceAccounts) != 1 {
		t.Fatalf("%d ServiceAccounts, want 1", len(r.serviceAccounts))
	}
	sa := r.serviceAccounts[0]
	spec := r.podSpec(t)
	if spec.ServiceAccountName != sa.Name || sa.Annotations["eks.amazonaws.com/role-arn"] == "" {
		t.Errorf("pod runs as %q, ServiceAccount %q with annotations %v", spec.ServiceAccountName, sa.Name, sa.Annotations)
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken || spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("lagwatch never calls the Kubernetes API: no token may be mounted")
	}
	existing := mustRender(t, values(t, append(oneCluster, "serviceAccount.create=false", "serviceAccount.name=monitoring-reader")...))
	if len(existing.serviceAccounts) != 0 || existing.podSpec(t).ServiceAccountName != "monitoring-reader" {
		t.Errorf("an existing ServiceAccount: %d created, pod runs as %q", len(existing.serviceAccounts), existing.podSpec(t).ServiceAccountName)
	}
}

func TestPodDisruptionBudgetSelectsThePods(t *testing.T) {
	if r := mustRender(t, values(t, oneCluster...)); len(r.budgets) != 0 {
		t.Errorf("a PodDisruptionBudget by default")
	}
	r := mustRender(t, values(t, append(oneCluster, "shards=3", "podDisruptionBudget.enabled=true")...))
	if len(r.budgets) != 1 {
		t.Fatalf("%d PodDisruptionBudgets, want 1", len(r.budgets))
	}
	pdb := r.budgets[0]
	if pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != intstr.FromInt32(1) {
		t.Errorf("maxUnavailable %v, want 1", pdb.Spec.MaxUnavailable)
	}
	for k, v := range pdb.Spec.Selector.MatchLabels {
		if r.statefulSets[0].Spec.Template.Labels[k] != v {
			t.Errorf("the budget's selector %s=%s does not select the pods", k, v)
		}
	}
	if _, err := renderChart(values(t, append(oneCluster, "podDisruptionBudget.enabled=true", "podDisruptionBudget.maxUnavailable=0")...)); err == nil {
		t.Error("maxUnavailable 0 with one pod blocks every drain, yet rendered")
	}
}

func TestTopologySpreadAndExtraVolumesReachThePod(t *testing.T) {
	r := mustRender(t, values(t, append(oneCluster,
		"topologySpreadConstraints[0].maxSkew=1",
		"topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
		"topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway",
		"extraVolumes[0].name=ca-bundle",
		"extraVolumes[0].configMap.name=corporate-ca",
		"extraVolumeMounts[0].name=ca-bundle",
		"extraVolumeMounts[0].mountPath=/etc/lagwatch/ca",
		"extraVolumeMounts[0].readOnly=true")...))
	spec := r.podSpec(t)
	if len(spec.TopologySpreadConstraints) != 1 || spec.TopologySpreadConstraints[0].TopologyKey != "topology.kubernetes.io/zone" {
		t.Errorf("topologySpreadConstraints %+v", spec.TopologySpreadConstraints)
	}
	var volume, mount bool
	for _, v := range spec.Volumes {
		volume = volume || (v.Name == "ca-bundle" && v.ConfigMap != nil && v.ConfigMap.Name == "corporate-ca")
	}
	for _, m := range r.container(t).VolumeMounts {
		mount = mount || (m.Name == "ca-bundle" && m.MountPath == "/etc/lagwatch/ca" && m.ReadOnly)
	}
	if !volume || !mount {
		t.Errorf("extra volume %v, mount %v", volume, mount)
	}
}

// The image tag defaults to the chart's appVersion; `make image` tags the
// image with the VERSION file: the two must name the same release.
func TestAppVersionIsTheVersionMakeImageTags(t *testing.T) {
	chartYAML, err := os.ReadFile(chartDir + "/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	version, err := os.ReadFile(repoPath("VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(chartYAML, &chart); err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(version)); chart.AppVersion != want {
		t.Errorf("Chart.yaml appVersion %q, VERSION %q", chart.AppVersion, want)
	}
}
