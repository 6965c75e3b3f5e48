package corpus

import (
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/internal/waitfor"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// lagSettings are lagwatch's status-rule settings (--lag.*).
type lagSettings = lagcalc.Settings

// newPoller is the one place that knows how lagwatch's poller is built.
// It polls only the groups and topics whose names start with prefix, so
// tests sharing the broker do not see each other.
func newPoller(t *testing.T, addr, prefix string, interval time.Duration, lag lagSettings, now func() time.Time) *collector.Poller {
	t.Helper()
	only, err := collector.Anchored(regexpQuote(prefix) + ".*")
	if err != nil {
		t.Fatal(err)
	}
	p, err := collector.NewPoller(collector.Config{
		Servers:      []string{addr},
		Filters:      collector.Filters{GroupInclude: only, TopicInclude: only},
		PollInterval: interval,
		// The default deadline for the interval, stretched on a machine
		// declared slower (LAGWATCH_TEST_SLOWDOWN).
		RequestTimeout: waitfor.Scaled(min(max(interval/2, time.Second), collector.DefaultMaxRequestTimeout)),
		Lag:            lag,
		Now:            now,
	})
	if err != nil {
		t.Fatalf("new poller: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}
