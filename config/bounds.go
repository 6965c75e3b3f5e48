package config

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// Bounds on what the flags and --config.file may ask for. Each is far
// above any real deployment and far below what would make a start, a
// reload or a scrape take long: past them lagwatch refuses the input in
// one line (exit 2 at start; the running configuration stays on reload).
const (
	// maxConfigFileBytes bounds --config.file: 1,000 clusters with TLS,
	// SASL and filters take about 400 KB.
	maxConfigFileBytes = 1 << 20
	// MaxClusters bounds the clusters of --config.file: each has its own
	// poller, connections and series.
	MaxClusters = 1000
	// MaxServersPerCluster bounds a cluster's bootstrap servers (sarama
	// tries them in turn; the metadata names the rest of the brokers).
	MaxServersPerCluster = 100
)

// CheckServerAddr checks a Kafka bootstrap address: host:port with a port
// from 1 to 65535. A port out of range would make every poll fail.
func CheckServerAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("is not host:port: %v", err)
	}
	if host == "" {
		return fmt.Errorf("has no host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

// readBounded reads at most limit bytes of r, and fails past them.
func readBounded(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// GroupStallAfter validates one group stall override, from a flag or from
// --config.file.
func GroupStallAfter(expr, duration string, pollInterval time.Duration) (lagcalc.GroupStallAfter, error) {
	re, err := collector.Anchored(expr)
	if err != nil {
		return lagcalc.GroupStallAfter{}, err
	}
	d, err := time.ParseDuration(duration)
	if err != nil {
		return lagcalc.GroupStallAfter{}, fmt.Errorf("%q is not a duration such as 90s or 26h", duration)
	}
	if d < 2*pollInterval || d < time.Second {
		return lagcalc.GroupStallAfter{}, fmt.Errorf("%s must span at least two polls (--kafka.poll-interval %s)", d, pollInterval)
	}
	return lagcalc.GroupStallAfter{Pattern: re, StallAfter: d}, nil
}

// LogVersionCap says once what a --kafka.version below the newest does:
// group requests go by each broker's versions whatever it says, the other
// requests are capped, and a cap below what they need loses what
// kafka.CapLosses names.
func LogVersionCap(logger *slog.Logger, setting string, v kafka.Version) {
	if logger == nil || v.IsNewest() {
		return
	}
	if lost := kafka.CapLosses(v); lost != "" {
		logger.Warn(setting+" caps the protocol versions lagwatch asks for; groups are still read with the versions each broker supports, but the cap loses: "+lost+". Drop it: lagwatch negotiates each request with each broker",
			"kafka_version", v.String())
		return
	}
	logger.Info(setting+" caps the protocol versions of the requests other than the group requests, which go by the versions each broker supports; nothing lagwatch reads is lost", "kafka_version", v.String())
}

// shortened is a name or value quoted in an error: its first 64 bytes.
func shortened(s string) string { return shortenedTo(s, 64) }

func shortenedTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
