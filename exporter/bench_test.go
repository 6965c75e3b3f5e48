package exporter

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/internal/benchcluster"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// benchSnapshot is a rendered poll of the benchmark cluster: every
// group-partition lagging, with every optional series present.
func benchSnapshot() *collector.Snapshot {
	snap := &collector.Snapshot{PolledAt: t0, Complete: true}
	for id := int32(1); id <= benchcluster.Brokers; id++ {
		snap.Brokers = append(snap.Brokers, collector.Broker{ID: id, Addr: fmt.Sprintf("kafka-%d:9092", id)})
	}
	for i := range benchcluster.Topics {
		t := collector.Topic{Name: benchcluster.TopicName(i), Config: collector.TopicConfig{Known: true, CleanupPolicy: "delete", RetentionMs: 604800000, RetentionBytes: -1, MinInsyncReplicas: 1}}
		for p := int32(0); p < benchcluster.Partitions; p++ {
			leader := benchcluster.Leader(i, p)
			t.Partitions = append(t.Partitions, collector.Partition{
				ID: p, Leader: leader, Replicas: []int32{leader}, ISR: []int32{leader},
				HasOffsets: true, LogStart: 0, LogEnd: 1_000_000, LastStable: 1_000_000, ProduceRate: 12.5, HasProduceRate: true,
			})
		}
		snap.Topics = append(snap.Topics, t)
	}
	for g := range benchcluster.Groups {
		group := collector.Group{
			Name: benchcluster.GroupName(g), Protocol: collector.ProtocolClassic, ProtocolType: "consumer", State: "Stable", Described: true,
			Members:       []collector.Member{{ID: "m-1", ClientID: "client-1", Host: "/10.0.0.1"}},
			Status:        lagcalc.StatusLagging,
			MaxLagSeconds: 42, HasMaxLagSeconds: true,
		}
		for _, ti := range benchcluster.GroupTopics(g) {
			group.Topics = append(group.Topics, collector.GroupTopic{Topic: benchcluster.TopicName(ti), Assigned: benchcluster.Partitions})
			for p := int32(0); p < benchcluster.Partitions; p++ {
				group.Partitions = append(group.Partitions, collector.GroupPartition{
					Topic: benchcluster.TopicName(ti), Partition: p, Committed: 999_000, Assigned: true,
					Eval: lagcalc.GroupPartitionNumbers{
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
// 10 partitions, every one lagging (the most series the default writes):
// text writes the exposition format, scrape serves the whole /metrics
// response with gzip as Prometheus asks for it.
func BenchmarkRenderSnapshot(b *testing.B) {
	e := New(fixedSource{snap: benchSnapshot(), now: t0, staleAfter: time.Minute}, Options{})

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

// BenchmarkHundredConcurrentScrapes serves 100 scrapes of the benchmark
// snapshot at once, as a pile-up of scrapers would (before
// --web.max-requests turns the excess away): the heap they need together
// stays a few buffers and gzip writers per scrape, because each streams
// the immutable snapshot and none copies it.
func BenchmarkHundredConcurrentScrapes(b *testing.B) {
	const scrapers = 100
	metrics := Handler(New(fixedSource{snap: benchSnapshot(), now: t0, staleAfter: time.Minute}, Options{}), prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	for b.Loop() {
		var wg sync.WaitGroup
		for range scrapers {
			wg.Go(func() {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				req.Header.Set("Accept-Encoding", "gzip")
				metrics.ServeHTTP(&discardResponse{header: http.Header{}}, req)
			})
		}
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			var m runtime.MemStats
			for i := 0; i < 20; i++ {
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		wg.Wait()
		<-sampled
	}
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), before.HeapInuse))/(1<<20), "heapMiB-above-snapshot")
}
