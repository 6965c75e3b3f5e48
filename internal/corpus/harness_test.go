package corpus

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// The real Apache Kafka broker every behaviour runs against, shared by the
// package; each test uses its own topics and groups under its own prefix.
var broker *kafkatest.Broker

func TestMain(m *testing.M) {
	os.Exit(kafkatest.Main(m, kafkatest.Options{ServerProperties: map[string]string{
		// The log cleaner checks for dirty logs every 15 s by default; the
		// compacted-topic behaviour needs a compaction within seconds.
		"log.cleaner.backoff.ms": "200",
	}}, &broker))
}

// defaultInterval is lagwatch's default --kafka.poll-interval; the
// behaviours run with lagwatch's defaults unless they say otherwise.
const defaultInterval = 15 * time.Second

// lagStallAfterDefault is lagwatch's documented default --lag.stall-after:
// how long a committed offset may sit still with lag before stalled or
// stopped.
const lagStallAfterDefault = 60 * time.Second

// stallWarmUpLimit is how long a partition lagwatch never saw move (its
// commit cadence unlearned) must sit still with lag before stalled or
// stopped: 1.5 × the longest cadence lagwatch promises to wait for (10
// minutes) plus a poll interval. Until then it is unknown.
const stallWarmUpLimit = 15*time.Minute + defaultInterval

// watcher polls lagwatch on a simulated clock: each poll advances it by one
// poll interval, so a test sees minutes of lagwatch history in seconds. The
// clock starts one interval before the real time, so the first poll reads
// the real time (record timestamps stay comparable with it).
type watcher struct {
	t        *testing.T
	p        *collector.Poller
	interval time.Duration

	mu  sync.Mutex
	now time.Time

	polls int
	// statuses holds each group-partition's status at every poll, for
	// counting changes.
	statuses map[string][]string
	// details holds what lagwatch said at every poll, for failure messages.
	details map[string][]string
}

func newWatcher(t *testing.T, addr, prefix string, lag lagSettings) *watcher {
	t.Helper()
	w := &watcher{t: t, interval: defaultInterval, now: time.Now().Add(-defaultInterval), statuses: map[string][]string{}, details: map[string][]string{}}
	w.p = newPoller(t, addr, prefix, w.interval, lag, w.Now)
	return w
}

// Now is the simulated clock the poller reads.
func (w *watcher) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

// poll advances the clock by one interval and polls once. A poll that fails
// in part still publishes what it learned; its error is logged, not fatal,
// because a degraded poll is lagwatch's business, not the workload's.
func (w *watcher) poll() *collector.Snapshot {
	w.t.Helper()
	w.mu.Lock()
	w.now = w.now.Add(w.interval)
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), waitfor.Scaled(30*time.Second))
	defer cancel()
	w.polls++
	if err := w.p.PollOnce(ctx); err != nil {
		w.t.Logf("poll %d: %v", w.polls, err)
	}
	s := w.p.Snapshot()
	if s == nil {
		w.t.Fatalf("poll %d published no snapshot", w.polls)
	}
	for _, g := range s.Groups {
		for _, gp := range g.Partitions {
			k := fmt.Sprintf("%s %s/%d", g.Name, gp.Topic, gp.Partition)
			w.statuses[k] = append(w.statuses[k], status(gp))
			w.details[k] = append(w.details[k], view{found: true, group: g, part: gp, members: len(g.Members)}.String())
		}
	}
	return s
}

// elapsed is the simulated time since the clock started.
func (w *watcher) since(t0 time.Time) time.Duration { return w.Now().Sub(t0) }

// view is what lagwatch says about one group-partition in one snapshot.
type view struct {
	found   bool
	group   collector.Group
	part    collector.GroupPartition
	members int
}

func find(s *collector.Snapshot, group, topic string, partition int32) view {
	for _, g := range s.Groups {
		if g.Name != group {
			continue
		}
		for _, gp := range g.Partitions {
			if gp.Topic == topic && gp.Partition == partition {
				return view{found: true, group: g, part: gp, members: len(g.Members)}
			}
		}
		return view{group: g, members: len(g.Members)}
	}
	return view{}
}

func status(gp collector.GroupPartition) string {
	return gp.Eval.Status.String()
}

func (v view) status() string {
	if !v.found {
		return "<absent>"
	}
	return status(v.part)
}

// lag is the exported lag, or -1 when lagwatch exports none.
func (v view) lag() int64 {
	if !v.found || !v.part.Eval.HasLag {
		return -1
	}
	return v.part.Eval.Lag
}

func (v view) String() string {
	if !v.found {
		return fmt.Sprintf("absent (group members %d)", v.members)
	}
	e := v.part.Eval
	return fmt.Sprintf("status=%s committed=%d lag=%d(has %v) lag_seconds=%.1f(lower bound %v) members=%d",
		e.Status, v.part.Committed, e.Lag, e.HasLag, e.LagSeconds, e.LagSecondsLowerBound, v.members)
}

// changes counts status changes of one group-partition from poll from on
// (1-based, inclusive).
func (w *watcher) changes(group, topic string, partition int32, from int) (n int, seq []string) {
	all := w.statuses[fmt.Sprintf("%s %s/%d", group, topic, partition)]
	if from-1 < len(all) {
		seq = all[from-1:]
	}
	for i := 1; i < len(seq); i++ {
		if seq[i] != seq[i-1] {
			n++
		}
	}
	return n, seq
}

// detail is what lagwatch said about a group-partition at poll n (1-based,
// counted from the group-partition's first appearance).
func (w *watcher) detail(group, topic string, partition int32, n int) string {
	all := w.details[fmt.Sprintf("%s %s/%d", group, topic, partition)]
	if n < 1 || n > len(all) {
		return "<none>"
	}
	return all[n-1]
}

// counts summarises a status sequence: status → polls.
func counts(seq []string) map[string]int {
	out := map[string]int{}
	for _, s := range seq {
		out[s]++
	}
	return out
}

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }
