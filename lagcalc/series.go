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
//
// Storage: a point is packed into one 8-byte word (see packedTimeBits) as
// its time and value relative to the series' base (baseT, baseV), exactly,
// while the series spans at most maxPackedSpan in time and maxPackedRange in
// value; otherwise the series is held wide, two words (the plain time and
// value) per point, until it fits again. The encoding never rounds: a point
// reads back as exactly what was added, whatever the storage.
type series struct {
	data []uint64
	// baseT and baseV are subtracted from every packed point; baseT is
	// wideBase while the series is held wide.
	baseT, baseV int64
	// lastBackward is when the value last went down (a committed offset reset
	// or replayed, a log truncated). It is kept apart from the points so that
	// thinning can never hide a rewind, and rates start after it.
	lastBackward int64
}

// The packed encoding of a point: the time since baseT (nanoseconds) in the
// high packedTimeBits bits, the value above baseV in the low packedValueBits.
// A series packs while its points span at most maxPackedSpan (about 36
// minutes: a full default 10-minute window with its anchor, or a window of
// up to about half an hour) and maxPackedRange offsets (8,388,607: about
// 14,000 messages a second over a 10-minute window). Wider series (a long
// window, a busy partition, a rewind from 10^12 to 0, a flat run's anchor
// hours old while the value moves again) are held wide: exact, at 16 bytes a
// point as before packing.
const (
	packedValueBits = 23
	packedTimeBits  = 64 - packedValueBits
	maxPackedRange  = 1<<packedValueBits - 1
	maxPackedSpan   = 1<<packedTimeBits - 1
	// wideBase marks a series held wide. Relative times are clamped to
	// ±maxRelTime, so no point is ever at this time.
	wideBase = math.MinInt64
)

func newSeries() series { return series{lastBackward: noTime} }

// wide reports whether the series is held two words per point.
func (s *series) wide() bool { return s.baseT == wideBase }

// len returns the number of points.
func (s *series) len() int {
	if s.wide() {
		return len(s.data) / 2
	}
	return len(s.data)
}

// capPoints is how many points the storage holds without growing.
func (s *series) capPoints() int {
	if s.wide() {
		return cap(s.data) / 2
	}
	return cap(s.data)
}

// at returns point i.
func (s *series) at(i int) point {
	if s.wide() {
		return point{t: int64(s.data[2*i]), v: int64(s.data[2*i+1])}
	}
	w := s.data[i]
	return point{t: s.baseT + int64(w>>packedValueBits), v: s.baseV + int64(w&maxPackedRange)}
}

// points returns a copy of the points, oldest first.
func (s *series) points() []point {
	pts := make([]point, s.len())
	for i := range pts {
		pts[i] = s.at(i)
	}
	return pts
}

// packs reports whether p can be packed against base (t0, v0).
func packs(p point, t0, v0 int64) bool {
	return p.t >= t0 && uint64(p.t)-uint64(t0) <= maxPackedSpan &&
		p.v >= v0 && uint64(p.v)-uint64(v0) <= maxPackedRange
}

// pack encodes p against the series' base; packs must hold.
func (s *series) pack(p point) uint64 {
	return (uint64(p.t)-uint64(s.baseT))<<packedValueBits | (uint64(p.v) - uint64(s.baseV))
}

// reset forgets every point, keeping the storage for reuse (packed storage
// only: wide storage would hold twice the points once packed again).
func (s *series) reset() {
	if s.wide() {
		s.data, s.baseT = nil, 0
	}
	s.data = s.data[:0]
	s.lastBackward = noTime
}

// first and last return the oldest and newest point; the series must not be empty.
func (s *series) first() point { return s.at(0) }
func (s *series) last() point  { return s.at(s.len() - 1) }

// push appends p (not before the last point), growing the storage up to
// maxPoints+1 points and repacking or widening it when p does not pack.
func (s *series) push(p point, maxPoints int) {
	n := s.len()
	if !s.wide() {
		if n == 0 {
			s.baseT, s.baseV = p.t, p.v
		} else if !packs(p, s.baseT, s.baseV) && !s.rebase(p) {
			s.widen()
		}
	}
	if n == s.capPoints() {
		s.grow(min(max(2*n, 2), maxPoints+1))
	}
	if s.wide() {
		s.data = append(s.data, uint64(p.t), uint64(p.v))
		return
	}
	s.data = append(s.data, s.pack(p))
}

// grow reallocates the storage for capacity points.
func (s *series) grow(capacity int) {
	words := capacity
	if s.wide() {
		words *= 2
	}
	grown := make([]uint64, len(s.data), words)
	copy(grown, s.data)
	s.data = grown
}

// bounds returns the earliest time and the smallest and largest value of
// the points and extra.
func (s *series) bounds(extra point) (t0, lo, hi int64) {
	t0, lo, hi = extra.t, extra.v, extra.v
	if n := s.len(); n > 0 {
		t0 = s.at(0).t
		for i := range n {
			v := s.at(i).v
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	return t0, lo, hi
}

// rebase moves a packed series' base to its first point's time and its
// smallest value so that p packs too; false (nothing changed) when the
// points and p span too much to pack.
func (s *series) rebase(p point) bool {
	t0, lo, hi := s.bounds(p)
	if !packs(point{t: p.t, v: hi}, t0, lo) {
		return false
	}
	oldT, oldV := s.baseT, s.baseV
	for i, w := range s.data {
		t, v := oldT+int64(w>>packedValueBits), oldV+int64(w&maxPackedRange)
		s.data[i] = (uint64(t)-uint64(t0))<<packedValueBits | (uint64(v) - uint64(lo))
	}
	s.baseT, s.baseV = t0, lo
	return true
}

// widen converts a packed series to two words per point, same point capacity.
func (s *series) widen() {
	pts := s.points()
	s.data = make([]uint64, 0, 2*cap(s.data))
	s.baseT = wideBase
	for _, p := range pts {
		s.data = append(s.data, uint64(p.t), uint64(p.v))
	}
}

// repack converts a wide series back to one word per point, same point
// capacity, once its points span at most half of what packs (so that a
// series at the edge does not flip between the two at every poll).
func (s *series) repack() {
	n := s.len()
	if !s.wide() || n == 0 {
		return
	}
	last := s.at(n - 1)
	t0, lo, hi := s.bounds(last)
	if last.t < t0 || uint64(last.t)-uint64(t0) > maxPackedSpan/2 || uint64(hi)-uint64(lo) > maxPackedRange/2 {
		return
	}
	pts := s.points()
	s.data = make([]uint64, 0, cap(s.data)/2)
	s.baseT, s.baseV = t0, lo
	for _, p := range pts {
		s.data = append(s.data, s.pack(p))
	}
}

// truncate keeps the first n points.
func (s *series) truncate(n int) {
	if s.wide() {
		n *= 2
	}
	s.data = s.data[:n]
}

// remove deletes point i.
func (s *series) remove(i int) {
	if s.wide() {
		s.data = append(s.data[:2*i], s.data[2*i+2:]...)
		return
	}
	s.data = append(s.data[:i], s.data[i+1:]...)
}

// dropFirst deletes the first k points.
func (s *series) dropFirst(k int) {
	if s.wide() {
		k *= 2
	}
	s.data = s.data[:copy(s.data, s.data[k:])]
}

// add records value v observed at time t (t is not before the last point),
// then drops points older than the anchor for windowStart and thins the
// series to maxPoints.
func (s *series) add(t, v, windowStart int64, maxPoints int) {
	n := s.len()
	var last, beforeLast point
	if n > 0 {
		last = s.at(n - 1)
	}
	if n >= 2 {
		beforeLast = s.at(n - 2)
	}
	if n > 0 && v < last.v {
		s.lastBackward = t
	}
	if n >= 2 && last.v == v && beforeLast.v == v {
		// Extend the flat run: its last point moves forward in time.
		s.truncate(n - 1)
	}
	s.push(point{t: t, v: v}, maxPoints)
	s.trim(windowStart)
	for s.len() > maxPoints && s.len() > 2 {
		s.thinOne()
	}
	s.repack()
}

// trim drops every point before the newest one at or before windowStart: that
// one stays as the anchor from which values at the window start are
// interpolated.
func (s *series) trim(windowStart int64) {
	anchor, n := 0, s.len()
	for i := 1; i < n && s.at(i).t <= windowStart; i++ {
		anchor = i
	}
	if anchor > 0 {
		s.dropFirst(anchor)
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
	a, b := s.at(0), s.at(1)
	for i := 1; i < s.len()-1; i++ {
		c := s.at(i + 1)
		cost, span := thinningCost(a, b, c)
		if cost < bestCost || (cost == bestCost && span < bestSpan) {
			best, bestCost, bestSpan = i, cost, span
		}
		a, b = b, c
	}
	s.remove(best)
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
	n := s.len()
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.at(m).t <= t {
			lo = m + 1
		} else {
			hi = m
		}
	}
	j := lo
	switch {
	case j == 0:
		return float64(s.at(0).v)
	case j == n:
		return float64(s.at(j - 1).v)
	}
	a, b := s.at(j-1), s.at(j)
	frac := float64(t-a.t) / float64(b.t-a.t) // b.t > t >= a.t
	return float64(a.v) + frac*float64(b.v-a.v)
}

// rate returns the average change per second between max(windowStart, the
// first point, the last backward step) and the last point: the slope over
// the window, restarted after a rewind, never negative. It needs that span to
// be longer than zero (so at least two samples).
func (s *series) rate(windowStart int64) (perSecond float64, ok bool) {
	if s.len() < 2 {
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
	for i := s.len() - 1; i >= 0; i-- {
		p := s.at(i)
		if p.v != cur {
			return false
		}
		if p.t <= t {
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
	n := s.len()
	k := n - 1
	for k >= 0 && s.at(k).v > o {
		k--
	}
	switch {
	case k < 0:
		return 0, false
	case k == n-1:
		return float64(s.at(k).t), true
	}
	a, b := s.at(k), s.at(k+1) // a.v <= o < b.v
	frac := float64(o-a.v) / float64(b.v-a.v)
	return float64(a.t) + frac*float64(b.t-a.t), true
}
