// Command lagwatch is a Kafka consumer-lag and partition-health exporter
// for Prometheus. It polls the cluster in the background and serves the
// last poll's snapshot on every scrape.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/config"
	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/fleet"
)

// Exit codes: 2 for bad flags or configuration, as kingpin and the
// Prometheus tools use; 1 for a failure at run time.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

func main() {
	stampVersionFromBuildInfo()
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
	flags.args = args
	if unknown := unknownFlags(app, args); len(unknown) > 0 {
		fmt.Fprintf(stderr, "lagwatch: error: unknown flag %s (see --help)\n", strings.Join(unknown, ", "))
		return exitUsage
	}
	args, err := boolFlagsWithValues(app, args)
	if err != nil {
		fmt.Fprintf(stderr, "lagwatch: error: %s\n", err)
		return exitUsage
	}
	command, err := app.Parse(args)
	if terminated >= 0 {
		// --help or --version printed what was asked.
		return terminated
	}
	if err != nil {
		fmt.Fprintf(stderr, "lagwatch: error: %s (see --help)\n", errorLine(err))
		return exitUsage
	}

	if err := flags.compat.applyBeforeLogging(flags); err != nil {
		fmt.Fprintf(stderr, "lagwatch: error: %s\n", err)
		return exitUsage
	}
	flags.log.Writer = stderr
	logger := promslog.New(&flags.log)
	cfg, err := flags.pollerConfig(command == "demo", logger)
	if err == nil {
		err = flags.compat.applyToConfig(flags, &cfg, logger)
		defer flags.compat.undo()
	}
	if err == nil && command == "demo" {
		err = flags.demo.check(flags)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lagwatch: error: %s\n", errorLine(err))
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
			fmt.Fprintf(stderr, "lagwatch: error: %s\n", errorLine(err))
			return exitUsage
		}
		logger.Error("lagwatch stopped", "err", err)
		return exitRuntime
	}
	return exitOK
}

// serve polls in the background and serves the metrics until ctx is done.
// With --config.file it polls each cluster of the file and reloads it on
// SIGHUP and POST /-/reload; otherwise the one cluster of the flags.
func serve(ctx context.Context, cfg collector.Config, f *flagValues, logger *slog.Logger) error {
	load := func() ([]config.Cluster, error) {
		return []config.Cluster{{Labels: f.constLabels, Config: cfg}}, nil
	}
	if f.configFile != "" {
		load = func() ([]config.Cluster, error) { return config.Load(f.configFile, cfg) }
	}
	listeners, err := listen(f.web)
	if err != nil {
		return usageError{err}
	}
	defer closeAll(listeners)
	probeListener, err := listenProbe(f.probeAddress)
	if err != nil {
		return usageError{err}
	}
	if probeListener != nil {
		defer probeListener.Close()
	}
	specs, err := loadUnlessDone(ctx, load)
	if ctx.Err() != nil {
		return nil // SIGTERM while loading
	}
	if err != nil {
		return usageError{err}
	}
	e := exporter.NewClusters(f.exporterOpts)
	pollCtx, stopPolling := context.WithCancel(ctx)
	clusters := fleet.New(pollCtx, e, logger)
	defer func() {
		// Requests to Kafka in flight are cut off when pollCtx ends, so
		// the polls stop at once; the bound is for what cannot be cut.
		stopPolling()
		waitAtMost(clusters.Wait, time.Second)
	}()
	if err := clusters.Apply(specs); err != nil {
		return usageError{err}
	}
	// SIGHUP reloads --config.file. Without one there is nothing to read
	// again, but the signal is still caught: its default action would kill
	// lagwatch, and `systemctl reload` (ExecReload=kill -HUP) sends it.
	reload := reloadWithoutConfigFile(logger)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if f.configFile != "" {
		e.SetConfigReload(exporter.ConfigReload{Successful: true, LastSuccess: time.Now()})
		reload = func() error { return clusters.Reload(load) }
	}
	mux, err := routes(e, clusters, reload, f, logger)
	if err != nil {
		return err
	}

	server := newHTTPServer(mux, headerTimeout)
	server.ErrorLog = httpErrorLog(logger)
	served := make(chan error, 2)
	go func() { served <- serveHTTP(server, listeners, f.web, logger) }()
	probeServer := newHTTPServer(probeRoutes(clusters), headerTimeout)
	probeServer.ErrorLog = server.ErrorLog
	if probeListener != nil {
		go func() { served <- probeServer.Serve(probeListener) }()
		defer probeServer.Close()
	}
	if f.configFile != "" {
		logger.Info("lagwatch started", "version", version.Info(), "config_file", f.configFile, "clusters", fleet.Summary(clusters.ClusterNames()), "poll_interval", cfg.PollInterval)
	} else {
		logger.Info("lagwatch started", "version", version.Info(), "kafka", strings.Join(cfg.Servers, ","), "poll_interval", cfg.PollInterval)
	}

	for {
		select {
		case err := <-served:
			return fmt.Errorf("serve HTTP: %w", err)
		case <-hup:
			// In the background, so that SIGTERM is honoured while the
			// file is read; reloads run one at a time.
			go func() { _ = reload() }() // logged; the previous clusters stay
		case <-ctx.Done():
			shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace-time.Second)
			defer cancel()
			return server.Shutdown(shutdownCtx)
		}
	}
}

// reloadWithoutConfigFile answers SIGHUP and /-/reload when lagwatch
// runs on flags alone: flags cannot be read again, so it logs that and
// changes nothing.
func reloadWithoutConfigFile(logger *slog.Logger) func() error {
	return func() error {
		logger.Info("reload asked (SIGHUP or /-/reload) but there is no --config.file to read again; nothing changed (flags are read only at start)")
		return errNothingToReload
	}
}

// errNothingToReload is a reload's answer without --config.file.
var errNothingToReload = errors.New("nothing to reload: lagwatch runs on its flags, with no --config.file")

// routes are lagwatch's HTTP endpoints: the metrics, health and readiness,
// the landing page, /-/reload and, when asked for, pprof.
func routes(e *exporter.Exporter, clusters *fleet.Fleet, reload func() error, f *flagValues, logger *slog.Logger) (*http.ServeMux, error) {
	// Go and process metrics; lagwatch's own come from the metric table.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	mux := http.NewServeMux()
	mux.Handle(f.telemetryPath, limitRequests(exporter.Handler(e, reg, logger), f.maxRequests))
	if f.enablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	healthy := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy.") }
	mux.HandleFunc("/-/healthy", healthy)
	// kafka_exporter's liveness path, which its chart probes.
	mux.HandleFunc("/healthz", healthy)
	// Ready once some cluster has been polled: one unreachable cluster of
	// several must not take the others' series out of service discovery.
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		ready, waiting := clusters.Ready()
		if !ready {
			http.Error(w, "Not ready: no poll of Kafka has succeeded yet.", http.StatusServiceUnavailable)
			return
		}
		if len(waiting) > 0 && waiting[0] != "" {
			fmt.Fprintf(w, "Ready. Not polled successfully yet: %s.\n", strings.Join(waiting, ", "))
			return
		}
		fmt.Fprintln(w, "Ready.")
	})
	{
		// Prometheus's convention: POST /-/reload, 200 once applied, 500
		// with the reason when the new configuration is refused.
		mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost && r.Method != http.MethodPut {
				w.Header().Set("Allow", "POST, PUT")
				http.Error(w, "Only POST or PUT requests allowed.", http.StatusMethodNotAllowed)
				return
			}
			err := reload()
			if errors.Is(err, errNothingToReload) {
				fmt.Fprintln(w, "Nothing to reload: lagwatch runs on its flags, with no --config.file; nothing changed.")
				return
			}
			if err != nil {
				http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
				return
			}
			fmt.Fprintln(w, "Reloaded.")
		})
	}
	if f.telemetryPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "lagwatch",
			Description: "Kafka consumer-lag and partition-health exporter",
			Version:     version.Info(),
			// The toolkit links the profiles unless told not to; they
			// answer only with --web.enable-pprof.
			Profiling: strconv.FormatBool(f.enablePprof),
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
