package lagcalc

import "math"

// wideSeries is the series as it was before points were packed into one word
// (16 bytes a point, times and values held as they are): the reference that
// FuzzPackedSeriesMatchesWide holds the packed series to.
type wideSeries struct {
	pts          []point
	lastBackward int64
}

func newWideSeries() wideSeries { return wideSeries{lastBackward: noTime} }

// reset forgets every point, keeping the storage for reuse.
func (s *wideSeries) reset() {
	s.pts = s.pts[:0]
	s.lastBackward = noTime
}

// first and last return the oldest and newest point; the series must not be empty.
func (s *wideSeries) first() point { return s.pts[0] }
func (s *wideSeries) last() point  { return s.pts[len(s.pts)-1] }

// add records value v observed at time t (t is not before the last point),
// then drops points older than the anchor for windowStart and thins the
// series to maxPoints.
func (s *wideSeries) add(t, v, windowStart int64, maxPoints int) {
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
func (s *wideSeries) trim(windowStart int64) {
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
func (s *wideSeries) thinOne() {
	best, bestCost, bestSpan := 1, math.Inf(1), int64(math.MaxInt64)
	for i := 1; i < len(s.pts)-1; i++ {
		cost, span := thinningCost(s.pts[i-1], s.pts[i], s.pts[i+1])
		if cost < bestCost || (cost == bestCost && span < bestSpan) {
			best, bestCost, bestSpan = i, cost, span
		}
	}
	s.pts = append(s.pts[:best], s.pts[best+1:]...)
}

// valueAt interpolates the value at time t linearly between the points
// around it; before the first point it is the first value, after the last
// point the last value (no extrapolation). Within a flat run it is exact.
func (s *wideSeries) valueAt(t int64) float64 {
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
func (s *wideSeries) rate(windowStart int64) (perSecond float64, ok bool) {
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
func (s *wideSeries) unchangedSince(t int64) bool {
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
func (s *wideSeries) timeReached(o int64) (t float64, ok bool) {
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
