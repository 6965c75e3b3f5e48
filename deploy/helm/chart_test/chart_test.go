package charttest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// oneCluster is the least a user must set: where Kafka is.
var oneCluster = []string{"kafka.servers={kafka-0.kafka:9092,kafka-1.kafka:9092}"}

func TestChartDefaultsAloneFailNamingTheValueToSet(t *testing.T) {
	_, err := renderChart(nil)
	if err == nil || !strings.Contains(err.Error(), "set kafka.servers") {
		t.Fatalf("rendering with no Kafka given: want an error naming kafka.servers, got %v", err)
	}
}

func TestOneClusterRendersDeploymentServiceServiceMonitorRulesAndDashboards(t *testing.T) {
	r := mustRender(t, values(t, oneCluster...))
	counts := map[string]int{
		"Deployment":     len(r.deployments),
		"StatefulSet":    len(r.statefulSets),
		"Service":        len(r.services),
		"ServiceMonitor": len(r.serviceMonitors),
		"PrometheusRule": len(r.prometheusRules),
		"ConfigMap":      len(r.configMaps),
	}
	want := map[string]int{
		"Deployment": 1, "StatefulSet": 0, "Service": 1, "ServiceMonitor": 1, "PrometheusRule": 1,
		"ConfigMap": len(sourceFiles(t, "dashboards", "*.json")), // dashboards only: no config file
	}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("objects: got %v, want %v", counts, want)
	}
	d := r.deployments[0]
	if d.Name != "lagwatch" || d.Namespace != namespace {
		t.Errorf("Deployment is %s/%s, want %s/lagwatch", d.Namespace, d.Name, namespace)
	}
	if got := *d.Spec.Replicas; got != 1 {
		t.Errorf("replicas: got %d, want 1", got)
	}
	c := r.container(t)
	wantArgs := []string{
		"--web.listen-address=:9308",
		"--kafka.server=kafka-0.kafka:9092",
		"--kafka.server=kafka-1.kafka:9092",
	}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args:\n got %q\nwant %q", c.Args, wantArgs)
	}
	if c.Image != "ghcr.io/lagwatch/lagwatch:0.1.0" {
		t.Errorf("image %q: want the repository at the chart's appVersion", c.Image)
	}
	if len(c.Env) != 0 || len(c.VolumeMounts) != 0 {
		t.Errorf("one cluster without TLS or SASL needs no env or mounts, got %v %v", c.Env, c.VolumeMounts)
	}
}

func TestContainerIsProbedOnHealthyAndReady(t *testing.T) {
	c := mustRender(t, values(t, oneCluster...)).container(t)
	for name, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil {
			t.Fatalf("%s probe: want an HTTP GET, got %+v", name, probe)
		}
	}
	if got := c.LivenessProbe.HTTPGet.Path; got != "/-/healthy" {
		t.Errorf("liveness path %q, want /-/healthy", got)
	}
	if got := c.ReadinessProbe.HTTPGet.Path; got != "/-/ready" {
		t.Errorf("readiness path %q, want /-/ready", got)
	}
	for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if p := probe.HTTPGet.Port.String(); len(c.Ports) != 1 || p != c.Ports[0].Name {
			t.Errorf("probe port %q is not the container's port %v", p, c.Ports)
		}
	}
	if len(c.Ports) == 1 && c.Ports[0].ContainerPort != 9308 {
		t.Errorf("container port %d, want 9308 (--web.listen-address)", c.Ports[0].ContainerPort)
	}
}

// Behind basic auth or TLS (web.configSecret), kubelet's httpGet probes
// could present neither, so lagwatch serves /-/healthy and /-/ready alone
// on a port without them (--web.probe-address) and the probes use it; the
// metrics port keeps the web config, and the ServiceMonitor's endpoint
// takes the scrape's scheme and credentials.
func TestProbesKeepWorkingBehindTheWebConfigsBasicAuthAndTLS(t *testing.T) {
	r := mustRender(t, values(t, append(oneCluster,
		"web.configSecret=lagwatch-web",
		"serviceMonitor.endpoint.scheme=https",
		"serviceMonitor.endpoint.basicAuth.username.name=lagwatch-scrape",
		"serviceMonitor.endpoint.basicAuth.username.key=user",
		"serviceMonitor.endpoint.basicAuth.password.name=lagwatch-scrape",
		"serviceMonitor.endpoint.basicAuth.password.key=password",
	)...))
	c := r.container(t)
	for _, want := range []string{"--web.config.file=/etc/lagwatch/web/web.yml", "--web.probe-address=:9309", "--web.listen-address=:9308"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %v lack %s", c.Args, want)
		}
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["http"] != 9308 || ports["probe"] != 9309 {
		t.Errorf("container ports %v, want http 9308 and probe 9309", ports)
	}
	for name, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Port.String() != "probe" || probe.HTTPGet.Scheme == corev1.URISchemeHTTPS || len(probe.HTTPGet.HTTPHeaders) != 0 {
			t.Errorf("%s probe %+v: want a plain httpGet on the probe port", name, probe)
		}
	}
	var mounted bool
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/etc/lagwatch/web" && m.ReadOnly {
			mounted = true
		}
	}
	var secret bool
	for _, v := range r.podSpec(t).Volumes {
		if v.Secret != nil && v.Secret.SecretName == "lagwatch-web" {
			secret = true
		}
	}
	if !mounted || !secret {
		t.Errorf("the web config Secret is not mounted read-only at /etc/lagwatch/web (mounted %v, volume %v)", mounted, secret)
	}
	ep := r.serviceMonitors[0].Spec.Endpoints[0]
	if ep.Scheme == nil || string(*ep.Scheme) != "https" || ep.BasicAuth == nil || ep.BasicAuth.Username.Name != "lagwatch-scrape" || ep.Port != "http" {
		t.Errorf("ServiceMonitor endpoint %+v: want https with basic auth from lagwatch-scrape on the http port", ep)
	}

	// Without a web config the probes stay on the metrics port.
	plain := mustRender(t, values(t, oneCluster...)).container(t)
	if len(plain.Ports) != 1 || plain.LivenessProbe.HTTPGet.Port.String() != "http" || slices.ContainsFunc(plain.Args, func(a string) bool { return strings.HasPrefix(a, "--web.probe-address") }) {
		t.Errorf("without web.configSecret: ports %v, probe port %v, args %v", plain.Ports, plain.LivenessProbe.HTTPGet.Port.String(), plain.Args)
	}
}

func TestContainerRunsAsNonRootOnReadOnlyRootFilesystem(t *testing.T) {
	r := mustRender(t, values(t, oneCluster...))
	pod := r.podSpec(t)
	c := r.container(t)
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || sc == nil {
		t.Fatalf("pod and container need a securityContext: %+v %+v", psc, sc)
	}
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("runAsNonRoot is not set")
	}
	if psc.RunAsUser == nil || *psc.RunAsUser != nonrootUserID {
		t.Errorf("runAsUser %v, want %d (the image's nonroot user)", psc.RunAsUser, nonrootUserID)
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("seccompProfile %+v, want RuntimeDefault", psc.SeccompProfile)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not set")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("capabilities %+v, want drop [ALL]", sc.Capabilities)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("lagwatch needs no Kubernetes API token, but one is mounted")
	}
	dockerfile, err := os.ReadFile(repoPath("Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dockerfile), "distroless/static-debian12:nonroot") || !strings.Contains(string(dockerfile), "USER nonroot:nonroot") {
		t.Errorf("the Dockerfile no longer runs as distroless' nonroot (uid %d): update podSecurityContext", nonrootUserID)
	}
}

// The sizing rule of values.yaml and README.md: memory ~ 20 MiB + 2.7 KiB per
// group-partition, from 20 MiB idle and make bench's 281 MiB at 100,000; the
// request has 20% headroom over the rule for 30,000, the limit covers 80,000.
func TestResourcesFollowTheBenchSizingRule(t *testing.T) {
	c := mustRender(t, values(t, oneCluster...)).container(t)
	req, limit := c.Resources.Requests.Memory(), c.Resources.Limits.Memory()
	if req.IsZero() || limit.IsZero() {
		t.Fatalf("memory request %v and limit %v must both be set", req, limit)
	}
	perShard := func(groupPartitions int64) *resource.Quantity {
		return resource.NewQuantity(20<<20+groupPartitions*2765, resource.BinarySI)
	}
	withHeadroom := resource.NewQuantity(perShard(30_000).Value()*6/5, resource.BinarySI)
	if req.Cmp(*withHeadroom) < 0 {
		t.Errorf("memory request %v is below the rule's %v for 30,000 group-partitions plus 20%%", req, withHeadroom)
	}
	if limit.Cmp(*perShard(80_000)) < 0 {
		t.Errorf("memory limit %v is below the rule's %v for 80,000 group-partitions", limit, perShard(80_000))
	}
	if c.Resources.Requests.Cpu().IsZero() {
		t.Error("no CPU request")
	}
	if _, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		t.Error("a CPU limit throttles the bursts of polls and scrapes; the chart sets none")
	}
}

func TestFlagsFollowValues(t *testing.T) {
	r := mustRender(t, values(t, append(oneCluster,
		"kafka.labels.cluster=prod-eu",
		"kafka.labels.env=prod",
		"kafka.pollInterval=30s",
		"log.level=debug",
		"log.format=json",
		"lag.granularity=topic",
		`metric.exclude=kafka_consumergroup_(consume_rate|time_to_drain_seconds)`,
		"service.port=9400",
		"extraArgs={--group.exclude=^console-consumer-.*}",
	)...))
	c := r.container(t)
	want := []string{
		"--web.listen-address=:9400",
		"--kafka.server=kafka-0.kafka:9092",
		"--kafka.server=kafka-1.kafka:9092",
		"--kafka.labels=cluster=prod-eu,env=prod",
		"--kafka.poll-interval=30s",
		"--log.level=debug",
		"--log.format=json",
		"--lag.granularity=topic",
		"--metric.exclude=kafka_consumergroup_(consume_rate|time_to_drain_seconds)",
		"--group.exclude=^console-consumer-.*",
	}
	if !slices.Equal(c.Args, want) {
		t.Errorf("args:\n got %q\nwant %q", c.Args, want)
	}
	if c.Ports[0].ContainerPort != 9400 || r.services[0].Spec.Ports[0].Port != 9400 {
		t.Errorf("service.port=9400 must move the container port and the Service port: %v %v", c.Ports, r.services[0].Spec.Ports)
	}
}

func TestTLSAndSASLFilesComeFromExistingSecrets(t *testing.T) {
	r := mustRender(t, values(t, append(oneCluster,
		"tls.enabled=true",
		"tls.secretName=kafka-ca",
		"tls.certKey=tls.crt",
		"tls.keyKey=tls.key",
		"sasl.enabled=true",
		"sasl.mechanism=scram-sha256",
		"sasl.username=lagwatch",
		"sasl.passwordSecret.name=kafka-lagwatch",
		"sasl.passwordSecret.key=pw",
	)...))
	c := r.container(t)
	for _, arg := range []string{
		"--tls.enabled",
		"--tls.ca-file=/etc/lagwatch/tls/ca.crt",
		"--tls.cert-file=/etc/lagwatch/tls/tls.crt",
		"--tls.key-file=/etc/lagwatch/tls/tls.key",
		"--sasl.enabled",
		"--sasl.mechanism=scram-sha256",
		"--sasl.username=lagwatch",
		"--sasl.password-file=/etc/lagwatch/sasl/password",
	} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("missing %s in %q", arg, c.Args)
		}
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		if !m.ReadOnly {
			t.Errorf("mount %s is writable", m.Name)
		}
		mounts[m.Name] = m.MountPath
	}
	if mounts["tls"] != "/etc/lagwatch/tls" || mounts["sasl"] != "/etc/lagwatch/sasl" {
		t.Errorf("mounts %v: want tls at /etc/lagwatch/tls, sasl at /etc/lagwatch/sasl", mounts)
	}
	vols := map[string]*corev1.SecretVolumeSource{}
	for _, v := range r.podSpec(t).Volumes {
		vols[v.Name] = v.Secret
	}
	if vols["tls"] == nil || vols["tls"].SecretName != "kafka-ca" {
		t.Errorf("tls volume %+v: want Secret kafka-ca", vols["tls"])
	}
	sasl := vols["sasl"]
	if sasl == nil || sasl.SecretName != "kafka-lagwatch" || len(sasl.Items) != 1 || sasl.Items[0].Key != "pw" || sasl.Items[0].Path != "password" {
		t.Errorf("sasl volume %+v: want key pw of Secret kafka-lagwatch as file password", sasl)
	}
}

func TestSASLWithoutAnExistingSecretIsRefused(t *testing.T) {
	_, err := renderChart(values(t, append(oneCluster, "sasl.enabled=true", "sasl.username=lagwatch")...))
	if err == nil || !strings.Contains(err.Error(), "sasl.passwordSecret.name") {
		t.Fatalf("SASL without a password Secret: want an error naming sasl.passwordSecret.name, got %v", err)
	}
}

// The config of several clusters, as a user would write it in a values file.
const multiClusterValues = `
config:
  clusters:
    - name: prod-eu
      servers: [kafka-0.prod-eu:9093, kafka-1.prod-eu:9093]
      labels: {env: prod}
      tls: {enabled: true, ca_file: /etc/lagwatch/secrets/prod-eu/ca.crt}
      sasl:
        enabled: true
        mechanism: scram-sha512
        username: lagwatch
        password_file: /etc/lagwatch/secrets/prod-eu/password
      group_exclude: "^console-consumer-.*"
    - name: staging
      servers: [kafka.staging:9092]
      sasl:
        enabled: true
        mechanism: plain
        username: lagwatch
        password_env: STAGING_KAFKA_PASSWORD
secretMounts:
  - name: prod-eu
    secretName: prod-eu-kafka-credentials
env:
  - name: STAGING_KAFKA_PASSWORD
    valueFrom:
      secretKeyRef: {name: staging-kafka, key: password}
# Ignored in favour of the config file.
kafka:
  servers: [ignored:9092]
`

func TestManyClustersComeFromAMountedConfigFile(t *testing.T) {
	var vals map[string]any
	if err := yaml.Unmarshal([]byte(multiClusterValues), &vals); err != nil {
		t.Fatal(err)
	}
	r := mustRender(t, vals)
	c := r.container(t)
	want := []string{"--web.listen-address=:9308", "--config.file=" + configPath}
	if !slices.Equal(c.Args, want) {
		t.Errorf("args:\n got %q\nwant %q (no --kafka.server beside a config file)", c.Args, want)
	}

	cm := r.configMap(t, "lagwatch-config")
	var got, wantConfig map[string]any
	if err := yaml.UnmarshalStrict([]byte(cm.Data["config.yaml"]), &got); err != nil {
		t.Fatalf("config.yaml: %v\n%s", err, cm.Data["config.yaml"])
	}
	wantConfig = map[string]any{"clusters": vals["config"].(map[string]any)["clusters"]}
	if !reflect.DeepEqual(got, wantConfig) {
		t.Errorf("config.yaml differs from values' config:\n got %v\nwant %v", got, wantConfig)
	}

	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	if m := mounts["config"]; m.MountPath != filepath.Dir(configPath) || m.SubPath != "" || !m.ReadOnly {
		t.Errorf("config mount %+v: want the directory %s read-only, no subPath (kubelet updates the file in place)", m, filepath.Dir(configPath))
	}
	if m := mounts["secret-prod-eu"]; m.MountPath != "/etc/lagwatch/secrets/prod-eu" || !m.ReadOnly {
		t.Errorf("secret mount %+v: want /etc/lagwatch/secrets/prod-eu read-only", m)
	}
	if _, ok := mounts["tls"]; ok {
		t.Error("tls values are for one cluster by flags; the config file names its own files")
	}
	vols := map[string]corev1.Volume{}
	for _, v := range r.podSpec(t).Volumes {
		vols[v.Name] = v
	}
	if v := vols["config"]; v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
		t.Errorf("config volume %+v: want ConfigMap %s", v, cm.Name)
	}
	if v := vols["secret-prod-eu"]; v.Secret == nil || v.Secret.SecretName != "prod-eu-kafka-credentials" {
		t.Errorf("secret volume %+v: want Secret prod-eu-kafka-credentials", v)
	}
	if len(c.Env) != 1 || c.Env[0].ValueFrom == nil || c.Env[0].ValueFrom.SecretKeyRef == nil || c.Env[0].ValueFrom.SecretKeyRef.Name != "staging-kafka" {
		t.Errorf("env %+v: want STAGING_KAFKA_PASSWORD from Secret staging-kafka", c.Env)
	}
	if r.deployments[0].Spec.Template.Annotations["checksum/config"] == "" {
		t.Error("no checksum/config annotation: a changed config would not reach running pods")
	}
	if strings.Contains(r.manifest, "ignored:9092") {
		t.Error("kafka.servers leaked into a release that uses a config file")
	}
}

func TestShardedRendersStatefulSetWithPodNameAndShardCount(t *testing.T) {
	r := mustRender(t, values(t, append(oneCluster, "shards=3", "replicas=2")...))
	if len(r.deployments) != 0 || len(r.statefulSets) != 1 {
		t.Fatalf("want one StatefulSet and no Deployment, got %d and %d", len(r.statefulSets), len(r.deployments))
	}
	sts := r.statefulSets[0]
	if *sts.Spec.Replicas != 3 {
		t.Errorf("replicas %d: want one pod per shard, 3", *sts.Spec.Replicas)
	}
	if sts.Spec.ServiceName != r.services[0].Name {
		t.Errorf("serviceName %q, want the Service %q", sts.Spec.ServiceName, r.services[0].Name)
	}
	c := r.container(t)
	if !slices.Contains(c.Args, "--shard.count=3") {
		t.Errorf("args %q lack --shard.count=3", c.Args)
	}
	if slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--shard.index") }) {
		t.Errorf("args %q: the shard index comes from the pod name, not a flag shared by every pod", c.Args)
	}
	var podName *corev1.EnvVar
	for i := range c.Env {
		if c.Env[i].Name == "POD_NAME" {
			podName = &c.Env[i]
		}
	}
	if podName == nil || podName.ValueFrom == nil || podName.ValueFrom.FieldRef == nil || podName.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("POD_NAME %+v: want the downward API's metadata.name", podName)
	}
}

func TestUnshardedHasNoShardFlagsAndKeepsReplicas(t *testing.T) {
	r := mustRender(t, values(t, append(oneCluster, "replicas=2")...))
	c := r.container(t)
	if slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--shard.") }) {
		t.Errorf("args %q: no shard flags without shards > 1", c.Args)
	}
	if *r.deployments[0].Spec.Replicas != 2 {
		t.Errorf("replicas %d, want 2", *r.deployments[0].Spec.Replicas)
	}
}

func TestServiceMonitorSelectsTheServicePortAndSetsTheAlertsJob(t *testing.T) {
	for _, sets := range [][]string{oneCluster, append(oneCluster, "shards=3")} {
		r := mustRender(t, values(t, sets...))
		svc, sm := r.services[0], r.serviceMonitors[0]
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		if !sel.Matches(labels.Set(svc.Labels)) {
			t.Errorf("ServiceMonitor selector %v does not match Service labels %v", sm.Spec.Selector, svc.Labels)
		}
		if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{svc.Namespace}) {
			t.Errorf("ServiceMonitor looks in %v, the Service is in %s", sm.Spec.NamespaceSelector.MatchNames, svc.Namespace)
		}
		if len(sm.Spec.Endpoints) != 1 || len(svc.Spec.Ports) != 1 {
			t.Fatalf("want one endpoint and one Service port, got %d and %d", len(sm.Spec.Endpoints), len(svc.Spec.Ports))
		}
		ep := sm.Spec.Endpoints[0]
		if ep.Port != svc.Spec.Ports[0].Name || ep.Path != "/metrics" {
			t.Errorf("endpoint port %q path %q: want the Service's port %q and /metrics", ep.Port, ep.Path, svc.Spec.Ports[0].Name)
		}
		// The Service's selector must pick the pods, and its target port name
		// must be the container's.
		pod := r.podSpec(t)
		var tmplLabels map[string]string
		if len(r.deployments) == 1 {
			tmplLabels = r.deployments[0].Spec.Template.Labels
		} else {
			tmplLabels = r.statefulSets[0].Spec.Template.Labels
		}
		if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(tmplLabels)) {
			t.Errorf("Service selector %v does not match pod labels %v", svc.Spec.Selector, tmplLabels)
		}
		if tp := svc.Spec.Ports[0].TargetPort.String(); tp != pod.Containers[0].Ports[0].Name {
			t.Errorf("Service targetPort %q is not the container's port %q", tp, pod.Containers[0].Ports[0].Name)
		}
		if !svc.Spec.PublishNotReadyAddresses {
			t.Error("a pod that never polled is not ready; Prometheus must still scrape it for the exporter alerts")
		}
		// One job name whatever the release is called (the alerts need
		// none, see below).
		var job bool
		for _, rl := range ep.RelabelConfigs {
			if rl.TargetLabel == "job" && rl.Replacement != nil && *rl.Replacement == "lagwatch" && len(rl.SourceLabels) == 0 {
				job = true
			}
		}
		if !job {
			t.Errorf("relabelings %+v do not set job=\"lagwatch\"", ep.RelabelConfigs)
		}
	}
	// The bundled rules name no scrape job: they find lagwatch's targets by
	// lagwatch_build_info (lagwatch:target), so serviceMonitor.jobName may be
	// anything.
	rules, err := filepath.Glob(repoPath("alerts", "*.rules.yml"))
	if err != nil || len(rules) == 0 {
		t.Fatalf("alerts/*.rules.yml: %v (%d files)", err, len(rules))
	}
	for _, f := range rules {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := regexp.MustCompile(`\bjob\s*=~?\s*"`).Find(data); m != nil {
			t.Errorf("%s selects a scrape job (%s): the rules must work whatever the job is called", filepath.Base(f), m)
		}
	}
}

func TestPrometheusRuleHoldsEveryRuleOfAlerts(t *testing.T) {
	r := mustRender(t, values(t, oneCluster...))
	if len(r.prometheusRules) != 1 {
		t.Fatalf("want one PrometheusRule, got %d", len(r.prometheusRules))
	}
	got := r.prometheusRules[0].Spec.Groups
	// The rule files themselves, not the chart's copy: this is what promtool
	// tests and the demo stack's Prometheus loads.
	var want []monitoringv1.RuleGroup
	alertCount := 0
	for _, path := range sourceFiles(t, "alerts", "*.rules.yml") {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var file struct {
			Groups []monitoringv1.RuleGroup `json:"groups"`
		}
		if err := yaml.UnmarshalStrict(text, &file); err != nil {
			t.Fatalf("%s as monitoring/v1 rule groups: %v", path, err)
		}
		for _, g := range file.Groups {
			for _, rule := range g.Rules {
				if rule.Alert != "" {
					alertCount++
				}
			}
		}
		want = append(want, file.Groups...)
	}
	if alertCount == 0 {
		t.Fatal("no alert in alerts/*.rules.yml: the comparison below would prove nothing")
	}
	if d := ruleDifferences(got, want); len(d) > 0 {
		t.Errorf("the PrometheusRule differs from alerts/*.rules.yml (run make helm-sync):\n%s", strings.Join(d, "\n"))
	}
	t.Logf("%d groups, %d alerts", len(want), alertCount)
}

func TestDashboardsAreConfigMapsForTheGrafanaSidecar(t *testing.T) {
	r := mustRender(t, values(t, oneCluster...))
	for _, path := range sourceFiles(t, "dashboards", "*.json") {
		base := filepath.Base(path)
		cm := r.configMap(t, "lagwatch-dashboard-"+strings.TrimSuffix(base, ".json"))
		if cm.Labels["grafana_dashboard"] != "1" {
			t.Errorf("%s: labels %v lack grafana_dashboard: \"1\"", cm.Name, cm.Labels)
		}
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if cm.Data[base] != string(text) {
			t.Errorf("%s: data %s differs from %s (run make helm-sync)", cm.Name, base, path)
		}
		if !json.Valid([]byte(cm.Data[base])) {
			t.Errorf("%s: %s is not JSON", cm.Name, base)
		}
	}
}

func TestMonitoringObjectsCanBeTurnedOff(t *testing.T) {
	r := mustRender(t, values(t, append(oneCluster,
		"serviceMonitor.enabled=false", "prometheusRule.enabled=false", "dashboards.enabled=false")...))
	if n := len(r.serviceMonitors) + len(r.prometheusRules) + len(r.configMaps); n != 0 {
		t.Errorf("%d monitoring objects rendered with all turned off", n)
	}
	if len(r.deployments) != 1 || len(r.services) != 1 {
		t.Error("the Deployment and Service must stay")
	}
}

// No inline secret by default: nothing in the rendered output is a
// password, and the chart creates no Secret of its own.
func TestNoSecretIsRenderedByDefault(t *testing.T) {
	for _, sets := range [][]string{oneCluster, append(oneCluster, "shards=3")} {
		r := mustRender(t, values(t, sets...))
		if strings.Contains(r.manifest, "kind: Secret") || strings.Contains(strings.ToLower(r.manifest), "--sasl.password=") {
			t.Errorf("rendered output holds a Secret or an inline password")
		}
	}
}

func TestHelmLintPassesWithoutWarnings(t *testing.T) {
	for name, sets := range map[string][]string{
		"one cluster": oneCluster,
		"sharded":     append(oneCluster, "shards=3"),
	} {
		linter := lint.All(chartDir, values(t, sets...), namespace, false)
		for _, m := range linter.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("%s: %s", name, m)
			}
		}
	}
}

// sourceFiles lists the repository's own files of dir matching pattern, in
// the order Helm's .Files.Glob ranges them (by name).
func sourceFiles(t *testing.T, dir, pattern string) []string {
	t.Helper()
	paths, err := filepath.Glob(repoPath(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no %s in %s", pattern, repoPath(dir))
	}
	slices.Sort(paths)
	return paths
}

func TestValuesSchemaRefusesTyposAndBadValues(t *testing.T) {
	for _, set := range []string{
		"kafka.server=kafka:9092", // kafka.servers
		"shard=3",                 // shards
		"shards=0",
		"sasl.mechanism=scram",
		"lag.granularity=group",
		"serviceMonitor.enable=false",
	} {
		if _, err := renderChart(values(t, append(oneCluster, set)...)); err == nil || !strings.Contains(err.Error(), "schema") {
			t.Errorf("--set %s: want the values schema to refuse it, got %v", set, err)
		}
	}
}

func TestConfigChangeNeedNotRollThePods(t *testing.T) {
	var vals map[string]any
	if err := yaml.Unmarshal([]byte(multiClusterValues), &vals); err != nil {
		t.Fatal(err)
	}
	vals["rollOnConfigChange"] = false
	r := mustRender(t, vals)
	if _, ok := r.deployments[0].Spec.Template.Annotations["checksum/config"]; ok {
		t.Error("rollOnConfigChange=false still annotates the pods with the config's checksum")
	}
}

// ruleDifferences names each group and rule (alert or record) that is
// missing, extra, out of order or different in got.
func ruleDifferences(got, want []monitoringv1.RuleGroup) []string {
	var diffs []string
	gotGroups := map[string]monitoringv1.RuleGroup{}
	var gotNames, wantNames []string
	for _, g := range got {
		gotGroups[g.Name] = g
		gotNames = append(gotNames, g.Name)
	}
	for _, w := range want {
		wantNames = append(wantNames, w.Name)
		g, ok := gotGroups[w.Name]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("group %s: missing", w.Name))
			continue
		}
		if reflect.DeepEqual(g, w) {
			continue
		}
		ruleName := func(r monitoringv1.Rule) string { return r.Alert + r.Record }
		gotRules := map[string]monitoringv1.Rule{}
		for _, r := range g.Rules {
			gotRules[ruleName(r)] = r
		}
		before := len(diffs)
		seen := map[string]bool{}
		for _, r := range w.Rules {
			seen[ruleName(r)] = true
			if gr, ok := gotRules[ruleName(r)]; !ok {
				diffs = append(diffs, fmt.Sprintf("group %s: rule %s missing", w.Name, ruleName(r)))
			} else if !reflect.DeepEqual(gr, r) {
				diffs = append(diffs, fmt.Sprintf("group %s: rule %s differs", w.Name, ruleName(r)))
			}
		}
		for _, r := range g.Rules {
			if !seen[ruleName(r)] {
				diffs = append(diffs, fmt.Sprintf("group %s: rule %s is not in alerts/", w.Name, ruleName(r)))
			}
		}
		if len(diffs) == before {
			diffs = append(diffs, fmt.Sprintf("group %s: differs (fields or rule order)", w.Name))
		}
	}
	if !slices.Equal(gotNames, wantNames) {
		diffs = append(diffs, fmt.Sprintf("groups %v, want %v", gotNames, wantNames))
	}
	return diffs
}
