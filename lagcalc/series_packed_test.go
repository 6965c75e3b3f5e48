package lagcalc

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
	"time"
)

// seriesPair runs the same operations on a packed series and on the wide
// reference, and tells where their answers differ.
type seriesPair struct {
	packed series
	wide   wideSeries
}

func newSeriesPair() *seriesPair {
	return &seriesPair{packed: newSeries(), wide: newWideSeries()}
}

func (p *seriesPair) add(t, v, windowStart int64, maxPoints int) {
	p.packed.add(t, v, windowStart, maxPoints)
	p.wide.add(t, v, windowStart, maxPoints)
}

func (p *seriesPair) trim(windowStart int64) {
	p.packed.trim(windowStart)
	p.wide.trim(windowStart)
}

func (p *seriesPair) reset() {
	p.packed.reset()
	p.wide.reset()
}

// check compares the points and every query the rules ask of a series, at
// times and offsets around each point.
func (p *seriesPair) check(t *testing.T, windowStart int64, maxPoints int) {
	t.Helper()
	got, want := p.packed.points(), p.wide.pts
	if !slices.Equal(got, want) {
		t.Fatalf("points = %v, want %v", got, want)
	}
	if p.packed.lastBackward != p.wide.lastBackward {
		t.Fatalf("lastBackward = %d, want %d", p.packed.lastBackward, p.wide.lastBackward)
	}
	if p.packed.capPoints() > maxPoints+1 {
		t.Fatalf("storage holds %d points, cap %d (+1 slot)", p.packed.capPoints(), maxPoints)
	}
	if len(want) == 0 {
		return
	}
	if p.packed.first() != p.wide.first() || p.packed.last() != p.wide.last() {
		t.Fatalf("first/last = %v/%v, want %v/%v", p.packed.first(), p.packed.last(), p.wide.first(), p.wide.last())
	}
	same := func(what string, a, b float64) {
		if a != b && !(math.IsNaN(a) && math.IsNaN(b)) {
			t.Fatalf("%s = %v, want %v (points %v)", what, a, b, want)
		}
	}
	r1, ok1 := p.packed.rate(windowStart)
	r2, ok2 := p.wide.rate(windowStart)
	same("rate", r1, r2)
	if ok1 != ok2 {
		t.Fatalf("rate ok = %v, want %v", ok1, ok2)
	}
	same("valueAt(windowStart)", p.packed.valueAt(windowStart), p.wide.valueAt(windowStart))
	for _, pt := range want {
		for _, at := range []int64{pt.t - 1, pt.t, pt.t + 1} {
			same("valueAt", p.packed.valueAt(at), p.wide.valueAt(at))
			if p.packed.unchangedSince(at) != p.wide.unchangedSince(at) {
				t.Fatalf("unchangedSince(%d) differs", at)
			}
		}
		for _, o := range []int64{pt.v - 1, pt.v, pt.v + 1} {
			a, okA := p.packed.timeReached(o)
			b, okB := p.wide.timeReached(o)
			same("timeReached", a, b)
			if okA != okB {
				t.Fatalf("timeReached(%d) ok = %v, want %v", o, okA, okB)
			}
		}
	}
}

// TestPackedSeriesLimits walks a series over the edges of the packed
// encoding: it stays exact on both sides of each limit, packs while it fits,
// holds wide beyond, and packs again once the wide points left the window.
func TestPackedSeriesLimits(t *testing.T) {
	const window = int64(10 * time.Minute)
	s := int64(time.Second)
	cases := []struct {
		name     string
		points   []point
		wantWide bool // after the last point
	}{
		{"values of 10^12 moving slowly pack", []point{{0, 1e12}, {15 * s, 1e12 + 100}, {30 * s, 1e12 + 250}}, false},
		{"a span of exactly the packed range packs", []point{{0, 5}, {15 * s, 5 + maxPackedRange}}, false},
		{"a span one offset past the packed range is wide", []point{{0, 5}, {15 * s, 5 + maxPackedRange + 1}}, true},
		{"a rewind from 10^12 to 0 is wide", []point{{0, 1e12}, {15 * s, 1e12 + 10}, {30 * s, 0}}, true},
		{"the rewind packs again once the old points left the window", []point{{0, 1e12}, {15 * s, 1e12 + 10}, {30 * s, 0}, {30*s + window, 5}, {45*s + window, 10}}, false},
		{"a flat run three days long is wide (its two points as before packing)", []point{{0, 700}, {15 * s, 700}, {72 * 3600 * s, 700}}, true},
		{"the flat run moving again is wide while its start is the anchor", []point{{0, 700}, {15 * s, 700}, {72 * 3600 * s, 700}, {72*3600*s + 15*s, 710}}, true},
		{"it packs again once the run's end is the anchor", []point{{0, 700}, {15 * s, 700}, {72 * 3600 * s, 700}, {72*3600*s + 15*s, 710}, {72*3600*s + 15*s + window, 720}, {72*3600*s + 30*s + window, 730}}, false},
		{"a span of exactly the packed time span packs", []point{{0, 1}, {maxPackedSpan, 2}}, false},
		{"a span one nanosecond past the packed time span is wide", []point{{0, 1}, {maxPackedSpan + 1, 2}}, true},
		{"nanosecond times stay exact", []point{{1, 1}, {2, 2}, {3, 3}, {1e9 + 7, 4}}, false},
		{"times near the clamp stay exact", []point{{-maxRelTime, 0}, {-maxRelTime + 1, 1}, {maxRelTime, 2}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newSeriesPair()
			for _, pt := range tc.points {
				p.add(pt.t, pt.v, pt.t-window, maxCommitPoints)
				p.check(t, pt.t-window, maxCommitPoints)
			}
			if p.packed.wide() != tc.wantWide {
				t.Errorf("wide = %v, want %v (points %v)", p.packed.wide(), tc.wantWide, p.packed.points())
			}
		})
	}
}

// FuzzPackedSeriesMatchesWide: whatever the points, the packed series keeps
// exactly the points the wide reference keeps and answers every query the
// same, bit for bit.
func FuzzPackedSeriesMatchesWide(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{1, 200, 3, 0, 0, 0, 9, 4, 255, 255, 255, 1, 7, 7, 7})
	f.Add([]byte{2, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6})
	f.Add([]byte{3, 250, 251, 252, 253, 254, 255, 0, 1, 2, 128, 129, 130})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		caps := []int{2, 3, maxCommitPoints, maxLogEndPoints}
		maxPoints := caps[int(data[0])%len(caps)]
		windows := []int64{int64(10 * time.Minute), int64(time.Second), int64(time.Hour), 50}
		window := windows[int(data[0]/4)%len(windows)]
		p := newSeriesPair()
		now, v := int64(0), int64(1_000_000)
		for i := 1; i+1 < len(data); i += 2 {
			op, arg := data[i], int64(data[i+1])
			// Times: nanosecond steps, poll-like steps, hour and day gaps.
			switch op % 4 {
			case 0:
				now += arg
			case 1:
				now += arg * int64(time.Second)
			case 2:
				now += arg * int64(15*time.Second)
			case 3:
				now += arg * int64(time.Hour)
			}
			// Values: flat, small moves, big jumps, rewinds.
			switch op / 4 % 8 {
			case 0, 1:
			case 2:
				v += arg
			case 3:
				v += arg * 100_000
			case 4:
				v += arg << 32
			case 5:
				v = max(v-arg, 0)
			case 6:
				v = arg
			case 7:
				v = int64(binary.BigEndian.Uint16([]byte{byte(arg), op})) * 1e9
			}
			windowStart := now - window
			switch op / 32 {
			case 6:
				p.trim(windowStart)
			case 7:
				if arg == 0 {
					p.reset()
				}
				p.add(now, v, windowStart, maxPoints)
			default:
				p.add(now, v, windowStart, maxPoints)
			}
			p.check(t, windowStart, maxPoints)
		}
	})
}
