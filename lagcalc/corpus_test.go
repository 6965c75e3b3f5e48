package lagcalc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The corpus replays long synthetic histories of the consumers production
// clusters run, with the default settings, polled every 15 s ± 2 s. Producers
// write at a jittered rate, consumers commit on jittered schedules, and the
// simulated collector verifies transaction markers as the real one does
// (VerifyCandidates after a poll, the answers passed with the next poll's
// commits). Every history is seeded, so every run replays the same one.

// recordKind is what sits at an offset of a simulated transactional log.
type recordKind uint8

const (
	dataRecord    recordKind = iota
	controlRecord            // a transaction's commit or abort marker
	abortedRecord            // data of an aborted transaction
	pendingRecord            // data of a transaction still open
)

// simLog is one partition: its log end and, for transactional topics, what
// each offset holds.
type simLog struct {
	end int64
	// transactional topics keep kinds (index = offset) and the offset where
	// the open transaction began (-1: none).
	transactional bool
	kinds         []recordKind
	openFrom      int64
	// acc carries fractions of a message between steps.
	acc float64
}

func (l *simLog) lastStable() int64 {
	if l.transactional && l.openFrom >= 0 {
		return l.openFrom
	}
	return l.end
}

// write appends n records: plain data, or data of the open transaction.
func (l *simLog) write(n int64) {
	if !l.transactional {
		l.end += n
		return
	}
	if n > 0 && l.openFrom < 0 {
		l.openFrom = l.end
	}
	for range n {
		l.kinds = append(l.kinds, pendingRecord)
	}
	l.end += n
}

// endTransaction commits or aborts the open transaction and writes its marker.
func (l *simLog) endTransaction(abort bool) {
	if l.openFrom < 0 {
		return
	}
	for o := l.openFrom; o < l.end; o++ {
		if abort {
			l.kinds[o] = abortedRecord
		} else {
			l.kinds[o] = dataRecord
		}
	}
	l.kinds = append(l.kinds, controlRecord)
	l.end++
	l.openFrom = -1
}

// verifiedPosition is what the collector finds reading at offset o: the
// first data record at or after o, or the LSO if there is none before it.
func (l *simLog) verifiedPosition(o int64) int64 {
	if !l.transactional {
		return o
	}
	lso := l.lastStable()
	for ; o < lso; o++ {
		if l.kinds[o] == dataRecord {
			return o
		}
	}
	return lso
}

// simConsumer reads one partition and commits on a schedule.
type simConsumer struct {
	capacity    float64 // messages per second it can process
	commitEvery float64 // seconds between commits (±10% jitter)
	members     bool
	// poisonAt: from this offset on nothing is consumed (-1: never).
	poisonAt int64
	// recommit: keeps committing (the same offset) while stuck on poison.
	recommit bool
	// stopAt: the consumer dies at this time (s); 0: never.
	stopAt float64
	// lastRecordPlusOne: commits the offset after the last data record it
	// was given (sarama's MarkMessage), not its fetch position.
	lastRecordPlusOne bool

	position, lastData, committed int64
	nextCommit, acc               float64
}

// step consumes for dt seconds at time now and commits when due.
func (c *simConsumer) step(rng *rand.Rand, l *simLog, now, dt float64) {
	if c.stopAt > 0 && now >= c.stopAt {
		return
	}
	limit := l.lastStable()
	c.acc += c.capacity * dt * (0.8 + 0.4*rng.Float64())
	for c.acc >= 1 && c.position < limit && (c.poisonAt < 0 || c.position < c.poisonAt) {
		if l.transactional && l.kinds[c.position] != dataRecord {
			c.position++ // markers and aborted data are skipped, not processed
			continue
		}
		c.position++
		c.lastData = c.position
		c.acc--
	}
	c.acc = min(c.acc, c.capacity) // no banking of idle capacity
	if now < c.nextCommit {
		return
	}
	c.nextCommit = now + c.commitEvery*(0.9+0.2*rng.Float64())
	stuck := c.poisonAt >= 0 && c.position >= c.poisonAt
	if stuck && !c.recommit {
		return
	}
	if c.lastRecordPlusOne {
		c.committed = c.lastData
	} else {
		c.committed = c.position
	}
}

// simRun is one history: a producer, a consumer, and what lagwatch said.
type simRun struct {
	hours float64
	seed  uint64
	// rate is the produce rate (msg/s) at time s; each step is jittered.
	rate func(s float64) float64
	// transactions: the producer commits every txnEvery seconds (0: not
	// transactional), aborting one in abortEvery (0: never).
	txnEvery   float64
	abortEvery int
	// recreateAt: the topic is deleted and re-created at this time (0: never).
	recreateAt float64
	consumer   simConsumer
	// onTrend, if set, is given the lag trend's fit at every poll after
	// warm-up (see TestLagTrendBarSeparatesHealthyFromSlowConsumers).
	onTrend func(rise, swing float64)
}

// simPoll is what one poll saw and concluded.
type simPoll struct {
	at     float64
	status Status
	lag    int64
	result GroupPartitionResult
}

// run replays the history and returns every poll's result.
func (r simRun) run(t *testing.T) []simPoll {
	t.Helper()
	polls, _ := r.replay(t)
	return polls
}

// replay replays the history and returns every poll's result and when the
// consumer reached its poison message (+Inf: never).
func (r simRun) replay(t *testing.T) (out []simPoll, poisonedAt float64) {
	t.Helper()
	poisonedAt = math.Inf(1)
	rng := rand.New(rand.NewPCG(r.seed, 0x1a9))
	l := &simLog{transactional: r.txnEvery > 0, openFrom: -1}
	c := r.consumer
	tr := NewTracker(Settings{})
	verified := map[TopicPartitionOffset]int64{}
	const dt = 0.5
	nextPoll, nextTxn, txns := 0.0, r.txnEvery, 0
	for s := 0.0; s <= r.hours*3600; s += dt {
		if r.recreateAt > 0 && s >= r.recreateAt && s-dt < r.recreateAt {
			*l = simLog{transactional: l.transactional, openFrom: -1}
			c.position, c.lastData = 0, 0
		}
		l.acc += r.rate(s) * dt * (0.5 + rng.Float64())
		n := int64(l.acc)
		l.acc -= float64(n)
		l.write(n)
		if r.txnEvery > 0 && s >= nextTxn {
			txns++
			l.endTransaction(r.abortEvery > 0 && txns%r.abortEvery == 0)
			nextTxn = s + r.txnEvery*(0.5+rng.Float64())
		}
		c.step(rng, l, s, dt)
		if c.poisonAt >= 0 && c.position >= c.poisonAt {
			poisonedAt = min(poisonedAt, s)
		}
		if s < nextPoll {
			continue
		}
		nextPoll = s + 15 + 4*rng.Float64() - 2
		tp := TopicPartitionOffset{TopicPartition: orders, Offset: c.committed}
		tr.Observe(Poll{
			Time:       at(s),
			Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: l.end, LastStable: l.lastStable()}},
			Commits:    []Commit{{GroupPartition: billing, Committed: c.committed, Position: verified[tp]}},
			Groups:     []GroupState{{Group: billing.Group, HasMembers: c.members && (c.stopAt == 0 || s < c.stopAt)}},
		})
		// The collector reads at each candidate; an answer that reached the
		// LSO may extend once more records follow, so it reads again.
		for _, o := range tr.VerifyCandidates() {
			verified[o] = l.verifiedPosition(o.Offset)
		}
		if r.onTrend != nil && s > warmUp {
			gps := tr.groupPartition(billing)
			ps := gps.partition()
			from := max(tr.last-tr.window, gps.history.first().t, ps.end.first().t, gps.history.lastBackward)
			r.onTrend(lagTrend(&ps.end, &ps.gap, &gps.history, from, tr.last))
		}
		res := tr.Evaluate(at(s), nil)
		checkResultInvariants(t, res)
		gpr, _ := res.GroupPartition(billing)
		out = append(out, simPoll{at: s, status: gpr.Status, lag: gpr.Lag, result: *gpr})
	}
	return out, poisonedAt
}

// statusChanges counts status changes between consecutive polls after warmUp seconds.
func statusChanges(polls []simPoll, warmUp float64) (changes int, hours float64) {
	var prev *simPoll
	for i := range polls {
		p := &polls[i]
		if p.at < warmUp {
			continue
		}
		if prev != nil {
			if p.status != prev.status {
				changes++
			}
			hours += (p.at - prev.at) / 3600
		}
		prev = p
	}
	return changes, hours
}

// statusCounts tallies statuses after warmUp seconds.
func statusCounts(polls []simPoll, from, to float64) map[Status]int {
	m := map[Status]int{}
	for _, p := range polls {
		if p.at >= from && p.at < to {
			m[p.status]++
		}
	}
	return m
}

// onlyStatus fails unless every poll in [from, to) has status want.
func onlyStatus(t *testing.T, polls []simPoll, from, to float64, want Status) {
	t.Helper()
	counts := statusCounts(polls, from, to)
	if len(counts) != 1 || counts[want] == 0 {
		t.Errorf("statuses in [%v s, %v s) = %v, want only %v", from, to, counts, want)
		for _, p := range polls {
			if p.at >= from && p.at < to && p.status != want {
				t.Logf("first other: %+v", p.result)
				break
			}
		}
	}
}

const warmUp = 15 * 60 // seconds: one window plus a few minutes

func steadyRate(r float64) func(float64) float64 { return func(float64) float64 { return r } }

func TestCorpusAssignModeCommitterWithoutMembers(t *testing.T) {
	keepsUp := simConsumer{capacity: 400, commitEvery: 5, poisonAt: -1}
	t.Run("keeping up is ok", func(t *testing.T) {
		p := simRun{hours: 4, seed: 1, rate: steadyRate(200), consumer: keepsUp}.run(t)
		onlyStatus(t, p, warmUp, math.Inf(1), StatusOK)
	})
	t.Run("falling behind is lagging", func(t *testing.T) {
		c := keepsUp
		c.capacity = 140
		p := simRun{hours: 4, seed: 2, rate: steadyRate(200), consumer: c}.run(t)
		onlyStatus(t, p, warmUp, math.Inf(1), StatusLagging)
	})
	t.Run("stopped only after its commits stop", func(t *testing.T) {
		c := keepsUp
		c.stopAt = 2 * 3600
		p := simRun{hours: 3, seed: 3, rate: steadyRate(200), consumer: c}.run(t)
		onlyStatus(t, p, warmUp, c.stopAt, StatusOK)
		detected := firstWith(p, c.stopAt, StatusStopped)
		t.Logf("assign() committer stopped at %v s: stopped after %.0f s", c.stopAt, detected-c.stopAt)
		// StallAfter (60 s) counts from the last poll before the last
		// commit seen, up to a poll interval and a commit interval earlier.
		if detected-c.stopAt > 120 || detected-c.stopAt < 40 {
			t.Errorf("stopped %.0f s after the commits stopped, want 40–120 s", detected-c.stopAt)
		}
		onlyStatus(t, p, detected, math.Inf(1), StatusStopped)
	})
}

// firstWith returns the time of the first poll at or after from with status want.
func firstWith(polls []simPoll, from float64, want Status) float64 {
	for _, p := range polls {
		if p.at >= from && p.status == want {
			return p.at
		}
	}
	return math.Inf(1)
}

func TestCorpusTransactionalReadCommittedConsumerIsOKAndNeverStalled(t *testing.T) {
	lastRecordPlusOne := simConsumer{capacity: 2000, commitEvery: 5, members: true, poisonAt: -1, lastRecordPlusOne: true}
	idle := func(s float64) float64 { // a burst of ~5 records every 10 minutes
		if math.Mod(s, 600) < 1 {
			return 10
		}
		return 0
	}
	cases := []struct {
		name string
		run  simRun
	}{
		{"idle topic", simRun{rate: idle, txnEvery: 1}},
		{"busy topic, a transaction a second", simRun{rate: steadyRate(100), txnEvery: 1}},
		{"open transactions of up to a minute", simRun{rate: steadyRate(20), txnEvery: 40}},
		{"one transaction in three aborted, idle", simRun{rate: idle, txnEvery: 1, abortEvery: 3}},
		{"one transaction in three aborted, busy", simRun{rate: steadyRate(100), txnEvery: 2, abortEvery: 3}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run
			r.hours, r.seed, r.consumer = 3, uint64(10+i), lastRecordPlusOne
			p := r.run(t)
			onlyStatus(t, p, warmUp, math.Inf(1), StatusOK)
			if counts := statusCounts(p, 0, math.Inf(1)); counts[StatusStalled]+counts[StatusStopped] > 0 {
				t.Errorf("stalled or stopped at some poll: %v", counts)
			}
			if last := p[len(p)-1]; r.rate(0) == 0 && last.lag != 0 {
				t.Errorf("idle topic, caught up: lag %d, want 0 (%+v)", last.lag, last.result)
			}
			if r.rate(0) == 0 {
				nonzero := 0
				for _, q := range p {
					if q.at > warmUp && math.Mod(q.at, 600) > 60 && q.lag != 0 {
						nonzero++
					}
				}
				if nonzero > 0 {
					t.Errorf("%d polls of an idle, caught-up consumer with lag ≠ 0", nonzero)
				}
			}
		})
	}
}

func TestCorpusHealthyConsumersDoNotFlap(t *testing.T) {
	cases := []struct {
		name     string
		rate     float64
		consumer simConsumer
	}{
		{"busy topic, auto-commit every 5 s", 1000, simConsumer{capacity: 1500, commitEvery: 5, members: true, poisonAt: -1}},
		{"busy topic, commits once a minute", 1000, simConsumer{capacity: 1500, commitEvery: 60, members: true, poisonAt: -1}},
		{"moderate topic, commits once a minute", 50, simConsumer{capacity: 80, commitEvery: 60, members: true, poisonAt: -1}},
		{"memberless, commits once a minute", 1000, simConsumer{capacity: 1500, commitEvery: 60, poisonAt: -1}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			total, hours := 0, 0.0
			for k := range 4 { // four partitions with their own jitter
				p := simRun{hours: 6, seed: uint64(100 + 10*i + k), rate: steadyRate(tc.rate), consumer: tc.consumer}.run(t)
				n, h := statusChanges(p, warmUp)
				total, hours = total+n, hours+h
				onlyStatus(t, p, warmUp, math.Inf(1), StatusOK)
			}
			t.Logf("%s: %d status changes in %.1f partition-hours after warm-up (%.2f per partition-hour)", tc.name, total, hours, float64(total)/hours)
			if total != 0 {
				t.Errorf("%d status changes, want 0", total)
			}
		})
	}
}

func TestCorpusSlowConsumerIsLaggingAndStaysLagging(t *testing.T) {
	cases := []struct {
		name     string
		consumer simConsumer
	}{
		{"consumes 80%, auto-commit every 5 s", simConsumer{capacity: 800, commitEvery: 5, members: true, poisonAt: -1}},
		{"consumes 80%, commits once a minute", simConsumer{capacity: 800, commitEvery: 60, members: true, poisonAt: -1}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := simRun{hours: 4, seed: uint64(200 + i), rate: steadyRate(1000), consumer: tc.consumer}.run(t)
			onlyStatus(t, p, warmUp, math.Inf(1), StatusLagging)
			n, h := statusChanges(p, warmUp)
			t.Logf("%s: %d status changes in %.1f hours after warm-up", tc.name, n, h)
		})
	}
}

func TestCorpusIdleTopic(t *testing.T) {
	t.Run("caught-up consumer is ok", func(t *testing.T) {
		p := simRun{hours: 3, seed: 300, rate: steadyRate(0), consumer: simConsumer{capacity: 10, commitEvery: 5, members: true, poisonAt: -1}}.run(t)
		onlyStatus(t, p, 0, math.Inf(1), StatusOK)
	})
	t.Run("consumer that died behind is stopped", func(t *testing.T) {
		burst := func(s float64) float64 { // 1,000 messages in the first 10 s, then nothing
			if s < 10 {
				return 100
			}
			return 0
		}
		c := simConsumer{capacity: 5, commitEvery: 5, members: true, poisonAt: -1, stopAt: 60}
		p := simRun{hours: 2, seed: 301, rate: burst, consumer: c}.run(t)
		onlyStatus(t, p, c.stopAt+120, math.Inf(1), StatusStopped)
	})
}

func TestCorpusCompactedTopicOffsetGaps(t *testing.T) {
	// A consumer catching up through a compacted backlog: most offsets below
	// the cleaner point are gone, so its committed offset jumps by whole gaps
	// while it processes only the survivors. Lag is counted in offsets (all
	// Kafka can tell), and the status is ok: it is catching up.
	tr := NewTracker(Settings{})
	rng := rand.New(rand.NewPCG(400, 1))
	end, committed := int64(1_000_000), int64(0)
	for s := 0.0; s < 2*3600; s += 15 + 4*rng.Float64() - 2 {
		end += int64(150 + rng.IntN(100))
		if committed < end {
			committed = min(committed+int64(2000+rng.IntN(8000)), end) // 200 survivors a poll, gaps between
		}
		tr.Observe(Poll{Time: at(s), Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: end}},
			Commits: []Commit{{GroupPartition: billing, Committed: committed}}, Groups: []GroupState{{Group: "billing", HasMembers: true}}})
		res := tr.Evaluate(at(s), nil)
		r, _ := res.GroupPartition(billing)
		// ok once the trend spans its minimum (3 minutes); unknown before.
		if s > 180 && r.Status != StatusOK || r.Lag != max(end-committed, 0) {
			t.Fatalf("at %.0f s: status %v lag %d, want ok and %d", s, r.Status, r.Lag, end-committed)
		}
	}
}

func TestCorpusCommittedPastEndIsOutOfRange(t *testing.T) {
	c := simConsumer{capacity: 400, commitEvery: 5, poisonAt: -1, stopAt: 1800}
	recreateAt := 2000.0
	p := simRun{hours: 1, seed: 500, rate: steadyRate(100), recreateAt: recreateAt, consumer: c}.run(t)
	detected := firstWith(p, recreateAt, StatusOutOfRange)
	t.Logf("topic re-created under a stopped assign() consumer: out_of_range %.0f s later", detected-recreateAt)
	if detected-recreateAt > 40 {
		t.Errorf("out_of_range %.0f s after the topic was re-created, want within two polls", detected-recreateAt)
	}
	for _, q := range p {
		if q.at >= detected && q.status == StatusOutOfRange && q.lag != 0 {
			t.Errorf("out_of_range with lag %d", q.lag)
		}
	}
	onlyStatus(t, p, detected, 3600, StatusOutOfRange)
}

func TestCorpusPoisonMessageStalledWithinTwoMinutes(t *testing.T) {
	for _, recommit := range []bool{true, false} {
		t.Run(fmt.Sprintf("recommit=%v", recommit), func(t *testing.T) {
			worst := 0.0
			for trial := range 20 {
				poisonTime := 3600 + 37.3*float64(trial)
				c := simConsumer{capacity: 1500, commitEvery: 5, members: true, recommit: recommit,
					poisonAt: int64(1000 * poisonTime)} // the producer writes ~1000 msg/s from offset 0
				r := simRun{hours: 1.25, seed: uint64(600 + trial), rate: steadyRate(1000), consumer: c}
				p, poisonedAt := r.replay(t)
				stalled := firstWith(p, 0, StatusStalled)
				worst = max(worst, stalled-poisonedAt)
				if stalled < poisonedAt {
					t.Errorf("trial %d: stalled before the poison message", trial)
				}
				onlyStatus(t, p, warmUp, poisonedAt, StatusOK)
				// Lagging may show between (the lag grows), never ok again once stalled.
				onlyStatus(t, p, stalled, math.Inf(1), StatusStalled)
			}
			t.Logf("poison message, member alive, recommit=%v: stalled at most %.0f s after the consumer reached it (20 trials)", recommit, worst)
			if worst > 120 {
				t.Errorf("stalled %.0f s after the poison message, want ≤ 120 s", worst)
			}
		})
	}
}

// TestLagTrendBarSeparatesHealthyFromSlowConsumers measures the lag's
// fitted rise in swings (see lagSwingFactor) over long histories: healthy
// consumers committing every 5 s or every minute stay below the bar, a
// consumer at 80% of the produce rate stays above half of it (so, once
// lagging, it stays lagging).
func TestLagTrendBarSeparatesHealthyFromSlowConsumers(t *testing.T) {
	cases := []struct {
		name    string
		rate    float64
		c       simConsumer
		healthy bool
	}{
		{"healthy, commits once a minute", 1000, simConsumer{capacity: 1500, commitEvery: 60, members: true, poisonAt: -1}, true},
		{"healthy, commits every 5 s", 1000, simConsumer{capacity: 1500, commitEvery: 5, members: true, poisonAt: -1}, true},
		{"healthy, moderate topic, commits once a minute", 50, simConsumer{capacity: 80, commitEvery: 60, members: true, poisonAt: -1}, true},
		{"slow (80%), commits once a minute", 1000, simConsumer{capacity: 800, commitEvery: 60, members: true, poisonAt: -1}, false},
		{"slow (80%), commits every 5 s", 1000, simConsumer{capacity: 800, commitEvery: 5, members: true, poisonAt: -1}, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			most, least := math.Inf(-1), math.Inf(1)
			onTrend := func(rise, swing float64) {
				most, least = max(most, rise/swing), min(least, rise/swing)
			}
			for k := range 4 {
				simRun{hours: 6, seed: uint64(1000 + 10*i + k), rate: steadyRate(tc.rate), consumer: tc.c, onTrend: onTrend}.run(t)
			}
			t.Logf("%s: rise/swing in [%.2f, %.2f] over 23 partition-hours", tc.name, least, most)
			if tc.healthy && most >= lagSwingFactor {
				t.Errorf("healthy consumer's rise reached %.2f swings, the bar is %d", most, lagSwingFactor)
			}
			if !tc.healthy && least <= lagSwingFactor/2 {
				t.Errorf("slow consumer's rise fell to %.2f swings, below half the bar (%d)", least, lagSwingFactor)
			}
		})
	}
}
