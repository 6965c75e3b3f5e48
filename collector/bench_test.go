package collector

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lagwatch/lagwatch/lagcalc"
)

// The benchmark cluster matches bench/clustergen's defaults: 3 brokers,
// 2,000 topics × 5 partitions, 10,000 groups each committing all 5
// partitions of two topics: 100,000 group-partitions.
const (
	benchBrokers         = 3
	benchTopics          = 2000
	benchPartitions      = 5
	benchGroups          = 10000
	benchTopicsPerGroup  = 2
	benchGroupPartitions = benchGroups * benchTopicsPerGroup * benchPartitions
	benchPollInterval    = 15 * time.Second
)

func benchTopicName(i int) string { return fmt.Sprintf("bench.topic-%05d", i) }
func benchGroupName(g int) string { return fmt.Sprintf("bench.group-%06d", g) }

// benchGroupTopics are the topics group g consumes.
func benchGroupTopics(g int) []int {
	out := make([]int, benchTopicsPerGroup)
	for k := range out {
		out[k] = (g*benchTopicsPerGroup + k) % benchTopics
	}
	return out
}

func benchClusterTopics() []Topic {
	topics := make([]Topic, benchTopics)
	for i := range topics {
		t := Topic{Name: benchTopicName(i), Config: TopicConfig{Known: true, CleanupPolicy: "delete", RetentionMs: 604800000, RetentionBytes: -1, MinInsyncReplicas: 1}}
		for p := int32(0); p < benchPartitions; p++ {
			leader := int32((i*benchPartitions+int(p))%benchBrokers) + 1
			t.Partitions = append(t.Partitions, Partition{
				ID: p, Leader: leader, Replicas: []int32{leader}, ISR: []int32{leader},
				HasOffsets: true, LogStart: 0, LogEnd: 1_000_000, ProduceRate: 12.5, HasProduceRate: true,
			})
		}
		topics[i] = t
	}
	return topics
}

// benchSnapshot is a rendered poll of the benchmark cluster: every
// group-partition lagging, with every optional series present.
func benchSnapshot() *Snapshot {
	snap := &Snapshot{PolledAt: t0, Complete: true, Topics: benchClusterTopics()}
	for id := int32(1); id <= benchBrokers; id++ {
		snap.Brokers = append(snap.Brokers, Broker{ID: id, Addr: fmt.Sprintf("kafka-%d:9092", id)})
	}
	for g := range benchGroups {
		group := Group{
			Name: benchGroupName(g), Protocol: protocolClassic, ProtocolType: "consumer", State: "Stable", Described: true,
			Members:       []Member{{ID: "m-1", ClientID: "client-1", Host: "/10.0.0.1"}},
			Status:        lagcalc.StatusLagging,
			MaxLagSeconds: 42,
		}
		for _, ti := range benchGroupTopics(g) {
			group.Topics = append(group.Topics, GroupTopic{Topic: benchTopicName(ti), Assigned: benchPartitions})
			for p := int32(0); p < benchPartitions; p++ {
				group.Partitions = append(group.Partitions, GroupPartition{
					Topic: benchTopicName(ti), Partition: p, Committed: 999_000, Assigned: true,
					Eval: &lagcalc.GroupPartitionResult{
						Status: lagcalc.StatusLagging, HasLag: true, Lag: 1000, LagSeconds: 42,
						ConsumeRate: 20, HasConsumeRate: true, TimeToDrainSeconds: 133, HasTimeToDrain: true,
						RetentionHeadroomSeconds: 600000, HasRetentionHeadroom: true,
					},
				})
			}
		}
		snap.Groups = append(snap.Groups, group)
	}
	return snap
}

// BenchmarkRenderSnapshot measures one scrape's work for 10,000 groups ×
// 10 partitions: text writes the exposition format, scrape serves the
// whole /metrics response with gzip as Prometheus asks for it.
func BenchmarkRenderSnapshot(b *testing.B) {
	e := NewExporter(fixedSource{snap: benchSnapshot(), now: t0, staleAfter: time.Minute}, ExporterOptions{})

	b.Run("text", func(b *testing.B) {
		var body lineCounter
		out := bufio.NewWriterSize(&body, 64<<10)
		b.ReportAllocs()
		for b.Loop() {
			body = lineCounter{}
			out.Reset(&body)
			e.Write(out)
			if err := out.Flush(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(body.samples()), "series/op")
		b.ReportMetric(float64(body.bytes)/1e6, "MB/op")
	})

	b.Run("scrape", func(b *testing.B) {
		metrics := Handler(e, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		var sent discardResponse
		b.ReportAllocs()
		for b.Loop() {
			sent = discardResponse{header: http.Header{}}
			metrics.ServeHTTP(&sent, req)
		}
		b.ReportMetric(float64(sent.bytes)/1e6, "gzipMB/op")
	})
}

// lineCounter counts the bytes and lines written to it.
type lineCounter struct{ bytes, lines, comments int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.bytes += len(p)
	c.lines += bytes.Count(p, []byte("\n"))
	c.comments += bytes.Count(p, []byte("\n#")) // every comment line follows a newline but the first
	return len(p), nil
}

// samples is the number of sample lines: all lines but the HELP and TYPE
// comments (the first line of the body is a HELP comment).
func (c *lineCounter) samples() int { return c.lines - c.comments - 1 }

// discardResponse is an http.ResponseWriter that counts the body and
// drops it.
type discardResponse struct {
	header http.Header
	bytes  int
}

func (d *discardResponse) Header() http.Header { return d.header }
func (d *discardResponse) WriteHeader(int)     {}
func (d *discardResponse) Write(p []byte) (int, error) {
	d.bytes += len(p)
	return len(p), nil
}

// BenchmarkFillAndEvaluate measures the CPU side of one poll once the Kafka
// answers are in: joining groups with topics (fillTopics, fillGroups) and
// lagcalc's Observe and Evaluate over a full 10 m window of history. No
// Kafka is involved: the poller's cluster has no brokers, so the record
// timestamps lagcalc asks for fail at once and the committed offsets stay
// dated by the history alone.
func BenchmarkFillAndEvaluate(b *testing.B) {
	p, err := NewPoller(Config{Servers: []string{"127.0.0.1:1"}, PollInterval: benchPollInterval}, nil)
	if err != nil {
		b.Fatal(err)
	}
	topics := benchClusterTopics()
	listed := make([]listedGroup, benchGroups)
	described := make(map[string]describedGroup, benchGroups)
	for g := range listed {
		name := benchGroupName(g)
		listed[g] = listedGroup{name: name, coordinator: int32(g%benchBrokers) + 1, protocolType: "consumer", state: "Stable"}
		described[name] = describedGroup{state: "Stable", members: []Member{{ID: "m-1", ClientID: "client-1", Host: "/10.0.0.1"}}, subscribed: map[string]bool{}}
	}
	// Committed and log-end offsets advance every poll so that lagcalc has
	// rates to compute.
	committedAt := func(poll int) map[string]map[lagcalc.TopicPartition]int64 {
		out := make(map[string]map[lagcalc.TopicPartition]int64, benchGroups)
		for g := range benchGroups {
			offsets := make(map[lagcalc.TopicPartition]int64, benchTopicsPerGroup*benchPartitions)
			for _, ti := range benchGroupTopics(g) {
				for part := int32(0); part < benchPartitions; part++ {
					offsets[lagcalc.TopicPartition{Topic: benchTopicName(ti), Partition: part}] = int64(900_000 + 100*poll)
				}
			}
			out[benchGroupName(g)] = offsets
		}
		return out
	}
	logOffsetsAt := func(poll int) map[lagcalc.TopicPartition]logOffsets {
		out := make(map[lagcalc.TopicPartition]logOffsets, benchTopics*benchPartitions)
		for _, t := range topics {
			for _, part := range t.Partitions {
				out[lagcalc.TopicPartition{Topic: t.Name, Partition: part.ID}] = logOffsets{start: 0, end: int64(1_000_000 + 120*poll)}
			}
		}
		return out
	}
	poll := 0
	pollOnce := func(committed map[string]map[lagcalc.TopicPartition]int64, offsets map[lagcalc.TopicPartition]logOffsets) int {
		now := t0.Add(time.Duration(poll) * benchPollInterval)
		poll++
		snap := &Snapshot{PolledAt: now, Topics: make([]Topic, len(topics))}
		copy(snap.Topics, topics)
		p.fillTopics(snap, offsets)
		p.fillGroups(snap, listed, described, committed)
		_ = p.evaluate(b.Context(), snap, now) // fails only for the record timestamps
		n := 0
		for _, g := range snap.Groups {
			n += len(g.Partitions)
		}
		return n
	}
	// Fill the 10 m window before timing.
	for range 41 {
		pollOnce(committedAt(poll), logOffsetsAt(poll))
	}
	if n := pollOnce(committedAt(poll), logOffsetsAt(poll)); n != benchGroupPartitions {
		b.Fatalf("snapshot has %d group-partitions, want %d", n, benchGroupPartitions)
	}

	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		committed, offsets := committedAt(poll), logOffsetsAt(poll)
		b.StartTimer()
		pollOnce(committed, offsets)
	}
	b.ReportMetric(benchGroupPartitions, "group-partitions/op")
}
