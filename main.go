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
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/config"
	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/fleet"
	"github.com/lagwatch/lagwatch/server"
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

	if err := flags.compat.applyBeforeLogging(flags.args, flags.log.Level, flags.security); err != nil {
		fmt.Fprintf(stderr, "lagwatch: error: %s\n", err)
		return exitUsage
	}
	flags.log.Writer = stderr
	logger := promslog.New(&flags.log)
	cfg, err := flags.pollerConfig(command == "demo", logger)
	if err == nil {
		err = flags.compat.applyToConfig(flags.configFile, &cfg, logger)
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
	listeners, err := server.Listen(f.web)
	if err != nil {
		return usageError{err}
	}
	defer server.CloseAll(listeners)
	probeListener, err := server.ListenProbe(f.probeAddress)
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
	mux, err := server.Routes(e, clusters, reload, f.serverOptions(), logger)
	if err != nil {
		return err
	}

	httpServer := server.New(mux, server.HeaderTimeout)
	httpServer.ErrorLog = server.ErrorLog(logger)
	served := make(chan error, 2)
	go func() { served <- server.Serve(httpServer, listeners, f.web, logger) }()
	probeServer := server.New(server.ProbeRoutes(clusters), server.HeaderTimeout)
	probeServer.ErrorLog = httpServer.ErrorLog
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
			shutdownCtx, cancel := context.WithTimeout(context.Background(), server.ShutdownGrace-time.Second)
			defer cancel()
			return httpServer.Shutdown(shutdownCtx)
		}
	}
}

// reloadWithoutConfigFile answers SIGHUP and /-/reload when lagwatch
// runs on flags alone: flags cannot be read again, so it logs that and
// changes nothing.
func reloadWithoutConfigFile(logger *slog.Logger) func() error {
	return func() error {
		logger.Info("reload asked (SIGHUP or /-/reload) but there is no --config.file to read again; nothing changed (flags are read only at start)")
		return server.ErrNothingToReload
	}
}

// waitAtMost runs wait and returns when it does or after d.
func waitAtMost(wait func(), d time.Duration) {
	done := make(chan struct{})
	go func() {
		wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
	}
}
