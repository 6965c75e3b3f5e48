package server

import (
	"log"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// peerErrorInterval is how often the HTTP server's own errors are logged
// at most: each is caused by a peer (a TLS handshake from a plain-HTTP
// scraper, a malformed request), so a peer could otherwise write one log
// line per connection.
const peerErrorInterval = time.Minute

// ErrorLog is the HTTP server's error log: Go's net/http writes TLS
// handshake failures and the like to it. They go through lagwatch's
// logger, at most one line per peerErrorInterval, which counts the lines
// left out since the last.
func ErrorLog(logger *slog.Logger) *log.Logger {
	return log.New(&throttledLog{logger: logger, every: peerErrorInterval, now: time.Now}, "", 0)
}

// throttledLog writes at most one line per interval to its logger and
// counts the others.
type throttledLog struct {
	logger *slog.Logger
	every  time.Duration
	now    func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (t *throttledLog) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if !t.last.IsZero() && now.Sub(t.last) < t.every {
		t.suppressed++
		return len(p), nil
	}
	msg := strings.TrimSpace(strings.TrimPrefix(string(p), "http: "))
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	t.logger.Warn("HTTP server error (one line per "+t.every.String()+" at most)", "err", msg, "left_out_since_last", t.suppressed)
	t.last, t.suppressed = now, 0
	return len(p), nil
}
