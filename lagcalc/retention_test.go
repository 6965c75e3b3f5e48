package lagcalc

import (
	"math/rand/v2"
	"testing"
	"time"
)

// Retention headroom and expired messages over long histories: what a
// consumer that keeps up, a framework that deletes its own records, and a
// backlog that really approaches retention read at every poll.

// retentionRun is one partition (orders/0, group billing) observed every
// 15 s, as the collector polls by default, with the default window.
type retentionRun struct {
	policy RetentionPolicy
	// offsets gives the log start, log end and committed offset at second
	// s; the collector reads the log start before the committed offset and
	// the log end after it, which offsets must model.
	offsets func(s float64) (start, end, committed int64)
	// written dates offset o (seconds since t0), standing in for the record
	// timestamps the collector reads when the history cannot date o.
	written  func(o int64) float64
	duration time.Duration
	// check is called with the result for billing at every poll.
	check func(s float64, r GroupPartitionResult)
}

func (run retentionRun) play(t *testing.T) {
	t.Helper()
	tr := NewTracker(Settings{})
	retention := map[string]RetentionPolicy{orders.Topic: run.policy}
	for s := 0.0; s <= run.duration.Seconds(); s += 15 {
		start, end, committed := run.offsets(s)
		tr.Observe(obs{at: s, start: start, end: end, committed: committed}.poll(retention))
		var records map[TopicPartitionOffset]time.Time
		if run.written != nil {
			records = map[TopicPartitionOffset]time.Time{}
			for _, o := range tr.UnresolvedOffsets() {
				records[o] = at(run.written(o.Offset))
			}
		}
		res := tr.Evaluate(at(s), records)
		checkResultInvariants(t, res)
		r, ok := res.GroupPartition(billing)
		if !ok {
			t.Fatalf("%.0f s: no result for %v", s, billing)
		}
		run.check(s, *r)
	}
}

// keepingUp is a topic written at rate msg/s since t0 whose group commits
// every commitEvery seconds (jittered by ±20 %) what it has read, 1 to 4
// messages behind the log end; the log start is whatever retention (a
// limit of keep seconds, applied to 10 s segments every 30 s) or the
// application left.
func keepingUp(rate float64, commitEvery, keep float64, seed uint64) func(s float64) (start, end, committed int64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	nextCommit, committed := 0.0, int64(0)
	return func(s float64) (int64, int64, int64) {
		end := 1_000_000 + int64(rate*s)
		for nextCommit <= s {
			committed = 1_000_000 + int64(rate*nextCommit) - 1 - rng.Int64N(4)
			nextCommit += commitEvery * (0.8 + 0.4*rng.Float64())
		}
		start := int64(0)
		if keep > 0 {
			// Retention runs every 30 s and deletes whole 10 s segments
			// older than keep.
			checked := 30 * float64(int64(s/30))
			if deleteBefore := checked - keep; deleteBefore > 0 {
				start = 1_000_000 + int64(rate*10*float64(int64(deleteBefore/10)))
			}
		}
		return start, end, committed
	}
}

func TestNoRetentionHeadroomForAConsumerThatKeepsUp(t *testing.T) {
	const hours = 3 * time.Hour
	byTime := func(ms int64) RetentionPolicy {
		return RetentionPolicy{Delete: true, RetentionMs: ms, RetentionBytes: -1}
	}
	cases := []struct {
		name        string
		policy      RetentionPolicy
		rate        float64
		commitEvery float64
		keep        float64
	}{
		{name: "1-minute retention, 5 s auto-commit", policy: byTime(60_000), rate: 3, commitEvery: 5, keep: 60},
		{name: "1-minute retention, a commit per second", policy: byTime(60_000), rate: 50, commitEvery: 1, keep: 60},
		{name: "1-hour retention, 5 s auto-commit", policy: byTime(3_600_000), rate: 2, commitEvery: 5, keep: 3600},
		{name: "1-hour retention, a quiet topic", policy: byTime(3_600_000), rate: 0.2, commitEvery: 5, keep: 3600},
		{name: "2-hour retention, commits every 30 s", policy: byTime(7_200_000), rate: 10, commitEvery: 30, keep: 7200},
		{
			name:   "size retention keeping about 10 minutes",
			policy: RetentionPolicy{Delete: true, RetentionMs: -1, RetentionBytes: 1 << 20},
			rate:   20, commitEvery: 5, keep: 600,
		},
		{
			name:   "time and size retention both short",
			policy: RetentionPolicy{Delete: true, RetentionMs: 120_000, RetentionBytes: 1 << 20},
			rate:   20, commitEvery: 5, keep: 120,
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			retentionRun{
				policy:   tc.policy,
				offsets:  keepingUp(tc.rate, tc.commitEvery, tc.keep, uint64(i)),
				duration: hours,
				check: func(s float64, r GroupPartitionResult) {
					if r.HasRetentionHeadroom {
						t.Fatalf("%.0f s: lag %d (%.1f s old), headroom %.0f s; want none: the group keeps up",
							s, r.Lag, r.LagSeconds, r.RetentionHeadroomSeconds)
					}
					if r.ExpiredMessages != 0 {
						t.Fatalf("%.0f s: %d expired messages, want 0", s, r.ExpiredMessages)
					}
				},
			}.play(t)
		})
	}
}

// A Kafka Streams repartition topic: retention.ms=-1, and after each commit
// the application deletes (DeleteRecords) up to its committed offset, so
// the log start follows the group. The collector reads the log start before
// the committed offset, so it never sees the log start past it.
func TestNoRetentionHeadroomNorLossOnATopicPurgedByItsOwnConsumer(t *testing.T) {
	for _, commitEvery := range []float64{0.1, 1, 30} {
		rng := rand.New(rand.NewPCG(uint64(commitEvery*10), 2))
		purged := int64(0)
		offsets := keepingUp(200, commitEvery, 0, uint64(commitEvery*100))
		retentionRun{
			policy: RetentionPolicy{Delete: true, RetentionMs: -1, RetentionBytes: -1},
			offsets: func(s float64) (int64, int64, int64) {
				_, end, committed := offsets(s)
				// The purge of the previous commit has run, or not yet.
				start := purged
				if rng.IntN(2) == 0 {
					start = committed
				}
				purged = committed
				return start, end, committed
			},
			duration: 2 * time.Hour,
			check: func(s float64, r GroupPartitionResult) {
				if r.HasRetentionHeadroom || r.ExpiredMessages != 0 {
					t.Fatalf("commits every %v s, %.0f s: headroom %v (%.0f s), expired %d; want neither",
						commitEvery, s, r.HasRetentionHeadroom, r.RetentionHeadroomSeconds, r.ExpiredMessages)
				}
			},
		}.play(t)
	}
}

// A stopped consumer on a 1-hour-retention topic: its oldest unread
// message ages until retention deletes it. Headroom appears half way (30
// minutes of age, 30 minutes left), counts down, and reaches 0 when the
// message is an hour old.
func TestRetentionHeadroomCountsDownForABacklogThatApproachesRetention(t *testing.T) {
	const rate = 5.0
	endAt := func(s float64) int64 { return 1_000_000 + int64(rate*s) }
	stoppedAt := 600.0
	first := -1.0
	retentionRun{
		policy: RetentionPolicy{Delete: true, RetentionMs: 3_600_000, RetentionBytes: -1},
		offsets: func(s float64) (int64, int64, int64) {
			return 0, endAt(s), endAt(min(s, stoppedAt))
		},
		written:  func(o int64) float64 { return float64(o-1_000_000) / rate },
		duration: 80 * time.Minute,
		check: func(s float64, r GroupPartitionResult) {
			age := s - stoppedAt
			switch {
			case age < 1800-15:
				if r.HasRetentionHeadroom {
					t.Fatalf("%.0f s (backlog %.0f s old): headroom %.0f s, want none before half the retention", s, age, r.RetentionHeadroomSeconds)
				}
			case age >= 1800:
				if first < 0 {
					first = s
				}
				want := max(3600-age, 0)
				if !r.HasRetentionHeadroom || !approx(r.RetentionHeadroomSeconds, want, 1) {
					t.Fatalf("%.0f s (backlog %.0f s old): headroom %.1f s (has %v), want %.0f s",
						s, age, r.RetentionHeadroomSeconds, r.HasRetentionHeadroom, want)
				}
			}
		},
	}.play(t)
	if first < 0 {
		t.Fatal("no headroom was ever reported")
	}
}

// A consumer reading 60 % of what producers write on a 2-hour-retention
// topic falls further behind all the time; its headroom appears once its
// oldest unread message is an hour old and falls below the 2-hour page
// floor at once (the floor is about time to act, not about the topic).
func TestRetentionHeadroomForAConsumerFallingBehind(t *testing.T) {
	const rate = 10.0
	endAt := func(s float64) int64 { return 1_000_000 + int64(rate*s) }
	var seen bool
	retentionRun{
		policy: RetentionPolicy{Delete: true, RetentionMs: 7_200_000, RetentionBytes: -1},
		offsets: func(s float64) (int64, int64, int64) {
			return 0, endAt(s), endAt(0.6 * s)
		},
		written:  func(o int64) float64 { return float64(o-1_000_000) / rate },
		duration: 3 * time.Hour,
		check: func(s float64, r GroupPartitionResult) {
			age := 0.4 * s
			if age < 3600-15 && r.HasRetentionHeadroom {
				t.Fatalf("%.0f s (backlog %.0f s old): headroom %.0f s, want none yet", s, age, r.RetentionHeadroomSeconds)
			}
			if age >= 3600+15 {
				seen = true
				if !r.HasRetentionHeadroom || !approx(r.RetentionHeadroomSeconds, 7200-age, 2) {
					t.Fatalf("%.0f s (backlog %.0f s old): headroom %.1f s (has %v), want %.0f s",
						s, age, r.RetentionHeadroomSeconds, r.HasRetentionHeadroom, 7200-age)
				}
			}
		},
	}.play(t)
	if !seen {
		t.Fatal("the run never reached half the retention")
	}
}

// Under a size limit the log start advances as the producers write; a
// stopped group is reached in (position − log start) ÷ the log-start rate,
// reported once its unread messages fill half the log kept.
func TestRetentionHeadroomUnderASizeLimitForAStoppedGroup(t *testing.T) {
	const rate = 10.0 // messages/s written and, once the log is full, deleted
	const kept = 12_000
	var seen bool
	retentionRun{
		policy: RetentionPolicy{Delete: true, RetentionMs: -1, RetentionBytes: 1 << 20},
		offsets: func(s float64) (int64, int64, int64) {
			end := int64(100_000 + rate*s)
			return end - kept, end, 100_000 + int64(rate*min(s, 600))
		},
		duration: 40 * time.Minute,
		check: func(s float64, r GroupPartitionResult) {
			start, end, committed := int64(100_000+rate*s)-kept, int64(100_000+rate*s), 100_000+int64(rate*min(s, 600))
			unread := end - committed
			if 2*unread < kept-150 && r.HasRetentionHeadroom {
				t.Fatalf("%.0f s: %d of %d kept messages unread, headroom %.0f s; want none below half", s, unread, kept, r.RetentionHeadroomSeconds)
			}
			if 2*unread >= kept+150 && committed > start {
				seen = true
				want := float64(committed-start) / rate
				if !r.HasRetentionHeadroom || !approx(r.RetentionHeadroomSeconds, want, 1) {
					t.Fatalf("%.0f s: headroom %.1f s (has %v), want %.0f s", s, r.RetentionHeadroomSeconds, r.HasRetentionHeadroom, want)
				}
			}
		},
	}.play(t)
	if !seen {
		t.Fatal("the stopped group never filled half the log")
	}
}
