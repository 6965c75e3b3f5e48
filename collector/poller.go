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
	// publishedAt is when (Config.Now, in Unix nanoseconds) the last poll
	// that published a snapshot ended, and pollStarted when the poll in
	// progress started, 0 between polls: what Stale judges by.
	publishedAt, pollStarted atomic.Int64

	// Owned by the polling goroutine.
	aclState
	tracker       *lagcalc.Tracker
	shareTracker  *lagcalc.ShareTracker
	configs       map[string]TopicConfig
	configsReadAt time.Time
	records       recordCache
	// sight tells a listing without groups from one hiding them, and
	// committedTopics plans what each OffsetFetch asks for.
	sight           groupSight
	committedTopics *committedTopics
	// transactional holds the partitions seen to carry transactions.
	transactional map[kafka.TopicPartition]bool
	// findings tells the log what the polls found (findings.go).
	findings findingsLog
	// memory collects between polls and bounds a poll's memory (memory.go).
	memory memoryBound
}

// NewPoller prepares a poller, whole: it is the one constructor, used by
// the binary, the tests and the benchmarks alike, so that no caller
// meets a field only a first poll would have set. It does not talk to
// Kafka until Run or PollOnce.
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
			Bootstrap: cfg.Servers, Sarama: cfg.Kafka.Sarama(), MaxInFlight: cfg.MaxInFlight,
			CountRequest: health.countRequest, RequestTimeout: cfg.RequestTimeout, MaxRequestTimeout: cfg.MaxRequestTimeout,
		}),
		aclState:     aclState{access: newAccess()},
		tracker:      lagcalc.NewTracker(cfg.Lag),
		shareTracker: lagcalc.NewShareTracker(cfg.Lag),
		configs:      map[string]TopicConfig{},
		records:      recordCache{},

		transactional:   map[kafka.TopicPartition]bool{},
		committedTopics: newCommittedTopics(),
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

// Stale reports whether the last snapshot's Kafka-derived series are no
// longer to be served at now: Kafka stopped answering, not merely answered
// slowly. StaleAfter counts from the end of the last poll that published
// a snapshot (a slow poll's snapshot is not born stale), and a poll in
// progress that started within StaleAfter of it keeps the snapshot served
// until it ends: its requests are still within their deadlines, and the
// poll itself is bounded. A cluster that stops answering fails its polls
// within a request timeout, and then nothing holds the clock back.
func (p *Poller) Stale(now time.Time) bool {
	published := p.publishedAt.Load()
	if p.Snapshot() == nil || published == 0 {
		return true
	}
	if started := p.pollStarted.Load(); started != 0 && time.Duration(started-published) <= p.cfg.StaleAfter {
		return false
	}
	return now.Sub(time.Unix(0, published)) > p.cfg.StaleAfter
}

// Now is the poller's clock.
func (p *Poller) Now() time.Time { return p.cfg.Now() }

// Close closes the connections to Kafka. Run closes them when it returns;
// Close is for pollers driven by PollOnce.
func (p *Poller) Close() { p.kafka.Close() }

// Run polls every PollInterval until ctx is done. A poll that takes longer
// than the interval delays the next one, which starts right after it, and
// is counted as an overrun. A failed poll is followed by the next one a
// poll interval after it started, as a successful one is: there is no
// back-off beyond one interval, so lagwatch is current within one
// interval of a broker's return. An outage costs a few requests per
// interval (each bounded by half the interval) and is logged once.
func (p *Poller) Run(ctx context.Context) {
	defer p.kafka.Close()
	var log failureLog
	for {
		start := time.Now()
		err := p.PollOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		log.record(p.cfg.Logger, err)
		elapsed := time.Since(start)
		if elapsed > p.cfg.PollInterval {
			p.health.countOverrun()
		} else {
			p.memory.collectBetweenPolls()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(p.cfg.PollInterval-time.Since(start), 0)):
		}
	}
}

// PollOnce polls the cluster once and publishes the snapshot. It returns
// an error when any stage failed; a snapshot is still published unless
// the metadata could not be read at all.
func (p *Poller) PollOnce(ctx context.Context) error {
	started := p.cfg.Now()
	timer := time.Now()
	p.pollStarted.Store(started.UnixNano())
	defer p.pollStarted.Store(0)
	// A poll's requests run one stage after another, each within its own
	// deadline: the poll as a whole is bounded so that it ends, not to
	// cut off a cluster that answers slowly.
	ctx, cancel := context.WithTimeout(ctx, max(2*p.cfg.PollInterval, 30*time.Second, 2*p.cfg.MaxRequestTimeout))
	defer cancel()

	snap, errs := p.poll(ctx, started)
	for stage, err := range errs {
		p.cfg.Logger.Debug("poll stage failed", "stage", stage, "err", err)
	}
	if snap != nil {
		snap.Complete = len(errs) == 0
		p.snapshot.Store(snap)
		p.publishedAt.Store(p.cfg.Now().UnixNano())
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
