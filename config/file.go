package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// clusterLabel is the label every series of a --config.file cluster
// carries, its value the cluster's name.
const clusterLabel = "cluster"

// configFile is --config.file: the clusters to poll.
type configFile struct {
	Clusters []yaml.Node `yaml:"clusters"`
}

// clusterConfig is one cluster of --config.file. Its fields mirror the
// single-cluster flags.
type clusterConfig struct {
	Name         string            `yaml:"name" json:"name"`
	Servers      []string          `yaml:"servers" json:"servers"`
	Labels       map[string]string `yaml:"labels" json:"-"`
	Version      string            `yaml:"version" json:"version"`
	TLS          tlsConfig         `yaml:"tls" json:"tls"`
	SASL         saslConfig        `yaml:"sasl" json:"sasl"`
	GroupFilter  *string           `yaml:"group_filter" json:"group_filter"`
	GroupExclude *string           `yaml:"group_exclude" json:"group_exclude"`
	TopicFilter  *string           `yaml:"topic_filter" json:"topic_filter"`
	TopicExclude *string           `yaml:"topic_exclude" json:"topic_exclude"`
	// GroupStallAfter is --group.stall-after for this cluster; its
	// entries come before the flag's.
	GroupStallAfter []groupStallAfterConfig `yaml:"group_stall_after" json:"group_stall_after"`
}

// groupStallAfterConfig is one --group.stall-after override in
// --config.file: the groups the regular expression (anchored) matches, and
// their stall floor.
type groupStallAfterConfig struct {
	Group      string `yaml:"group" json:"group"`
	StallAfter string `yaml:"stall_after" json:"stall_after"`
}

type tlsConfig struct {
	Enabled            bool   `yaml:"enabled" json:"enabled"`
	CAFile             string `yaml:"ca_file" json:"ca_file"`
	CertFile           string `yaml:"cert_file" json:"cert_file"`
	KeyFile            string `yaml:"key_file" json:"key_file"`
	ServerName         string `yaml:"server_name" json:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify" json:"insecure_skip_verify"`
}

type saslConfig struct {
	Enabled   bool   `yaml:"enabled" json:"enabled"`
	Mechanism string `yaml:"mechanism" json:"mechanism"`
	Username  string `yaml:"username" json:"username"`
	// Password inline is accepted, but a file or an environment variable
	// keeps it out of a file that is often committed or mounted widely.
	Password            string `yaml:"password" json:"-"`
	PasswordFile        string `yaml:"password_file" json:"password_file"`
	PasswordEnv         string `yaml:"password_env" json:"password_env"`
	saslMechanismConfig `yaml:",inline"`
}

// Cluster is one cluster ready to poll: the poller's configuration, the
// labels of its series, and a fingerprint of everything the poller
// depends on, so that a reload keeps the pollers of unchanged clusters.
type Cluster struct {
	// Name is the cluster's name in --config.file; "" for the single
	// cluster of the flags.
	Name        string
	Labels      []exporter.Label
	Config      collector.Config
	Fingerprint string
}

// Load reads --config.file and builds a Cluster per cluster on top of
// base, the settings the flags give every cluster (poll interval, lag
// window, shard, …). Its error is one line naming the file, the cluster
// and the field.
func Load(path string, base collector.Config) ([]Cluster, error) {
	specs, err := parseConfigFile(path, base)
	if err != nil {
		return nil, fmt.Errorf("--config.file %q: %w", path, err)
	}
	return specs, nil
}

func parseConfigFile(path string, base collector.Config) ([]Cluster, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	// The nodes first, for where each cluster starts; then the whole file
	// strictly (an unknown field is an error), whose errors name a line,
	// so the cluster holding that line can be named too.
	var nodes configFile
	if err := yaml.Unmarshal(data, &nodes); err != nil {
		return nil, oneLine(err)
	}
	var file struct {
		Clusters []clusterConfig `yaml:"clusters"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil && !errors.Is(err, io.EOF) {
		if i := clusterAtLine(nodes.Clusters, yamlErrorLine(err)); i >= 0 {
			var cc clusterConfig
			_ = nodes.Clusters[i].Decode(&cc) // for its name, if it has one
			return nil, fmt.Errorf("%s: %w", clusterWhere(cc.Name, i), oneLine(err))
		}
		return nil, oneLine(err)
	}
	if len(file.Clusters) == 0 {
		return nil, errors.New("clusters: no cluster listed")
	}
	if len(file.Clusters) > MaxClusters {
		return nil, fmt.Errorf("clusters: %d listed, more than %d", len(file.Clusters), MaxClusters)
	}
	var specs []Cluster
	for i := range file.Clusters {
		cc := &file.Clusters[i]
		where := clusterWhere(cc.Name, i)
		spec, err := cc.spec(base)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		for _, s := range specs {
			if s.Name == spec.Name {
				return nil, fmt.Errorf("%s: name: %q is the name of another cluster", where, spec.Name)
			}
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

// readConfigFile reads the file, refusing one larger than
// maxConfigFileBytes before reading it all: a file that size is a mistake
// (or an attack), and parsing it would hold up the start or the reload.
func readConfigFile(path string) ([]byte, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, errors.Unwrap(err) // the *PathError's path is the file, named already
	}
	defer file.Close()
	if info, err := file.Stat(); err == nil && info.Mode().IsRegular() && info.Size() > maxConfigFileBytes {
		return nil, fmt.Errorf("%d bytes, larger than %d", info.Size(), maxConfigFileBytes)
	}
	return readBounded(file, maxConfigFileBytes)
}

// clusterWhere names the i-th cluster in errors.
func clusterWhere(name string, i int) string {
	if name == "" {
		return fmt.Sprintf("clusters[%d]", i)
	}
	return fmt.Sprintf("cluster %q (clusters[%d])", shortened(name), i)
}

var lineOfError = regexp.MustCompile(`line (\d+):`)

// yamlErrorLine is the first line a YAML error names, 0 when none.
func yamlErrorLine(err error) int {
	m := lineOfError.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// clusterAtLine is the index of the cluster whose node holds line: the
// last one starting at or before it; -1 when none does.
func clusterAtLine(clusters []yaml.Node, line int) int {
	at := -1
	for i, c := range clusters {
		if line > 0 && c.Line <= line {
			at = i
		}
	}
	return at
}

var (
	yamlPrefix   = regexp.MustCompile(`^yaml: ((construct|unmarshal) errors:\s*)?`)
	unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)
)

// oneLine makes a YAML error one line: "line 4: unknown field passwd".
func oneLine(err error) error {
	msg := yamlPrefix.ReplaceAllString(strings.TrimSpace(err.Error()), "")
	msg = unknownField.ReplaceAllString(msg, "unknown field $1")
	return errors.New(strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", "; ")), " "))
}

var clusterName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// spec validates the cluster and builds its poller's configuration. Each
// error starts with the field at fault.
func (cc *clusterConfig) spec(base collector.Config) (Cluster, error) {
	if !clusterName.MatchString(cc.Name) {
		return Cluster{}, fmt.Errorf("name: %q must be letters, digits, '.', '_' or '-' (it is the %s label's value)", shortened(cc.Name), clusterLabel)
	}
	cfg := base
	cfg.Logger = base.Logger.With(clusterLabel, cc.Name)
	if len(cc.Servers) == 0 {
		return Cluster{}, errors.New("servers: no bootstrap server listed")
	}
	if len(cc.Servers) > MaxServersPerCluster {
		return Cluster{}, fmt.Errorf("servers: %d listed, more than %d", len(cc.Servers), MaxServersPerCluster)
	}
	cfg.Servers = nil
	for _, addr := range cc.Servers {
		if err := CheckServerAddr(addr); err != nil {
			return Cluster{}, fmt.Errorf("servers: %q %v", addr, err)
		}
		cfg.Servers = append(cfg.Servers, addr)
	}

	labels := []exporter.Label{{Name: clusterLabel, Value: cc.Name}}
	for _, name := range slices.Sorted(maps.Keys(cc.Labels)) {
		if name == clusterLabel {
			return Cluster{}, fmt.Errorf("labels: %q is set from the cluster's name", clusterLabel)
		}
		labels = append(labels, exporter.Label{Name: name, Value: cc.Labels[name]})
	}
	if err := exporter.CheckLabels(labels); err != nil {
		return Cluster{}, fmt.Errorf("labels: %v", err)
	}

	version := kafka.NewestVersion()
	if cc.Version != "" {
		v, err := kafka.ParseVersion(cc.Version)
		if err != nil {
			return Cluster{}, fmt.Errorf("version: %q is not a Kafka version lagwatch knows", cc.Version)
		}
		version = v
		LogVersionCap(cfg.Logger.With("cluster", cc.Name), "version", v)
	}
	sec, secrets, err := cc.security()
	if err != nil {
		return Cluster{}, err
	}
	if cfg.Kafka, err = kafka.NewClientConfig(version, sec); err != nil {
		return Cluster{}, fmt.Errorf("sasl: %v", err)
	}

	cfg.Filters = collector.Filters{Shard: base.Filters.Shard}
	for _, r := range []struct {
		field string
		expr  *string
		def   string
		dst   **regexp.Regexp
	}{
		{"group_filter", cc.GroupFilter, ".*", &cfg.Filters.GroupInclude},
		{"group_exclude", cc.GroupExclude, "^$", &cfg.Filters.GroupExclude},
		{"topic_filter", cc.TopicFilter, ".*", &cfg.Filters.TopicInclude},
		{"topic_exclude", cc.TopicExclude, "^$", &cfg.Filters.TopicExclude},
	} {
		expr := r.def
		if r.expr != nil {
			expr = *r.expr
		}
		re, err := collector.MatchAnywhere(expr)
		if err != nil {
			return Cluster{}, fmt.Errorf("%s: %v", r.field, err)
		}
		*r.dst = re
	}
	overrides := make([]lagcalc.GroupStallAfter, 0, len(cc.GroupStallAfter)+len(base.Lag.GroupStallAfter))
	for i, o := range cc.GroupStallAfter {
		gs, err := GroupStallAfter(o.Group, o.StallAfter, base.PollInterval)
		if err != nil {
			return Cluster{}, fmt.Errorf("group_stall_after[%d]: %v", i, err)
		}
		overrides = append(overrides, gs)
	}
	cfg.Lag.GroupStallAfter = append(overrides, base.Lag.GroupStallAfter...)
	return Cluster{Name: cc.Name, Labels: labels, Config: cfg, Fingerprint: cc.fingerprint(secrets)}, nil
}

// security builds the cluster's TLS and SASL settings with the checks of
// the --tls.* and --sasl.* flags, naming the file's fields. It also
// returns what was read from files and the environment (password, keys,
// certificates), for the fingerprint: a rotated secret restarts the
// cluster's poller on reload.
func (cc *clusterConfig) security() (kafka.Security, []byte, error) {
	s := Security{
		TLSEnabled: cc.TLS.Enabled, CAFile: cc.TLS.CAFile, CertFile: cc.TLS.CertFile, KeyFile: cc.TLS.KeyFile,
		ServerName: cc.TLS.ServerName, InsecureSkipVerify: cc.TLS.InsecureSkipVerify,
		SASLEnabled: cc.SASL.Enabled, Mechanism: cc.SASL.Mechanism, Username: cc.SASL.Username,
		Password: cc.SASL.Password, PasswordFile: cc.SASL.PasswordFile,
		Mech:            cc.SASL.mechanisms(),
		Field:           configField,
		PasswordSources: "sasl.password_file or sasl.password_env",
	}
	if s.Mechanism == "" {
		s.Mechanism = "plain"
	}
	if cc.SASL.PasswordEnv != "" {
		if !cc.SASL.Enabled {
			return kafka.Security{}, nil, errors.New("sasl.password_env is set but sasl.enabled is not")
		}
		if cc.SASL.Password != "" || cc.SASL.PasswordFile != "" {
			return kafka.Security{}, nil, errors.New("sasl.password_env is set together with sasl.password or sasl.password_file; give one")
		}
		s.Password = os.Getenv(cc.SASL.PasswordEnv)
		if s.Password == "" {
			return kafka.Security{}, nil, fmt.Errorf("sasl.password_env: the environment variable %s is empty or not set", cc.SASL.PasswordEnv)
		}
	}
	if cc.SASL.Password != "" && !cc.SASL.Enabled {
		return kafka.Security{}, nil, errors.New("sasl.password is set but sasl.enabled is not")
	}
	sec, err := s.Build()
	if err != nil {
		return sec, nil, err
	}
	var secrets bytes.Buffer
	if sec.SASL != nil {
		secrets.WriteString(sec.SASL.Password)
	}
	for _, path := range []string{cc.TLS.CAFile, cc.TLS.CertFile, cc.TLS.KeyFile, cc.SASL.OAuthBearerCAFile, cc.SASL.KeytabPath} {
		if path != "" {
			data, _ := os.ReadFile(path) // read once already by s.Build
			secrets.Write(data)
		}
	}
	return sec, secrets.Bytes(), nil
}

// configField names a flag's setting as --config.file's cluster field.
func configField(flag string) string {
	if flag == "tls.insecure-skip-tls-verify" {
		return "tls.insecure_skip_verify"
	}
	if f, ok := mechanismConfigFields[flag]; ok {
		return f
	}
	return strings.ReplaceAll(flag, "-", "_")
}

// fingerprint is a digest of what the cluster's poller depends on: every
// field but the labels (the exporter carries those), and the secrets read.
func (cc *clusterConfig) fingerprint(secrets []byte) string {
	h := sha256.New()
	_ = json.NewEncoder(h).Encode(cc)
	h.Write(secrets)
	return hex.EncodeToString(h.Sum(nil))
}
