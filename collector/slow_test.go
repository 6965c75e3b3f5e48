package collector

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lagwatch/lagwatch/internal/waitfor"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// slowGroups is more groups on one coordinator than one request carries
// (groupsPerRequest in package kafka is 2,000): their DescribeGroups and
// OffsetFetch take two batches each.
const slowGroups = 4000

// slowCluster is a one-broker kfake cluster whose broker coordinates
// slowGroups groups, each committed on the one partition of topic "slow".
func slowCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "slow"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	records := make([]*kgo.Record, 10)
	for i := range records {
		records[i] = &kgo.Record{Topic: "slow", Partition: 0, Value: []byte("x")}
	}
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	var (
		wg       sync.WaitGroup
		firstErr atomic.Pointer[error]
	)
	for w := range 8 {
		wg.Go(func() {
			for g := w; g < slowGroups; g += 8 {
				offsets := kadm.Offsets{}
				offsets.AddOffset("slow", 0, 4, -1)
				resp, err := adm.CommitOffsets(ctx, fmt.Sprintf("slow.group-%04d", g), offsets)
				if err == nil {
					err = resp.Error()
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		t.Fatalf("commit offsets: %v", *err)
	}
	return c
}

// delay makes the cluster answer every request of key only after d,
// without holding up its other connections, and reports how many such
// requests it held at once at most.
func delay(c *kfake.Cluster, key kmsg.Key, d time.Duration) (maxAtOnce func() int64) {
	var now, most atomic.Int64
	c.ControlKey(key.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		n := now.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		c.SleepControl(func() { time.Sleep(d) })
		now.Add(-1)
		return nil, nil, false
	})
	return most.Load
}

// A coordinator that takes longer than the old fixed deadline (half the
// poll interval, at least 1 s) to answer DescribeGroups and OffsetFetch
// for 4,000 groups is slow, not failed: each batch of 2,000 groups gets a
// deadline sized to it (1 s + 1 ms per group), the batches go out in
// parallel on their own connections, every poll completes, and the
// series are served without a gap even though each poll takes longer
// than --kafka.stale-after (4 intervals of 200 ms).
func TestSlowCoordinatorIsWaitedForAndItsGroupsNeverVanish(t *testing.T) {
	c := slowCluster(t)
	const slowness = 1500 * time.Millisecond
	describesAtOnce := delay(c, kmsg.DescribeGroups, slowness)
	fetchesAtOnce := delay(c, kmsg.OffsetFetch, slowness)

	p, err := NewPoller(Config{Servers: c.ListenAddrs(), PollInterval: 200 * time.Millisecond, Lag: lagcalc.Settings{Window: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if p.cfg.RequestTimeout >= slowness || p.cfg.StaleAfter >= slowness {
		t.Fatalf("request timeout %v and stale-after %v: the test needs both below the coordinator's %v", p.cfg.RequestTimeout, p.cfg.StaleAfter, slowness)
	}

	// One poll at a time first, to count its requests: two batches of
	// 2,000 groups each way, not one request of 4,000, held by the
	// coordinator at the same time.
	for range 2 {
		before := p.Health().Requests
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err := p.PollOnce(ctx)
		cancel()
		if err != nil || !p.Snapshot().Complete {
			t.Fatalf("poll of a slow coordinator failed: %v", err)
		}
		if n := committedGroups(p.Snapshot()); n != slowGroups {
			t.Fatalf("the snapshot has %d groups with committed offsets, want %d", n, slowGroups)
		}
		after := p.Health().Requests
		for _, api := range []string{"DescribeGroups", "OffsetFetch"} {
			if n := after[api] - before[api]; n != 2 {
				t.Errorf("%s: %d requests in a poll of %d groups on one coordinator, want 2", api, n, slowGroups)
			}
		}
	}
	if d, f := describesAtOnce(), fetchesAtOnce(); d < 2 || f < 2 {
		t.Errorf("the coordinator held at most %d DescribeGroups and %d OffsetFetch at once: the batches were not sent in parallel", d, f)
	}

	// Then polling as the binary does: every poll overruns the interval
	// and takes longer than stale-after, and at no moment may the groups
	// be missing or the snapshot stale.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	first := p.Health()
	const polls = 3
	deadline := time.Now().Add(3 * time.Minute)
	for p.Health().PollDurations.Count < first.PollDurations.Count+polls {
		if time.Now().After(deadline) {
			t.Fatalf("%d polls within 3 minutes, want %d", p.Health().PollDurations.Count-first.PollDurations.Count, polls)
		}
		if p.Stale(time.Now()) {
			t.Fatal("the snapshot went stale while the coordinator answered, slowly")
		}
		if n := committedGroups(p.Snapshot()); n != slowGroups {
			t.Fatalf("the snapshot has %d groups with committed offsets, want %d", n, slowGroups)
		}
		time.Sleep(10 * time.Millisecond)
	}
	last := p.Health()
	// On a machine declared slower (LAGWATCH_TEST_SLOWDOWN above 1), the
	// product's own deadlines, which no test setting stretches, can run
	// out under load with the race detector (make test-busy saw a 1 s
	// ListOffsets do so): what must hold there too is checked above, no
	// group vanishing and no stale snapshot; a failed stage is logged.
	report := t.Errorf
	if waitfor.Slowdown() > 1 {
		report = t.Logf
	}
	for stage, n := range last.PollErrors {
		if n != first.PollErrors[stage] {
			report("stage %s failed %d times in %d polls of a slow coordinator", stage, n-first.PollErrors[stage], polls)
		}
	}
	if last.Overruns == first.Overruns {
		t.Error("no poll overran the interval: the coordinator was not slow")
	}
	t.Logf("%d polls of %d groups, coordinator slow by %v: %.2f s per poll on average",
		last.PollDurations.Count-first.PollDurations.Count, slowGroups, slowness,
		(last.PollDurations.Sum-first.PollDurations.Sum)/float64(last.PollDurations.Count-first.PollDurations.Count))
}

func committedGroups(snap *Snapshot) int {
	n := 0
	for _, g := range snap.Groups {
		if len(g.Partitions) > 0 {
			n++
		}
	}
	return n
}

// A batch that takes longer than even its sized deadline is cut off, and
// its groups read as of their last answer (lastKnown) rather than vanish:
// the poll reports the failed stage, the snapshot keeps every group's
// committed offsets, and it is not stale.
func TestBatchThatTimesOutIsServedFromItsLastAnswer(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "late"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	adm := kadm.NewClient(cl)
	for g := range 3 {
		offsets := kadm.Offsets{}
		offsets.AddOffset("late", 0, 0, -1)
		if resp, err := adm.CommitOffsets(ctx, fmt.Sprintf("late.group-%d", g), offsets); err != nil || resp.Error() != nil {
			t.Fatalf("commit: %v %v", err, resp.Error())
		}
	}
	clock := t0
	p, err := NewPoller(Config{
		Servers: c.ListenAddrs(), PollInterval: time.Second, MaxRequestTimeout: 300 * time.Millisecond,
		Lag: lagcalc.Settings{Window: time.Minute}, Now: func() time.Time { return clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.PollOnce(ctx); err != nil {
		t.Fatalf("first poll: %v", err)
	}

	delay(c, kmsg.OffsetFetch, 2*time.Second)
	clock = clock.Add(time.Second)
	err = p.PollOnce(ctx)
	if err == nil {
		t.Fatal("a poll whose OffsetFetch took 2 s against a 300 ms ceiling reported no error")
	}
	snap := p.Snapshot()
	if snap.PolledAt != clock || snap.Complete {
		t.Fatalf("the late poll published no incomplete snapshot of its own (polled at %v, complete %v)", snap.PolledAt, snap.Complete)
	}
	if n := committedGroups(snap); n != 3 {
		t.Errorf("%d of 3 groups kept their committed offsets after a timed-out OffsetFetch", n)
	}
	for _, g := range snap.Groups {
		if !g.CommittedAt.Equal(t0) {
			t.Errorf("group %s: committed offsets read at %v, want the last answer's %v", g.Name, g.CommittedAt, t0)
		}
	}
	if p.Stale(clock) {
		t.Error("one late batch made the snapshot stale")
	}
}

// A coordinator slower than even the sized deadline fails a poll or two,
// not every poll: each time a sized request runs out of its deadline, the
// next one of that API to that broker gets twice as long (up to
// --kafka.request-timeout), so polls complete again once the deadline
// has caught up with the broker's pace, and stay complete.
func TestCoordinatorSlowerThanItsSizedDeadlineIsGivenLongerNextPoll(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "paced"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adm := kadm.NewClient(cl)
	for g := range 3 {
		offsets := kadm.Offsets{}
		offsets.AddOffset("paced", 0, 0, -1)
		if resp, err := adm.CommitOffsets(ctx, fmt.Sprintf("paced.group-%d", g), offsets); err != nil || resp.Error() != nil {
			t.Fatalf("commit: %v %v", err, resp.Error())
		}
	}
	// 200 ms for any request, 3 ms more for 3 groups: the coordinator's
	// 600 ms is three times that, and a tenth of the 6 s ceiling.
	delay(c, kmsg.OffsetFetch, 600*time.Millisecond)
	p, err := NewPoller(Config{
		Servers: c.ListenAddrs(), PollInterval: time.Second, RequestTimeout: 200 * time.Millisecond, MaxRequestTimeout: 6 * time.Second,
		Lag: lagcalc.Settings{Window: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var outcomes []bool
	for range 7 {
		err := p.PollOnce(ctx)
		outcomes = append(outcomes, err == nil)
	}
	// 203 ms, 406 ms and 812 ms: two failed polls, then complete ones.
	// The first can never answer in time (the broker holds it 600 ms). On
	// a busy machine the 812 ms poll can still run out (a 200 ms margin),
	// and the next then gets 1.6 s: what must hold is that the deadline
	// grows until the coordinator's answers fit, and stays there.
	firstComplete := slices.Index(outcomes, true)
	if outcomes[0] || firstComplete < 0 || firstComplete > 3 || !outcomes[len(outcomes)-1] || !outcomes[len(outcomes)-2] {
		t.Fatalf("polls complete: %v; want the first to fail, a complete one by the fourth, and the last two complete", outcomes)
	}
	if n := committedGroups(p.Snapshot()); n != 3 {
		t.Errorf("%d of 3 groups have committed offsets", n)
	}
	t.Logf("polls complete: %v", outcomes)
}
