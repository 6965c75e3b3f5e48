package collector

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// answers is what Kafka said in one poll, before it is joined into the
// snapshot. A part missing from it failed; lastKnown may stand in.
type answers struct {
	listed    []kafka.ListedGroup
	described map[string]kafka.GroupDescription
	committed map[string]map[kafka.TopicPartition]int64
	offsets   map[kafka.TopicPartition]kafka.LogOffsets
	share     shareAnswers
	// groupsSeen counts the groups listed before the filters.
	groupsSeen int
}

// stageErrors collects the error of each failed stage and when each
// stage finished; the stages run concurrently. A stage's denials are
// accounted for by access: a resource Kafka denies is a missing
// permission, reported as such, not a failed stage.
type stageErrors struct {
	mu      sync.Mutex
	m       map[string]error
	started time.Time
	done    map[string]time.Duration
	access  *access
	now     time.Time
}

// failed reports whether the stage failed so far.
func (e *stageErrors) failed(stage string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.m[stage] != nil
}

func (e *stageErrors) set(stage string, err error) {
	if e.access != nil {
		e.access.learn(err, e.now)
		err = kafka.OtherErrors(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done != nil {
		e.done[stage] = max(e.done[stage], time.Since(e.started))
	}
	if err == nil {
		return
	}
	e.m[stage] = err
}

// poll runs the stages and assembles the snapshot. Group offsets, log
// offsets and topic configs are read concurrently; each stage that fails
// leaves its part out (or as of its last answer) and reports its error by
// stage.
func (p *Poller) poll(ctx context.Context, now time.Time) (*Snapshot, map[string]error) {
	errs := &stageErrors{m: map[string]error{}, started: time.Now(), done: map[string]time.Duration{}, access: p.access, now: now}
	defer func() { p.stagesDone = errs.done }()
	ctx = kafka.WithPollScope(ctx)
	p.access.expire(now)
	md, err := p.kafka.Metadata(ctx, p.cfg.Filters.keepTopic)
	if err == nil && md.Visible == 0 && p.checksACLs(ctx, now) {
		// Kafka lists only the topics the principal may Describe: none is
		// what a principal without that ACL sees. Such a poll is not
		// published: the last snapshot is served until it goes stale.
		err = errNoTopicVisible
	}
	p.blind = errors.Is(err, errNoTopicVisible)
	errs.set(StageMetadata, err)
	if err != nil {
		return nil, errs.m
	}
	p.access.setFromOps(permTopicRead, md.Topics, now)
	p.access.setFromOps(permTopicDescribeConfigs, md.Topics, now)
	snap := &Snapshot{PolledAt: now, Brokers: md.Brokers, Topics: topicsOf(md.Topics), Seen: Seen{Topics: md.Visible}}
	last := p.lastKnown(now)
	p.committedTopics.setTopics(snap.Topics, now)

	var (
		a  answers
		wg sync.WaitGroup
	)
	// The committed offsets are read between the two ends of the log, so
	// that neither end can cross them:
	//   - log starts before: an application that deletes its own records up
	//     to its committed offset (Kafka Streams purges its repartition
	//     topics after each commit) moves the log start only to offsets it
	//     has committed, so a log start read before the commit is never
	//     above it, and a log start above the committed offset means
	//     messages really were deleted unread;
	//   - log ends after: a consumer commits only offsets it has read, so
	//     a log end read after the commit is never below it, and a
	//     committed offset past the log end means the log really is
	//     shorter (the topic was re-created or truncated).
	// Still three ListOffsets per leader: one for the starts, two for the
	// ends and last stable offsets. The starts run alongside ListGroups,
	// which the committed offsets wait for anyway.
	byLeader := partitionsByLeader(snap.Topics)
	// A shard that does not serve the cluster reads only the partitions
	// its own groups read (see groupsRead).
	everyPartition := p.cfg.Filters.Shard.ServesCluster()
	var readLastPoll map[kafka.TopicPartition]bool
	startsFor := byLeader
	if !everyPartition {
		readLastPoll = groupsRead(p.snapshot.Load())
		startsFor = onlyPartitions(byLeader, readLastPoll)
	}
	var starts map[kafka.TopicPartition]int64
	startsRead, committedRead := make(chan struct{}), make(chan struct{})
	wg.Go(func() {
		defer close(startsRead)
		var err error
		starts, err = p.kafka.LogStarts(ctx, startsFor)
		errs.set(StageLogOffsets, err)
	})
	wg.Go(func() {
		defer close(committedRead)
		p.readGroups(ctx, snap.Brokers, last, &a, errs, startsRead)
	})
	wg.Go(func() {
		<-committedRead
		endsFor := byLeader
		if !everyPartition {
			// The partitions read now or at the last poll: a group whose
			// offsets failed now reads as of its last answer.
			readNow := a.partitionsRead()
			maps.Copy(readNow, readLastPoll)
			endsFor = onlyPartitions(byLeader, readNow)
			// A partition first read now had no start asked: it is asked
			// now, after the commits, for this one poll.
			if firstRead := notIn(endsFor, readLastPoll); len(firstRead) > 0 {
				more, err := p.kafka.LogStarts(ctx, firstRead)
				errs.set(StageLogOffsets, err)
				if starts == nil {
					starts = make(map[kafka.TopicPartition]int64, len(more))
				}
				maps.Copy(starts, more)
			}
		}
		offsets, err := p.kafka.LogOffsets(ctx, endsFor, starts)
		a.offsets = offsets
		errs.set(StageLogOffsets, err)
	})
	wg.Go(func() { errs.set(StageTopicConfigs, p.refreshTopicConfigs(ctx, snap.Topics, now)) })
	wg.Wait()
	p.checkGroupSight(ctx, &a, last, errs.failed(StageListGroups), errs)

	errs.set(StageRecordReads, p.join(ctx, snap, &a, last))
	return snap, errs.m
}

// join fills the snapshot with one poll's answers (the last known ones
// standing in where Kafka failed) and evaluates it: the CPU side of a
// poll once Kafka has answered. Its error is that of the record reads
// lagcalc asked for. BenchmarkFillAndEvaluate times exactly this.
//
// Once in the snapshot, the answers are dropped: what the snapshot does
// not share with them (the committed offsets by group, the maps of
// descriptions and log offsets) is garbage while lagcalc's input is
// built and observed beside the next snapshot, the most a poll holds at
// once.
func (p *Poller) join(ctx context.Context, snap *Snapshot, a *answers, last *lastKnown) error {
	snap.Seen.Groups = a.groupsSeen
	p.fillTopics(snap, a.offsets, last)
	fillGroups(snap, *a, last, p.cfg.AssignedPartitionsOnly)
	p.fillShareGroups(snap, a.share, last)
	*a = answers{}
	return p.evaluate(ctx, snap, last)
}

// checksACLs reports whether the cluster has an authorizer, so that a
// Metadata listing no topic may mean a principal that sees none: on a
// cluster without one it means a cluster without topics, which is not
// blindness. The answer is asked again after recheckDenied, and taken as
// yes when the question fails.
func (p *Poller) checksACLs(ctx context.Context, now time.Time) bool {
	if !p.authorizerAskedAt.IsZero() && now.Sub(p.authorizerAskedAt) < recheckDenied {
		return p.authorizer
	}
	enabled, err := p.kafka.AuthorizerEnabled(ctx)
	p.authorizer, p.authorizerAskedAt = enabled || err != nil, now
	return p.authorizer
}

// errNoTopicVisible is a poll's metadata listing no topic at all.
var errNoTopicVisible = errors.New("Metadata lists no topic: the principal may Describe none (or the cluster has none)")

// readGroups lists the groups on every broker, then describes them and
// fetches their committed offsets from their coordinators, concurrently:
// the two go to the same coordinators but do not depend on each other.
// Share groups take their own two requests, concurrently too. The
// committed offsets are fetched once startsRead is closed (see poll).
func (p *Poller) readGroups(ctx context.Context, brokers []Broker, last *lastKnown, a *answers, errs *stageErrors, startsRead <-chan struct{}) {
	ids := make([]int32, len(brokers))
	for i, b := range brokers {
		ids[i] = b.ID
	}
	keepGroup := func(name string) bool {
		a.groupsSeen++ // ListGroups asks once per group, from one goroutine
		return p.cfg.Filters.keepGroup(name)
	}
	listed, failedBrokers, err := p.kafka.ListGroups(ctx, ids, keepGroup)
	errs.set(StageListGroups, err)
	p.noteListing(a.groupsSeen, listed, errs.now)
	listed = p.withoutDeniedGroups(listed, errs.now)
	listed = append(listed, last.listedOn(failedBrokers, listed)...)
	a.listed, a.share.listed = splitShareGroups(listed)
	a.share.listed = append(a.share.listed, last.shareListedOn(failedBrokers, a.share.listed)...)
	var wg sync.WaitGroup
	wg.Go(func() { errs.set(StageShareGroups, p.readShareGroups(ctx, &a.share)) })
	wg.Go(func() {
		var err error
		a.described, err = p.kafka.DescribeGroups(ctx, p.describable(a.listed, errs.now))
		errs.set(StageDescribeGroups, err)
	})
	wg.Go(func() {
		<-startsRead
		plan := p.committedTopics.plan(a.listed, last, errs.now)
		var err error
		a.committed, err = p.kafka.CommittedOffsetsOn(ctx, a.listed, plan.partitions)
		p.committedTopics.learn(a.listed, a.committed, plan, errs.now)
		errs.set(StageCommittedOffsets, err)
	})
	wg.Wait()
	// Groups denied in this poll are left out as they will be next time.
	a.listed = p.withoutDeniedGroups(a.listed, errs.now)
}

// topicsOf turns the metadata's topics into the snapshot's; offsets and
// configs are filled in by later stages.
func topicsOf(md []kafka.TopicMetadata) []Topic {
	topics := make([]Topic, len(md))
	for i, tm := range md {
		t := Topic{Name: tm.Name, Partitions: make([]Partition, len(tm.Partitions))}
		for j, pm := range tm.Partitions {
			t.Partitions[j] = Partition{ID: pm.ID, Leader: pm.Leader, Replicas: pm.Replicas, ISR: pm.ISR}
		}
		topics[i] = t
	}
	return topics
}

// partitionsByLeader groups the partitions that have a leader by it: the
// log offsets of all of them take a fixed number of requests per leader.
func partitionsByLeader(topics []Topic) map[int32][]kafka.TopicPartition {
	byLeader := map[int32][]kafka.TopicPartition{}
	for _, t := range topics {
		for _, p := range t.Partitions {
			if p.Leader >= 0 {
				byLeader[p.Leader] = append(byLeader[p.Leader], kafka.TopicPartition{Topic: t.Name, Partition: p.ID})
			}
		}
	}
	return byLeader
}

// groupsRead lists the partitions the groups of snap read: those with a
// committed offset, and those of share groups. A shard other than the
// one that serves the cluster reads the log offsets of these alone: it
// exports only its groups' series, and a group's lag, rates and statuses
// need only the partitions it reads. Which groups a shard has is decided
// by their names (ShardOf), so the shards' partitions overlap where their
// groups read the same topics; the requests stay one per leader and
// stage either way, but each is only as large as the shard's groups need.
func groupsRead(snap *Snapshot) map[kafka.TopicPartition]bool {
	read := map[kafka.TopicPartition]bool{}
	if snap == nil {
		return read
	}
	for gi := range snap.Groups {
		for _, gp := range snap.Groups[gi].Partitions {
			if gp.HasCommit() {
				read[kafka.TopicPartition{Topic: gp.Topic, Partition: gp.Partition}] = true
			}
		}
	}
	for gi := range snap.ShareGroups {
		for _, sp := range snap.ShareGroups[gi].Partitions {
			read[kafka.TopicPartition{Topic: sp.Topic, Partition: sp.Partition}] = true
		}
	}
	return read
}

// partitionsRead lists the partitions of this poll's committed offsets and
// share-group offsets.
func (a *answers) partitionsRead() map[kafka.TopicPartition]bool {
	read := map[kafka.TopicPartition]bool{}
	for _, offsets := range a.committed {
		for tp := range offsets {
			read[tp] = true
		}
	}
	for _, offsets := range a.share.offsets {
		for tp := range offsets.Partitions {
			read[tp] = true
		}
	}
	return read
}

// onlyPartitions keeps of byLeader the partitions in keep.
func onlyPartitions(byLeader map[int32][]kafka.TopicPartition, keep map[kafka.TopicPartition]bool) map[int32][]kafka.TopicPartition {
	out := make(map[int32][]kafka.TopicPartition, len(byLeader))
	for leader, tps := range byLeader {
		for _, tp := range tps {
			if keep[tp] {
				out[leader] = append(out[leader], tp)
			}
		}
	}
	return out
}

// notIn keeps of byLeader the partitions not in set.
func notIn(byLeader map[int32][]kafka.TopicPartition, set map[kafka.TopicPartition]bool) map[int32][]kafka.TopicPartition {
	out := map[int32][]kafka.TopicPartition{}
	for leader, tps := range byLeader {
		for _, tp := range tps {
			if !set[tp] {
				out[leader] = append(out[leader], tp)
			}
		}
	}
	return out
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
	names = slices.DeleteFunc(names, func(name string) bool { return p.access.isDenied(permTopicDescribeConfigs, name, now) })
	if len(names) == 0 {
		return nil
	}
	got, err := p.kafka.TopicConfigs(ctx, names)
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

// fillTopics sets each partition's log offsets (as of the last answer
// where its leader failed now), each topic's configs and dead-letter mark,
// and the cluster's partition health totals.
func (p *Poller) fillTopics(snap *Snapshot, offsets map[kafka.TopicPartition]kafka.LogOffsets, last *lastKnown) {
	for ti := range snap.Topics {
		t := &snap.Topics[ti]
		t.Config = p.configs[t.Name]
		t.DeadLetter = p.cfg.DeadLetter != nil && p.cfg.DeadLetter.MatchString(t.Name)
		for pi := range t.Partitions {
			part := &t.Partitions[pi]
			tp := kafka.TopicPartition{Topic: t.Name, Partition: part.ID}
			if o, ok := offsets[tp]; ok {
				part.HasOffsets, part.LogStart, part.LogEnd, part.LastStable, part.OffsetsAt = true, o.Start, o.End, o.LastStable, snap.PolledAt
			} else if known, ok := last.offsets(lagcalc.TopicPartition(tp)); ok {
				part.HasOffsets, part.LogStart, part.LogEnd, part.LastStable, part.OffsetsAt = true, known.LogStart, known.LogEnd, known.LastStable, known.OffsetsAt
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
