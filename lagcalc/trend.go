package lagcalc

import "math"

// lagSwingFactor: the lag's fitted rise must exceed this many swings (the
// root-mean-square distance of the lag from the fitted line) to enter
// lagging. A periodic committer's lag is a sawtooth (or, committing faster
// than the polls, noise), and a window that starts and ends at unlucky
// phases tilts the fitted line. Measured on 144 partition-hours of jittered
// histories (TestLagTrendBarSeparatesHealthyFromSlowConsumers), healthy
// consumers committing every 5 s or every minute stayed below 4.9 swings,
// and a consumer at 80% of the produce rate above 7 (committing every minute)
// and far above it committing every 5 s; seven is the bar, and half of it the
// way out (see isLagging).
const lagSwingFactor = 7

// seriesCursor walks a series forward in time, interpolating as
// series.valueAt does, in amortised constant time per step: it keeps the
// current segment's start and slope, and decodes each point once.
type seriesCursor struct {
	s *series
	j int // index of the first point after the last time asked
	// a and b are points j−1 and j, where they exist (once primed).
	a, b point
	// nextT is b's time, math.MaxInt64 past the last point (once primed).
	nextT int64
	// The current segment: value v0 at t0, changing by slope per ns.
	t0     int64
	v0     float64
	slope  float64
	n      int // points in the series (once primed)
	primed bool
}

// valueAt returns the interpolated value at t; t must not decrease between calls.
func (c *seriesCursor) valueAt(t int64) float64 {
	if !c.primed {
		if c.s.len() == 0 {
			return 0
		}
		c.primed, c.n, c.b = true, c.s.len(), c.s.at(0)
		c.seek(t)
	} else if c.nextT <= t {
		c.seek(t)
	}
	return c.v0 + float64(t-c.t0)*c.slope
}

// seek moves to the segment holding t.
func (c *seriesCursor) seek(t int64) {
	for c.j < c.n && c.b.t <= t {
		c.a = c.b
		c.j++
		if c.j < c.n {
			c.b = c.s.at(c.j)
		}
	}
	switch c.j {
	case 0:
		c.t0, c.v0, c.slope = t, float64(c.b.v), 0
	case c.n:
		c.t0, c.v0, c.slope = t, float64(c.a.v), 0
	default:
		c.t0, c.v0, c.slope = c.a.t, float64(c.a.v), float64(c.b.v-c.a.v)/float64(c.b.t-c.a.t)
	}
	c.nextT = math.MaxInt64
	if c.j < c.n {
		c.nextT = c.b.t
	}
}

// next returns the time of the first point after the last time asked.
func (c *seriesCursor) next() int64 {
	if c.primed {
		return c.nextT
	}
	if c.s.len() > 0 {
		return c.s.at(0).t
	}
	return math.MaxInt64
}

// constant reports whether the series holds one value throughout.
func (s *series) constant() bool {
	n := s.len()
	if n == 0 {
		return true
	}
	v0 := s.at(0).v
	for i := 1; i < n; i++ {
		if s.at(i).v != v0 {
			return false
		}
	}
	return true
}

// lagTrend fits a least-squares line to the lag over [from, to] and returns
// its rise over that span (messages; positive when the lag grows) and the
// swing of the lag around it (root-mean-square distance).
//
// The lag is taken against the last stable offset, as GroupPartitionResult.Lag
// is, from the committed offset: LSO(t) − committed(t) = end(t) − gap(t) −
// committed(t), each series interpolated linearly between its points (the
// verified position is known for the last poll only and moves the lag by a
// few markers: it does not change a trend). That makes the lag a piecewise
// linear function, and the fit is the continuous one: every moment of the
// span weighs the same, however the polls or the kept points are spread,
// and the integrals are exact per linear piece.
func lagTrend(end, gap, committed *series, from, to int64) (rise, swing float64) {
	ce, cg, cc := seriesCursor{s: end}, seriesCursor{s: gap}, seriesCursor{s: committed}
	if gap.constant() {
		// No transaction open at any poll (the usual case): a constant
		// shifts the lag and changes neither its trend nor its swing.
		var none series
		cg.s = &none
	}
	lagAt := func(t int64) float64 { return ce.valueAt(t) - cg.valueAt(t) - cc.valueAt(t) }
	// Values are taken relative to the first one and times in seconds from
	// `from`, so that large offsets keep their precision.
	ref := lagAt(from)
	var sum, sumT, sumSq float64 // ∫f, ∫t·f, ∫f² over the span
	t, f := from, 0.0
	for t < to {
		nt := min(ce.next(), cg.next(), cc.next(), to)
		nf := lagAt(nt) - ref
		u, h := float64(t-from)/1e9, float64(nt-t)/1e9
		sum += h * (f + nf) / 2
		sumT += u*h*(f+nf)/2 + h*h*(f+2*nf)/6
		sumSq += h * (f*f + f*nf + nf*nf) / 3
		t, f = nt, nf
	}
	span := float64(to-from) / 1e9
	if !(span > 0) {
		return 0, 0
	}
	slope := (sumT - span/2*sum) * 12 / (span * span * span)
	variance := sumSq/span - (sum/span)*(sum/span) - slope*slope*span*span/12
	rise, swing = slope*span, math.Sqrt(max(variance, 0))
	if math.IsNaN(rise) || math.IsInf(rise, 0) || math.IsNaN(swing) || math.IsInf(swing, 0) {
		return 0, 0
	}
	return rise, swing
}

// lagMax is the largest lag over [from, to], the lag taken as lagTrend
// takes it (piecewise linear, so its largest value lies at a point of one of
// the three series). Since the lag is never negative, a least-squares line
// through a window whose later part (from on) stays within [0, M] rises by
// at most about 1.5·M, whatever came before: earlier values are at least 0,
// and higher ones only tilt the line down.
func lagMax(end, gap, committed *series, from, to int64) float64 {
	ce, cg, cc := seriesCursor{s: end}, seriesCursor{s: gap}, seriesCursor{s: committed}
	lagAt := func(t int64) float64 { return ce.valueAt(t) - cg.valueAt(t) - cc.valueAt(t) }
	hi := lagAt(from)
	for t := from; t < to; {
		t = min(ce.next(), cg.next(), cc.next(), to)
		hi = max(hi, lagAt(t))
	}
	return hi
}
