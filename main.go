// Command lagwatch is a Kafka consumer-lag and partition-health exporter
// for Prometheus. It polls the cluster in the background and serves the
// last poll's snapshot on every scrape.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/demo"
)

// Exit codes: 2 for bad flags or configuration, as kingpin and the
// Prometheus tools use; 1 for a failure at run time.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is bad input from the user: reported in one line, exit 2.
type usageError struct{ error }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app, flags := newApp(stdout, stderr)
	terminated := -1
	app.Terminate(func(code int) { terminated = code })
	command, err := app.Parse(args)
	if terminated >= 0 {
		// --help or --version printed what was asked.
		return terminated
	}
	if err != nil {
		fmt.Fprintf(stderr, "lagwatch: error: %s (see --help)\n", err)
		return exitUsage
	}

	logger := promslog.New(&flags.log)
	cfg, err := flags.pollerConfig(command == "demo", logger)
	if err != nil {
		fmt.Fprintf(stderr, "lagwatch: error: %s\n", err)
		return exitUsage
	}

	if command == "demo" {
		stopDemo, err := startDemo(ctx, flags, &cfg, stdout, logger)
		if err != nil {
			fmt.Fprintf(stderr, "lagwatch: error: start the demo: %s\n", err)
			return exitRuntime
		}
		defer stopDemo()
	}
	if err := serve(ctx, cfg, flags, logger); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "lagwatch: error: %s\n", err)
			return exitUsage
		}
		logger.Error("lagwatch stopped", "err", err)
		return exitRuntime
	}
	return exitOK
}

// flagValues are the parsed command line.
type flagValues struct {
	servers       []string
	serversSet    bool
	kafkaVersion  string
	pollInterval  time.Duration
	pollSet       bool
	staleAfter    time.Duration
	maxInFlight   int
	lagWindow     time.Duration
	lagWindowSet  bool
	configRefresh time.Duration
	groupFilter   string
	groupExclude  string
	topicFilter   string
	topicExclude  string
	deadLetter    string
	memberDetail  bool
	granularity   string
	metricExclude string
	exporterOpts  collector.ExporterOptions
	telemetryPath string
	enablePprof   bool
	security      *securityFlags
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

	app.Flag("kafka.server", "Address (host:port) of a Kafka broker to bootstrap from; repeat for several.").
		Default("localhost:9092").IsSetByUser(&f.serversSet).StringsVar(&f.servers)
	app.Flag("kafka.version", "Kafka protocol version to speak at most; lagwatch reads each broker's supported versions, so the default is safe for older brokers.").
		Default(sarama.MaxVersion.String()).StringVar(&f.kafkaVersion)
	app.Flag("kafka.poll-interval", "How often to poll the cluster. Scrapes serve the last poll and never wait for one.").
		Default("15s").IsSetByUser(&f.pollSet).SetValue(durationValue{"kafka.poll-interval", &f.pollInterval})
	app.Flag("kafka.stale-after", "How long to keep serving consumer-group series after polls stopped succeeding, and the part of a broker that fails a request as of its last answer (0: 4 poll intervals).").
		Default("0s").SetValue(durationValue{"kafka.stale-after", &f.staleAfter})
	app.Flag("kafka.max-in-flight-requests", "Kafka requests in flight at once across all brokers.").
		Default("16").IntVar(&f.maxInFlight)
	app.Flag("kafka.config-refresh-interval", "How often to read topic configs (retention, min.insync.replicas) again.").
		Default("5m").SetValue(durationValue{"kafka.config-refresh-interval", &f.configRefresh})
	app.Flag("lag.window", "History kept per partition for rates, lag trends and statuses; a partition is stalled when its committed offset did not move over this window.").
		Default("10m").IsSetByUser(&f.lagWindowSet).SetValue(durationValue{"lag.window", &f.lagWindow})
	app.Flag("group.filter", "Regular expression (anchored) of the consumer groups to poll.").Default(".*").StringVar(&f.groupFilter)
	app.Flag("group.exclude", "Regular expression (anchored) of the consumer groups not to poll.").Default("^$").StringVar(&f.groupExclude)
	app.Flag("group.member-detail", "Export kafka_consumergroup_member_assigned_partitions, one series per group member (high cardinality).").
		Default("false").BoolVar(&f.memberDetail)
	app.Flag("lag.granularity", "partition: consumer-group series per partition; topic: only per-topic sums and per-group series, for clusters where a series per group-partition costs too much.").
		Default("partition").StringVar(&f.granularity)
	app.Flag("metric.exclude", "Regular expression (anchored) of metric names not to export, e.g. 'kafka_consumergroup_(consume_rate|time_to_drain_seconds)'.").
		Default("").StringVar(&f.metricExclude)
	app.Flag("topic.filter", "Regular expression (anchored) of the topics to poll.").Default(".*").StringVar(&f.topicFilter)
	app.Flag("topic.exclude", "Regular expression (anchored) of the topics not to poll.").Default("^$").StringVar(&f.topicExclude)
	app.Flag("topic.dead-letter-regex", "Regular expression (anchored) of the names of dead-letter topics, marked by kafka_topic_dead_letter.").
		Default(`(?i).*(\.DLT|-dlq|\.dlq|_dlq|-dead-letter|\.deadletter)`).StringVar(&f.deadLetter)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&f.telemetryPath)
	app.Flag("web.enable-pprof", "Serve Go's runtime profiles of lagwatch itself under /debug/pprof/, behind the same --web.config.file as the metrics.").
		Default("false").BoolVar(&f.enablePprof)
	f.security = addSecurityFlags(app)
	f.web = kingpinflag.AddFlags(app, ":9308")
	f.log.Level, f.log.Format = promslog.NewLevel(), promslog.NewFormat()
	app.Flag(promslogflag.LevelFlagName, promslogflag.LevelFlagHelp).Default("info").
		SetValue(namedValue{promslogflag.LevelFlagName, f.log.Level})
	app.Flag(promslogflag.FormatFlagName, promslogflag.FormatFlagHelp).Default("logfmt").
		SetValue(namedValue{promslogflag.FormatFlagName, f.log.Format})
	return app, f
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

// pollerConfig validates the flags and builds the poller's configuration.
// In demo mode the poll interval and window default to values short
// enough for every scenario to show within a few minutes.
func (f *flagValues) pollerConfig(demoMode bool, logger *slog.Logger) (collector.Config, error) {
	cfg := collector.Config{Logger: logger}
	for _, s := range f.servers {
		for _, addr := range strings.Split(s, ",") {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return cfg, fmt.Errorf("--kafka.server %q is not host:port: %v", addr, err)
			}
			cfg.Servers = append(cfg.Servers, addr)
		}
	}
	kafkaVersion, err := parseKafkaVersion(f.kafkaVersion)
	if err != nil {
		return cfg, err
	}
	cfg.Sarama = collector.DefaultSaramaConfig()
	cfg.Sarama.Version = kafkaVersion
	if err := f.security.apply(cfg.Sarama); err != nil {
		return cfg, err
	}

	cfg.PollInterval, cfg.LagWindow = f.pollInterval, f.lagWindow
	if demoMode && !f.pollSet {
		cfg.PollInterval = 2 * time.Second
	}
	if demoMode && !f.lagWindowSet {
		cfg.LagWindow = time.Minute
	}
	for _, d := range []struct {
		name  string
		value time.Duration
		min   time.Duration
	}{
		{"--kafka.poll-interval", cfg.PollInterval, 100 * time.Millisecond},
		{"--lag.window", cfg.LagWindow, time.Second},
		{"--kafka.config-refresh-interval", f.configRefresh, time.Second},
		{"--kafka.stale-after", f.staleAfter, 0},
	} {
		if d.value < d.min {
			return cfg, fmt.Errorf("%s must be at least %s, got %s", d.name, d.min, d.value)
		}
	}
	if cfg.LagWindow < 2*cfg.PollInterval {
		return cfg, fmt.Errorf("--lag.window (%s) must span at least two polls (--kafka.poll-interval %s)", cfg.LagWindow, cfg.PollInterval)
	}
	cfg.ConfigRefresh, cfg.StaleAfter = f.configRefresh, f.staleAfter
	if f.maxInFlight < 1 {
		return cfg, fmt.Errorf("--kafka.max-in-flight-requests must be at least 1, got %d", f.maxInFlight)
	}
	cfg.MaxInFlight = f.maxInFlight

	for _, r := range []struct {
		flag, expr string
		dst        **regexp.Regexp
	}{
		{"--group.filter", f.groupFilter, &cfg.Filters.GroupInclude},
		{"--group.exclude", f.groupExclude, &cfg.Filters.GroupExclude},
		{"--topic.filter", f.topicFilter, &cfg.Filters.TopicInclude},
		{"--topic.exclude", f.topicExclude, &cfg.Filters.TopicExclude},
		{"--topic.dead-letter-regex", f.deadLetter, &cfg.DeadLetter},
	} {
		re, err := collector.Anchored(r.expr)
		if err != nil {
			return cfg, fmt.Errorf("%s: %v", r.flag, err)
		}
		*r.dst = re
	}

	if f.granularity != "partition" && f.granularity != "topic" {
		return cfg, fmt.Errorf("--lag.granularity %q must be partition or topic", f.granularity)
	}
	f.exporterOpts = collector.ExporterOptions{MemberDetail: f.memberDetail, TopicGranularity: f.granularity == "topic"}
	if f.metricExclude != "" {
		re, err := collector.Anchored(f.metricExclude)
		if err != nil {
			return cfg, fmt.Errorf("--metric.exclude: %v", err)
		}
		f.exporterOpts.Exclude = re
	}

	if !strings.HasPrefix(f.telemetryPath, "/") {
		return cfg, fmt.Errorf("--web.telemetry-path %q must start with /", f.telemetryPath)
	}
	for _, addr := range *f.web.WebListenAddresses {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return cfg, fmt.Errorf("--web.listen-address %q is not [host]:port: %v", addr, err)
		}
	}
	if path := *f.web.WebConfigFile; path != "" {
		if err := web.Validate(path); err != nil {
			return cfg, fmt.Errorf("--web.config.file %q: %v", path, err)
		}
	}
	return cfg, nil
}

// parseKafkaVersion accepts only versions sarama knows, so a typo fails
// at start-up rather than as protocol errors later.
func parseKafkaVersion(s string) (sarama.KafkaVersion, error) {
	v, err := sarama.ParseKafkaVersion(s)
	if err == nil {
		for _, known := range sarama.SupportedVersions {
			if known == v {
				return v, nil
			}
		}
	}
	return v, fmt.Errorf("--kafka.version %q is not a Kafka version lagwatch knows (oldest %s, newest %s)", s, sarama.MinVersion, sarama.MaxVersion)
}

// startDemo starts the embedded cluster unless --kafka.server was given,
// and runs the demo workload against the cluster in the background.
func startDemo(ctx context.Context, f *flagValues, cfg *collector.Config, stdout io.Writer, logger *slog.Logger) (stop func(), err error) {
	stopCluster := func() {}
	if !f.serversSet {
		addrs, stopKfake, err := demo.StartCluster()
		if err != nil {
			return nil, err
		}
		cfg.Servers, stopCluster = addrs, stopKfake
	}
	workloadCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := demo.Run(workloadCtx, cfg.Servers, logger.With("component", "demo")); err != nil {
			logger.Error("demo workload stopped", "err", err)
		}
	}()
	printDemoBanner(stdout, f, cfg)
	return func() {
		cancel()
		<-done
		stopCluster()
	}, nil
}

func printDemoBanner(w io.Writer, f *flagValues, cfg *collector.Config) {
	addr := (*f.web.WebListenAddresses)[0]
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	base := "http://" + net.JoinHostPort(host, port)
	fmt.Fprintf(w, "lagwatch demo: polling %s every %s (lag window %s)\n", strings.Join(cfg.Servers, ","), cfg.PollInterval, cfg.LagWindow)
	fmt.Fprintf(w, "  metrics:  %s%s\n", base, f.telemetryPath)
	fmt.Fprintf(w, "  try:      curl -s %s%s | grep 'kafka_consumergroup_partition_status{.*} 1'\n", base, f.telemetryPath)
	fmt.Fprintln(w, "scenarios (statuses appear within a few minutes):")
	for _, s := range demo.Scenarios() {
		fmt.Fprintf(w, "  %-22s %s\n", cmp.Or(s.Group, s.Name), s.Shows)
	}
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}

// serve polls in the background and serves the metrics until ctx is done.
func serve(ctx context.Context, cfg collector.Config, f *flagValues, logger *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		versioncollector.NewCollector("lagwatch"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	poller, err := collector.NewPoller(cfg, reg)
	if err != nil {
		return usageError{err}
	}
	exporter := collector.NewExporter(poller, f.exporterOpts)

	pollCtx, stopPolling := context.WithCancel(ctx)
	polling := make(chan struct{})
	go func() {
		defer close(polling)
		poller.Run(pollCtx)
	}()
	defer func() {
		stopPolling()
		<-polling
	}()

	mux := http.NewServeMux()
	mux.Handle(f.telemetryPath, collector.Handler(exporter, reg, logger))
	if f.enablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy.")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !poller.Ready() {
			http.Error(w, "Not ready: no poll of Kafka has succeeded yet.", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready.")
	})
	if f.telemetryPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "lagwatch",
			Description: "Kafka consumer-lag and partition-health exporter",
			Version:     version.Info(),
			Links: []web.LandingLinks{
				{Address: f.telemetryPath, Text: "Metrics"},
				{Address: "/-/healthy", Text: "Health"},
				{Address: "/-/ready", Text: "Readiness"},
			},
		})
		if err != nil {
			return err
		}
		mux.Handle("/", landing)
	}

	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- web.ListenAndServe(server, f.web, logger) }()
	logger.Info("lagwatch started", "version", version.Info(), "kafka", strings.Join(cfg.Servers, ","), "poll_interval", cfg.PollInterval)

	select {
	case err := <-served:
		return fmt.Errorf("serve HTTP: %w", err)
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return server.Shutdown(shutdownCtx)
	}
}
