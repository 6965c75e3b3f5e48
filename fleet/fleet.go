// Package fleet runs one poller per Kafka cluster and hands the exporter
// their snapshots; a reload keeps the pollers of the clusters whose
// settings did not change.
package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/config"
	"github.com/lagwatch/lagwatch/exporter"
)

// Fleet runs one poller per cluster and gives the exporter their
// snapshots. Each cluster has its own poll loop, schedule and health, so
// an unreachable cluster never blanks or delays another. A reload keeps
// the poller, and so the history, of every cluster whose settings did not
// change, starts the new clusters and stops the removed ones.
type Fleet struct {
	ctx      context.Context // the pollers run until it is done or their cluster is removed
	exporter *exporter.Exporter
	logger   *slog.Logger

	reloading sync.Mutex // one reload at a time, from loading the file to applying it
	mu        sync.Mutex
	running   map[string]*runningCluster
	order     []string // cluster names in the configuration's order
	polling   sync.WaitGroup
	// lastReload is when a configuration was last applied.
	lastReload time.Time
}

type runningCluster struct {
	spec   config.Cluster
	poller *collector.Poller
	stop   context.CancelFunc
}

// New is a fleet whose pollers run until ctx is done, exported by e.
func New(ctx context.Context, e *exporter.Exporter, logger *slog.Logger) *Fleet {
	return &Fleet{ctx: ctx, exporter: e, logger: logger, running: map[string]*runningCluster{}}
}

// Apply makes specs the clusters polled and exported. Nothing changes
// when a poller cannot be made.
func (f *Fleet) Apply(specs []config.Cluster) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	next := make(map[string]*runningCluster, len(specs))
	var fresh []*runningCluster
	for _, s := range specs {
		if rc, ok := f.running[s.Name]; ok && rc.spec.Fingerprint == s.Fingerprint {
			// Same poller settings: keep its history. Labels live in the
			// exporter and may have changed.
			next[s.Name] = &runningCluster{spec: s, poller: rc.poller, stop: rc.stop}
			continue
		}
		p, err := collector.NewPoller(s.Config)
		if err != nil {
			for _, rc := range fresh {
				rc.poller.Close()
			}
			if s.Name == "" {
				return err
			}
			return fmt.Errorf("cluster %q: %w", s.Name, err)
		}
		rc := &runningCluster{spec: s, poller: p}
		next[s.Name] = rc
		fresh = append(fresh, rc)
	}
	var stopped, started []string
	for name, rc := range f.running {
		if kept, ok := next[name]; !ok || kept.poller != rc.poller {
			rc.stop()
			stopped = append(stopped, name)
		}
	}
	for _, rc := range fresh {
		ctx, stop := context.WithCancel(f.ctx)
		rc.stop = stop
		f.polling.Go(func() { rc.poller.Run(ctx) })
		started = append(started, rc.spec.Name)
	}
	f.logChanges(stopped, started, next)
	f.running, f.order = next, nil
	clusters := make([]exporter.Cluster, 0, len(specs))
	for _, s := range specs {
		f.order = append(f.order, s.Name)
		clusters = append(clusters, exporter.Cluster{Source: next[s.Name].poller, Labels: s.Labels})
	}
	f.exporter.SetClusters(clusters)
	f.lastReload = time.Now()
	return nil
}

// maxClusterLines is how many clusters started or stopped at once get a
// log line each; more are summarised in one line, so that a file of many
// clusters does not flood the log at start or on reload.
const maxClusterLines = 10

// logChanges logs the clusters stopped and started by apply.
func (f *Fleet) logChanges(stopped, started []string, running map[string]*runningCluster) {
	stopped = slices.DeleteFunc(stopped, func(name string) bool { return name == "" })
	started = slices.DeleteFunc(started, func(name string) bool { return name == "" })
	slices.Sort(stopped)
	if len(stopped)+len(started) > maxClusterLines {
		f.logger.Info("clusters changed", "stopped", Summary(stopped), "started", Summary(started))
		return
	}
	for _, name := range stopped {
		f.logger.Info("stopped polling cluster", "cluster", name)
	}
	for _, name := range started {
		f.logger.Info("started polling cluster", "cluster", name, "kafka", strings.Join(running[name].spec.Config.Servers, ","))
	}
}

// Reload loads the configuration again and applies it. When it is
// invalid, the clusters stay as they are and the error is logged and
// returned.
func (f *Fleet) Reload(load func() ([]config.Cluster, error)) error {
	f.reloading.Lock()
	defer f.reloading.Unlock()
	specs, err := load()
	if err == nil {
		err = f.Apply(specs)
	}
	f.mu.Lock()
	status := exporter.ConfigReload{Successful: err == nil, LastSuccess: f.lastReload}
	f.mu.Unlock()
	f.exporter.SetConfigReload(status)
	if err != nil {
		f.logger.Error("reloading the configuration failed; the previous one stays in use", "err", err)
		return err
	}
	f.logger.Info("configuration reloaded", "clusters", Summary(f.ClusterNames()))
	return nil
}

// Ready reports whether some cluster has been polled, and names those
// that have not.
func (f *Fleet) Ready() (bool, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var waiting []string
	for _, name := range f.order {
		if !f.running[name].poller.Ready() {
			waiting = append(waiting, name)
		}
	}
	return len(waiting) < len(f.order), waiting
}

// ClusterNames are the clusters polled, in the configuration's order.
func (f *Fleet) ClusterNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.order)
}

// Wait returns once every poller has stopped: after f's context is done.
func (f *Fleet) Wait() { f.polling.Wait() }

// Summary is a short account of clusters for a log line: how many,
// and the first few names.
func Summary(names []string) string {
	const shown = 3
	if len(names) <= shown {
		return fmt.Sprintf("%d (%s)", len(names), strings.Join(names, ", "))
	}
	return fmt.Sprintf("%d (%s and %d more)", len(names), strings.Join(names[:shown], ", "), len(names)-shown)
}
