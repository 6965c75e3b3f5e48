package demo

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// produceSteadily appends one small record to topic about every 1/rate
// seconds until ctx is done. Records are produced asynchronously and never block
// the clock: when the cluster is away, kgo's buffer fills, TryProduce
// fails fast, and the rate resumes when the cluster is back.
func produceSteadily(ctx context.Context, cl *kgo.Client, topic string, rate float64, logger *slog.Logger) {
	if rate <= 0 {
		return
	}
	problems := &problemLog{logger: logger.With("topic", topic), what: "produce"}
	period := time.Duration(float64(time.Second) / rate)
	// Each record is due a jittered period after the one before, on a
	// schedule rather than after the last write: a timer that fires late
	// on a busy machine is made up for by the next records, so the rate
	// holds (and a group reading a share of it still falls behind). A
	// schedule more than a second behind drops the rest of its backlog.
	due := time.Now().Add(jittered(period))
	timer := time.NewTimer(time.Until(due))
	defer timer.Stop()
	logger.Debug("demo: producing", "topic", topic, "messages_per_second", rate)
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		due = due.Add(jittered(period))
		if behind := time.Now().Add(-time.Second); due.Before(behind) {
			due = behind
		}
		timer.Reset(time.Until(due))
		// Small values keep the demo's CPU and memory negligible.
		value := fmt.Appendf(nil, `{"id":%d,"amount_cents":%d}`, n, 100+n%9900)
		cl.TryProduce(ctx, &kgo.Record{Topic: topic, Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				if ctx.Err() == nil {
					problems.failure(err)
				}
				return
			}
			problems.success()
		})
	}
}

// jittered returns a random duration between half a period and one and a
// half: the average rate stays, but the writes cannot fall into step with
// the exporter's fixed poll interval. In step, a group that keeps up could
// show the same one message of lag at every poll and never read as ok.
func jittered(period time.Duration) time.Duration {
	return period/2 + rand.N(period)
}

// problemLog logs the first error of a run of failures as a warning and
// the rest at debug level, so a broker restart costs one warning per
// component instead of one per record or poll. It is safe for concurrent
// use: produce callbacks run on kgo's goroutines.
type problemLog struct {
	logger  *slog.Logger
	what    string
	failing atomic.Bool
}

func (p *problemLog) failure(err error) {
	if p.failing.CompareAndSwap(false, true) {
		p.logger.Warn("demo: "+p.what+" failed, retrying", "err", err)
		return
	}
	p.logger.Debug("demo: "+p.what+" failed again", "err", err)
}

func (p *problemLog) success() {
	if p.failing.CompareAndSwap(true, false) {
		p.logger.Info("demo: " + p.what + " works again")
	}
}
