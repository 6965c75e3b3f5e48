package lagcalc

import (
	"cmp"
	"math"
	"regexp"
	"testing"
	"time"
)

// t0 is the time of every scenario's first poll.
var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// at returns t0 plus the given seconds.
func at(seconds float64) time.Time {
	return t0.Add(time.Duration(seconds * float64(time.Second)))
}

// The single partition and group most scenarios use.
var (
	orders  = TopicPartition{Topic: "orders", Partition: 0}
	billing = GroupPartition{Group: "billing", TopicPartition: orders}
)

// obs is one poll of the single-partition scenario.
type obs struct {
	at        float64 // seconds since t0
	start     int64   // log start
	end       int64   // log end
	committed int64   // -1: never committed
	lso       int64   // last stable offset; 0: as the log end
	position  int64   // verified position; ≤ committed: none
	noMembers bool    // the group has no members
	// noPartition leaves the partition's offsets out of the poll.
	noPartition bool
	// noGroup leaves the group out of Poll.Groups (membership unknown).
	noGroup bool
}

// poll turns one obs into a Poll for the single-partition scenario.
func (o obs) poll(retention map[string]RetentionPolicy) Poll {
	p := Poll{
		Time:      at(o.at),
		Commits:   []Commit{{GroupPartition: billing, Committed: o.committed, Position: o.position}},
		Retention: retention,
	}
	if !o.noPartition {
		p.Partitions = []PartitionOffsets{{TopicPartition: orders, LogStart: o.start, LogEnd: o.end, LastStable: o.lso}}
	}
	if !o.noGroup {
		p.Groups = []GroupState{{Group: billing.Group, HasMembers: !o.noMembers}}
	}
	return p
}

// series builds polls every `every` seconds from `from` to `to` inclusive,
// asking f for each poll's offsets.
func polls(from, to, every float64, f func(s float64) obs) []obs {
	var out []obs
	for s := from; s <= to+1e-9; s += every {
		o := f(s)
		o.at = s
		out = append(out, o)
	}
	return out
}

// scenario observes the polls with the given window (1 minute unless set),
// stall time (default unless set) and retention, evaluating after every poll
// as the collector does, and returns the evaluation at the last poll's time
// (plus evalDelay seconds).
type scenario struct {
	window     time.Duration
	stallAfter time.Duration
	polls      []obs
	retention  map[string]RetentionPolicy
	evalDelay  float64
	records    map[TopicPartitionOffset]time.Time
	// warmUp leaves the partition's commit cadence to be learned, as after
	// lagwatch starts. Without it, the scenario's group has its stall
	// threshold given (a --group.stall-after override of stallAfter), so
	// that a scenario about the stall rule needs no learned moves; the
	// warm-up has its own tests.
	warmUp bool
}

func (s scenario) run(t *testing.T) (*Tracker, Result) {
	t.Helper()
	if len(s.polls) == 0 {
		t.Fatal("scenario without polls")
	}
	window := s.window
	if window == 0 {
		window = time.Minute
	}
	settings := Settings{Window: window, StallAfter: s.stallAfter}
	if !s.warmUp {
		settings.GroupStallAfter = []GroupStallAfter{{Pattern: regexp.MustCompile(".*"), StallAfter: cmp.Or(s.stallAfter, DefaultStallAfter)}}
	}
	tr := NewTracker(settings)
	for i, o := range s.polls {
		tr.Observe(o.poll(s.retention))
		if i < len(s.polls)-1 {
			tr.Evaluate(at(o.at), nil)
		}
	}
	res := tr.Evaluate(at(s.polls[len(s.polls)-1].at+s.evalDelay), s.records)
	checkResultInvariants(t, res)
	return tr, res
}

// billingResult runs the scenario and returns the billing group's result for
// orders/0.
func (s scenario) billingResult(t *testing.T) GroupPartitionResult {
	t.Helper()
	_, res := s.run(t)
	r, ok := res.GroupPartition(billing)
	if !ok {
		t.Fatalf("no result for %v in %+v", billing, res)
	}
	return *r
}

// checkResultInvariants fails the test when any number is negative, NaN or
// Inf, a Has flag is false but its value is set, or a status is out of range.
func checkResultInvariants(t testing.TB, res Result) {
	t.Helper()
	bad := func(what string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			t.Fatalf("%s = %v, want finite and ≥ 0", what, v)
		}
	}
	for _, p := range res.Partitions {
		bad("ProduceRate", p.ProduceRate)
		bad("LogStartRate", p.LogStartRate)
		if p.LogStart < 0 || p.LogEnd < 0 || p.LogStart > p.LogEnd {
			t.Fatalf("partition %v offsets start=%d end=%d", p.TopicPartition, p.LogStart, p.LogEnd)
		}
		if (!p.HasProduceRate && p.ProduceRate != 0) || (!p.HasLogStartRate && p.LogStartRate != 0) {
			t.Fatalf("partition %v: value without Has flag: %+v", p.TopicPartition, p)
		}
	}
	for _, r := range res.GroupPartitions {
		bad("LagSeconds", r.LagSeconds)
		bad("ConsumeRate", r.ConsumeRate)
		bad("TimeToDrainSeconds", r.TimeToDrainSeconds)
		bad("RetentionHeadroomSeconds", r.RetentionHeadroomSeconds)
		if r.Lag < 0 || r.ExpiredMessages < 0 {
			t.Fatalf("%v: Lag=%d ExpiredMessages=%d", r.GroupPartition, r.Lag, r.ExpiredMessages)
		}
		if r.Status >= NumStatuses {
			t.Fatalf("%v: status %d out of range", r.GroupPartition, r.Status)
		}
		if !r.HasLag && (r.Lag != 0 || r.LagSeconds != 0 || r.HasExpiredMessages || r.HasTimeToDrain || r.HasRetentionHeadroom) {
			t.Fatalf("%v: numbers without lag: %+v", r.GroupPartition, r)
		}
		if (!r.HasConsumeRate && r.ConsumeRate != 0) || (!r.HasTimeToDrain && r.TimeToDrainSeconds != 0) ||
			(!r.HasRetentionHeadroom && r.RetentionHeadroomSeconds != 0) || (!r.HasExpiredMessages && r.ExpiredMessages != 0) {
			t.Fatalf("%v: value without Has flag: %+v", r.GroupPartition, r)
		}
		if r.Status == StatusNoCommit && (r.HasLag || r.HasConsumeRate) {
			t.Fatalf("%v: no_commit with numbers: %+v", r.GroupPartition, r)
		}
		if r.HasLag && r.Lag == 0 && r.LagSeconds != 0 {
			t.Fatalf("%v: LagSeconds %v with no lag", r.GroupPartition, r.LagSeconds)
		}
	}
	for _, g := range res.Groups {
		bad("MaxLagSeconds", g.MaxLagSeconds)
		if g.Lag < 0 || g.Status >= NumStatuses {
			t.Fatalf("group %s: %+v", g.Group, g)
		}
	}
	for i := 1; i < len(res.Partitions); i++ {
		if compareTopicPartitions(res.Partitions[i-1].TopicPartition, res.Partitions[i].TopicPartition) >= 0 {
			t.Fatalf("partitions not sorted/unique at %d", i)
		}
	}
	for i := 1; i < len(res.GroupPartitions); i++ {
		if compareGroupPartitions(res.GroupPartitions[i-1].GroupPartition, res.GroupPartitions[i].GroupPartition) >= 0 {
			t.Fatalf("group partitions not sorted/unique at %d", i)
		}
	}
	for i := 1; i < len(res.Groups); i++ {
		if res.Groups[i-1].Group >= res.Groups[i].Group {
			t.Fatalf("groups not sorted/unique at %d", i)
		}
	}
}

// approx reports whether got is within tol of want.
func approx(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol
}

// everyGroup is a --group.stall-after override for every group.
func everyGroup(d time.Duration) []GroupStallAfter {
	return []GroupStallAfter{{Pattern: regexp.MustCompile(".*"), StallAfter: d}}
}

// groupPartition returns the Tracker's state of a group-partition, nil if
// it holds none.
func (t *Tracker) groupPartition(k GroupPartition) *groupPartitionState {
	gs, ok := t.groups[k.Group]
	if !ok {
		return nil
	}
	gps, _, _ := gs.find(k.TopicPartition, 0)
	return gps
}

// allGroupPartitions returns the Tracker's group-partition states in order.
func (t *Tracker) allGroupPartitions() []*groupPartitionState {
	var all []*groupPartitionState
	for _, gs := range t.groupOrder {
		all = append(all, gs.parts...)
	}
	return all
}
