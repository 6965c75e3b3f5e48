package collector

import (
	"maps"
	"time"
)

// coreStages are the stages whose figures lagwatch_up vouches for: the
// cluster's topics and partitions, their log offsets, and the groups with
// their committed offsets. The others (descriptions and assignment,
// configs, record timestamps, share groups) refine those figures; each
// reports its own success, as node_exporter's collectors do.
var coreStages = map[string]bool{StageMetadata: true, StageListGroups: true, StageCommittedOffsets: true, StageLogOffsets: true}

// coreCurrent reports whether no core stage failed.
func coreCurrent(failed map[string]error) bool {
	for stage := range failed {
		if coreStages[stage] {
			return false
		}
	}
	return true
}

// StageReport is how a stage fared in the last poll that ran it.
type StageReport struct {
	// Success is false when Kafka failed to answer some of the stage's
	// requests; resources Kafka denied do not count (see Access).
	Success bool
	// Done is how long after the poll started the stage finished: the
	// stages run in parallel where they can, and the last to finish is
	// the poll's duration.
	Done time.Duration
}

// aclState is what the polling goroutine keeps about its permissions and
// its stages between polls.
type aclState struct {
	access *access
	// blind is true when the last poll's metadata listed no topic.
	blind bool
	// stagesDone is when each stage of the last poll finished.
	stagesDone map[string]time.Duration
	// allowed counts the resources the last poll was allowed, per
	// permission.
	allowed map[permission]int
	// authorizer is whether the cluster checks ACLs, as last asked at
	// authorizerAskedAt (only while Metadata lists no topic).
	authorizer        bool
	authorizerAskedAt time.Time
}

// principal is the Kafka principal lagwatch authenticates as, as
// kafka-acls names it: the SASL user, or ANONYMOUS without SASL (a TLS
// client certificate's principal is its distinguished name, which
// lagwatch does not know).
func (p *Poller) principal() string {
	if user, ok := p.cfg.Kafka.SASLUser(); ok {
		return "User:" + user
	}
	if p.cfg.Kafka.UsesTLS() {
		return "User:<the principal of lagwatch's client certificate>"
	}
	return "User:ANONYMOUS"
}

// accessReport is, per permission lagwatch needs, how many resources the
// last poll was allowed and denied.
func (p *Poller) accessReport(now time.Time) []Access {
	out := make([]Access, 0, len(Permissions))
	for _, perm := range Permissions {
		a := Access{ResourceType: perm.Type, Operation: string(perm.Operation), Allowed: p.allowed[perm], Denied: p.access.deniedCount(perm, now)}
		if perm == permTopicDescribe {
			// Kafka hides the topics the principal may not Describe.
			a.Denied = -1
		}
		out = append(out, a)
	}
	return out
}

// countAllowed counts, per permission, the resources of the snapshot the
// principal was allowed.
func (p *Poller) countAllowed(snap *Snapshot, now time.Time) {
	p.allowed = map[permission]int{}
	if snap == nil {
		return
	}
	p.allowed[permTopicDescribe] = len(snap.Topics)
	for _, g := range snap.Groups {
		// Hidden groups stand in as of their last answer; they are denied.
		if _, hidden := p.sight.hidden[g.Name]; !hidden {
			p.allowed[permGroupDescribe]++
		}
	}
	for _, t := range snap.Topics {
		for _, perm := range []permission{permTopicRead, permTopicDescribeConfigs} {
			if !p.access.isDenied(perm, t.Name, now) {
				p.allowed[perm]++
			}
		}
	}
}

// recordStages records the stages of the poll that just ended, its
// permissions, and whether lagwatch is up: a snapshot was published and
// no core stage failed.
func (h *Health) recordStages(failed map[string]error, done map[string]time.Duration, access []Access, up bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.r.Stages == nil {
		h.r.Stages = map[string]StageReport{}
	}
	for stage, d := range done {
		h.r.Stages[stage] = StageReport{Success: failed[stage] == nil, Done: d}
	}
	h.r.Access = access
	h.r.Up = up
	if up {
		h.r.Ready = true
	}
}

// ready reports whether a poll has succeeded since lagwatch started.
func (h *Health) ready() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.r.Ready
}

func cloneStages(m map[string]StageReport) map[string]StageReport { return maps.Clone(m) }
