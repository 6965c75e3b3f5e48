package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/demo"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// check refuses what the demo cannot do: poll a config file's clusters,
// or write to a cluster of the user's without being told it may.
func (d *demoFlags) check(f *flagValues) error {
	if f.configFile != "" {
		return errors.New("--config.file is not for the demo, which polls its own cluster")
	}
	if f.serversSet && !d.writeToCluster {
		return fmt.Errorf("demo --kafka.server writes to %s: it would create %s. Add --demo.write-to-cluster to go ahead", strings.Join(f.servers, ","), demo.WhatItCreates())
	}
	return nil
}

// startDemo starts the embedded cluster unless --kafka.server was given,
// creates the demo's topics, and runs the demo workload and the status
// table in the background. It says what it is doing as it goes: a cold
// start takes a few seconds.
func startDemo(ctx context.Context, f *flagValues, cfg *collector.Config, stdout io.Writer, logger *slog.Logger) (stop func(), err error) {
	stopCluster := func() {}
	if f.serversSet {
		fmt.Fprintf(stdout, "lagwatch demo: writing to %s: %s.\n", strings.Join(cfg.Servers, ","), demo.WhatItCreates())
	} else {
		fmt.Fprint(stdout, "lagwatch demo: starting the embedded Kafka-protocol cluster... ")
		addrs, stopKfake, err := demo.StartCluster()
		if err != nil {
			fmt.Fprintln(stdout)
			return nil, err
		}
		cfg.Servers, stopCluster = addrs, stopKfake
		fmt.Fprintln(stdout, "up")
	}
	// The topics exist before lagwatch's first poll: a cluster without
	// topics looks to lagwatch like a principal allowed to see none.
	fmt.Fprint(stdout, "lagwatch demo: creating the demo topics... ")
	if err := demo.CreateTopics(ctx, cfg.Servers, logger.With("component", "demo")); err != nil {
		fmt.Fprintln(stdout)
		stopCluster()
		return nil, err
	}
	fmt.Fprintln(stdout, "done")

	workloadCtx, cancel := context.WithCancel(ctx)
	var running sync.WaitGroup
	running.Go(func() {
		if err := demo.Run(workloadCtx, cfg.Servers, logger.With("component", "demo")); err != nil {
			logger.Error("demo workload stopped", "err", err)
		}
	})
	base := demoBaseURL(f)
	printDemoBanner(stdout, f, cfg, base)
	if f.demo.statusTable {
		running.Go(func() { demo.StatusTable(workloadCtx, stdout, base+f.telemetryPath, demoTableEvery) })
	}
	return func() {
		cancel()
		running.Wait()
		stopCluster()
	}, nil
}

// demoBaseURL is where the demo's lagwatch answers on this machine.
func demoBaseURL(f *flagValues) string {
	host, port, _ := net.SplitHostPort((*f.web.WebListenAddresses)[0])
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func printDemoBanner(w io.Writer, f *flagValues, cfg *collector.Config, base string) {
	fmt.Fprintf(w, "lagwatch demo: polling %s every %s (lag window %s)\n", strings.Join(cfg.Servers, ","), cfg.PollInterval, cfg.Lag.Window)
	if shortened := demoShortenedSettings(f, cfg); shortened != "" {
		fmt.Fprintf(w, "  shortened for the demo: %s\n", shortened)
	}
	fmt.Fprintf(w, "  metrics:  %s%s\n", base, f.telemetryPath)
	fmt.Fprintf(w, "  try:      curl -s %s%s | grep 'kafka_consumergroup_partition_status{.*} 1'\n", base, f.telemetryPath)
	fmt.Fprintln(w, "scenarios (statuses appear within a few minutes):")
	for _, s := range demo.Scenarios() {
		fmt.Fprintf(w, "  %-22s %s\n", cmp.Or(s.Group, s.Name), s.Shows)
	}
	if f.demo.statusTable {
		fmt.Fprintf(w, "Every %s a table of the groups and their statuses follows (--no-demo.status-table: off).\n", demoTableEvery)
	}
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}

// demoShortenedSettings names the settings the demo shortened, with the
// defaults they replace; those the user set are left out.
func demoShortenedSettings(f *flagValues, cfg *collector.Config) string {
	var out []string
	for _, s := range []struct {
		set          bool
		flag         string
		value, usual time.Duration
	}{
		{f.pollSet, "--kafka.poll-interval", cfg.PollInterval, collector.DefaultPollInterval},
		{f.lagWindowSet, "--lag.window", cfg.Lag.Window, lagcalc.DefaultWindow},
		{f.stallAfterSet, "--lag.stall-after", cfg.Lag.StallAfter, lagcalc.DefaultStallAfter},
	} {
		if !s.set {
			out = append(out, fmt.Sprintf("%s=%s (default %s)", s.flag, s.value, s.usual))
		}
	}
	return strings.Join(out, ", ")
}
