package collector

import (
	"log/slog"
	"regexp"
	"time"

	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// Defaults of the poller's settings, and so of their flags.
const (
	DefaultPollInterval  = 15 * time.Second
	DefaultConfigRefresh = 5 * time.Minute
	// DefaultStaleAfterPolls is --kafka.stale-after's default in poll
	// intervals.
	DefaultStaleAfterPolls = 4
	// DefaultMaxRequestTimeout is --kafka.request-timeout's default, the
	// longest any Kafka request may take: Kafka's own clients' default
	// request.timeout.ms.
	DefaultMaxRequestTimeout = 30 * time.Second
)

// Config is what the poller needs to know; main builds it from the flags.
// Zero fields take the defaults above (and lagcalc's for Lag).
type Config struct {
	Servers []string
	// Kafka is the Kafka client's configuration (version, TLS, SASL);
	// nil means kafka's plaintext default.
	Kafka   *kafka.ClientConfig
	Filters Filters
	// AssignedPartitionsOnly keeps only the group-partitions some member
	// is assigned, as kafka_exporter's --offset.show-all=false does: a
	// group without members, or a topic its members no longer read, gets
	// no offset, lag or status series, so it can never read stopped or
	// inactive. Off by default: those are what the stopped page is for.
	AssignedPartitionsOnly bool
	// DeadLetter matches the names of dead-letter topics.
	DeadLetter *regexp.Regexp

	PollInterval time.Duration
	// Lag holds lagcalc's settings: the history window for rates and
	// trends, and how long a partition may sit still before it is stalled.
	Lag lagcalc.Settings
	// ConfigRefresh is how often topic configs are read again.
	ConfigRefresh time.Duration
	// StaleAfter is how long a part of the snapshot that Kafka stopped
	// answering for is still served as of its last answer.
	StaleAfter time.Duration
	// MaxInFlight bounds the Kafka requests in flight at once.
	MaxInFlight int
	// RequestTimeout bounds each Kafka request, connecting included; 0
	// means half the poll interval (at least a second), so that a broker
	// that accepts connections but never answers costs less than one poll
	// interval per poll: the poll asks it nothing more once it timed out.
	// Requests carrying many groups or partitions get an allowance for
	// each on top, up to MaxRequestTimeout: slow is not failed.
	RequestTimeout time.Duration
	// MaxRequestTimeout caps every request's deadline
	// (--kafka.request-timeout); 0 means DefaultMaxRequestTimeout.
	MaxRequestTimeout time.Duration
	// SkipRecordDating turns off reading record timestamps to date
	// backlogs older than the history: nothing exported needs them when
	// lag seconds and retention headroom are both excluded.
	SkipRecordDating bool

	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests pass their own.
	Now func() time.Time
}

// withDefaults fills the zero fields.
func (cfg Config) withDefaults() Config {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.ConfigRefresh <= 0 {
		cfg.ConfigRefresh = DefaultConfigRefresh
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = DefaultStaleAfterPolls * cfg.PollInterval
	}
	if cfg.MaxRequestTimeout <= 0 {
		cfg.MaxRequestTimeout = DefaultMaxRequestTimeout
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = min(max(cfg.PollInterval/2, time.Second), cfg.MaxRequestTimeout)
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = kafka.DefaultMaxInFlight
	}
	// A status held for answers reused for a failing broker turns unknown
	// when they would be dropped.
	cfg.Lag.StaleAfter = cfg.StaleAfter
	return cfg
}
