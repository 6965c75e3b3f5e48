package kafka

import (
	"testing"
	"time"
)

// A request's deadline is the base, plus the allowance its size earns,
// capped by the maximum; and the pace the broker showed multiplies it for
// sized requests only.
func TestRequestDeadlineIsTheBasePlusTheAllowanceUpToTheMaximumTimesThePace(t *testing.T) {
	for _, c := range []struct {
		name          string
		base, max     time.Duration
		work          time.Duration
		pace          int
		want, wantFor time.Duration
	}{
		{name: "small request", base: time.Second, max: 30 * time.Second, want: time.Second, wantFor: time.Second},
		{name: "2,000 groups", base: time.Second, max: 30 * time.Second, work: 2000 * perGroupAllowance, want: 3 * time.Second, wantFor: 3 * time.Second},
		{name: "capped", base: time.Second, max: 2 * time.Second, work: 2000 * perGroupAllowance, want: 2 * time.Second, wantFor: 2 * time.Second},
		{name: "no base: the maximum", max: 5 * time.Second, work: time.Second, want: 5 * time.Second, wantFor: 5 * time.Second},
		{name: "no bound at all", want: 0, wantFor: 0},
		{name: "slow broker, pace 4", base: time.Second, max: 30 * time.Second, work: time.Second, pace: 4, want: 2 * time.Second, wantFor: 8 * time.Second},
		{name: "pace capped by the maximum", base: time.Second, max: 30 * time.Second, work: 2 * time.Second, pace: 64, want: 3 * time.Second, wantFor: 30 * time.Second},
	} {
		cl := New(Config{Bootstrap: []string{"127.0.0.1:1"}, RequestTimeout: c.base, MaxRequestTimeout: c.max})
		if c.pace > 0 {
			cl.pace[paceKey{"b:9092", "OffsetFetch"}] = c.pace
		}
		if got := cl.deadlineFor(c.work); got != c.want {
			t.Errorf("%s: deadline %v, want %v", c.name, got, c.want)
		}
		if got := cl.paced("b:9092", "OffsetFetch", cl.deadlineFor(c.work)); got != c.wantFor {
			t.Errorf("%s: paced deadline %v, want %v", c.name, got, c.wantFor)
		}
	}
}

// The pace doubles after a request ran out of its own deadline, halves
// after one answered within a quarter of it, and stays otherwise.
func TestPaceDoublesAfterATimeoutAndHalvesAfterAQuickAnswer(t *testing.T) {
	cl := New(Config{Bootstrap: []string{"127.0.0.1:1"}})
	pace := func() int { return max(cl.pace[paceKey{"b:9092", "DescribeGroups"}], 1) }
	steps := []struct {
		took     time.Duration
		timedOut bool
		want     int
	}{
		{time.Second, true, 2},
		{time.Second, true, 4},
		{600 * time.Millisecond, false, 4}, // within the deadline, not quick
		{100 * time.Millisecond, false, 2},
		{100 * time.Millisecond, false, 1},
		{100 * time.Millisecond, false, 1},
	}
	for i, s := range steps {
		cl.learnPace("b:9092", "DescribeGroups", time.Second, s.took, s.timedOut)
		if got := pace(); got != s.want {
			t.Fatalf("step %d (took %v, timed out %v): pace %d, want %d", i, s.took, s.timedOut, got, s.want)
		}
	}
	for range 10 {
		cl.learnPace("b:9092", "DescribeGroups", time.Second, time.Second, true)
	}
	if got := pace(); got != maxPace {
		t.Errorf("pace after many timeouts %d, want the bound %d", got, maxPace)
	}
}
