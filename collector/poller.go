package collector

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lagwatch/lagwatch/lagcalc"
)

// Config is what the poller needs to know; main builds it from the flags.
type Config struct {
	Servers []string
	Sarama  *sarama.Config
	Filters Filters
	// DeadLetter matches the names of dead-letter topics.
	DeadLetter *regexp.Regexp

	PollInterval time.Duration
	// LagWindow is the history lagcalc keeps for rates and statuses.
	LagWindow time.Duration
	// ConfigRefresh is how often topic configs are read again.
	ConfigRefresh time.Duration
	// StaleAfter is how long the last snapshot's consumer-group series
	// are served after polls stopped succeeding.
	StaleAfter time.Duration
	// MaxInFlight bounds the Kafka requests in flight at once.
	MaxInFlight int

	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests pass their own.
	Now func() time.Time
}

// Poll stages, the values of the stage label of lagwatch_poll_errors_total.
const (
	stageMetadata         = "metadata"
	stageListGroups       = "list_groups"
	stageDescribeGroups   = "describe_groups"
	stageCommittedOffsets = "committed_offsets"
	stageLogOffsets       = "log_offsets"
	stageTopicConfigs     = "topic_configs"
	stageRecordTimestamps = "record_timestamps"
)

var pollStages = []string{stageMetadata, stageListGroups, stageDescribeGroups, stageCommittedOffsets, stageLogOffsets, stageTopicConfigs, stageRecordTimestamps}

// Poller polls Kafka in the background and publishes each poll's result as
// an immutable Snapshot. Only its Run goroutine polls, so polls never
// overlap; scrapes read the last published snapshot and never wait.
type Poller struct {
	cfg     Config
	cluster *cluster
	self    *selfMetrics

	snapshot atomic.Pointer[Snapshot]

	// Owned by the polling goroutine.
	tracker       *lagcalc.Tracker
	configs       map[string]TopicConfig
	configsReadAt time.Time
	recordTimes   map[lagcalc.TopicPartitionOffset]time.Time
}

// NewPoller prepares a poller and registers its own metrics on reg. It does
// not talk to Kafka until Run or PollOnce.
func NewPoller(cfg Config, reg prometheus.Registerer) (*Poller, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("no Kafka server given")
	}
	if cfg.Sarama == nil {
		cfg.Sarama = DefaultSaramaConfig()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 15 * time.Second
	}
	if cfg.LagWindow <= 0 {
		cfg.LagWindow = 10 * time.Minute
	}
	if cfg.ConfigRefresh <= 0 {
		cfg.ConfigRefresh = 5 * time.Minute
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 4 * cfg.PollInterval
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 16
	}
	self := newSelfMetrics()
	if reg != nil {
		if err := self.register(reg); err != nil {
			return nil, err
		}
	}
	return &Poller{
		cfg:         cfg,
		cluster:     newCluster(cfg.Sarama, cfg.Servers, cfg.MaxInFlight, self.requests),
		self:        self,
		tracker:     lagcalc.NewTracker(cfg.LagWindow),
		configs:     map[string]TopicConfig{},
		recordTimes: map[lagcalc.TopicPartitionOffset]time.Time{},
	}, nil
}

// DefaultSaramaConfig is the client configuration lagwatch polls with.
func DefaultSaramaConfig() *sarama.Config {
	conf := sarama.NewConfig()
	conf.ClientID = "lagwatch"
	// Since v1.46 sarama reads each broker's supported API versions, so
	// asking for the newest is safe against older brokers, and the default
	// (2.8) cannot batch groups in one OffsetFetch.
	conf.Version = sarama.MaxVersion
	conf.Metadata.AllowAutoTopicCreation = false
	conf.Net.DialTimeout = 10 * time.Second
	conf.Net.ReadTimeout = 30 * time.Second
	conf.Net.WriteTimeout = 10 * time.Second
	return conf
}

// Snapshot returns the last published snapshot, nil before the first.
func (p *Poller) Snapshot() *Snapshot { return p.snapshot.Load() }

// Ready reports whether a snapshot has been published.
func (p *Poller) Ready() bool { return p.snapshot.Load() != nil }

// StaleAfter is how long a snapshot's consumer-group series stay valid.
func (p *Poller) StaleAfter() time.Duration { return p.cfg.StaleAfter }

// Now is the poller's clock.
func (p *Poller) Now() time.Time { return p.cfg.Now() }

// maxBackoffIntervals bounds how far polls of an unreachable cluster are
// spaced: at most this many poll intervals, so that a cluster coming back
// is seen within a few intervals.
const maxBackoffIntervals = 4

// Run polls every PollInterval until ctx is done. A poll that takes longer
// than the interval delays the next one, which starts right after it, and
// is counted in lagwatch_polls_overrun_total. While no broker answers at
// all, the wait doubles after each failed poll, up to maxBackoffIntervals.
// A failure is logged when it starts and when its cause changes, and the
// recovery once; the same failure repeated every poll is logged at debug.
func (p *Poller) Run(ctx context.Context) {
	defer p.cluster.close()
	var (
		lastLogged string
		failed     int // consecutive polls that published no snapshot
	)
	for {
		start := time.Now()
		previous := p.Snapshot()
		err := p.PollOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil && lastLogged != "":
			p.cfg.Logger.Info("poll succeeded again")
			lastLogged = ""
		case err != nil && err.Error() != lastLogged:
			p.cfg.Logger.Warn("poll failed", "err", err)
			lastLogged = err.Error()
		case err != nil:
			p.cfg.Logger.Debug("poll failed", "err", err)
		}
		backoff := 1
		if p.Snapshot() == previous {
			failed++
			for i := 1; i < failed && backoff < maxBackoffIntervals; i++ {
				backoff *= 2
			}
		} else {
			failed = 0
		}
		elapsed := time.Since(start)
		if elapsed > p.cfg.PollInterval {
			p.self.overruns.Inc()
		}
		wait := max(time.Duration(backoff)*p.cfg.PollInterval-elapsed, 0)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// PollOnce polls the cluster once and publishes the snapshot. It returns
// an error when any stage failed; a snapshot is still published unless
// the metadata could not be read at all.
func (p *Poller) PollOnce(ctx context.Context) error {
	started := p.cfg.Now()
	timer := time.Now()
	ctx, cancel := context.WithTimeout(ctx, max(2*p.cfg.PollInterval, 30*time.Second))
	defer cancel()

	snap, errs := p.poll(ctx, started)
	p.self.pollDuration.Observe(time.Since(timer).Seconds())
	for stage, err := range errs {
		p.self.pollErrors.WithLabelValues(stage).Inc()
		p.cfg.Logger.Debug("poll stage failed", "stage", stage, "err", err)
	}
	if snap != nil {
		snap.Complete = len(errs) == 0
		p.snapshot.Store(snap)
		p.self.lastSuccess.Set(float64(started.UnixNano()) / 1e9)
	}
	if snap != nil && snap.Complete {
		p.self.up.Set(1)
	} else {
		p.self.up.Set(0)
	}
	var all []error
	for _, stage := range pollStages {
		if err := errs[stage]; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// poll runs the stages and assembles the snapshot. Group offsets, log
// offsets and topic configs are read concurrently; each stage that fails
// leaves its part out and reports its error by stage.
func (p *Poller) poll(ctx context.Context, now time.Time) (*Snapshot, map[string]error) {
	errs := map[string]error{}
	md, err := p.cluster.metadata(ctx)
	if err != nil {
		errs[stageMetadata] = err
		return nil, errs
	}
	snap := &Snapshot{PolledAt: now, Brokers: brokersFromMetadata(md), Topics: topicsFromMetadata(md, p.cfg.Filters)}

	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		listed    []listedGroup
		described map[string]describedGroup
		committed map[string]map[lagcalc.TopicPartition]int64
		offsets   map[lagcalc.TopicPartition]logOffsets
	)
	fail := func(stage string, err error) {
		if err != nil {
			mu.Lock()
			errs[stage] = err
			mu.Unlock()
		}
	}
	wg.Add(3)
	go func() {
		defer wg.Done()
		listedNow, failedBrokers, err := p.cluster.listGroups(ctx, snap.Brokers, p.cfg.Filters)
		fail(stageListGroups, err)
		listed = append(listedNow, p.lastKnown(now).listedOn(failedBrokers, listedNow)...)
		// Describing and fetching offsets go to the same coordinators but
		// do not depend on each other.
		var inner sync.WaitGroup
		inner.Add(2)
		go func() {
			defer inner.Done()
			var err error
			described, err = p.cluster.describeGroups(ctx, listed)
			fail(stageDescribeGroups, err)
		}()
		go func() {
			defer inner.Done()
			var err error
			committed, err = p.cluster.committedOffsets(ctx, listed)
			fail(stageCommittedOffsets, err)
		}()
		inner.Wait()
	}()
	go func() {
		defer wg.Done()
		var err error
		offsets, err = p.cluster.fetchLogOffsets(ctx, snap.Topics)
		fail(stageLogOffsets, err)
	}()
	go func() {
		defer wg.Done()
		fail(stageTopicConfigs, p.refreshTopicConfigs(ctx, snap.Topics, now))
	}()
	wg.Wait()

	p.fillTopics(snap, offsets)
	p.fillGroups(snap, listed, described, committed)
	fail(stageRecordTimestamps, p.evaluate(ctx, snap, now))
	return snap, errs
}

// refreshTopicConfigs reads the configs of every topic when they are older
// than ConfigRefresh, and of topics seen for the first time otherwise.
func (p *Poller) refreshTopicConfigs(ctx context.Context, topics []Topic, now time.Time) error {
	refreshAll := now.Sub(p.configsReadAt) >= p.cfg.ConfigRefresh
	var names []string
	present := make(map[string]bool, len(topics))
	for _, t := range topics {
		present[t.Name] = true
		if _, known := p.configs[t.Name]; refreshAll || !known {
			names = append(names, t.Name)
		}
	}
	for name := range p.configs {
		if !present[name] {
			delete(p.configs, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	got, err := p.cluster.describeTopicConfigs(ctx, names)
	for name, cfg := range got {
		p.configs[name] = cfg
	}
	if refreshAll && err == nil {
		p.configsReadAt = now
	}
	return err
}

// lastKnown is what the last published snapshot knew, to stand in for
// parts of the cluster that fail to answer at poll time now.
func (p *Poller) lastKnown(now time.Time) *lastKnown {
	return newLastKnown(p.snapshot.Load(), now, p.cfg.StaleAfter)
}

func (p *Poller) fillTopics(snap *Snapshot, offsets map[lagcalc.TopicPartition]logOffsets) {
	last := p.lastKnown(snap.PolledAt)
	for ti := range snap.Topics {
		t := &snap.Topics[ti]
		t.Config = p.configs[t.Name]
		t.DeadLetter = p.cfg.DeadLetter != nil && p.cfg.DeadLetter.MatchString(t.Name)
		for pi := range t.Partitions {
			part := &t.Partitions[pi]
			tp := lagcalc.TopicPartition{Topic: t.Name, Partition: part.ID}
			if o, ok := offsets[tp]; ok {
				part.HasOffsets, part.LogStart, part.LogEnd, part.OffsetsAt = true, o.start, o.end, snap.PolledAt
			} else if known, ok := last.offsets(tp); ok {
				part.HasOffsets, part.LogStart, part.LogEnd, part.OffsetsAt = true, known.LogStart, known.LogEnd, known.OffsetsAt
			}
			if part.Offline() {
				snap.OfflinePartitions++
			}
			if part.UnderReplicated() {
				snap.UnderReplicatedPartitions++
			}
		}
	}
}

// fillGroups joins what ListGroups, DescribeGroups and OffsetFetch said of
// each group with the topics of this poll; where a coordinator failed, the
// last answer stands in while it is fresh (see lastKnown). Committed
// offsets on topics that no longer exist or that the filters drop are left
// out.
func (p *Poller) fillGroups(snap *Snapshot, listed []listedGroup, described map[string]describedGroup, committed map[string]map[lagcalc.TopicPartition]int64) {
	partitionCount := make(map[string]int, len(snap.Topics))
	for _, t := range snap.Topics {
		partitionCount[t.Name] = len(t.Partitions)
	}
	exists := func(tp lagcalc.TopicPartition) bool {
		return tp.Partition >= 0 && int(tp.Partition) < partitionCount[tp.Topic]
	}

	now := snap.PolledAt
	last := p.lastKnown(now)

	// Every group's partitions live in one array sized up front: a
	// snapshot is rebuilt every poll and two are alive while a poll runs,
	// so per-group slices grown by append would cost half again as much.
	total := 0
	for _, lg := range listed {
		if c, ok := committed[lg.name]; ok {
			total += len(c)
		} else if g := last.group(lg.name); g != nil {
			total += len(g.Partitions)
		}
		if d, ok := described[lg.name]; ok {
			for _, m := range d.members {
				total += len(m.Assigned)
			}
		}
	}
	all := make([]GroupPartition, 0, total)

	snap.Groups = make([]Group, 0, len(listed))
	for _, lg := range listed {
		g := Group{Name: lg.name, Coordinator: lg.coordinator, ProtocolType: lg.protocolType, State: lg.state, Protocol: protocolClassic, ListedAt: now}
		if !lg.listedAt.IsZero() {
			g.ListedAt = lg.listedAt
		}
		if lg.consumerProtocol {
			g.Protocol = protocolConsumer
		}
		d, isDescribed := described[lg.name]
		if isDescribed {
			g.Described, g.State, g.Members, g.DescribedAt = true, d.state, d.members, now
		} else if known, ok := last.description(lg.name); ok {
			g.Described, g.State, g.Members, g.DescribedAt = true, known.State, known.Members, known.DescribedAt
		}
		groupCommitted, fetched := committed[lg.name]
		if fetched {
			g.CommittedAt = now
		} else {
			groupCommitted, g.CommittedAt, fetched = last.committed(lg.name)
		}

		assigned := map[lagcalc.TopicPartition]bool{}
		for _, m := range g.Members {
			for _, tp := range m.Assigned {
				if exists(tp) {
					assigned[tp] = true
				}
			}
		}
		start := len(all)
		for tp, off := range groupCommitted {
			if exists(tp) {
				all = append(all, GroupPartition{Topic: tp.Topic, Partition: tp.Partition, Committed: off, Assigned: assigned[tp], Eval: &notEvaluated})
			}
		}
		// "Never committed" is known only from an OffsetFetch answer: a
		// failed one says nothing of the assigned partitions.
		for tp := range assigned {
			if _, ok := groupCommitted[tp]; !ok && fetched {
				all = append(all, GroupPartition{Topic: tp.Topic, Partition: tp.Partition, Committed: -1, Assigned: true, Eval: &notEvaluated})
			}
		}
		g.Partitions = all[start:len(all):len(all)]
		slices.SortFunc(g.Partitions, func(a, b GroupPartition) int {
			if c := strings.Compare(a.Topic, b.Topic); c != 0 {
				return c
			}
			return int(a.Partition - b.Partition)
		})
		if g.Described && g.tracksAssignment() {
			g.Topics, g.IdleMembers = assignmentSummary(g, d.subscribed, assigned, partitionCount)
		}
		snap.Groups = append(snap.Groups, g)
	}
}

// tracksAssignment reports whether lagwatch can read the group's partition
// assignment: consumer groups of either protocol can, Connect workers and
// other protocol types carry assignments in their own formats.
func (g Group) tracksAssignment() bool {
	return g.Protocol == protocolConsumer || g.ProtocolType == "consumer" || len(g.Members) == 0
}

// assignmentSummary counts, per topic the group consumes (it committed
// there or a member subscribed to it), the partitions some member is
// assigned and, while the group has members, those none is: orphaned
// partitions whose lag nobody works off. It also counts idle members,
// those assigned no partition.
func assignmentSummary(g Group, subscribed map[string]bool, assigned map[lagcalc.TopicPartition]bool, partitionCount map[string]int) ([]GroupTopic, int) {
	consumed := map[string]bool{}
	for _, gp := range g.Partitions {
		consumed[gp.Topic] = true
	}
	for t := range subscribed {
		if partitionCount[t] > 0 {
			consumed[t] = true
		}
	}
	perTopic := map[string]int{}
	for tp := range assigned {
		perTopic[tp.Topic]++
	}
	var topics []GroupTopic
	for t := range consumed {
		gt := GroupTopic{Topic: t, Assigned: perTopic[t]}
		if len(g.Members) > 0 {
			gt.Unassigned = partitionCount[t] - perTopic[t]
		}
		topics = append(topics, gt)
	}
	slices.SortFunc(topics, func(a, b GroupTopic) int { return strings.Compare(a.Topic, b.Topic) })
	idle := 0
	for _, m := range g.Members {
		if len(m.Assigned) == 0 {
			idle++
		}
	}
	return topics, idle
}

// evaluate hands the poll to lagcalc, reads from Kafka the timestamps of
// records lagcalc cannot date from its history (cached until the committed
// offset moves), and copies lagcalc's results into the snapshot.
func (p *Poller) evaluate(ctx context.Context, snap *Snapshot, now time.Time) error {
	partitions, groupPartitions := 0, 0
	for _, t := range snap.Topics {
		partitions += len(t.Partitions)
	}
	for _, g := range snap.Groups {
		groupPartitions += len(g.Partitions)
	}
	poll := lagcalc.Poll{
		Time:       now,
		Retention:  make(map[string]lagcalc.RetentionPolicy, len(snap.Topics)),
		Partitions: make([]lagcalc.PartitionOffsets, 0, partitions),
		Groups:     make([]lagcalc.GroupState, 0, len(snap.Groups)),
		Commits:    make([]lagcalc.Commit, 0, groupPartitions),
	}
	leaders := make(map[lagcalc.TopicPartition]int32, partitions)
	for _, t := range snap.Topics {
		if t.Config.Known {
			poll.Retention[t.Name] = lagcalc.RetentionPolicy{
				Delete:         strings.Contains(t.Config.CleanupPolicy, "delete"),
				RetentionMs:    t.Config.RetentionMs,
				RetentionBytes: t.Config.RetentionBytes,
			}
		}
		for _, part := range t.Partitions {
			tp := lagcalc.TopicPartition{Topic: t.Name, Partition: part.ID}
			leaders[tp] = part.Leader
			if part.HasOffsets {
				poll.Partitions = append(poll.Partitions, lagcalc.PartitionOffsets{TopicPartition: tp, LogStart: part.LogStart, LogEnd: part.LogEnd})
			}
		}
	}
	for _, g := range snap.Groups {
		// A group not described has unknown members: left out, lagcalc
		// calls it neither stopped nor stalled.
		if g.Described {
			poll.Groups = append(poll.Groups, lagcalc.GroupState{Group: g.Name, HasMembers: len(g.Members) > 0})
		}
		for _, gp := range g.Partitions {
			// Commits whose partition's log offsets failed this poll are
			// passed anyway: lagcalc keeps their history and reports them
			// unknown instead of forgetting them.
			tp := lagcalc.TopicPartition{Topic: gp.Topic, Partition: gp.Partition}
			poll.Commits = append(poll.Commits, lagcalc.Commit{
				GroupPartition: lagcalc.GroupPartition{Group: g.Name, TopicPartition: tp},
				Committed:      gp.Committed,
			})
		}
	}
	p.tracker.Observe(poll)

	unresolved := p.tracker.UnresolvedOffsets()
	var missing []lagcalc.TopicPartitionOffset
	cached := make(map[lagcalc.TopicPartitionOffset]time.Time, len(unresolved))
	for _, o := range unresolved {
		if ts, ok := p.recordTimes[o]; ok {
			cached[o] = ts
		} else {
			missing = append(missing, o)
		}
	}
	var err error
	if len(missing) > 0 {
		var fetched map[lagcalc.TopicPartitionOffset]time.Time
		fetched, err = p.cluster.recordTimestamps(ctx, leaders, missing)
		for o, ts := range fetched {
			cached[o] = ts
		}
	}
	// Only offsets still unresolved stay cached: once a group's committed
	// offset moves, the old offset's timestamp is never asked for again.
	p.recordTimes = cached

	res := p.tracker.Evaluate(now, cached)
	applyResult(snap, res)
	return err
}

// applyResult copies lagcalc's numbers into the snapshot.
func applyResult(snap *Snapshot, res lagcalc.Result) {
	for ti := range snap.Topics {
		t := &snap.Topics[ti]
		for pi := range t.Partitions {
			part := &t.Partitions[pi]
			if pr, ok := res.Partition(lagcalc.TopicPartition{Topic: t.Name, Partition: part.ID}); ok {
				part.ProduceRate, part.HasProduceRate = pr.ProduceRate, pr.HasProduceRate
			}
		}
	}
	for gi := range snap.Groups {
		g := &snap.Groups[gi]
		if gr, ok := res.Group(g.Name); ok {
			g.Status, g.MaxLagSeconds = gr.Status, gr.MaxLagSeconds
		}
		for i := range g.Partitions {
			gp := &g.Partitions[i]
			key := lagcalc.GroupPartition{Group: g.Name, TopicPartition: lagcalc.TopicPartition{Topic: gp.Topic, Partition: gp.Partition}}
			if r, ok := res.GroupPartition(key); ok {
				gp.Eval = r
			}
		}
	}
}
