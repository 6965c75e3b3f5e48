// Package charttest renders the lagwatch Helm chart with Helm's own Go
// library, for the values a user would give, and decodes every object it
// renders strictly into the Kubernetes API types (k8s.io/api) and the
// prometheus-operator monitoring/v1 types: a misspelt or misplaced field fails
// here instead of being dropped by the API server. No cluster is needed.
//
// It is its own Go module so that Helm's and Kubernetes' dependency trees stay
// out of lagwatch's go.mod.
package charttest

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/strvals"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const (
	chartDir      = "../lagwatch"
	repoRoot      = "../../.."
	releaseName   = "lagwatch"
	namespace     = "monitoring"
	configPath    = "/etc/lagwatch/config/config.yaml"
	nonrootUserID = 65532 // distroless' nonroot, the Dockerfile's USER
)

// rendered is what one `helm install` would create, decoded into API types.
type rendered struct {
	deployments     []*appsv1.Deployment
	statefulSets    []*appsv1.StatefulSet
	services        []*corev1.Service
	configMaps      []*corev1.ConfigMap
	serviceAccounts []*corev1.ServiceAccount
	serviceMonitors []*monitoringv1.ServiceMonitor
	prometheusRules []*monitoringv1.PrometheusRule
	// manifest is the whole rendered text, for checks on what must never
	// appear in it.
	manifest string
}

// renderChart renders the chart as `helm install lagwatch -n monitoring`
// would with values given by --set or -f, the chart's values.yaml
// underneath.
func renderChart(values map[string]any) (*rendered, error) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return nil, fmt.Errorf("load chart: %w", err)
	}
	top, err := chartutil.ToRenderValues(chrt, values,
		chartutil.ReleaseOptions{Name: releaseName, Namespace: namespace, IsInstall: true, Revision: 1},
		chartutil.DefaultCapabilities)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	files, err := engine.Render(chrt, top)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	r := &rendered{}
	var all strings.Builder
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		manifests := releaseutil.SplitManifests(files[name])
		for _, key := range slices.Sorted(maps.Keys(manifests)) {
			doc := manifests[key]
			if strings.TrimSpace(doc) == "" {
				continue
			}
			all.WriteString(doc)
			all.WriteString("\n---\n")
			if err := r.add(doc); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	r.manifest = all.String()
	return r, nil
}

// add decodes one rendered object into the type its apiVersion and kind name.
func (r *rendered) add(doc string) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
		return fmt.Errorf("not YAML: %w\n%s", err, doc)
	}
	if errs := validation.IsDNS1123Subdomain(head.Metadata.Name); len(errs) > 0 {
		return fmt.Errorf("%s name %q: %s", head.Kind, head.Metadata.Name, strings.Join(errs, "; "))
	}
	var err error
	switch head.APIVersion + "/" + head.Kind {
	case "apps/v1/Deployment":
		r.deployments, err = appendStrict(r.deployments, doc)
	case "apps/v1/StatefulSet":
		r.statefulSets, err = appendStrict(r.statefulSets, doc)
	case "v1/Service":
		r.services, err = appendStrict(r.services, doc)
	case "v1/ConfigMap":
		r.configMaps, err = appendStrict(r.configMaps, doc)
	case "v1/ServiceAccount":
		r.serviceAccounts, err = appendStrict(r.serviceAccounts, doc)
	case "monitoring.coreos.com/v1/ServiceMonitor":
		r.serviceMonitors, err = appendStrict(r.serviceMonitors, doc)
	case "monitoring.coreos.com/v1/PrometheusRule":
		r.prometheusRules, err = appendStrict(r.prometheusRules, doc)
	default:
		return fmt.Errorf("unexpected object %s %s %q", head.APIVersion, head.Kind, head.Metadata.Name)
	}
	if err != nil {
		return fmt.Errorf("%s %q: %w", head.Kind, head.Metadata.Name, err)
	}
	return nil
}

// appendStrict decodes doc as the API server does in strict mode: YAML keys
// must be unique, and every JSON field must be a field of T, with its exact
// case (encoding/json alone would match "ServiceName" to serviceName).
func appendStrict[T any](list []*T, doc string) ([]*T, error) {
	j, err := yaml.YAMLToJSONStrict([]byte(doc))
	if err != nil {
		return list, err
	}
	obj := new(T)
	strictErrs, err := kjson.UnmarshalStrict(j, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return list, err
	}
	if len(strictErrs) > 0 {
		return list, fmt.Errorf("strict decoding: %v", strictErrs)
	}
	return append(list, obj), nil
}

// mustRender renders values and fails the test on any error.
func mustRender(t *testing.T, values map[string]any) *rendered {
	t.Helper()
	r, err := renderChart(values)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// values builds a values tree from Helm --set style paths, so each test
// reads like the command line a user would type.
func values(t *testing.T, sets ...string) map[string]any {
	t.Helper()
	v := map[string]any{}
	for _, s := range sets {
		if err := strvals.ParseInto(s, v); err != nil {
			t.Fatalf("--set %s: %v", s, err)
		}
	}
	return v
}

// podSpec returns the release's one pod template, whichever the workload kind.
func (r *rendered) podSpec(t *testing.T) corev1.PodSpec {
	t.Helper()
	switch {
	case len(r.deployments) == 1 && len(r.statefulSets) == 0:
		return r.deployments[0].Spec.Template.Spec
	case len(r.statefulSets) == 1 && len(r.deployments) == 0:
		return r.statefulSets[0].Spec.Template.Spec
	}
	t.Fatalf("want one Deployment or one StatefulSet, got %d Deployments and %d StatefulSets", len(r.deployments), len(r.statefulSets))
	return corev1.PodSpec{}
}

func (r *rendered) container(t *testing.T) corev1.Container {
	t.Helper()
	spec := r.podSpec(t)
	if len(spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(spec.Containers))
	}
	return spec.Containers[0]
}

func (r *rendered) configMap(t *testing.T, name string) *corev1.ConfigMap {
	t.Helper()
	for _, cm := range r.configMaps {
		if cm.Name == name {
			return cm
		}
	}
	t.Fatalf("no ConfigMap %q", name)
	return nil
}

func repoPath(parts ...string) string {
	return filepath.Join(append([]string{repoRoot}, parts...)...)
}
