package collector

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// Poller polls Kafka in the background and publishes each poll's result as
// an immutable Snapshot. Only its Run goroutine polls, so polls never
// overlap; scrapes read the last published snapshot and never wait.
type Poller struct {
	cfg    Config
	kafka  *kafka.Client
	health *Health

	snapshot atomic.Pointer[Snapshot]

	// Owned by the polling goroutine.
	aclState
	tracker       *lagcalc.Tracker
	shareTracker  *lagcalc.ShareTracker
	configs       map[string]TopicConfig
	configsReadAt time.Time
	records       recordCache
	// transactional holds the partitions seen to carry transactions.
	transactional map[kafka.TopicPartition]bool
	// findings tells the log what the polls found (findings.go).
	findings findingsLog
}

// NewPoller prepares a poller. It does not talk to Kafka until Run or
// PollOnce.
func NewPoller(cfg Config) (*Poller, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("no Kafka server given")
	}
	cfg = cfg.withDefaults()
	health := newHealth()
	return &Poller{
		cfg:    cfg,
		health: health,
		kafka: kafka.New(kafka.Config{
			Bootstrap: cfg.Servers, Sarama: cfg.Sarama, MaxInFlight: cfg.MaxInFlight,
			CountRequest: health.countRequest, RequestTimeout: cfg.RequestTimeout,
		}),
		tracker:      lagcalc.NewTracker(cfg.Lag),
		shareTracker: lagcalc.NewShareTracker(cfg.Lag),
		configs:      map[string]TopicConfig{},
		records:      recordCache{},

		transactional: map[kafka.TopicPartition]bool{},
	}, nil
}

// Snapshot returns the last published snapshot, nil before the first.
func (p *Poller) Snapshot() *Snapshot { return p.snapshot.Load() }

// Ready reports whether a poll has succeeded since lagwatch started: it
// published a snapshot and its core stages read what they asked for.
func (p *Poller) Ready() bool { return p.health.ready() }

// Health returns the poller's account of its polls.
func (p *Poller) Health() HealthReport { return p.health.Report() }

// StaleAfter is how long a snapshot's Kafka-derived series stay valid
// once polls stop succeeding.
func (p *Poller) StaleAfter() time.Duration { return p.cfg.StaleAfter }

// Now is the poller's clock.
func (p *Poller) Now() time.Time { return p.cfg.Now() }

// Close closes the connections to Kafka. Run closes them when it returns;
// Close is for pollers driven by PollOnce.
func (p *Poller) Close() { p.kafka.Close() }

// maxBackoffIntervals bounds how far polls of an unreachable cluster are
// spaced: at most this many poll intervals, so that a cluster coming back
// is seen within a few intervals.
const maxBackoffIntervals = 4

// Run polls every PollInterval until ctx is done. A poll that takes longer
// than the interval delays the next one, which starts right after it, and
// is counted as an overrun. While no broker answers at all, the wait
// doubles after each failed poll, up to maxBackoffIntervals.
func (p *Poller) Run(ctx context.Context) {
	defer p.kafka.Close()
	var (
		log    failureLog
		failed int // consecutive polls that published no snapshot
	)
	for {
		start := time.Now()
		previous := p.Snapshot()
		err := p.PollOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		log.record(p.cfg.Logger, err)
		if p.Snapshot() == previous {
			failed++
		} else {
			failed = 0
		}
		elapsed := time.Since(start)
		if elapsed > p.cfg.PollInterval {
			p.health.countOverrun()
		}
		wait := max(backoff(failed)*p.cfg.PollInterval-elapsed, 0)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// backoff is how many poll intervals to wait after failed consecutive
// polls that published nothing: 1, 2, 4, … up to maxBackoffIntervals.
func backoff(failed int) time.Duration {
	n := 1
	for i := 1; i < failed && n < maxBackoffIntervals; i++ {
		n *= 2
	}
	return time.Duration(n)
}

// PollOnce polls the cluster once and publishes the snapshot. It returns
// an error when any stage failed; a snapshot is still published unless
// the metadata could not be read at all.
func (p *Poller) PollOnce(ctx context.Context) error {
	started := p.cfg.Now()
	timer := time.Now()
	p.ensureAccess()
	ctx, cancel := context.WithTimeout(ctx, max(2*p.cfg.PollInterval, 30*time.Second))
	defer cancel()

	snap, errs := p.poll(ctx, started)
	for stage, err := range errs {
		p.cfg.Logger.Debug("poll stage failed", "stage", stage, "err", err)
	}
	if snap != nil {
		snap.Complete = len(errs) == 0
		p.snapshot.Store(snap)
		if errs[StageListGroups] == nil {
			p.findings.record(p.cfg.Logger, snap, p.cfg.Filters)
		}
	}
	p.health.pollDone(time.Since(timer), errs, snap != nil, started, snap != nil && snap.Complete)
	p.countAllowed(snap, started)
	p.access.logChanges(p.cfg.Logger, p.principal(), p.cfg.Servers[0], started, p.blind)
	p.health.recordStages(errs, p.stagesDone, p.accessReport(started), snap != nil && coreCurrent(errs))
	var all []error
	for _, stage := range Stages {
		if err := errs[stage]; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}
