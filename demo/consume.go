package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	// fetchPartitionBytes caps what one fetch returns per partition
	// (about seven of the demo's one-record batches). A rate-limited
	// member takes records in fetch order, one partition's chunk after
	// the other; small chunks interleave the partitions, so each one's
	// committed offset moves every few seconds instead of one partition
	// racing ahead while the others sit still and look stalled.
	fetchPartitionBytes = 1 << 10

	// commitTimeout bounds one offset commit, so a cluster that stopped
	// answering cannot hold a member (and the rebalances it blocks).
	commitTimeout = 10 * time.Second
)

// member is one consumer-group member of a scenario: a kgo client in a
// classic group that processes records at a bounded rate and commits
// exactly the offsets it processed. The behaviour fields script what the
// scenario does to the group; a zero value disables each.
type member struct {
	clientID string
	group    string
	topic    string
	rate     float64 // records per second it can process; 0 means as fast as they arrive

	instanceID     string        // static membership: closing the client does not leave the group
	sessionTimeout time.Duration // 0 keeps kgo's default, 45 s

	leaveAfter  time.Duration // commit, then leave the group cleanly; counted from the first commit
	crashAfter  time.Duration // stop without committing or leaving; counted from the first commit
	stuckAfter  time.Duration // from then on, the next record on partition stuckOn is a poison message
	stuckOn     int32
	rewindFirst time.Duration // reset the committed offsets back rewindBy messages, then every rewindEvery
	rewindEvery time.Duration
	rewindBy    int64

	// deadLetterEvery > 0: every deadLetterEvery-th record of each
	// partition fails to process. The member retries it retries times,
	// retryBackoff apart, then writes it to topic + deadLetterSuffix and
	// moves on, as fault-tolerant consumers (Spring Kafka's
	// DeadLetterPublishingRecoverer, Kafka Connect's errors.deadletterqueue)
	// do: the partition keeps moving.
	deadLetterEvery int64
	retries         int
	retryBackoff    time.Duration

	// assignor replaces the range assignor (the group's leader runs it).
	assignor kgo.GroupBalancer
}

// deadLetterSuffix names a topic's dead-letter topic, as Spring Kafka
// does; lagwatch's default --topic.dead-letter-regex matches it.
const deadLetterSuffix = ".DLT"

// consumer is the running state of a member; only its own goroutine uses
// it.
type consumer struct {
	*member
	cl     *kgo.Client
	logger *slog.Logger

	// pending holds the next offset to commit per partition: one past
	// the last record processed since the last commit.
	pending map[int32]kgo.EpochOffset
	// committed is what the member last committed per partition.
	committed map[int32]int64
	// poison is the offset of the record the member cannot process, -1
	// until it meets it.
	poison int64
	// firstCommit is when a commit of the member first succeeded; zero
	// until then.
	firstCommit time.Time

	fetchProblems, commitProblems, deadLetterProblems *problemLog
}

func (m *member) run(ctx context.Context, addrs []string, commitEvery time.Duration, logger *slog.Logger) {
	logger = logger.With("group", m.group, "member", m.clientID)
	cl, err := kgo.NewClient(m.options(addrs, logger)...)
	if err != nil {
		// NewClient fails only on invalid options; it does not dial.
		logger.Warn("demo: create consumer", "err", err)
		return
	}
	c := &consumer{
		member:             m,
		cl:                 cl,
		logger:             logger,
		pending:            make(map[int32]kgo.EpochOffset),
		committed:          make(map[int32]int64),
		poison:             -1,
		fetchProblems:      &problemLog{logger: logger, what: "fetch"},
		commitProblems:     &problemLog{logger: logger, what: "commit"},
		deadLetterProblems: &problemLog{logger: logger, what: "dead-letter produce"},
	}
	logger.Debug("demo: member starting", "topic", m.topic, "records_per_second", m.rate)
	c.loop(ctx, commitEvery)
}

func (m *member) options(addrs []string, logger *slog.Logger) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(addrs...),
		kgo.ClientID(m.clientID),
		kgo.ConsumerGroup(m.group),
		kgo.ConsumeTopics(m.topic),
		// kgo speaks the classic group protocol unless given
		// ServerSideBalancer. Range is an eager balancer: with kgo's
		// default cooperative one, a static member that revoked
		// partitions leaves the group on close, which would turn the
		// crash into a clean departure.
		kgo.Balancers(m.groupAssignor()),
		// The scenarios are made of exactly which offsets get
		// committed, so nothing is committed behind the member's back.
		kgo.DisableAutoCommit(),
		// A revoke waits until AllowRebalance, which the member calls
		// only right after committing: it never commits a record
		// processed for a partition that a rebalance has since handed
		// to another member (that would move its offset backwards).
		kgo.BlockRebalanceOnPoll(),
		// A new group reads its topic from the start. A group whose
		// committed offset retention deleted resumes at the new
		// log-start offset (auto.offset.reset=earliest): that is how
		// demo-retention-slow carries on after losing messages.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxPartitionBytes(fetchPartitionBytes),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
			logger.Debug("demo: partitions assigned", "partitions", assigned)
		}),
	}
	if m.deadLetterEvery > 0 {
		// Give up on a dead letter after a while rather than buffer it
		// forever while the cluster is away; the member retries it.
		opts = append(opts, kgo.RecordDeliveryTimeout(commitTimeout))
	}
	if m.instanceID != "" {
		opts = append(opts, kgo.InstanceID(m.instanceID))
	}
	if m.sessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(m.sessionTimeout))
	}
	return opts
}

func (m *member) groupAssignor() kgo.GroupBalancer {
	if m.assignor != nil {
		return m.assignor
	}
	return kgo.RangeBalancer()
}

// loop processes records within the member's rate and commits them, and
// every commitEvery plays the member's scripted behaviour, until ctx is
// done or the script ends the member.
func (c *consumer) loop(ctx context.Context, commitEvery time.Duration) {
	start := time.Now()
	nextCommit := start.Add(commitEvery)
	nextRewind := start.Add(c.rewindFirst)
	bucket := newTokenBucket(c.rate, start)
	for {
		now := time.Now()
		if !now.Before(nextCommit) {
			if c.crashAfter > 0 && c.sinceFirstCommit(now) >= c.crashAfter {
				c.crash()
				return
			}
			c.commit(ctx)
			if c.rewindEvery > 0 && !now.Before(nextRewind) {
				c.rewind(ctx)
				nextRewind = nextRewind.Add(c.rewindEvery)
			}
			c.cl.AllowRebalance()
			if c.leaveAfter > 0 && c.sinceFirstCommit(now) >= c.leaveAfter {
				c.leave()
				return
			}
			nextCommit = now.Add(commitEvery)
		}
		if ctx.Err() != nil {
			c.shutdown(ctx)
			return
		}

		budget, wait := bucket.take(now)
		if wait > 0 {
			sleepUntil(ctx, earliest(now.Add(wait), nextCommit))
			continue
		}
		pollCtx, cancel := context.WithDeadline(ctx, nextCommit)
		fetches := c.cl.PollRecords(pollCtx, budget)
		cancel()
		bucket.spend(c.process(ctx, fetches, time.Since(start)))

		// A member with nothing left to read commits at once, so a
		// group that keeps up shows lag 0 at most of the exporter's
		// polls (it calls a group ok when some poll in the window saw
		// lag 0). A member with a backlog commits every commitEvery.
		if len(c.pending) > 0 && c.cl.BufferedFetchRecords() == 0 {
			c.commit(ctx)
			c.cl.AllowRebalance()
		}
	}
}

// sinceFirstCommit is how long ago the member's first commit succeeded, 0
// before it has one. A crash or a departure is timed from there, not from
// the member's start: on a busy cluster joining the group and the first
// fetch can take longer than the whole script, and a member that crashed
// or left before committing anything leaves a group without offsets, which
// shows nothing of its scenario.
func (c *consumer) sinceFirstCommit(now time.Time) time.Duration {
	if c.firstCommit.IsZero() {
		return 0
	}
	return now.Sub(c.firstCommit)
}

// process handles polled records and returns how many it took.
func (c *consumer) process(ctx context.Context, fetches kgo.Fetches, elapsed time.Duration) int {
	for _, fe := range fetches.Errors() {
		// A poll that found nothing before the next commit is due
		// ends with its context's error; that is not a failure.
		if errors.Is(fe.Err, context.DeadlineExceeded) || errors.Is(fe.Err, context.Canceled) {
			continue
		}
		c.fetchProblems.failure(fmt.Errorf("%s partition %d: %w", fe.Topic, fe.Partition, fe.Err))
	}
	n := 0
	// unprocessed holds, per partition, the first record left
	// unprocessed after one that could not be parked: the member reads
	// from there again.
	unprocessed := make(map[int32]kgo.EpochOffset)
	fetches.EachRecord(func(r *kgo.Record) {
		n++
		if c.isPoison(r, elapsed) {
			return
		}
		if len(unprocessed) > 0 || (c.failsToProcess(r) && !c.retryThenPark(ctx, r)) {
			if _, ok := unprocessed[r.Partition]; !ok {
				unprocessed[r.Partition] = kgo.EpochOffset{Epoch: -1, Offset: r.Offset}
			}
			return
		}
		c.pending[r.Partition] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
	})
	if len(unprocessed) > 0 {
		// No rebalance can interleave: AllowRebalance comes after.
		c.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{c.topic: unprocessed})
	}
	if n > 0 {
		c.fetchProblems.success()
	}
	return n
}

// isPoison reports whether r is at or past the poison message: a consumer
// that cannot process a record retries it forever, so nothing from there
// on is processed and the partition's committed offset stays at the
// poison offset while the member, alive, keeps committing the others.
func (c *consumer) isPoison(r *kgo.Record, elapsed time.Duration) bool {
	if c.stuckAfter <= 0 || r.Partition != c.stuckOn {
		return false
	}
	if c.poison >= 0 {
		return r.Offset >= c.poison
	}
	// Only once the partition has a committed offset: a partition never
	// committed has no lag at all (status no_commit), not a stall.
	if _, ok := c.committed[r.Partition]; !ok || elapsed < c.stuckAfter {
		return false
	}
	c.poison = r.Offset
	// Retrying one record reads nothing further from the partition.
	c.cl.PauseFetchPartitions(map[string][]int32{c.topic: {r.Partition}})
	c.logger.Debug("demo: poison message, partition stuck", "topic", c.topic, "partition", r.Partition, "offset", r.Offset)
	return true
}

// failsToProcess reports whether r is one of the records the member
// cannot process (every deadLetterEvery-th of its partition).
func (c *consumer) failsToProcess(r *kgo.Record) bool {
	return c.deadLetterEvery > 0 && r.Offset%c.deadLetterEvery == c.deadLetterEvery-1
}

// retryThenPark retries a record that fails, then writes it to the
// dead-letter topic with headers saying where it came from. It reports
// whether the record is parked; false when ctx ended or the write failed.
func (c *consumer) retryThenPark(ctx context.Context, r *kgo.Record) bool {
	for range c.retries {
		sleepUntil(ctx, time.Now().Add(c.retryBackoff))
	}
	if ctx.Err() != nil {
		return false
	}
	dead := &kgo.Record{
		Topic: c.topic + deadLetterSuffix,
		Key:   r.Key,
		Value: r.Value,
		Headers: []kgo.RecordHeader{
			{Key: "dlt-original-topic", Value: []byte(r.Topic)},
			{Key: "dlt-original-partition", Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
			{Key: "dlt-original-offset", Value: strconv.AppendInt(nil, r.Offset, 10)},
			{Key: "dlt-exception-message", Value: fmt.Appendf(nil, "demo: failed %d attempts", c.retries+1)},
		},
	}
	if err := c.cl.ProduceSync(ctx, dead).FirstErr(); err != nil {
		if ctx.Err() == nil {
			c.deadLetterProblems.failure(err)
		}
		return false
	}
	c.deadLetterProblems.success()
	c.logger.Debug("demo: record parked in the dead-letter topic", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset)
	return true
}

// commit commits what was processed since the last commit. The offsets
// of a failed commit are dropped rather than retried: the next commit
// carries newer ones, and a retry after a rebalance could move back a
// partition another member now owns.
func (c *consumer) commit(ctx context.Context) {
	if len(c.pending) == 0 {
		return
	}
	offsets := c.pending
	c.pending = make(map[int32]kgo.EpochOffset)
	if err := c.commitOffsets(ctx, offsets); err != nil {
		c.commitProblems.failure(err)
		return
	}
	c.commitProblems.success()
}

func (c *consumer) commitOffsets(ctx context.Context, offsets map[int32]kgo.EpochOffset) error {
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	var commitErr error
	// CommitOffsetsSync returns only after onDone has run.
	c.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{c.topic: offsets},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				commitErr = err
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
						commitErr = fmt.Errorf("commit %s partition %d: %w", t.Topic, p.Partition, err)
						continue
					}
					c.committed[p.Partition] = offsets[p.Partition].Offset
					if c.firstCommit.IsZero() {
						c.firstCommit = time.Now()
					}
				}
			}
		})
	return commitErr
}

// rewind moves the member back rewindBy messages on every partition and
// commits the lower offsets, as an offset reset to an earlier time does.
// The member then re-reads those messages at its processing rate, so the
// committed offset stays below its old value for a while.
func (c *consumer) rewind(ctx context.Context) {
	back := make(map[int32]kgo.EpochOffset)
	for p, off := range c.committed {
		if to := max(off-c.rewindBy, 0); to < off {
			back[p] = kgo.EpochOffset{Epoch: -1, Offset: to}
		}
	}
	if len(back) == 0 {
		return
	}
	// No rebalance can interleave: the member has not yet called
	// AllowRebalance since its last poll, as SetOffsets requires.
	c.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{c.topic: back})
	if err := c.commitOffsets(ctx, back); err != nil {
		c.commitProblems.failure(err)
		return
	}
	c.logger.Debug("demo: offsets reset backwards", "topic", c.topic, "messages_per_partition", c.rewindBy)
}

// leave closes the client cleanly: kgo sends LeaveGroup, so the group
// becomes Empty at once and keeps its committed offsets.
func (c *consumer) leave() {
	// Close's LeaveGroup waits for polls to allow rebalancing.
	c.cl.AllowRebalance()
	c.cl.Close()
	c.logger.Debug("demo: member left the group", "topic", c.topic)
}

// crash stops the member as a killed process would: what it processed
// since its last commit is lost, and it never says goodbye. Its client is
// a static member, so Close sends no LeaveGroup; the coordinator removes
// it when its session times out.
func (c *consumer) crash() {
	c.cl.AllowRebalance()
	c.cl.Close()
	c.logger.Debug("demo: member crashed; the group keeps it until its session times out",
		"topic", c.topic, "session_timeout", c.sessionTimeout)
}

// shutdown ends the member when the demo stops: it commits what it
// processed and leaves the group.
func (c *consumer) shutdown(ctx context.Context) {
	c.commit(context.WithoutCancel(ctx))
	c.cl.AllowRebalance()
	c.cl.Close()
}

// tokenBucket bounds how many records a member processes per second,
// allowing a burst of one second's worth.
type tokenBucket struct {
	rate   float64 // tokens per second; 0 means unlimited
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64, now time.Time) *tokenBucket {
	return &tokenBucket{rate: rate, last: now}
}

// take returns how many records may be processed now (0 means any number,
// as PollRecords reads it), or how long to wait for the next one.
func (b *tokenBucket) take(now time.Time) (budget int, wait time.Duration) {
	if b.rate <= 0 {
		return 0, 0
	}
	b.tokens = min(b.tokens+b.rate*now.Sub(b.last).Seconds(), max(b.rate, 1))
	b.last = now
	if b.tokens < 1 {
		return 0, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
	}
	return int(b.tokens), 0
}

func (b *tokenBucket) spend(n int) {
	if b.rate > 0 {
		b.tokens -= float64(n)
	}
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}
