package lagcalc

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// The benchmark cluster: 2,000 topics × 5 partitions; 10,000 groups, each
// reading all 5 partitions of two topics: 100,000 group-partitions, 10
// groups per partition.
const (
	benchTopics          = 2000
	benchPartitions      = 5
	benchGroups          = 10000
	benchTopicsPerGroup  = 2
	benchGroupPartitions = benchGroups * benchTopicsPerGroup * benchPartitions
	benchPollInterval    = 15 * time.Second
	benchWarmupPolls     = 60 // ≥ 40: the 10 m window is full
)

// benchCluster holds one poll's worth of data and moves it forward in place,
// so the timed loop measures the Tracker, not the poll's construction.
type benchCluster struct {
	poll Poll
	// For each commit, the index of its partition in poll.Partitions.
	partitionOf []int
}

// newBenchCluster builds the cluster with freshly allocated names.
func newBenchCluster() *benchCluster {
	c := &benchCluster{}
	p := &c.poll
	p.Time = t0
	p.Retention = map[string]RetentionPolicy{}
	topics := make([]string, benchTopics)
	for i := range topics {
		topics[i] = fmt.Sprintf("events.service-%04d", i)
		p.Retention[topics[i]] = RetentionPolicy{Delete: i%4 != 0, RetentionMs: 7 * 24 * 3600 * 1000, RetentionBytes: -1}
		for part := int32(0); part < benchPartitions; part++ {
			p.Partitions = append(p.Partitions, PartitionOffsets{
				TopicPartition: TopicPartition{Topic: topics[i], Partition: part},
				LogStart:       0,
				LogEnd:         1_000_000,
			})
		}
	}
	for g := 0; g < benchGroups; g++ {
		group := fmt.Sprintf("consumer-group-%05d", g)
		p.Groups = append(p.Groups, GroupState{Group: group, HasMembers: g%50 != 0})
		for k := 0; k < benchTopicsPerGroup; k++ {
			ti := (g + k*benchTopics/2) % benchTopics
			for part := int32(0); part < benchPartitions; part++ {
				pi := ti*benchPartitions + int(part)
				p.Commits = append(p.Commits, Commit{
					GroupPartition: GroupPartition{Group: group, TopicPartition: p.Partitions[pi].TopicPartition},
					Committed:      1_000_000 - int64(g%500),
				})
				c.partitionOf = append(c.partitionOf, pi)
			}
		}
	}
	return c
}

// advance moves the cluster one poll interval forward: every partition gets
// messages at its own irregular rate and retention deletes some; most groups
// commit close behind the log end; one in 100 is stuck and one in 50 has no
// members. Nearly every series changes every poll, the costliest case (flat
// runs would be cheaper).
func (c *benchCluster) advance(n int) {
	p := &c.poll
	p.Time = p.Time.Add(benchPollInterval)
	for i := range p.Partitions {
		po := &p.Partitions[i]
		po.LogEnd += int64(15 * (1 + (i+n)%40))
		if n%20 == i%20 {
			po.LogStart = po.LogEnd - 500_000
		}
	}
	for i := range p.Commits {
		g := i / (benchTopicsPerGroup * benchPartitions)
		if g%100 == 7 {
			continue
		}
		p.Commits[i].Committed = p.Partitions[c.partitionOf[i]].LogEnd - int64((g*37+n*13)%500)
	}
}

// benchPoll runs one poll through the Tracker the way the collector does,
// and says how long Observe and UnresolvedOffsets+Evaluate took.
func benchPoll(tr *Tracker, c *benchCluster) (res Result, observe, evaluate time.Duration) {
	start := time.Now()
	tr.Observe(c.poll)
	observed := time.Now()
	unresolved := tr.UnresolvedOffsets()
	records := make(map[TopicPartitionOffset]time.Time, len(unresolved))
	for _, o := range unresolved {
		records[o] = c.poll.Time.Add(-time.Hour)
	}
	res = tr.Evaluate(c.poll.Time, records)
	return res, observed.Sub(start), time.Since(observed)
}

// BenchmarkEvaluate measures one poll (Observe + UnresolvedOffsets +
// Evaluate; ns/op and allocs/op are per poll) of 100,000 group-partitions
// after the 10 m window has filled at a 15 s poll interval, splits the time
// between Observe and the rest, and reports the Tracker's memory per
// group-partition (the figure quoted on Tracker).
func BenchmarkEvaluate(b *testing.B) {
	bytesPerGroupPartition := trackerBytesPerGroupPartition()

	c := newBenchCluster()
	tr := NewTracker(DefaultSettings())
	for n := 0; n < benchWarmupPolls; n++ {
		c.advance(n)
		benchPoll(tr, c)
	}
	n := benchWarmupPolls
	var observe, evaluate time.Duration
	b.ReportAllocs()
	for b.Loop() {
		c.advance(n)
		n++
		res, o, e := benchPoll(tr, c)
		observe, evaluate = observe+o, evaluate+e
		if len(res.GroupPartitions) != benchGroupPartitions {
			b.Fatalf("%d group-partitions", len(res.GroupPartitions))
		}
	}
	polls := float64(n - benchWarmupPolls)
	b.ReportMetric(float64(observe.Milliseconds())/polls, "observe-ms/poll")
	b.ReportMetric(float64(evaluate.Milliseconds())/polls, "evaluate-ms/poll")
	b.ReportMetric(float64(bytesPerGroupPartition), "tracker-B/group-partition")
}

// trackerBytesPerGroupPartition measures the heap a Tracker holds for the
// benchmark cluster in steady state: after the warm-up polls, with the poll
// data (and the names in it, which the collector builds anew each poll) not
// counted, but the names the Tracker keeps counted.
func trackerBytesPerGroupPartition() uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tr := NewTracker(DefaultSettings())
	for n := 0; n < benchWarmupPolls; n++ {
		c := newBenchCluster() // fresh names every poll, as from Kafka
		for k := 0; k <= n; k++ {
			c.advance(k)
		}
		benchPoll(tr, c)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(tr)
	return (after.HeapAlloc - before.HeapAlloc) / benchGroupPartitions
}
