package lagcalc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"
)

// The commit-cadence learner on long jittered histories, default settings,
// polled every 15 s ± 2 s: a consumer that commits every 1 s to every 10
// minutes (±10%) and keeps up is never stalled or stopped, from lagwatch's
// first poll on; a stuck one is still caught.

func TestHealthyCommittersFrom1sTo10MinAreNeverStalledOrStopped(t *testing.T) {
	for _, every := range []float64{1, 5, 30, 60, 120, 240, 300, 600} {
		for _, members := range []bool{true, false} {
			name := fmt.Sprintf("commits every %v s, members %v", every, members)
			t.Run(name, func(t *testing.T) {
				counts, total, hours := threeRuns(warmUp+2*every, func(k int) []simPoll {
					c := simConsumer{capacity: 150, commitEvery: every, members: members, poisonAt: -1}
					return simRun{hours: 3, seed: uint64(2000 + 100*every + float64(k)), rate: steadyRate(100), consumer: c}.run(t)
				})
				t.Logf("%s: statuses %v; %d status changes in %.1f partition-hours after warm-up", name, counts, total, hours)
				if counts[StatusStalled]+counts[StatusStopped] > 0 {
					t.Errorf("stalled or stopped at some poll: %v", counts)
				}
				if total != 0 {
					t.Errorf("%d status changes after warm-up, want 0", total)
				}
			})
		}
	}
}

// threeRuns replays three histories (run(k) is the k-th) and sums their
// statuses at every poll, and their status changes and partition-hours
// after warmUpEnd seconds.
func threeRuns(warmUpEnd float64, run func(k int) []simPoll) (counts map[Status]int, changes int, hours float64) {
	counts = map[Status]int{}
	for k := range 3 {
		p := run(k)
		for s, n := range statusCounts(p, 0, math.Inf(1)) {
			counts[s] += n
		}
		n, h := statusChanges(p, warmUpEnd)
		changes, hours = changes+n, hours+h
	}
	return counts, changes, hours
}

func TestCronConsumerEveryFiveMinutesDoesNotFlap(t *testing.T) {
	// Joins every 5 minutes, drains, commits, leaves: seen from Kafka, a
	// memberless group whose committed offset jumps every 5 minutes.
	c := simConsumer{capacity: 100000, commitEvery: 300, poisonAt: -1}
	p := simRun{hours: 2, seed: 2500, rate: steadyRate(50), consumer: c}.run(t)
	all, _ := statusChanges(p, 0)
	n, h := statusChanges(p, warmUp+600)
	counts := statusCounts(p, 0, math.Inf(1))
	t.Logf("cron every 5 min: %d status changes from lagwatch's first poll (warm-up: unknown until the cadence is learned), %d in %.1f hours after warm-up; statuses %v", all, n, h, counts)
	if counts[StatusStopped]+counts[StatusStalled] > 0 {
		t.Errorf("stopped or stalled at some poll: %v", counts)
	}
	if n > 0 {
		t.Errorf("%d status changes after warm-up, want 0", n)
	}
}

func TestPoisonBehindAFiveSecondCommitterStalledWithin75s(t *testing.T) {
	worst, best := 0.0, math.Inf(1)
	for trial := range 20 {
		poisonTime := 1800 + 37.3*float64(trial)
		c := simConsumer{capacity: 1500, commitEvery: 5, members: true, poisonAt: int64(1000 * poisonTime)}
		p, poisonedAt := simRun{hours: 0.75, seed: uint64(2600 + trial), rate: steadyRate(1000), consumer: c}.replay(t)
		stalled := firstWith(p, 0, StatusStalled)
		worst, best = max(worst, stalled-poisonedAt), min(best, stalled-poisonedAt)
		onlyStatus(t, p, stalled, math.Inf(1), StatusStalled)
	}
	t.Logf("poison behind a 5 s committer: stalled %.0f–%.0f s after the consumer reached it (20 trials)", best, worst)
	if worst > 80 {
		t.Errorf("stalled %.0f s after the poison message, want ≤ 80 s (60 s stall-after, one poll, one commit)", worst)
	}
}

func TestPoisonBehindAFourMinuteCommitterStalledAfterItsLearnedCadence(t *testing.T) {
	// A sink that commits when it flushes, every 4 minutes: stuck once
	// still clearly longer than that (1.5 × its cadence plus a poll).
	best, worst := poisonTrials(t, func(trial int) ([]simPoll, float64) {
		poisonTime := 3600 + 61.7*float64(trial)
		c := simConsumer{capacity: 1500, commitEvery: 240, members: true, poisonAt: int64(1000 * poisonTime)}
		return simRun{hours: 1.5, seed: uint64(2700 + trial), rate: steadyRate(1000), consumer: c}.replay(t)
	})
	t.Logf("poison behind a 4-minute committer: stalled %.0f–%.0f s after the consumer reached it (10 trials)", best, worst)
	if worst > 8*60 {
		t.Errorf("stalled %.0f s after the poison message, want within 8 minutes", worst)
	}
}

// poisonTrials replays ten histories with a poison message (replay(trial)
// returns the polls and when the consumer reached the message), fails a
// trial that was stalled or stopped before it, and returns how long after
// it the partition was first stalled: the best and the worst trial.
func poisonTrials(t *testing.T, replay func(trial int) ([]simPoll, float64)) (best, worst float64) {
	t.Helper()
	best = math.Inf(1)
	for trial := range 10 {
		p, poisonedAt := replay(trial)
		if counts := statusCounts(p, 0, poisonedAt); counts[StatusStalled]+counts[StatusStopped] > 0 {
			t.Errorf("trial %d: stalled before the poison message: %v", trial, counts)
		}
		stalled := firstWith(p, poisonedAt, StatusStalled)
		best, worst = min(best, stalled-poisonedAt), max(worst, stalled-poisonedAt)
	}
	return best, worst
}

func TestWarmUpAPartitionAlreadyStuckAtStartIsUnknownThenStalled(t *testing.T) {
	// lagwatch starts while the partition is already stuck: no move to
	// learn a cadence from. Unknown (never ok) until still for the warm-up
	// limit, 1.5 × maxUnlearnedCadence plus a poll, then stalled.
	tr := NewTracker(Settings{})
	var statuses []simPoll
	for s := 0.0; s <= 1200; s += 15 {
		tr.Observe(Poll{Time: at(s), Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: 1000 + int64(10*s)}},
			Commits: []Commit{{GroupPartition: billing, Committed: 900}}, Groups: []GroupState{{Group: "billing", HasMembers: true}}})
		r, _ := tr.Evaluate(at(s), nil).GroupPartition(billing)
		statuses = append(statuses, simPoll{at: s, status: r.Status})
	}
	stalled := firstWith(statuses, 0, StatusStalled)
	limit := 1.5*maxUnlearnedCadence.Seconds() + 15
	t.Logf("already stuck at start: stalled at %.0f s (limit %.0f s)", stalled, limit)
	onlyStatus(t, statuses, 15, stalled, StatusUnknown)
	if stalled < limit || stalled > limit+15 {
		t.Errorf("stalled at %.0f s, want at %.0f s (one poll)", stalled, limit)
	}
	onlyStatus(t, statuses, stalled, math.Inf(1), StatusStalled)
}

func TestWarmUpAnOverriddenGroupIsJudgedAtOnce(t *testing.T) {
	tr := NewTracker(Settings{GroupStallAfter: []GroupStallAfter{{Pattern: regexp.MustCompile("^bill.*$"), StallAfter: 2 * time.Minute}}})
	var statuses []simPoll
	for s := 0.0; s <= 300; s += 15 {
		tr.Observe(Poll{Time: at(s), Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: 1000 + int64(10*s)}},
			Commits: []Commit{{GroupPartition: billing, Committed: 900}}, Groups: []GroupState{{Group: "billing", HasMembers: true}}})
		r, _ := tr.Evaluate(at(s), nil).GroupPartition(billing)
		statuses = append(statuses, simPoll{at: s, status: r.Status})
	}
	if got := firstWith(statuses, 0, StatusStalled); got != 120 {
		t.Errorf("stalled at %v s, want at 120 s (--group.stall-after=billing.*=2m)", got)
	}
}

func TestStallThreshold(t *testing.T) {
	s, m := int64(time.Second), int64(time.Minute)
	cases := []struct {
		name                 string
		floor, cadence, poll int64
		want                 int64
	}{
		{"a 5 s committer polled every 15 s: the floor", 60 * s, 15 * s, 15 * s, 60 * s},
		{"a minutely committer: 1.5 × 60 s + 15 s", 60 * s, 60 * s, 15 * s, 105 * s},
		{"a 4-minute committer: 1.5 × 4 min + 15 s", 60 * s, 4 * m, 15 * s, 375 * s},
		{"an override above the learned threshold wins", 10 * m, 4 * m, 15 * s, 10 * m},
	}
	for _, tc := range cases {
		if got := stallThreshold(tc.floor, tc.cadence, tc.poll); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, time.Duration(got), time.Duration(tc.want))
		}
	}
}

func TestWarmUpLimitShrinksWithAShortStallAfter(t *testing.T) {
	// A 5 s stall-after (a demo, a test) assumes an unlearned cadence of
	// 50 s, not 10 minutes: a partition stuck from the start is stalled
	// after 1.5 × 50 s plus a poll, unknown before.
	tr := NewTracker(Settings{StallAfter: 5 * time.Second})
	var statuses []simPoll
	for s := 0.0; s <= 200; s++ {
		tr.Observe(Poll{Time: at(s), Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: 1000 + int64(10*s)}},
			Commits: []Commit{{GroupPartition: billing, Committed: 900}}, Groups: []GroupState{{Group: "billing", HasMembers: true}}})
		r, _ := tr.Evaluate(at(s), nil).GroupPartition(billing)
		statuses = append(statuses, simPoll{at: s, status: r.Status})
	}
	stalled := firstWith(statuses, 0, StatusStalled)
	onlyStatus(t, statuses, 1, stalled, StatusUnknown)
	if want := 1.5*50 + 1; stalled < want || stalled > want+1 {
		t.Errorf("stalled at %.0f s, want at %.0f s (one poll)", stalled, want)
	}
}

// burstyRate writes r messages a second in some of the slot-second slots,
// each one written with probability share, and nothing in the others: a
// producer that writes in bursts, so a consumer that keeps up is at lag 0
// at some polls between its commits, for stretches of random length.
func burstyRate(r, slot, share float64, seed uint64) func(float64) float64 {
	return func(s float64) float64 {
		rng := rand.New(rand.NewPCG(seed, uint64(s/slot)))
		if rng.Float64() < share {
			return r
		}
		return 0
	}
}

func TestHealthyCommittersOnABurstyTopicAreNeverStalledOrStopped(t *testing.T) {
	// Between two commits the consumer catches up, a poll sees lag 0, and
	// the next burst starts: the commit interval is the time the offset
	// sits still, not the time it sits still with lag since that poll.
	for _, every := range []float64{5, 30, 60, 120, 300, 600} {
		for _, burst := range [][2]float64{{5, 0.3}, {15, 0.5}, {30, 0.2}} {
			name := fmt.Sprintf("commits every %v s, %v s bursts in %.0f%% of the time", every, burst[0], 100*burst[1])
			t.Run(name, func(t *testing.T) {
				counts, total, hours := threeRuns(warmUp+2*every, func(k int) []simPoll {
					seed := uint64(3000 + 10*every + 100*burst[0] + float64(k))
					c := simConsumer{capacity: 1000, commitEvery: every, members: true, poisonAt: -1}
					return simRun{hours: 3, seed: seed, rate: burstyRate(200, burst[0], burst[1], seed), consumer: c}.run(t)
				})
				t.Logf("%s: statuses %v; %d status changes in %.1f partition-hours after warm-up", name, counts, total, hours)
				if counts[StatusStalled]+counts[StatusStopped] > 0 {
					t.Errorf("stalled or stopped at some poll: %v", counts)
				}
				// A consumer that commits only once or twice a window
				// shows one or two teeth of its lag's sawtooth in it: the
				// trend rule may read a burst as lagging for a few polls,
				// never for the 15 minutes KafkaConsumerLagNotDraining
				// waits.
				if 2*every < DefaultWindow.Seconds() && total != 0 {
					t.Errorf("%d status changes after warm-up, want 0", total)
				}
			})
		}
	}
}

func TestPoisonOnABurstyTopicIsStalledWithinMinutes(t *testing.T) {
	// What the cadence allows a healthy consumer on a bursty topic (a
	// whole commit interval) still catches a poison message within
	// 1.5 × the interval plus a poll or two.
	for _, tc := range []struct {
		every, slot, share, within float64
	}{
		{every: 5, slot: 15, share: 0.5, within: 2 * 60},
		{every: 60, slot: 15, share: 0.5, within: 3 * 60},
		{every: 60, slot: 30, share: 0.2, within: 3 * 60},
		{every: 120, slot: 30, share: 0.2, within: 5 * 60},
	} {
		name := fmt.Sprintf("commits every %v s, %v s bursts in %.0f%% of the time", tc.every, tc.slot, 100*tc.share)
		t.Run(name, func(t *testing.T) {
			best, worst := poisonTrials(t, func(trial int) ([]simPoll, float64) {
				seed := uint64(4000 + 10*tc.every + 100*tc.slot + float64(trial))
				c := simConsumer{capacity: 1000, commitEvery: tc.every, members: true, poisonAt: int64(200 * 0.5 * tc.share * (2400 + 61.7*float64(trial)))}
				return simRun{hours: 1.5, seed: seed, rate: burstyRate(200, tc.slot, tc.share, seed), consumer: c}.replay(t)
			})
			t.Logf("%s: stalled %.0f–%.0f s after the consumer reached the poison message (10 trials)", name, best, worst)
			if worst > tc.within {
				t.Errorf("stalled %.0f s after the poison message, want within %.0f s", worst, tc.within)
			}
		})
	}
}

func TestPoisonOnAQuietTopicIsStalledWithinMinutes(t *testing.T) {
	// A message every few minutes, committed within seconds: the consumer
	// sits without lag almost all the time. That idle time is not its
	// cadence; a poison message is caught about as fast as on a busy
	// topic once lagwatch has seen a few messages go through.
	best, worst := poisonTrials(t, func(trial int) ([]simPoll, float64) {
		seed := uint64(4500 + trial)
		c := simConsumer{capacity: 1000, commitEvery: 5, members: true, poisonAt: int64(2 * (1800 + 61.7*float64(trial)) / 180)}
		return simRun{hours: 2, seed: seed, rate: burstyRate(2, 1, 1.0/180, seed), consumer: c}.replay(t)
	})
	t.Logf("quiet topic: stalled %.0f–%.0f s after the consumer reached the poison message (10 trials)", best, worst)
	if worst > 3*60 {
		t.Errorf("stalled %.0f s after the poison message, want within 3 minutes", worst)
	}
}

func TestOnceAMinuteCommitterOnABurstyTopicIsOKOnceItsHistorySpansTheWindow(t *testing.T) {
	// The corpus's busy-topic test on the real broker, as lagcalc sees it:
	// polls every 15 s, a commit of everything read every 4th poll, and a
	// producer that writes about 300 records into most polls' intervals
	// but none into some (the partitioner stuck to another partition), so
	// some polls see the consumer caught up between its commits. Once the
	// lag's history spans the window (10 minutes: the 41st poll) the status
	// is ok, never unknown or stalled. (Before, a rise over a shorter
	// history may read unknown: it could still be lagging.)
	const okFrom = 40
	for seed := range uint64(500) {
		rng := rand.New(rand.NewPCG(seed, 7))
		tr := NewTracker(Settings{})
		end, committed, read := int64(1000), int64(-1), int64(1000)
		for poll := range 100 {
			if rng.Float64() < 0.7 {
				end += 250 + rng.Int64N(100)
			}
			if rng.Float64() < 0.8 {
				read = end // the consumer reads on, except when it falls behind for a poll
			}
			if poll%4 == 3 {
				// The driver commits once the consumer read something
				// since its last commit, as the real test's does.
				if read == committed {
					read = end
				}
				committed = read
			}
			tr.Observe(Poll{Time: at(15 * float64(poll)), Partitions: []PartitionOffsets{{TopicPartition: orders, LogEnd: end, LastStable: end}},
				Commits: []Commit{{GroupPartition: billing, Committed: committed}}, Groups: []GroupState{{Group: billing.Group, HasMembers: true}}})
			r, _ := tr.Evaluate(at(15*float64(poll)), nil).GroupPartition(billing)
			if poll >= okFrom && r.Status != StatusOK {
				t.Errorf("seed %d, poll %d: %v (lag %d, committed %d), want ok", seed, poll, r.Status, r.Lag, committed)
			}
		}
	}
}
