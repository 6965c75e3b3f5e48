package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// fastWorkload is the demo's workload on a clock short enough for a test:
// every scripted event happens within a few seconds, and retention keeps
// messages for 2 s instead of a minute.
func fastWorkload() workload {
	w := defaultWorkload()
	w.retentionRate = 10
	w.commitInterval = 100 * time.Millisecond
	w.leaveAfter = 3 * time.Second
	w.stuckAfter = 2 * time.Second
	w.crashAfter = 3 * time.Second
	// The smallest session timeout kfake accepts, like Kafka's
	// group.min.session.timeout.ms.
	w.crashSessionTimeout = 6 * time.Second
	w.rewindFirst = 4 * time.Second
	w.rewindEvery = 8 * time.Second
	w.rewindBy = 20
	w.retention = 2 * time.Second
	w.segmentAge = time.Second
	// Creating the topics keeps the demo's own bound (a minute), scaled:
	// on a busy machine a real broker can take longer than a few seconds
	// to create a topic, and a workload that gave up shows nothing.
	w.createTimeout = waitfor.Scaled(w.createTimeout)
	w.deadLetterEvery = 10
	w.retryBackoff = 10 * time.Millisecond
	return w
}

const (
	// conditionTimeout bounds each wait for the workload to show a
	// scenario; every one is due within about 10 s of the start on a
	// quiet machine. It is scaled by LAGWATCH_TEST_SLOWDOWN, as is
	// requestTimeout, which bounds one round of a condition's requests.
	conditionTimeout = 40 * time.Second
	requestTimeout   = 5 * time.Second
	pollEvery        = 100 * time.Millisecond
)

// TestWorkloadOnEmbeddedCluster runs the demo against the embedded
// cluster, as `lagwatch demo` does.
func TestWorkloadOnEmbeddedCluster(t *testing.T) {
	addrs, stop, err := startCluster(250 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	testWorkload(t, addrs)
}

// testWorkload runs the demo's workload on a fast clock against addrs and
// checks, the way the exporter would see it, that each scenario has its
// effect on committed offsets, members and log offsets. The cluster may
// hold the topics and groups of an earlier run (go test -count=2 reuses
// the package's broker, as a second `lagwatch demo` reuses an external
// cluster): checks that a leftover group could satisfy look for this
// run's doing.
func testWorkload(t *testing.T, addrs []string) {
	w := fastWorkload()
	adm := newAdmin(t, addrs)
	paymentsAtStart := endOffsetsIfAny(t, adm, topicPayments)
	deadLettersAtStart := endOffsetsIfAny(t, adm, topicPaymentsDLT)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- run(ctx, addrs, testLogger(t), w) }()

	// The crash is a moment, not a state: watch it from the start, before
	// the parallel checks of lasting states queue for their turn.
	t.Run("CrashedGroupEmptiesOnlyAfterItsSessionTimeout", func(t *testing.T) {
		var last map[int32]int64
		var lastChange time.Time
		var memberSeen bool
		eventually(t, func(ctx context.Context) string {
			committed, err := committedOffsets(ctx, adm, groupCrashed, topicOrders)
			if err != nil || len(committed) == 0 {
				return fmt.Sprintf("committed %v, err %v", committed, err)
			}
			if !maps.Equal(committed, last) {
				last, lastChange = committed, time.Now()
			}
			g, err := describe(ctx, adm, groupCrashed)
			if err != nil {
				return err.Error()
			}
			if len(g.Members) > 0 {
				memberSeen = true
			}
			if !memberSeen {
				return fmt.Sprintf("group is %s and this run's member has not joined yet", g.State)
			}
			if g.State != "Empty" || len(g.Members) != 0 {
				return fmt.Sprintf("group is %s with %d members", g.State, len(g.Members))
			}
			// A clean leave empties the group right after the last
			// commit; a crash only once the session times out.
			if quiet := time.Since(lastChange); quiet < w.crashSessionTimeout/2 {
				t.Errorf("group emptied %s after its last commit; a crashed member stays for its %s session", quiet, w.crashSessionTimeout)
			}
			return ""
		})
	})

	t.Run("scenarios", func(t *testing.T) {
		t.Run("TopicsExistWithThreePartitionsAndShortRetention", func(t *testing.T) {
			t.Parallel()
			eventually(t, func(ctx context.Context) string {
				topics, err := adm.ListTopics(ctx, topicOrders, topicPayments, topicShortRetention)
				if err != nil {
					return err.Error()
				}
				for _, name := range []string{topicOrders, topicPayments, topicShortRetention} {
					td, ok := topics[name]
					if !ok || td.Err != nil {
						return fmt.Sprintf("topic %s missing: %v", name, td.Err)
					}
					if len(td.Partitions) != partitionsPerTopic {
						return fmt.Sprintf("topic %s has %d partitions", name, len(td.Partitions))
					}
				}
				configs, err := adm.DescribeTopicConfigs(ctx, topicShortRetention)
				if err != nil {
					return err.Error()
				}
				rc, err := configs.On(topicShortRetention, nil)
				if err != nil {
					return err.Error()
				}
				for _, c := range rc.Configs {
					if c.Key == "retention.ms" && c.MaybeValue() == "2000" {
						return ""
					}
				}
				return fmt.Sprintf("%s has no retention.ms 2000: %+v", topicShortRetention, rc.Configs)
			})
		})

		t.Run("EveryScenarioGroupExists", func(t *testing.T) {
			t.Parallel()
			eventually(t, func(ctx context.Context) string {
				listed, err := adm.ListGroups(ctx)
				if err != nil {
					return err.Error()
				}
				for _, s := range Scenarios() {
					if _, ok := listed[s.Group]; s.Group != "" && !ok {
						return fmt.Sprintf("group %s not listed; have %v", s.Group, listed.Groups())
					}
				}
				return ""
			})
		})

		t.Run("HealthyGroupHasTwoMembersCommitsEveryPartitionAndKeepsUp", func(t *testing.T) {
			t.Parallel()
			var first map[int32]int64
			eventually(t, func(ctx context.Context) string {
				g, err := describe(ctx, adm, groupHealthy)
				if err != nil {
					return err.Error()
				}
				if len(g.Members) != 2 || g.State != "Stable" {
					return fmt.Sprintf("group is %s with %d members", g.State, len(g.Members))
				}
				committed, err := committedOffsets(ctx, adm, groupHealthy, topicOrders)
				if err != nil || len(committed) != partitionsPerTopic {
					return fmt.Sprintf("committed %v, err %v", committed, err)
				}
				if first == nil {
					first = committed
					return "took the first sample"
				}
				for p, off := range committed {
					if off <= first[p] {
						return fmt.Sprintf("partition %d committed %d, not past %d", p, off, first[p])
					}
				}
				lag, err := lagSum(ctx, adm, topicOrders, committed)
				if err != nil {
					return err.Error()
				}
				// One second of production: a member that keeps up
				// is never further behind than a commit interval
				// and a fetch.
				if lag > int64(w.ordersRate) {
					return fmt.Sprintf("lag %d", lag)
				}
				return ""
			})
		})

		t.Run("SlowGroupConsumesButItsLagGrows", func(t *testing.T) {
			t.Parallel()
			var firstLag, firstSum int64 = -1, 0
			eventually(t, func(ctx context.Context) string {
				committed, err := committedOffsets(ctx, adm, groupSlow, topicOrders)
				if err != nil || len(committed) != partitionsPerTopic {
					return fmt.Sprintf("committed %v, err %v", committed, err)
				}
				lag, err := lagSum(ctx, adm, topicOrders, committed)
				if err != nil {
					return err.Error()
				}
				sum := int64(0)
				for _, off := range committed {
					sum += off
				}
				if firstLag < 0 {
					firstLag, firstSum = lag, sum
					return "took the first sample"
				}
				// It reads 60 % of 20 msg/s: 8 msg/s more lag, while
				// still committing 12 msg/s.
				if lag < firstLag+20 || sum <= firstSum {
					return fmt.Sprintf("lag %d (first %d), committed sum %d (first %d)", lag, firstLag, sum, firstSum)
				}
				return ""
			})
		})

		t.Run("DepartedGroupHasNoMembersButKeepsItsOffsetsAndLags", func(t *testing.T) {
			t.Parallel()
			eventually(t, func(ctx context.Context) string {
				g, err := describe(ctx, adm, groupDeparted)
				if err != nil {
					return err.Error()
				}
				if g.State != "Empty" || len(g.Members) != 0 {
					return fmt.Sprintf("group is %s with %d members", g.State, len(g.Members))
				}
				committed, err := committedOffsets(ctx, adm, groupDeparted, topicPayments)
				if err != nil || len(committed) == 0 {
					return fmt.Sprintf("committed %v, err %v", committed, err)
				}
				committedThisRun := false
				for p, off := range committed {
					committedThisRun = committedThisRun || off > paymentsAtStart[p]
				}
				if !committedThisRun {
					return fmt.Sprintf("committed %v, none past the log ends %v before the run", committed, paymentsAtStart)
				}
				if lag, err := lagSum(ctx, adm, topicPayments, committed); err != nil || lag == 0 {
					return fmt.Sprintf("lag %d, err %v", lag, err)
				}
				return ""
			})
		})

		t.Run("ShareQueueKeepsUpWhileTheStalledShareGroupHoldsItsStartOffsetAndLagGrows", func(t *testing.T) {
			t.Parallel()
			eventually(t, func(ctx context.Context) string {
				members, _, lag, err := shareGroup(ctx, adm, groupShareQueue)
				if err != nil || members != 2 || lag < 0 || lag > int64(w.ordersRate) {
					return fmt.Sprintf("%s: %d members, lag %d (err %v); want 2 members keeping up", groupShareQueue, members, lag, err)
				}
				return ""
			})
			// The stalled member stops acknowledging at stuckAfter; from
			// then on the start offsets stay put while the lag grows.
			var base map[int32]int64
			var baseLag int64
			var baseAt time.Time
			const holdFor = 3 * time.Second
			eventually(t, func(ctx context.Context) string {
				members, start, lag, err := shareGroup(ctx, adm, groupShareStalled)
				if err != nil || members != 1 || len(start) == 0 {
					return fmt.Sprintf("%s: %d members, start offsets %v (err %v)", groupShareStalled, members, start, err)
				}
				if !maps.Equal(start, base) {
					base, baseLag, baseAt = start, lag, time.Now()
					return fmt.Sprintf("start offsets moved to %v", start)
				}
				if time.Since(baseAt) < holdFor || lag <= baseLag {
					return fmt.Sprintf("start offsets %v unchanged for %s, lag %d (then %d)", start, time.Since(baseAt).Round(time.Second), lag, baseLag)
				}
				return ""
			})
		})

		t.Run("StalledGroupHoldsPartitionZeroWhileOneAndTwoAdvance", func(t *testing.T) {
			t.Parallel()
			// base is the last sample at which partition 0's committed
			// offset changed: it has to stay put for holdFor while the
			// other partitions move on.
			const holdFor = 3 * time.Second
			var base map[int32]int64
			var baseAt time.Time
			eventually(t, func(ctx context.Context) string {
				committed, err := committedOffsets(ctx, adm, groupStalled, topicPayments)
				if err != nil || len(committed) != partitionsPerTopic {
					return fmt.Sprintf("committed %v, err %v", committed, err)
				}
				if base == nil || committed[stuckPartition] != base[stuckPartition] {
					base, baseAt = committed, time.Now()
					return fmt.Sprintf("partition 0 moved to %d", committed[stuckPartition])
				}
				if time.Since(baseAt) < holdFor {
					return "partition 0 unchanged so far"
				}
				for _, p := range []int32{1, 2} {
					if committed[p] <= base[p] {
						return fmt.Sprintf("partition %d did not advance past %d", p, base[p])
					}
				}
				end, err := logOffsets(ctx, adm.ListEndOffsets, topicPayments)
				if err != nil {
					return err.Error()
				}
				if end[stuckPartition] <= committed[stuckPartition] {
					return "partition 0 has no lag"
				}
				g, err := describe(ctx, adm, groupStalled)
				if err != nil || len(g.Members) == 0 {
					return fmt.Sprintf("stalled group has no members (err %v)", err)
				}
				return ""
			})
		})

		t.Run("DeadLetterGroupParksFailingRecordsAndKeepsEveryPartitionMoving", func(t *testing.T) {
			t.Parallel()
			var first map[int32]int64
			eventually(t, func(ctx context.Context) string {
				committed, err := committedOffsets(ctx, adm, groupDeadLetter, topicPayments)
				if err != nil || len(committed) != partitionsPerTopic {
					return fmt.Sprintf("committed %v, err %v", committed, err)
				}
				if first == nil {
					first = committed
					return "took the first sample"
				}
				// Past at least one failing record on every partition:
				// retried, parked, and left behind.
				for p, off := range committed {
					if off <= first[p]+w.deadLetterEvery {
						return fmt.Sprintf("partition %d committed %d, not a failing record past %d", p, off, first[p])
					}
				}
				end, err := logOffsets(ctx, adm.ListEndOffsets, topicPaymentsDLT)
				if err != nil {
					return err.Error()
				}
				parked := int64(0)
				for p, off := range end {
					parked += off - deadLettersAtStart[p]
				}
				if parked < partitionsPerTopic {
					return fmt.Sprintf("%d records parked in %s this run", parked, topicPaymentsDLT)
				}
				return ""
			})
		})

		t.Run("UnassignedGroupLeavesItsMemberPartitionsZeroAndOneOnly", func(t *testing.T) {
			t.Parallel()
			var first map[int32]int64
			eventually(t, func(ctx context.Context) string {
				g, err := describe(ctx, adm, groupUnassigned)
				if err != nil {
					return err.Error()
				}
				if g.State != "Stable" || len(g.Members) != 1 {
					return fmt.Sprintf("group is %s with %d members", g.State, len(g.Members))
				}
				assigned, ok := g.Members[0].Assigned.AsConsumer()
				if !ok {
					return "member assignment is not a consumer assignment"
				}
				var partitions []int32
				for _, tp := range assigned.Topics {
					if tp.Topic == topicOrders {
						partitions = append(partitions, tp.Partitions...)
					}
				}
				slices.Sort(partitions)
				if !slices.Equal(partitions, []int32{0, 1}) {
					return fmt.Sprintf("member assigned %s partitions %v, want [0 1]", topicOrders, partitions)
				}
				committed, err := committedOffsets(ctx, adm, groupUnassigned, topicOrders)
				if err != nil {
					return err.Error()
				}
				if _, ok := committed[assignedBelow]; ok {
					return fmt.Sprintf("partition %d, which no member is assigned, has a committed offset: %v", assignedBelow, committed)
				}
				if first == nil {
					first = committed
					return "took the first sample"
				}
				for _, p := range []int32{0, 1} {
					if committed[p] <= first[p] {
						return fmt.Sprintf("partition %d committed %d, not past %d", p, committed[p], first[p])
					}
				}
				return ""
			})
		})

		t.Run("RetentionAdvancesTheLogStartOffset", func(t *testing.T) {
			t.Parallel()
			eventually(t, func(ctx context.Context) string {
				start, err := logOffsets(ctx, adm.ListStartOffsets, topicShortRetention)
				if err != nil {
					return err.Error()
				}
				for _, off := range start {
					if off > 0 {
						return ""
					}
				}
				return fmt.Sprintf("log-start offsets %v", start)
			})
		})

		t.Run("RetentionDeletesMessagesTheSlowGroupHasNotRead", func(t *testing.T) {
			t.Parallel()
			eventually(t, func(ctx context.Context) string {
				committed, err := committedOffsets(ctx, adm, groupRetentionSlow, topicShortRetention)
				if err != nil || len(committed) == 0 {
					return fmt.Sprintf("committed %v, err %v", committed, err)
				}
				start, err := logOffsets(ctx, adm.ListStartOffsets, topicShortRetention)
				if err != nil {
					return err.Error()
				}
				for p, off := range committed {
					if start[p] > off {
						return ""
					}
				}
				return fmt.Sprintf("log-start %v never passed committed %v", start, committed)
			})
		})

		t.Run("RewindGroupCommitsAnOffsetBackwards", func(t *testing.T) {
			t.Parallel()
			highest := make(map[int32]int64)
			eventually(t, func(ctx context.Context) string {
				committed, err := committedOffsets(ctx, adm, groupRewind, topicOrders)
				if err != nil {
					return err.Error()
				}
				for p, off := range committed {
					if off < highest[p] {
						return ""
					}
					highest[p] = off
				}
				return fmt.Sprintf("offsets only went forward: %v", highest)
			})
		})
	})

	cancel()
	select {
	case err := <-runErr:
		if err != nil {
			t.Errorf("Run returned %v after its context was cancelled, want nil", err)
		}
	case <-time.After(waitfor.Scaled(30 * time.Second)):
		t.Fatalf("Run did not return within %s of its context being cancelled", waitfor.Scaled(30*time.Second))
	}
}

func TestRunReturnsErrorWhenTopicsCannotBeCreated(t *testing.T) {
	w := fastWorkload()
	w.createTimeout = 3 * time.Second
	start := time.Now()
	err := run(context.Background(), []string{deadAddr(t)}, testLogger(t), w)
	if err == nil || !strings.Contains(err.Error(), "create topic") {
		t.Fatalf("run against a dead address returned %v, want a create topic error", err)
	}
	if took := time.Since(start); took > w.createTimeout+waitfor.Scaled(10*time.Second) {
		t.Errorf("run gave up after %s, want about its create timeout %s", took, w.createTimeout)
	}
}

func TestRunReturnsNilWhenCancelledBeforeTheClusterAnswers(t *testing.T) {
	w := fastWorkload()
	w.createTimeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := run(ctx, []string{deadAddr(t)}, testLogger(t), w); err != nil {
		t.Fatalf("run returned %v after its context ended, want nil", err)
	}
}

func TestScenariosDescribeEveryGroupTheWorkloadRuns(t *testing.T) {
	var described []string
	for _, s := range Scenarios() {
		if s.Name == "" || s.Topic == "" || s.Shows == "" {
			t.Errorf("scenario %+v lacks a name, topic or description", s)
		}
		if s.Group != "" {
			described = append(described, s.Group)
		}
	}
	var run []string
	for _, m := range defaultWorkload().members() {
		if !slices.Contains(run, m.group) {
			run = append(run, m.group)
		}
	}
	for _, m := range defaultWorkload().shareMembers() {
		if !slices.Contains(run, m.group) {
			run = append(run, m.group)
		}
	}
	slices.Sort(described)
	slices.Sort(run)
	if !slices.Equal(described, run) {
		t.Errorf("Scenarios describes groups %v, the workload runs %v", described, run)
	}
}

func TestTokenBucketLimitsRecordsToItsRate(t *testing.T) {
	start := time.Unix(0, 0)
	b := newTokenBucket(4, start)
	if n, wait := b.take(start); n != 0 || wait != 250*time.Millisecond {
		t.Fatalf("empty bucket: take = %d, %s; want 0, 250ms", n, wait)
	}
	if n, _ := b.take(start.Add(time.Second)); n != 4 {
		t.Fatalf("after 1 s: take = %d, want 4", n)
	}
	b.spend(4)
	// A member idle for a long time gets one second's burst, not a flood.
	if n, _ := b.take(start.Add(time.Minute)); n != 4 {
		t.Fatalf("after an idle minute: take = %d, want 4", n)
	}
	unlimited := newTokenBucket(0, start)
	if n, wait := unlimited.take(start); n != 0 || wait != 0 {
		t.Fatalf("unlimited: take = %d, %s; want 0 (everything), no wait", n, wait)
	}
}

// eventually polls cond until it returns "" and fails the test with cond's
// last explanation if that does not happen within conditionTimeout.
func eventually(t *testing.T, cond func(ctx context.Context) string) {
	t.Helper()
	within := waitfor.Scaled(conditionTimeout)
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), waitfor.Scaled(requestTimeout))
		why := cond(ctx)
		cancel()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, why)
		}
		time.Sleep(pollEvery)
	}
}

func newAdmin(t *testing.T, addrs []string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ClientID("demo-test-admin"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func describe(ctx context.Context, adm *kadm.Client, group string) (kadm.DescribedGroup, error) {
	groups, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return kadm.DescribedGroup{}, err
	}
	return groups.On(group, nil)
}

// shareGroup returns a share group's member count, start offset per
// partition it has state for, and its lag summed over the partitions whose
// lag Kafka reports (-1 where there is none: Apache Kafka reports -1 for a
// partition no member has fetched yet).
func shareGroup(ctx context.Context, adm *kadm.Client, group string) (members int, start map[int32]int64, lag int64, err error) {
	described, err := adm.DescribeShareGroups(ctx, group)
	if err != nil {
		return 0, nil, 0, err
	}
	if err := described[group].Err; err != nil {
		return 0, nil, 0, err
	}
	offsets, err := adm.DescribeShareGroupOffsets(ctx, group)
	if err != nil {
		return 0, nil, 0, err
	}
	if err := offsets[group].Err; err != nil {
		return 0, nil, 0, err
	}
	start, lag = map[int32]int64{}, -1
	for _, ps := range offsets[group].Offsets {
		for p, o := range ps {
			if o.Lag >= 0 {
				lag = max(lag, 0) + o.Lag
			}
			start[p] = o.StartOffset
		}
	}
	return len(described[group].Members), start, lag, nil
}

// committedOffsets returns the group's committed offset per partition of
// topic, leaving out partitions it never committed. A partition's error
// (a retriable one such as UNSTABLE_OFFSET_COMMIT) is returned beside the
// others' offsets, so a condition that keeps failing says why.
func committedOffsets(ctx context.Context, adm *kadm.Client, group, topic string) (map[int32]int64, error) {
	resp, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	committed := make(map[int32]int64)
	for p, o := range resp[topic] {
		if o.Err != nil {
			err = fmt.Errorf("partition %d: %w", p, o.Err)
			continue
		}
		if o.At >= 0 {
			committed[p] = o.At
		}
	}
	return committed, err
}

func logOffsets(ctx context.Context, list func(context.Context, ...string) (kadm.ListedOffsets, error), topic string) (map[int32]int64, error) {
	listed, err := list(ctx, topic)
	if err != nil {
		return nil, err
	}
	if err := listed.Error(); err != nil {
		return nil, err
	}
	offsets := make(map[int32]int64)
	listed.Each(func(o kadm.ListedOffset) { offsets[o.Partition] = o.Offset })
	return offsets, nil
}

// endOffsetsIfAny returns topic's log-end offsets, or none if the topic
// does not exist yet.
func endOffsetsIfAny(t *testing.T, adm *kadm.Client, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitfor.Scaled(10*time.Second))
	defer cancel()
	end, err := logOffsets(ctx, adm.ListEndOffsets, topic)
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return nil
	}
	if err != nil {
		t.Fatalf("list the end offsets of %s: %v", topic, err)
	}
	return end
}

// lagSum is the group's lag over the committed partitions of topic.
func lagSum(ctx context.Context, adm *kadm.Client, topic string, committed map[int32]int64) (int64, error) {
	end, err := logOffsets(ctx, adm.ListEndOffsets, topic)
	if err != nil {
		return 0, err
	}
	var lag int64
	for p, off := range committed {
		lag += max(end[p]-off, 0)
	}
	return lag, nil
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// testLogger sends the workload's log to the test's output while the test
// runs and drops anything logged after it ended (a late produce callback),
// which testing would otherwise turn into a panic.
func testLogger(t *testing.T) *slog.Logger {
	w := &testLogWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testLogWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}
