package lagcalc

import "math"

// Times inside the package are nanoseconds relative to the Tracker's first
// poll (see Tracker.rel), clamped to ±maxRelTime so that the difference of
// any two of them, or of one of them and the window, fits in an int64.
const maxRelTime = int64(1) << 62

// noTime marks "never". No arithmetic is ever done on it; it only takes part
// in comparisons, where it is older than every real time.
const noTime = math.MinInt64

// Caps on the points one series keeps, whatever the poll interval. A series
// stores one extra slot so that a new point can be appended before the
// least informative interior point is thinned out; cap+1 points of 16 bytes
// fill a Go size class exactly (256 and 1024 bytes).
const (
	// maxCommitPoints bounds a group-partition's committed-offset history.
	// It is the per-group-partition memory bound, so it is kept small: the
	// rules only need the value at the window start, the current value and
	// the shape in between.
	maxCommitPoints = 15
	// maxLogEndPoints bounds a topic-partition's log-end history. It is shared
	// by every group reading the partition and dates committed offsets (lag in
	// seconds), so it keeps more points.
	maxLogEndPoints = 63
	// maxLogStartPoints bounds a topic-partition's log-start history. The log
	// start moves in whole segments, so it is flat almost all the time.
	maxLogStartPoints = 15
)

// point is one observation of a monotonic-ish Kafka offset.
type point struct {
	t int64 // relative nanoseconds
	v int64 // offset, never negative
}

// series is the compressed history of one offset (log end, log start or a
// committed offset).
//
// Invariants: point times never decrease; a flat run (equal values) is held
// as its first and last point only, so an idle topic or a stuck consumer costs
// two points however long it lasts, and the moment a value starts to change
// again is kept exactly; at most one point is older than the window start (the
// anchor that lets values be interpolated at the window start); at most
// maxPoints points are kept.
type series struct {
	pts []point
	// lastBackward is when the value last went down (a committed offset reset
	// or replayed, a log truncated). It is kept apart from the points so that
	// thinning can never hide a rewind, and rates start after it.
	lastBackward int64
}

func newSeries() series { return series{lastBackward: noTime} }

// reset forgets every point, keeping the storage for reuse.
func (s *series) reset() {
	s.pts = s.pts[:0]
	s.lastBackward = noTime
}

// first and last return the oldest and newest point; the series must not be empty.
func (s *series) first() point { return s.pts[0] }
func (s *series) last() point  { return s.pts[len(s.pts)-1] }

// add records value v observed at time t (t is not before the last point),
// then drops points older than the anchor for windowStart and thins the
// series to maxPoints.
func (s *series) add(t, v, windowStart int64, maxPoints int) {
	n := len(s.pts)
	if n > 0 && v < s.pts[n-1].v {
		s.lastBackward = t
	}
	if n >= 2 && s.pts[n-1].v == v && s.pts[n-2].v == v {
		// Extend the flat run: its last point moves forward in time.
		s.pts[n-1].t = t
	} else {
		if n == cap(s.pts) {
			grown := make([]point, n, min(max(2*n, 2), maxPoints+1))
			copy(grown, s.pts)
			s.pts = grown
		}
		s.pts = append(s.pts, point{t: t, v: v})
	}
	s.trim(windowStart)
	for len(s.pts) > maxPoints && len(s.pts) > 2 {
		s.thinOne()
	}
}

// trim drops every point before the newest one at or before windowStart: that
// one stays as the anchor from which values at the window start are
// interpolated.
func (s *series) trim(windowStart int64) {
	anchor := 0
	for i := 1; i < len(s.pts) && s.pts[i].t <= windowStart; i++ {
		anchor = i
	}
	if anchor > 0 {
		s.pts = s.pts[:copy(s.pts, s.pts[anchor:])]
	}
}

// thinOne removes the interior point whose loss changes the series least,
// measured as time error: how far the moment the value passed that point's
// offset moves if the point is replaced by the straight line between its
// neighbours. Time error is what matters here, because committed offsets are
// dated against these points (lag in seconds). Points on a steady slope cost
// nothing; the last point of a long flat run costs the length of the run (so
// an idle topic keeps its shape); the first point after a backward step is
// never chosen unless every interior point is such a point. Ties go to the
// point with the closest neighbours, which keeps the survivors spread in time.
func (s *series) thinOne() {
	best, bestCost, bestSpan := 1, math.Inf(1), int64(math.MaxInt64)
	for i := 1; i < len(s.pts)-1; i++ {
		cost, span := thinningCost(s.pts[i-1], s.pts[i], s.pts[i+1])
		if cost < bestCost || (cost == bestCost && span < bestSpan) {
			best, bestCost, bestSpan = i, cost, span
		}
	}
	s.pts = append(s.pts[:best], s.pts[best+1:]...)
}

// thinningCost is the time error of dropping b between a and c, and the span
// between a and c (for tie-breaking).
func thinningCost(a, b, c point) (cost float64, span int64) {
	span = c.t - a.t
	if b.v < a.v {
		return math.Inf(1), span
	}
	if c.v == a.v {
		if b.v == a.v {
			return 0, span
		}
		return float64(span), span
	}
	frac := float64(b.v-a.v) / float64(c.v-a.v)
	if frac < 0 || frac > 1 {
		return float64(span), span
	}
	lineT := float64(a.t) + frac*float64(span)
	return math.Abs(float64(b.t) - lineT), span
}

// valueAt interpolates the value at time t linearly between the points
// around it; before the first point it is the first value, after the last
// point the last value (no extrapolation). Within a flat run it is exact.
func (s *series) valueAt(t int64) float64 {
	// j = index of the first point after t.
	lo, hi := 0, len(s.pts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.pts[m].t <= t {
			lo = m + 1
		} else {
			hi = m
		}
	}
	j := lo
	switch {
	case j == 0:
		return float64(s.pts[0].v)
	case j == len(s.pts):
		return float64(s.pts[j-1].v)
	}
	a, b := s.pts[j-1], s.pts[j]
	frac := float64(t-a.t) / float64(b.t-a.t) // b.t > t >= a.t
	return float64(a.v) + frac*float64(b.v-a.v)
}

// rate returns the average change per second between max(windowStart, the
// first point, the last backward step) and the last point: the slope over
// the window, restarted after a rewind, never negative. It needs that span to
// be longer than zero (so at least two samples).
func (s *series) rate(windowStart int64) (perSecond float64, ok bool) {
	if len(s.pts) < 2 {
		return 0, false
	}
	start := max(windowStart, s.first().t, s.lastBackward)
	end := s.last()
	if end.t <= start {
		return 0, false
	}
	r := (float64(end.v) - s.valueAt(start)) / (float64(end.t-start) / 1e9)
	if !(r > 0) || math.IsInf(r, 0) {
		// Also catches NaN; a negative slope can only come from thinning
		// across a rewind and means "no advance measured".
		return 0, true
	}
	return r, true
}

// unchangedSince reports whether the value has been the same as the last
// point's at every moment from t on: the point at or before t (or the first
// point) and all later points hold the last value.
func (s *series) unchangedSince(t int64) bool {
	cur := s.last().v
	for i := len(s.pts) - 1; i >= 0; i-- {
		if s.pts[i].v != cur {
			return false
		}
		if s.pts[i].t <= t {
			return true
		}
	}
	return true
}

// timeReached dates offset o in a log-end series: the moment the log end
// grew past o, i.e. when the message at offset o was written. It takes the
// last point whose log end was still at or below o and interpolates linearly
// towards the next point. Because a flat run keeps its last point, a message
// written after an idle run is dated between the end of the run and the next
// poll, never at the start of the run. ok is false when every point is
// already past o (o is older than the history).
func (s *series) timeReached(o int64) (t float64, ok bool) {
	k := len(s.pts) - 1
	for k >= 0 && s.pts[k].v > o {
		k--
	}
	switch {
	case k < 0:
		return 0, false
	case k == len(s.pts)-1:
		return float64(s.pts[k].t), true
	}
	a, b := s.pts[k], s.pts[k+1] // a.v <= o < b.v
	frac := float64(o-a.v) / float64(b.v-a.v)
	return float64(a.t) + frac*float64(b.t-a.t), true
}
