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
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/demo"
	"github.com/lagwatch/lagwatch/exporter"
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
	fmt.Fprintf(w, "lagwatch demo: polling %s every %s (lag window %s)\n", strings.Join(cfg.Servers, ","), cfg.PollInterval, cfg.Lag.Window)
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
	poller, err := collector.NewPoller(cfg)
	if err != nil {
		return usageError{err}
	}
	mux, err := routes(poller, f, logger)
	if err != nil {
		return err
	}

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

// routes are lagwatch's HTTP endpoints: the metrics, health and readiness,
// the landing page and, when asked for, pprof.
func routes(poller *collector.Poller, f *flagValues, logger *slog.Logger) (*http.ServeMux, error) {
	// Go and process metrics; lagwatch's own come from the metric table.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	mux := http.NewServeMux()
	mux.Handle(f.telemetryPath, exporter.Handler(exporter.New(poller, f.exporterOpts), reg, logger))
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
			return nil, err
		}
		mux.Handle("/", landing)
	}
	return mux, nil
}
