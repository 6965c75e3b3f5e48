package lagcalc

import (
	"regexp"
	"time"
)

// The defaults of Settings, written only here; flags and docs refer to these.
const (
	// DefaultWindow is the default of --lag.window: how far back rates and
	// the lag trend (lagging) look.
	DefaultWindow = 10 * time.Minute
	// DefaultStallAfter is the default of --lag.stall-after: the least time
	// a committed offset must sit still while there is lag before the
	// partition is stalled (members) or stopped (none). The partition's own
	// commit cadence can only raise it (see stallThreshold). 60 s because a
	// poison message must page within 3 minutes: 60 s plus one poll
	// interval (15 s) plus the consumer's own last commit after the message
	// (5 s auto-commit), then the alert's `for: 1m` and Alertmanager's
	// group_wait. Consumers that commit less often than about every 40 s are
	// kept healthy by the learned cadence, not by this floor.
	DefaultStallAfter = 60 * time.Second
	// DefaultAllowedLagGrowth is the default of --lag.allowed-growth: how
	// many messages the lag may grow over the window, whatever its trend,
	// before a consumer that keeps committing is called lagging.
	DefaultAllowedLagGrowth = 100
	// DefaultInactiveAfter is the default of --group.inactive-after: how old
	// the oldest unconsumed message of a memberless group lagwatch never saw
	// move must be before the group reads inactive rather than stopped (see
	// isAbandoned).
	DefaultInactiveAfter = 24 * time.Hour
)

// maxWindow keeps window arithmetic on relative times inside int64.
const maxWindow = time.Duration(1) << 61

// Settings are the knobs of the status rules. A zero field means its
// default; NewTracker fills them in.
type Settings struct {
	// Window (--lag.window) is how far back rates and the lag trend look.
	Window time.Duration
	// StallAfter (--lag.stall-after) is the least time the committed
	// offset must sit still with lag at every poll before the partition is
	// stalled or stopped; the partition's learned commit cadence raises it
	// (see stallThreshold). It is separate from Window so that detection
	// stays fast while rates and trends average over a longer span.
	StallAfter time.Duration
	// GroupStallAfter (--group.stall-after) overrides StallAfter for the
	// groups whose name a pattern matches (the first that matches wins):
	// for what learning cannot see, such as a batch job that runs every
	// few hours. An overridden group needs no warm-up (see stallThreshold).
	GroupStallAfter []GroupStallAfter
	// AllowedLagGrowth (--lag.allowed-growth) is how many messages the lag's
	// fitted trend may rise over the window before lagging, however steady
	// the rise: it keeps a lag that creeps up by a handful of messages (a
	// quiet topic, a consumer committing in batches) from reading lagging.
	// Negative means none (only the lag's own swing is tolerated).
	AllowedLagGrowth int64
	// InactiveAfter (--group.inactive-after) is how old the oldest
	// unconsumed message of a memberless group that lagwatch never saw
	// move must be for the group to read inactive (see isAbandoned).
	InactiveAfter time.Duration
	// StaleAfter (--kafka.stale-after) is how long a status derived from
	// the last fresh answers is kept while the collector passes reused
	// answers (see Poll): after it the group-partition reads unknown. Zero
	// means no limit (the collector stops passing reused answers at its
	// own StaleAfter anyway).
	StaleAfter time.Duration
}

// GroupStallAfter is one --group.stall-after override: groups whose name
// Pattern matches (anchored by the caller) take StallAfter instead of
// Settings.StallAfter.
type GroupStallAfter struct {
	Pattern    *regexp.Regexp
	StallAfter time.Duration
}

// DefaultSettings returns the settings with every default filled in.
func DefaultSettings() Settings {
	return Settings{}.withDefaults()
}

// withDefaults fills in the zero fields and bounds the durations so that
// arithmetic on relative times cannot overflow.
func (s Settings) withDefaults() Settings {
	if s.Window <= 0 {
		s.Window = DefaultWindow
	}
	if s.StallAfter <= 0 {
		s.StallAfter = DefaultStallAfter
	}
	if s.AllowedLagGrowth == 0 {
		s.AllowedLagGrowth = DefaultAllowedLagGrowth
	}
	if s.InactiveAfter <= 0 {
		s.InactiveAfter = DefaultInactiveAfter
	}
	s.AllowedLagGrowth = max(s.AllowedLagGrowth, 0)
	s.Window = min(s.Window, maxWindow)
	s.StallAfter = min(s.StallAfter, maxWindow)
	s.InactiveAfter = min(s.InactiveAfter, maxWindow)
	s.StaleAfter = min(max(s.StaleAfter, 0), maxWindow)
	var overrides []GroupStallAfter
	for _, o := range s.GroupStallAfter {
		if o.Pattern != nil && o.StallAfter > 0 {
			overrides = append(overrides, GroupStallAfter{o.Pattern, min(o.StallAfter, maxWindow)})
		}
	}
	s.GroupStallAfter = overrides
	return s
}

// groupStallAfter is the stall floor of a group and whether an override
// set it.
func (s Settings) groupStallAfter(group string) (time.Duration, bool) {
	for _, o := range s.GroupStallAfter {
		if o.Pattern.MatchString(group) {
			return o.StallAfter, true
		}
	}
	return s.StallAfter, false
}

// minTrendSpan is the shortest history over which the lag's trend is
// judged: twice StallAfter, at least 3 minutes, at most the window. A
// shorter span can hold a single tooth of a periodic committer's sawtooth
// (lag climbs for a minute, then drops at the commit), which looks like
// growth. The 3-minute floor keeps the span the trend rule was measured
// with when the 60 s StallAfter default replaced the 90 s one.
func (s Settings) minTrendSpan() time.Duration {
	return min(max(2*s.StallAfter, 3*time.Minute), s.Window)
}
