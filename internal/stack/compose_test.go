package stack

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

// repoRoot is where docker-compose.yml lives, relative to this package.
const repoRoot = "../.."

// The services the rest of the stack refers to by name.
const (
	kafkaService        = "kafka"
	lagwatchService     = "lagwatch"
	demoService         = "demo"
	prometheusService   = "prometheus"
	alertmanagerService = "alertmanager"
	grafanaService      = "grafana"
)

// Default ports of the programs, used when the compose file sets none.
const (
	lagwatchDefaultPort     = "9308"
	prometheusDefaultPort   = "9090"
	alertmanagerDefaultPort = "9093"
)

func root(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// project loads docker-compose.yml as `docker compose` would. With
// consistency off the loader does not reject dangling references itself, so
// the tests below can report them in their own words.
func project(t *testing.T, consistency bool) *types.Project {
	t.Helper()
	dir := root(t)
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(dir, "docker-compose.yml")},
		cli.WithWorkingDirectory(dir),
		cli.WithName("lagwatch"),
		cli.WithConsistency(consistency),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %q", name)
	}
	return s
}

// flagValue returns the value of --name=value or --name value in a command.
func flagValue(cmd []string, name string) (string, bool) {
	for i, arg := range cmd {
		if v, ok := strings.CutPrefix(arg, "--"+name+"="); ok {
			return v, true
		}
		if arg == "--"+name && i+1 < len(cmd) {
			return cmd[i+1], true
		}
	}
	return "", false
}

// listenPort is the port of a program's --web.listen-address, or its default.
func listenPort(t *testing.T, s types.ServiceConfig, def string) string {
	t.Helper()
	addr, ok := flagValue(s.Command, "web.listen-address")
	if !ok {
		return def
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("service %s: --web.listen-address %q: %v", s.Name, addr, err)
	}
	return port
}

// hostFileMountedAt returns the host path bind-mounted at target in the
// service, following a directory mount that contains target.
func hostFileMountedAt(t *testing.T, s types.ServiceConfig, target string) string {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		if v.Target == target {
			return v.Source
		}
		if rel, err := filepath.Rel(v.Target, target); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.Join(v.Source, rel)
		}
	}
	t.Fatalf("service %s mounts nothing from the repository at %s", s.Name, target)
	return ""
}

func readYAML(t *testing.T, path string, out any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, out); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
}

func TestComposeFileLoads(t *testing.T) {
	p := project(t, true)
	for _, name := range []string{kafkaService, lagwatchService, demoService, prometheusService, alertmanagerService, grafanaService} {
		service(t, p, name)
	}
}

func TestBindMountedHostPathsExistInTheRepo(t *testing.T) {
	dir := root(t)
	for _, s := range project(t, false).Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			rel, err := filepath.Rel(dir, v.Source)
			if err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("service %s mounts %s from outside the repository", s.Name, v.Source)
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("service %s mounts %s, which does not exist: %v", s.Name, rel, err)
			}
		}
	}
}

func TestDependsOnNamesAService(t *testing.T) {
	p := project(t, false)
	for _, s := range p.Services {
		for dep := range s.DependsOn {
			if _, ok := p.Services[dep]; !ok {
				t.Errorf("service %s depends on %q, which is no service", s.Name, dep)
			}
		}
	}
}

func TestPublishedPortsDoNotCollide(t *testing.T) {
	owner := map[string]string{}
	for _, s := range project(t, false).Services {
		for _, port := range s.Ports {
			if port.Published == "" {
				continue
			}
			key := port.HostIP + ":" + port.Published + "/" + port.Protocol
			if prev, dup := owner[key]; dup {
				t.Errorf("services %s and %s both publish %s", prev, s.Name, key)
			}
			owner[key] = s.Name
		}
	}
}

// advertisedListeners returns the host:port addresses a Kafka service
// advertises to clients: a client bootstrapping from kafka:9092 is sent
// there, so the bootstrap address must be one of them.
func advertisedListeners(s types.ServiceConfig) []string {
	v := s.Environment["KAFKA_ADVERTISED_LISTENERS"]
	if v == nil {
		return nil
	}
	var addrs []string
	for _, l := range strings.Split(*v, ",") {
		if _, addr, ok := strings.Cut(strings.TrimSpace(l), "://"); ok {
			addrs = append(addrs, addr)
		}
	}
	return addrs
}

// kafkaServices are the services running a Kafka broker, by the addresses
// they advertise.
func kafkaServices(p *types.Project) map[string]string {
	byAddr := map[string]string{}
	for _, s := range p.Services {
		for _, addr := range advertisedListeners(s) {
			byAddr[addr] = s.Name
		}
	}
	return byAddr
}

// bootstrapsFrom checks that a client of the stack bootstraps from server
// through the in-network listener of a Kafka service it depends on, and
// returns that service.
func bootstrapsFrom(t *testing.T, p *types.Project, s types.ServiceConfig, server string) string {
	t.Helper()
	host, _, err := net.SplitHostPort(server)
	if err != nil {
		t.Errorf("service %s: server %q: %v", s.Name, server, err)
		return ""
	}
	kafka, ok := kafkaServices(p)[server]
	if !ok {
		t.Errorf("service %s bootstraps from %s, which no Kafka service advertises: clients would be sent elsewhere", s.Name, server)
		return ""
	}
	if host != kafka {
		t.Errorf("service %s bootstraps from %q, not from the %s service that advertises it", s.Name, host, kafka)
	}
	if _, ok := s.DependsOn[kafka]; !ok {
		t.Errorf("service %s does not depend on %s", s.Name, kafka)
	}
	return kafka
}

// clustersConfig is the part of lagwatch's --config.file the stack relies
// on; configfile_test.go loads the file with lagwatch's own loader.
type clustersConfig struct {
	Clusters []struct {
		Name    string   `yaml:"name"`
		Servers []string `yaml:"servers"`
	} `yaml:"clusters"`
}

// The demo workloads each run against one Kafka service; lagwatch watches
// every Kafka service of the stack through its --config.file, one cluster
// name each, so the dashboards' $cluster variable has a value per cluster.
func TestLagwatchWatchesEveryKafkaServiceAndEachDemoRunsAgainstOne(t *testing.T) {
	p := project(t, false)
	demos := 0
	for _, s := range p.Services {
		if len(s.Command) == 0 || s.Command[0] != "demo" {
			continue
		}
		demos++
		server, ok := flagValue(s.Command, "kafka.server")
		if !ok {
			t.Errorf("demo service %s has no --kafka.server", s.Name)
			continue
		}
		bootstrapsFrom(t, p, s, server)
	}
	if demos < 2 {
		t.Errorf("%d demo services, want one per Kafka cluster", demos)
	}

	lagwatch := service(t, p, lagwatchService)
	if _, ok := flagValue(lagwatch.Command, "kafka.server"); ok {
		t.Error("lagwatch has --kafka.server beside --config.file, which replaces it")
	}
	path, ok := flagValue(lagwatch.Command, "config.file")
	if !ok {
		t.Fatal("lagwatch has no --config.file listing the stack's clusters")
	}
	var cfg clustersConfig
	readYAML(t, hostFileMountedAt(t, lagwatch, path), &cfg)
	watched, names := map[string]bool{}, map[string]bool{}
	for _, c := range cfg.Clusters {
		if names[c.Name] {
			t.Errorf("cluster name %q twice", c.Name)
		}
		names[c.Name] = true
		for _, server := range c.Servers {
			watched[bootstrapsFrom(t, p, lagwatch, server)] = true
		}
	}
	kafkas := map[string]bool{}
	for _, name := range kafkaServices(p) {
		kafkas[name] = true
	}
	for name := range kafkas {
		if !watched[name] {
			t.Errorf("Kafka service %s is in no cluster of lagwatch's --config.file", name)
		}
	}
	if len(names) < 2 || len(kafkas) < 2 {
		t.Errorf("%d clusters for %d Kafka services: the stack shows two clusters", len(names), len(kafkas))
	}
}

// The lagwatch and demo services run the image the Dockerfile builds.
func TestLagwatchServicesAreBuiltFromTheDockerfile(t *testing.T) {
	p := project(t, false)
	for _, name := range []string{lagwatchService, demoService} {
		s := service(t, p, name)
		if s.Build == nil {
			t.Errorf("service %s is not built from the repository", name)
			continue
		}
		dockerfile := s.Build.Dockerfile
		if dockerfile == "" {
			dockerfile = "Dockerfile"
		}
		if _, err := os.Stat(filepath.Join(s.Build.Context, dockerfile)); err != nil {
			t.Errorf("service %s: %v", name, err)
		}
	}
	if cmd := service(t, p, demoService).Command; len(cmd) == 0 || cmd[0] != "demo" {
		t.Errorf("demo service command %v does not start with the demo subcommand", cmd)
	}
}

func TestDockerfileBuildsTheMainPackageIntoTheRuntimeImage(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// Join continuation lines so that the go build command reads as one.
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	if n := len(regexp.MustCompile(`(?mi)^FROM\s`).FindAllString(text, -1)); n < 2 {
		t.Errorf("Dockerfile has %d stages, want a build stage and a runtime stage", n)
	}
	build := regexp.MustCompile(`(?m)^RUN .*go build .*-o (\S+) (\S+)\s*$`).FindStringSubmatch(text)
	if build == nil {
		t.Fatal("Dockerfile has no `go build ... -o BINARY PACKAGE` step")
	}
	binary, pkg := build[1], build[2]
	files, _ := filepath.Glob(filepath.Join(root(t), pkg, "*.go"))
	isMain := false
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err == nil && regexp.MustCompile(`(?m)^package main\b`).Match(src) && !strings.HasSuffix(f, "_test.go") {
			isMain = true
		}
	}
	if !isMain {
		t.Errorf("the Dockerfile builds %q, which holds no package main", pkg)
	}
	if !regexp.MustCompile(`(?m)^COPY --from=\S+ ` + regexp.QuoteMeta(binary) + ` `).MatchString(text) {
		t.Errorf("the runtime stage does not copy the built binary %s", binary)
	}
	if !regexp.MustCompile(`(?m)^EXPOSE ` + lagwatchDefaultPort + `\b`).MatchString(text) {
		t.Errorf("the Dockerfile does not EXPOSE lagwatch's port %s", lagwatchDefaultPort)
	}
	if !regexp.MustCompile(`(?m)^ENTRYPOINT \[".*lagwatch"\]`).MatchString(text) {
		t.Error("the Dockerfile's ENTRYPOINT does not run lagwatch")
	}
}

type prometheusConfig struct {
	RuleFiles []string `yaml:"rule_files"`
	Alerting  struct {
		Alertmanagers []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"alertmanagers"`
	} `yaml:"alerting"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// prometheusConfigFile is the host file the prometheus service reads as
// its --config.file.
func prometheusConfigFile(t *testing.T, p *types.Project) string {
	t.Helper()
	prom := service(t, p, prometheusService)
	target, ok := flagValue(prom.Command, "config.file")
	if !ok {
		target = "/etc/prometheus/prometheus.yml"
	}
	return hostFileMountedAt(t, prom, target)
}

func TestPrometheusScrapesTheLagwatchServiceAndAlertsTheAlertmanager(t *testing.T) {
	p := project(t, false)
	var cfg prometheusConfig
	readYAML(t, prometheusConfigFile(t, p), &cfg)

	want := lagwatchService + ":" + listenPort(t, service(t, p, lagwatchService), lagwatchDefaultPort)
	var lagwatchTargets []string
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName != "lagwatch" {
			continue
		}
		for _, st := range sc.StaticConfigs {
			lagwatchTargets = append(lagwatchTargets, st.Targets...)
		}
	}
	if !slices.Equal(lagwatchTargets, []string{want}) {
		t.Errorf("job lagwatch scrapes %v, want [%s] (the lagwatch service and its listen port)", lagwatchTargets, want)
	}

	wantAM := alertmanagerService + ":" + listenPort(t, service(t, p, alertmanagerService), alertmanagerDefaultPort)
	var am []string
	for _, a := range cfg.Alerting.Alertmanagers {
		for _, st := range a.StaticConfigs {
			am = append(am, st.Targets...)
		}
	}
	if !slices.Equal(am, []string{wantAM}) {
		t.Errorf("Prometheus sends alerts to %v, want [%s]", am, wantAM)
	}
}

// The rule_files glob, seen through the prometheus service's mounts, must
// load exactly the rule files of alerts/ and none of their test cases.
func TestPrometheusLoadsEveryRuleFileOfAlerts(t *testing.T) {
	p := project(t, false)
	var cfg prometheusConfig
	readYAML(t, prometheusConfigFile(t, p), &cfg)
	prom := service(t, p, prometheusService)
	var loaded []string
	for _, pattern := range cfg.RuleFiles {
		hostPattern := hostFileMountedAt(t, prom, pattern)
		matches, err := filepath.Glob(hostPattern)
		if err != nil {
			t.Fatal(err)
		}
		loaded = append(loaded, matches...)
	}
	want, err := filepath.Glob(filepath.Join(root(t), "alerts", "*.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(loaded)
	if len(want) == 0 || !slices.Equal(loaded, want) {
		t.Errorf("Prometheus would load %v, want alerts/*.rules.yml: %v", loaded, want)
	}
}

func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH (%v): install Debian's %s package: make test does it", name, err, pkg)
	}
	return path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// promtool checks the configuration and, through it, the rule files. The
// container paths of rule_files do not exist here, so a copy points them
// at the host paths the service mounts.
func TestPromtoolAcceptsThePrometheusConfig(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	p := project(t, false)
	path := prometheusConfigFile(t, p)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg prometheusConfig
	readYAML(t, path, &cfg)
	text := string(data)
	for _, pattern := range cfg.RuleFiles {
		text = strings.ReplaceAll(text, pattern, hostFileMountedAt(t, service(t, p, prometheusService), pattern))
	}
	copyPath := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(copyPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := run(t, promtool, "check", "config", copyPath)
	if !strings.Contains(out, "rules found") {
		t.Errorf("promtool checked no rule file:\n%s", out)
	}
}

func TestAmtoolAcceptsTheAlertmanagerConfigAndRoutesBySeverity(t *testing.T) {
	amtool := tool(t, "amtool", "prometheus-alertmanager")
	p := project(t, false)
	am := service(t, p, alertmanagerService)
	target, ok := flagValue(am.Command, "config.file")
	if !ok {
		target = "/etc/alertmanager/alertmanager.yml"
	}
	path := hostFileMountedAt(t, am, target)
	run(t, amtool, "check-config", path)
	receivers := map[string]string{}
	for _, severity := range []string{"page", "warning", "info"} {
		out := run(t, amtool, "config", "routes", "test", "--config.file="+path, "severity="+severity)
		receivers[severity] = strings.TrimSpace(out)
	}
	if receivers["page"] == receivers["warning"] || receivers["page"] == receivers["info"] {
		t.Errorf("pages go to the same receiver as warnings or info: %v", receivers)
	}
}

type grafanaDatasources struct {
	Datasources []struct {
		Name      string `yaml:"name"`
		UID       string `yaml:"uid"`
		Type      string `yaml:"type"`
		URL       string `yaml:"url"`
		IsDefault bool   `yaml:"isDefault"`
	} `yaml:"datasources"`
}

type grafanaDashboardProviders struct {
	Providers []struct {
		Type    string `yaml:"type"`
		Options struct {
			Path string `yaml:"path"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

// Grafana's provisioning must give a default Prometheus data source at the
// prometheus service (the dashboards' ${DS_PROMETHEUS} resolves to the
// default) and load the repository's dashboards, and only them (not the
// Node files of dashboards/tablecheck).
func TestGrafanaProvisionsThePrometheusServiceAndTheDashboards(t *testing.T) {
	p := project(t, false)
	g := service(t, p, grafanaService)
	provisioning := hostFileMountedAt(t, g, "/etc/grafana/provisioning")

	files, _ := filepath.Glob(filepath.Join(provisioning, "datasources", "*.yml"))
	wantURL := "http://" + prometheusService + ":" + listenPort(t, service(t, p, prometheusService), prometheusDefaultPort)
	defaultProm := false
	for _, f := range files {
		var ds grafanaDatasources
		readYAML(t, f, &ds)
		for _, d := range ds.Datasources {
			if d.Type == "prometheus" && d.IsDefault {
				defaultProm = true
				if d.URL != wantURL {
					t.Errorf("%s: data source %s points at %s, want %s", filepath.Base(f), d.Name, d.URL, wantURL)
				}
			}
		}
	}
	if !defaultProm {
		t.Error("no provisioned default Prometheus data source: the dashboards' ${DS_PROMETHEUS} would resolve to nothing")
	}

	files, _ = filepath.Glob(filepath.Join(provisioning, "dashboards", "*.yml"))
	want, _ := filepath.Glob(filepath.Join(root(t), "dashboards", "*.json"))
	var loaded []string
	for _, f := range files {
		var dp grafanaDashboardProviders
		readYAML(t, f, &dp)
		for _, prov := range dp.Providers {
			if prov.Type == "file" {
				loaded = append(loaded, jsonFilesGrafanaFinds(t, g, prov.Options.Path)...)
			}
		}
	}
	slices.Sort(loaded)
	if !slices.Equal(loaded, want) {
		t.Errorf("Grafana's dashboard providers load %v, want exactly the dashboards %v", loaded, want)
	}
}

// jsonFilesGrafanaFinds returns the host paths of the .json files Grafana's
// file provider loads from folder in the service: it walks the folder and
// its subfolders (all but hidden ones) and reads every .json file as a
// dashboard, so a package.json mounted there would be loaded, and fail.
func jsonFilesGrafanaFinds(t *testing.T, s types.ServiceConfig, folder string) []string {
	t.Helper()
	var found []string
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		if rel, err := filepath.Rel(folder, v.Target); err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		info, err := os.Stat(v.Source)
		if err != nil {
			continue // TestBindMountedHostPathsExistInTheRepo reports it
		}
		if !info.IsDir() {
			if strings.HasSuffix(v.Target, ".json") {
				found = append(found, v.Source)
			}
			continue
		}
		_ = filepath.WalkDir(v.Source, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() && path != v.Source && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".json") {
				found = append(found, path)
			}
			return nil
		})
	}
	return found
}
