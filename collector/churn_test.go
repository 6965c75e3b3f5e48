package collector

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/internal/waitfor"
	"github.com/lagwatch/lagwatch/lagcalc"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The churn test's sizes. Every poll, churnPerPoll of the churnLive groups
// are deleted and as many new ones commit for the first time, so over the
// 900 measured polls 2,700 groups (10,800 group-partitions) come and go,
// against a steady state of 30 groups (120 group-partitions).
const (
	churnPartitions  = 4
	churnLive        = 30
	churnPerPoll     = 3
	churnMovers      = 5 // live groups that commit further each poll
	churnWarmUpPolls = 100
	churnPolls       = 1000
	churnClientPolls = churnWarmUpPolls
	// churnHeapGrowth bounds the heap growth from the end of the warm-up
	// to the last poll. Measured here: the heap moves by less than 100 KiB
	// either way over the 900 polls; a tracker that never forgets a
	// departed group (lagcalc's updateOrder not deleting) grows it by
	// 3.6 to 5.2 MiB. 1 MiB sits well clear of both.
	churnHeapGrowth = 1 << 20
)

// The heap stays flat while groups come and go for 1,000 polls: the state
// the poller keeps for a group (its history in lagcalc's tracker, the
// record timestamps cached for its committed offsets) is released when the
// group leaves the cluster. The poll interval and lag window are short on
// a fake clock, so every history reaches its cap during the warm-up and the
// heap after it is the steady state.
func TestHeapStaysFlatOverAThousandPollsWhileGroupsComeAndGo(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 polls take several seconds; skipped with -short")
	}
	started := time.Now()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	// franz-go's client caches the coordinator of every group it ever
	// addressed and never forgets one: with thousands of short-lived
	// groups that cache, in this heap too, grows by half a MiB. A fresh
	// client every churnClientPolls polls keeps it from passing for the
	// poller's leak; both measurements see a client of the same age.
	var (
		cl  *kgo.Client
		adm *kadm.Client
	)
	renewClient := func() {
		if cl != nil {
			cl.Close()
		}
		cl, err = kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			t.Fatalf("kgo client: %v", err)
		}
		adm = kadm.NewClient(cl)
	}
	renewClient()
	t.Cleanup(func() { cl.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Retention by size, on small segments, keeps kfake's log, which lives
	// in this heap too, from growing with the messages written every poll
	// (kfake drops only whole segments); it also moves the log start, so
	// some commits fall behind it.
	retention, segment := "4096", "1024"
	created, err := adm.CreateTopic(ctx, churnPartitions, 1, map[string]*string{"retention.bytes": &retention, "segment.bytes": &segment}, "churn")
	if err == nil {
		err = created.Err
	}
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}

	var logEnd int64 // every partition gets the same messages
	produce := func() {
		var rs []*kgo.Record
		for p := range int32(churnPartitions) {
			for range 5 {
				rs = append(rs, &kgo.Record{Topic: "churn", Partition: p, Value: []byte("churn")})
			}
		}
		if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
		logEnd += 5
		c.ApplyRetention()
	}
	// commit puts group behind the log end by its own amount, so groups
	// differ and most have lag, some behind the log start already.
	commit := func(group string, behind int64) {
		var offs kadm.Offsets
		for p := range int32(churnPartitions) {
			offs.Add(kadm.Offset{Topic: "churn", Partition: p, At: max(logEnd-behind-int64(p), 0), LeaderEpoch: -1})
		}
		if err := adm.CommitAllOffsets(ctx, group, offs); err != nil {
			t.Fatalf("commit %s: %v", group, err)
		}
	}

	next := 0 // number of the next group to create
	var live []string
	create := func() {
		name := fmt.Sprintf("churn-group-%06d", next)
		commit(name, int64(next%8)*40)
		next++
		live = append(live, name)
	}
	produce()
	for range churnLive {
		create()
	}

	now := time.Now()
	p, err := NewPoller(Config{
		Servers:        c.ListenAddrs(),
		PollInterval:   time.Second,
		RequestTimeout: waitfor.Scaled(time.Second),
		Lag:            lagcalc.Settings{Window: 20 * time.Second},
		// Each poll is a second later on this clock, so the lag window
		// fills in 20 polls and the histories reach their caps early.
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatalf("new poller: %v", err)
	}
	t.Cleanup(p.Close)

	var heapAfterWarmUp uint64
	for i := range churnPolls {
		if i == churnWarmUpPolls {
			heapAfterWarmUp = heapInUse()
		}
		if i%churnClientPolls == 0 {
			renewClient()
		}
		produce()
		gone := live[:churnPerPoll]
		if resp, err := adm.DeleteGroups(ctx, gone...); err != nil {
			t.Fatalf("delete groups: %v", err)
		} else if err := resp.Error(); err != nil {
			t.Fatalf("delete groups: %v", err)
		}
		live = live[churnPerPoll:]
		for range churnPerPoll {
			create()
		}
		for k := range churnMovers {
			mover := live[(i*churnMovers+k)%len(live)]
			commit(mover, int64((i+k)%30))
		}

		now = now.Add(time.Second)
		snap := pollComplete(t, p)
		checkGroupsAre(t, snap, live, gone)
		if n := len(p.records); n > churnLive*churnPartitions {
			t.Fatalf("poll %d: %d record timestamps cached for %d group-partitions", i, n, churnLive*churnPartitions)
		}
	}
	heapAtEnd := heapInUse()
	// The poller is not used after this point: without this, the
	// collection above would free it, tracker and all, and hide a leak.
	runtime.KeepAlive(p)
	t.Logf("heap after %d polls: %d KiB; after %d polls: %d KiB (%+d KiB); %d groups came and went; %v Fetch requests; took %v",
		churnWarmUpPolls, heapAfterWarmUp>>10, churnPolls, heapAtEnd>>10,
		(int64(heapAtEnd)-int64(heapAfterWarmUp))/1024, next-churnLive, requestsSent(p, "Fetch"), time.Since(started).Round(time.Millisecond))
	// Groups far behind have committed offsets older than the log-end
	// history, whose record timestamps the poller reads and caches: the
	// cache must have been in use for the test to say it is released.
	if fetches := requestsSent(p, "Fetch"); fetches < churnPolls {
		t.Errorf("only %v Fetch requests in %d polls: the record-timestamp cache was hardly used", fetches, churnPolls)
	}
	if heapAtEnd > heapAfterWarmUp+churnHeapGrowth {
		t.Errorf("heap grew from %d KiB to %d KiB over %d polls of group churn, more than %d KiB: state of departed groups is kept",
			heapAfterWarmUp>>10, heapAtEnd>>10, churnPolls-churnWarmUpPolls, churnHeapGrowth>>10)
	}
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	// The second cycle frees what finalizers of the first released.
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// checkGroupsAre fails unless the snapshot holds exactly the live groups,
// each with lag numbers on every partition, and none of the deleted ones.
func checkGroupsAre(t *testing.T, snap *Snapshot, live, gone []string) {
	t.Helper()
	if len(snap.Groups) != len(live) {
		t.Fatalf("snapshot has %d groups, want the %d live ones", len(snap.Groups), len(live))
	}
	for _, name := range live {
		g := findGroup(t, snap, name)
		if len(g.Partitions) != churnPartitions {
			t.Fatalf("group %s has %d partitions, want %d", name, len(g.Partitions), churnPartitions)
		}
		for _, gp := range g.Partitions {
			if !gp.Eval.HasLag {
				t.Fatalf("group %s %s/%d has no lag", name, gp.Topic, gp.Partition)
			}
		}
	}
	for _, name := range gone {
		for _, g := range snap.Groups {
			if g.Name == name {
				t.Fatalf("deleted group %s is still in the snapshot", name)
			}
		}
	}
}

// requestsSent is how many requests of the API the poller sent.
func requestsSent(p *Poller, api string) float64 {
	return float64(p.Health().Requests[api])
}
