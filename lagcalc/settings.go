package lagcalc

import "time"

// The defaults of Settings, written only here; flags and docs refer to these.
const (
	// DefaultWindow is the default of --lag.window: how far back rates and
	// the lag trend (lagging) look.
	DefaultWindow = 10 * time.Minute
	// DefaultStallAfter is the default of --lag.stall-after: how long a
	// committed offset may sit still while there is lag before the partition
	// is stalled (members) or stopped (none). 90 s because a consumer that
	// commits once a minute with ±10% jitter, polled every 15 s, is seen
	// still for at most about 81 s (66 s between commits plus one poll
	// interval, see stuckFor), while a poison message must read stalled
	// within 2 minutes: 90 s plus one poll interval plus the consumer's own
	// last commit after the message.
	DefaultStallAfter = 90 * time.Second
	// DefaultAllowedLagGrowth is the default of --lag.allowed-growth: how
	// many messages the lag may grow over the window, whatever its trend,
	// before a consumer that keeps committing is called lagging.
	DefaultAllowedLagGrowth = 100
)

// maxWindow keeps window arithmetic on relative times inside int64.
const maxWindow = time.Duration(1) << 61

// Settings are the knobs of the status rules. A zero field means its
// default; NewTracker fills them in.
type Settings struct {
	// Window (--lag.window) is how far back rates and the lag trend look.
	Window time.Duration
	// StallAfter (--lag.stall-after) is how long the committed offset must
	// sit still with lag at every poll before the partition is stalled or
	// stopped. It is separate from Window so that detection stays fast while
	// rates and trends average over a longer span.
	StallAfter time.Duration
	// AllowedLagGrowth (--lag.allowed-growth) is how many messages the lag's
	// fitted trend may rise over the window before lagging, however steady
	// the rise: it keeps a lag that creeps up by a handful of messages (a
	// quiet topic, a consumer committing in batches) from reading lagging.
	// Negative means none (only the lag's own swing is tolerated).
	AllowedLagGrowth int64
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
	s.AllowedLagGrowth = max(s.AllowedLagGrowth, 0)
	s.Window = min(s.Window, maxWindow)
	s.StallAfter = min(s.StallAfter, maxWindow)
	return s
}

// minTrendSpan is the shortest history over which the lag's trend is
// judged: twice StallAfter (3 minutes by default), at most the window. A
// shorter span can hold a single tooth of a periodic committer's sawtooth
// (lag climbs for a minute, then drops at the commit), which looks like
// growth.
func (s Settings) minTrendSpan() time.Duration {
	return min(2*s.StallAfter, s.Window)
}
