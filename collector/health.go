package collector

import (
	"maps"
	"sync"
	"time"
)

// Poll stages, the values of the stage label of lagwatch_poll_errors_total.
const (
	StageMetadata         = "metadata"
	StageListGroups       = "list_groups"
	StageDescribeGroups   = "describe_groups"
	StageCommittedOffsets = "committed_offsets"
	StageLogOffsets       = "log_offsets"
	StageTopicConfigs     = "topic_configs"
	StageRecordReads      = "record_timestamps"

	// StageShareGroups covers ShareGroupDescribe and DescribeShareGroupOffsets.
	StageShareGroups = "share_groups"
)

// Stages lists every poll stage in the order a poll runs them.
var Stages = []string{StageMetadata, StageListGroups, StageDescribeGroups, StageCommittedOffsets, StageShareGroups, StageLogOffsets, StageTopicConfigs, StageRecordReads}

// PollDurationBuckets are the upper bounds, in seconds, of the poll
// duration histogram.
var PollDurationBuckets = []float64{.05, .1, .25, .5, 1, 2, 5, 10, 30, 60}

// Health is the poller's account of itself: how its polls went and what
// they cost. It is updated as polls run and read by every scrape, so it is
// safe for concurrent use; Report copies it.
type Health struct {
	mu sync.Mutex
	r  HealthReport
}

// HealthReport is a copy of Health at one moment.
type HealthReport struct {
	// Up is true when the last poll published a snapshot and its core
	// stages (metadata, group listing, committed and log offsets) did not
	// fail: the core figures are current.
	Up bool
	// LastSuccess is when the last poll that published a snapshot
	// started; zero before the first.
	LastSuccess time.Time
	// PollErrors counts polls in which a stage failed, by stage; every
	// stage is present from the start.
	PollErrors map[string]uint64
	// Requests counts requests sent to Kafka, by API name.
	Requests map[string]uint64
	// Overruns counts polls that took longer than the poll interval.
	Overruns uint64
	// PollDurations is the histogram of poll wall times.
	PollDurations Histogram
	// Stages is how each stage fared in the last poll that ran it.
	Stages map[string]StageReport
	// Access is, per permission lagwatch needs, the resources the last
	// poll was allowed and denied.
	Access []Access
	// Ready is true once a poll has succeeded (Up).
	Ready bool
}

// Histogram counts observations into cumulative buckets, as Prometheus
// histograms do.
type Histogram struct {
	Bounds []float64 // upper bounds, ascending; +Inf is implied
	Counts []uint64  // cumulative count per bound
	Count  uint64
	Sum    float64
}

func (h *Histogram) observe(v float64) {
	for i, b := range h.Bounds {
		if v <= b {
			h.Counts[i]++
		}
	}
	h.Count++
	h.Sum += v
}

func newHealth() *Health {
	h := &Health{r: HealthReport{
		PollErrors:    make(map[string]uint64, len(Stages)),
		Requests:      map[string]uint64{},
		PollDurations: Histogram{Bounds: PollDurationBuckets, Counts: make([]uint64, len(PollDurationBuckets))},
	}}
	// Every stage's series exists from the start, so rate() and alerts see
	// the first failure as an increase from 0.
	for _, s := range Stages {
		h.r.PollErrors[s] = 0
	}
	return h
}

// Report returns a copy of the current health.
func (h *Health) Report() HealthReport {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.r
	r.PollErrors = maps.Clone(h.r.PollErrors)
	r.Requests = maps.Clone(h.r.Requests)
	r.PollDurations.Counts = append([]uint64(nil), h.r.PollDurations.Counts...)
	r.Stages = cloneStages(h.r.Stages)
	return r
}

func (h *Health) countRequest(api string) {
	h.mu.Lock()
	h.r.Requests[api]++
	h.mu.Unlock()
}

func (h *Health) countOverrun() {
	h.mu.Lock()
	h.r.Overruns++
	h.mu.Unlock()
}

// pollDone records one poll: its duration, the stages that failed, and
// whether it published a snapshot (started at polledAt) and fully succeeded.
func (h *Health) pollDone(d time.Duration, failed map[string]error, published bool, polledAt time.Time, complete bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.r.PollDurations.observe(d.Seconds())
	for stage := range failed {
		h.r.PollErrors[stage]++
	}
	if published && coreCurrent(failed) {
		h.r.LastSuccess = polledAt
	}
	h.r.Up = published && complete
}
