package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/config"
	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
	"github.com/lagwatch/lagwatch/server"
)

// flagValues are the parsed command line.
type flagValues struct {
	servers          []string
	serversSet       bool
	kafkaVersion     string
	pollInterval     time.Duration
	pollSet          bool
	staleAfter       time.Duration
	maxInFlight      int
	requestTimeout   time.Duration
	lagWindow        time.Duration
	lagWindowSet     bool
	stallAfter       time.Duration
	stallAfterSet    bool
	allowedLagGrowth int64
	groupStallAfter  []string
	inactiveAfter    time.Duration
	configRefresh    time.Duration
	groupFilter      string
	groupExclude     string
	topicFilter      string
	topicExclude     string
	deadLetter       string
	memberDetail     bool
	granularity      string
	metricExclude    string
	kafkaLabels      string
	constLabels      []exporter.Label
	configFile       string
	shardCount       int
	shardIndex       int
	shardIndexSet    bool
	podName          string
	// args are the command line as given, to tell which flags were set.
	args          []string
	exporterOpts  exporter.Options
	telemetryPath string
	enablePprof   bool
	maxRequests   int
	probeAddress  string
	security      *config.Security
	compat        *kafkaExporterCompat
	demo          *demoFlags
	web           *web.FlagConfig
	log           promslog.Config
}

func newApp(stdout, stderr io.Writer) (*kingpin.Application, *flagValues) {
	f := &flagValues{}
	app := kingpin.New("lagwatch", "Kafka consumer-lag and partition-health exporter for Prometheus.")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.Version(version.Print("lagwatch"))
	app.HelpFlag.Short('h')

	app.Command("run", "Poll the Kafka cluster and serve metrics (the default).").Default()
	app.Command("demo", "Start an embedded Kafka-protocol cluster with a simulated workload (or run the workload against --kafka.server) and serve its metrics.")

	addKafkaFlags(app, f)
	addLagFlags(app, f)
	addSelectionFlags(app, f)
	addFleetFlags(app, f)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&f.telemetryPath)
	app.Flag("web.enable-pprof", "Serve Go's runtime profiles of lagwatch itself under /debug/pprof/, behind the same --web.config.file as the metrics.").
		Default("false").BoolVar(&f.enablePprof)
	app.Flag("web.probe-address", "Also serve /-/healthy and /-/ready, and nothing else, on this [host]:port without --web.config.file's TLS and basic auth, for probes that cannot present them (Kubernetes' httpGet probes). Off when empty.").
		Default("").StringVar(&f.probeAddress)
	app.Flag("web.max-requests", "Scrapes of the metrics served at once; more are answered 503 at once. 0 means no limit.").
		Default(strconv.Itoa(server.DefaultMaxRequests)).IntVar(&f.maxRequests)
	f.security = addSecurityFlags(app)
	f.web = kingpinflag.AddFlags(app, ":9308")
	f.log.Level, f.log.Format = promslog.NewLevel(), promslog.NewFormat()
	app.Flag(promslogflag.LevelFlagName, promslogflag.LevelFlagHelp).Default("info").
		SetValue(namedValue{promslogflag.LevelFlagName, f.log.Level})
	app.Flag(promslogflag.FormatFlagName, promslogflag.FormatFlagHelp).Default("logfmt").
		SetValue(namedValue{promslogflag.FormatFlagName, f.log.Format})
	f.demo = addDemoFlags(app)
	f.compat = addKafkaExporterFlags(app) // last: lagwatch's own flags take precedence
	return app, f
}

func addKafkaFlags(app *kingpin.Application, f *flagValues) {
	app.Flag("kafka.server", "Address (host:port) of a Kafka broker to bootstrap from; repeat for several.").
		Default("localhost:9092").IsSetByUser(&f.serversSet).StringsVar(&f.servers)
	app.Flag("kafka.version", "Kafka protocol version to speak at most; lagwatch reads each broker's supported versions, so the default is safe for older brokers.").
		Default(kafka.NewestVersion().String()).StringVar(&f.kafkaVersion)
	app.Flag("kafka.poll-interval", "How often to poll the cluster. Scrapes serve the last poll and never wait for one.").
		Default(collector.DefaultPollInterval.String()).IsSetByUser(&f.pollSet).SetValue(durationValue{"kafka.poll-interval", &f.pollInterval})
	app.Flag("kafka.stale-after", fmt.Sprintf("How long to keep serving consumer-group series after polls stopped succeeding (counted from the end of the last poll that published; a slow poll still running drops nothing), and the part of a broker that fails a request as of its last answer (0: %d poll intervals).", collector.DefaultStaleAfterPolls)).
		Default("0s").SetValue(durationValue{"kafka.stale-after", &f.staleAfter})
	app.Flag("kafka.request-timeout", "Longest a Kafka request may take. Small requests get half the poll interval (at least 1s); DescribeGroups, OffsetFetch and ListOffsets get more for each group or partition they carry, up to this.").
		Default(collector.DefaultMaxRequestTimeout.String()).SetValue(durationValue{"kafka.request-timeout", &f.requestTimeout})
	app.Flag("kafka.max-in-flight-requests", "Kafka requests in flight at once across all brokers.").
		Default(fmt.Sprint(kafka.DefaultMaxInFlight)).IntVar(&f.maxInFlight)
	app.Flag("kafka.config-refresh-interval", "How often to read topic configs (retention, min.insync.replicas) again.").
		Default(collector.DefaultConfigRefresh.String()).SetValue(durationValue{"kafka.config-refresh-interval", &f.configRefresh})
}

func addLagFlags(app *kingpin.Application, f *flagValues) {
	app.Flag("lag.window", "History kept per partition for rates and lag trends (lagging).").
		Default(lagcalc.DefaultWindow.String()).IsSetByUser(&f.lagWindowSet).SetValue(durationValue{"lag.window", &f.lagWindow})
	app.Flag("lag.stall-after", "The least time a committed offset must sit still while there is lag before the partition is stalled (the group has members) or stopped (it has none); the partition's learned commit cadence raises it (1.5 × the usual time between its commits, plus a poll).").
		Default(lagcalc.DefaultStallAfter.String()).IsSetByUser(&f.stallAfterSet).SetValue(durationValue{"lag.stall-after", &f.stallAfter})
	app.Flag("lag.allowed-growth", "Messages the lag may grow over --lag.window before a consumer that keeps committing is called lagging.").
		Default(fmt.Sprint(lagcalc.DefaultAllowedLagGrowth)).Int64Var(&f.allowedLagGrowth)
	app.Flag("lag.granularity", "partition: consumer-group series per partition; topic: only per-topic sums and per-group series, for clusters where a series per group-partition costs too much.").
		Default("partition").StringVar(&f.granularity)
	app.Flag("metric.exclude", "Regular expression (anchored) of metric names not to export, e.g. 'kafka_consumergroup_(consume_rate|time_to_drain_seconds)'; lagwatch's own, Go and process metrics included.").
		Default("").StringVar(&f.metricExclude)
}

func addSelectionFlags(app *kingpin.Application, f *flagValues) {
	app.Flag("group.filter", "Regular expression of the consumer groups to poll; as kafka_exporter's, it keeps a group when it matches anywhere in the name (anchor with ^ and $).").Default(".*").StringVar(&f.groupFilter)
	app.Flag("group.exclude", "Regular expression of the consumer groups not to poll; matches anywhere in the name, as kafka_exporter's.").Default("^$").StringVar(&f.groupExclude)
	app.Flag("group.stall-after", "REGEX=DURATION: for the consumer groups whose name the regular expression (anchored) matches, the least time a committed offset must sit still with lag before stalled or stopped, instead of --lag.stall-after (the learned commit cadence can still raise it), and judged from the first poll, without the cadence warm-up. Repeatable; the first that matches wins. E.g. 'nightly-.*=26h'.").
		PlaceHolder("REGEX=DURATION").StringsVar(&f.groupStallAfter)
	app.Flag("group.inactive-after", "How old the oldest unconsumed message of a memberless group that lagwatch never saw consume must be for the group to read inactive (offsets left behind; never pages) rather than stopped.").
		Default(lagcalc.DefaultInactiveAfter.String()).SetValue(durationValue{"group.inactive-after", &f.inactiveAfter})
	app.Flag("group.member-detail", "Export kafka_consumergroup_member_assigned_partitions, one series per group member (high cardinality).").
		Default("false").BoolVar(&f.memberDetail)
	app.Flag("topic.filter", "Regular expression of the topics to poll; as kafka_exporter's, it keeps a topic when it matches anywhere in the name (anchor with ^ and $).").Default(".*").StringVar(&f.topicFilter)
	app.Flag("topic.exclude", "Regular expression of the topics not to poll; matches anywhere in the name, as kafka_exporter's.").Default("^$").StringVar(&f.topicExclude)
	app.Flag("topic.dead-letter-regex", "Regular expression (anchored) of the names of dead-letter topics, marked by kafka_topic_dead_letter.").
		Default(`(?i).*(\.DLT|-dlq|\.dlq|_dlq|-dead-letter|\.deadletter)`).StringVar(&f.deadLetter)
}

// podNameEnv is where Kubernetes' downward API puts the pod's name for
// --shard.pod-name.
const podNameEnv = "POD_NAME"

func addFleetFlags(app *kingpin.Application, f *flagValues) {
	app.Flag("kafka.labels", "Constant labels on every series of the cluster, as kafka_exporter's flag: name=value,name2=value2 (e.g. cluster=prod-eu).").
		Default("").StringVar(&f.kafkaLabels)
	app.Flag("config.file", "YAML file listing the clusters to poll, each with its name, servers, TLS, SASL, filters and labels; replaces the single-cluster --kafka.*, --tls.*, --sasl.*, --group.* and --topic.* flags. Reloaded on SIGHUP and POST /-/reload.").
		Default("").StringVar(&f.configFile)
	app.Flag("shard.count", "Number of replicas that share the consumer groups: each group is polled and exported by one of them (a jump consistent hash of its name: changing this moves about 1/N of the groups); brokers, topics and partitions by shard 0.").
		Default("1").IntVar(&f.shardCount)
	app.Flag("shard.index", "This replica's shard, 0-based (default: the ordinal that ends --shard.pod-name).").
		IsSetByUser(&f.shardIndexSet).IntVar(&f.shardIndex)
	app.Flag("shard.pod-name", "Name of this replica's pod; with --shard.count above 1 and no --shard.index, its trailing ordinal is the shard (a StatefulSet's lagwatch-2 is shard 2).").
		Envar(podNameEnv).StringVar(&f.podName)
}

// durationValue is a duration flag whose parse error names the flag, which
// kingpin's own duration flags do not.
type durationValue struct {
	name string
	dst  *time.Duration
}

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("--%s %q is not a duration such as 15s or 10m", v.name, s)
	}
	*v.dst = d
	return nil
}

func (v durationValue) String() string { return v.dst.String() }

// parseGroupStallAfter parses one REGEX=DURATION of --group.stall-after
// (split at the last '=', which a duration never holds). The duration must
// span two polls, as --lag.stall-after must.
func parseGroupStallAfter(arg string, pollInterval time.Duration) (lagcalc.GroupStallAfter, error) {
	i := strings.LastIndex(arg, "=")
	if i < 0 {
		return lagcalc.GroupStallAfter{}, errors.New("want REGEX=DURATION, e.g. 'nightly-.*=26h'")
	}
	return config.GroupStallAfter(arg[:i], arg[i+1:], pollInterval)
}

// namedValue makes a flag value's parse error name the flag.
type namedValue struct {
	name string
	kingpin.Value
}

func (v namedValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		return fmt.Errorf("--%s: %v", v.name, err)
	}
	return nil
}

// pollerConfig validates the flags and builds the poller's configuration
// and the exporter's options.
func (f *flagValues) pollerConfig(demoMode bool, logger *slog.Logger) (collector.Config, error) {
	cfg := collector.Config{Logger: logger}
	for _, step := range []func(*collector.Config) error{
		f.kafkaConfig,
		func(cfg *collector.Config) error { return f.timing(cfg, demoMode) },
		f.selection,
		f.exporterOptions,
		f.sharding,
		f.fleetConfig,
		f.webConfig,
	} {
		if err := step(&cfg); err != nil {
			return cfg, err
		}
	}
	cfg.SkipRecordDating = !f.exporterOpts.NeedsRecordDating()
	return cfg, nil
}

// kafkaConfig sets where and how to connect.
func (f *flagValues) kafkaConfig(cfg *collector.Config) error {
	for _, s := range f.servers {
		for _, addr := range strings.Split(s, ",") {
			if err := config.CheckServerAddr(addr); err != nil {
				return fmt.Errorf("--kafka.server %q %v", addr, err)
			}
			cfg.Servers = append(cfg.Servers, addr)
		}
	}
	if len(cfg.Servers) > config.MaxServersPerCluster {
		return fmt.Errorf("--kafka.server lists %d servers, more than %d", len(cfg.Servers), config.MaxServersPerCluster)
	}
	kafkaVersion, err := kafka.ParseVersion(f.kafkaVersion)
	if err != nil {
		return err
	}
	if !kafkaVersion.IsNewest() && cfg.Logger != nil {
		config.LogVersionCap(cfg.Logger, "--kafka.version", kafkaVersion)
	}
	sec, err := f.security.Build()
	if err != nil {
		return err
	}
	if cfg.Kafka, err = kafka.NewClientConfig(kafkaVersion, sec); err != nil {
		return err
	}
	if f.maxInFlight < 1 {
		return fmt.Errorf("--kafka.max-in-flight-requests must be at least 1, got %d", f.maxInFlight)
	}
	cfg.MaxInFlight = f.maxInFlight
	if f.requestTimeout < 100*time.Millisecond {
		return fmt.Errorf("--kafka.request-timeout must be at least 100ms, got %s", f.requestTimeout)
	}
	cfg.MaxRequestTimeout = f.requestTimeout
	return nil
}

// timing sets the poll interval, the lag settings and how long answers
// stay valid.
func (f *flagValues) timing(cfg *collector.Config, demoMode bool) error {
	cfg.PollInterval = f.pollInterval
	cfg.Lag = lagcalc.Settings{Window: f.lagWindow, StallAfter: f.stallAfter, AllowedLagGrowth: f.allowedLagGrowth, InactiveAfter: f.inactiveAfter}
	if demoMode && !f.pollSet {
		cfg.PollInterval = demoPollInterval
	}
	if demoMode && !f.lagWindowSet {
		cfg.Lag.Window = demoLagWindow
	}
	if demoMode && !f.stallAfterSet {
		cfg.Lag.StallAfter = demoStallAfter
	}
	for _, d := range []struct {
		name  string
		value time.Duration
		min   time.Duration
	}{
		{"--kafka.poll-interval", cfg.PollInterval, 100 * time.Millisecond},
		{"--lag.window", cfg.Lag.Window, time.Second},
		{"--lag.stall-after", cfg.Lag.StallAfter, time.Second},
		{"--kafka.config-refresh-interval", f.configRefresh, time.Second},
		{"--kafka.stale-after", f.staleAfter, 0},
		{"--group.inactive-after", f.inactiveAfter, time.Minute},
	} {
		if d.value < d.min {
			return fmt.Errorf("%s must be at least %s, got %s", d.name, d.min, d.value)
		}
	}
	if cfg.Lag.Window < 2*cfg.PollInterval {
		return fmt.Errorf("--lag.window (%s) must span at least two polls (--kafka.poll-interval %s)", cfg.Lag.Window, cfg.PollInterval)
	}
	if cfg.Lag.StallAfter < 2*cfg.PollInterval {
		return fmt.Errorf("--lag.stall-after (%s) must span at least two polls (--kafka.poll-interval %s)", cfg.Lag.StallAfter, cfg.PollInterval)
	}
	for _, arg := range f.groupStallAfter {
		o, err := parseGroupStallAfter(arg, cfg.PollInterval)
		if err != nil {
			return fmt.Errorf("--group.stall-after %q: %v", arg, err)
		}
		cfg.Lag.GroupStallAfter = append(cfg.Lag.GroupStallAfter, o)
	}
	if f.allowedLagGrowth < 0 {
		return fmt.Errorf("--lag.allowed-growth must not be negative, got %d", f.allowedLagGrowth)
	}
	cfg.ConfigRefresh, cfg.StaleAfter = f.configRefresh, f.staleAfter
	return nil
}

// selection compiles the group and topic filters. Those four keep
// kafka_exporter's names and so its meaning: a match anywhere in the name.
func (f *flagValues) selection(cfg *collector.Config) error {
	for _, r := range []struct {
		flag, expr string
		compile    func(string) (*regexp.Regexp, error)
		dst        **regexp.Regexp
	}{
		{"--group.filter", f.groupFilter, collector.MatchAnywhere, &cfg.Filters.GroupInclude},
		{"--group.exclude", f.groupExclude, collector.MatchAnywhere, &cfg.Filters.GroupExclude},
		{"--topic.filter", f.topicFilter, collector.MatchAnywhere, &cfg.Filters.TopicInclude},
		{"--topic.exclude", f.topicExclude, collector.MatchAnywhere, &cfg.Filters.TopicExclude},
		{"--topic.dead-letter-regex", f.deadLetter, collector.Anchored, &cfg.DeadLetter},
	} {
		re, err := r.compile(r.expr)
		if err != nil {
			return fmt.Errorf("%s: %v", r.flag, err)
		}
		*r.dst = re
	}
	return nil
}

// exporterOptions sets what the exporter writes.
func (f *flagValues) exporterOptions(*collector.Config) error {
	if f.granularity != "partition" && f.granularity != "topic" {
		return fmt.Errorf("--lag.granularity %q must be partition or topic", f.granularity)
	}
	f.exporterOpts = exporter.Options{MemberDetail: f.memberDetail, TopicGranularity: f.granularity == "topic"}
	if f.metricExclude != "" {
		re, err := collector.Anchored(f.metricExclude)
		if err != nil {
			return fmt.Errorf("--metric.exclude: %v", err)
		}
		f.exporterOpts.Exclude = re
	}
	return nil
}

// podOrdinal is the number that ends a StatefulSet pod's name.
var podOrdinal = regexp.MustCompile(`-([0-9]+)$`)

// sharding sets which consumer groups this replica polls and whether it
// exports the cluster's brokers, topics and partitions.
func (f *flagValues) sharding(cfg *collector.Config) error {
	if f.shardCount < 1 {
		return fmt.Errorf("--shard.count must be at least 1, got %d", f.shardCount)
	}
	index := f.shardIndex
	switch {
	case f.shardIndexSet:
		if index < 0 || index >= f.shardCount {
			return fmt.Errorf("--shard.index %d is not between 0 and --shard.count-1 (%d)", index, f.shardCount-1)
		}
	case f.shardCount == 1:
		index = 0
	default:
		m := podOrdinal.FindStringSubmatch(f.podName)
		if m == nil {
			return fmt.Errorf("--shard.count=%d needs --shard.index, or a pod name ending in its ordinal (--shard.pod-name or $%s, e.g. lagwatch-2); got %q", f.shardCount, podNameEnv, f.podName)
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n >= f.shardCount {
			return fmt.Errorf("the ordinal of pod %q (--shard.pod-name or $%s) is not below --shard.count=%d", f.podName, podNameEnv, f.shardCount)
		}
		index = n
	}
	cfg.Filters.Shard = collector.Shard{Index: index, Count: f.shardCount}
	f.exporterOpts.Shard = cfg.Filters.Shard
	return nil
}

// singleClusterFlags describe one cluster; --config.file describes each of
// its clusters in their place.
var singleClusterFlags = []string{
	"kafka.server", "kafka.version", "kafka.labels",
	"tls.enabled", "tls.ca-file", "tls.cert-file", "tls.key-file", "tls.server-name", "tls.insecure-skip-tls-verify",
	"sasl.enabled", "sasl.mechanism", "sasl.username", "sasl.password", "sasl.password-file",
	"group.filter", "group.exclude", "topic.filter", "topic.exclude",
}

// fleetConfig parses --kafka.labels and checks that --config.file is not
// given together with a flag it replaces.
func (f *flagValues) fleetConfig(*collector.Config) error {
	if f.configFile != "" {
		for _, arg := range f.args {
			name, _, _ := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
			name = strings.TrimPrefix(name, "no-")
			if strings.HasPrefix(arg, "--") && slices.Contains(singleClusterFlags, name) {
				return fmt.Errorf("--%s is set together with --config.file, which gives each cluster's settings: move it into the file", name)
			}
		}
		return nil
	}
	labels, err := exporter.ParseLabels(f.kafkaLabels)
	if err != nil {
		return fmt.Errorf("--kafka.labels: %v", err)
	}
	f.constLabels = labels
	return nil
}

// webConfig validates the HTTP side's flags.
func (f *flagValues) webConfig(*collector.Config) error {
	if err := checkTelemetryPath(f.telemetryPath); err != nil {
		return fmt.Errorf("--web.telemetry-path %q %v", f.telemetryPath, err)
	}
	if f.maxRequests < 0 {
		return fmt.Errorf("--web.max-requests must not be negative (0 means no limit), got %d", f.maxRequests)
	}
	for _, addr := range *f.web.WebListenAddresses {
		if err := checkListenAddr(addr); err != nil {
			return fmt.Errorf("--web.listen-address %q %v", addr, err)
		}
	}
	if f.probeAddress != "" {
		if err := checkListenAddr(f.probeAddress); err != nil || strings.HasPrefix(f.probeAddress, "vsock://") {
			return fmt.Errorf("--web.probe-address %q %v", f.probeAddress, cmp.Or(err, errors.New("must be [host]:port")))
		}
	}
	if path := *f.web.WebConfigFile; path != "" {
		if err := web.Validate(path); err != nil {
			return fmt.Errorf("--web.config.file %q: %v", path, err)
		}
	}
	return server.CheckRoutes(f.serverOptions(), f.exporterOpts)
}

// serverOptions are the routes' settings from the --web.* flags.
func (f *flagValues) serverOptions() server.Options {
	return server.Options{TelemetryPath: f.telemetryPath, MaxRequests: f.maxRequests, EnablePprof: f.enablePprof}
}

// In demo mode the poll interval, window and stall time default to values
// short enough for every scenario to show within a few minutes.
const (
	demoPollInterval = 2 * time.Second
	demoLagWindow    = time.Minute
	demoStallAfter   = 20 * time.Second
	// demoTableEvery is how often the demo prints its status table.
	demoTableEvery = 15 * time.Second
)

// demoFlags are the flags of the demo command.
type demoFlags struct {
	statusTable    bool
	writeToCluster bool
}

func addDemoFlags(app *kingpin.Application) *demoFlags {
	d := &demoFlags{}
	app.Flag("demo.status-table", "In the demo, print a table of the groups and their statuses every 15 s (--no-demo.status-table: off).").
		Default("true").BoolVar(&d.statusTable)
	app.Flag("demo.write-to-cluster", "Let `lagwatch demo --kafka.server=…` create the demo's topics and groups on that cluster and write to them; without it the demo refuses.").
		Default("false").BoolVar(&d.writeToCluster)
	return d
}
