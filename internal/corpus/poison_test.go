package corpus

import (
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

// A consumer stuck on a poison message keeps its membership and either
// re-commits the same offset (many frameworks commit on a timer) or commits
// nothing. With lagwatch's defaults (15 s polls, 60 s stall-after) the
// partition must read stalled within 2 minutes of the consumer reaching the
// poison message.
func TestConsumerStuckOnAPoisonMessageIsStalledWithinTwoMinutesWithDefaults(t *testing.T) {
	for _, recommit := range []bool{true, false} {
		name := map[bool]string{true: "re-committing", false: "not-committing"}[recommit]
		t.Run(name, func(t *testing.T) {
			addr := kafkatest.Require(t, broker)
			topic, group := "poison-"+name, "poison-"+name+"-group"
			kafkatest.CreateTopic(t, addr, topic, 1, nil)
			adm := kafkatest.NewKadm(t, addr)
			prod := producer(t, addr)
			member := kgoMember(t, addr, group, topic)
			w := newWatcher(t, addr, topic, lagSettings{})

			const perInterval, healthyPolls = 30, 8
			// The poison is the 8th record written after the 8th poll.
			poison := int64(perInterval*healthyPolls + 7)
			var seq []string
			var reachedPoison time.Time
			detected := time.Duration(-1)
			for i := range healthyPolls + 16 {
				produceN(t, prod, topic, 0, perInterval, 100)
				rs := consumeN(t, member, perInterval)
				var done []int64
				for _, r := range rs {
					if r.Offset < poison {
						done = append(done, r.Offset)
					}
				}
				switch {
				case len(done) > 0:
					commitAt(t, member, topic, map[int32]int64{0: done[len(done)-1] + 1})
					if done[len(done)-1]+1 == poison {
						// Stuck from here: the time of the last poll before.
						reachedPoison = w.Now()
					}
				case recommit:
					commitAt(t, member, topic, map[int32]int64{0: poison})
				}
				want := min(int64(perInterval*(i+1)), poison)
				waitCommitted(t, adm, group, topic, map[int32]int64{0: want})

				v := find(w.poll(), group, topic, 0)
				seq = append(seq, v.status())
				if v.members != 1 {
					t.Errorf("poll %d: %d members, want the live one", i+1, v.members)
				}
				stuck := !reachedPoison.IsZero()
				if !stuck && i > 0 && v.status() != "ok" {
					t.Errorf("poll %d, consumer healthy: %s, want ok", i+1, v)
				}
				if stuck && v.status() == "stalled" && detected < 0 {
					detected = w.since(reachedPoison)
				}
				if stuck && v.status() == "stopped" {
					t.Errorf("poll %d: stopped with the member alive: %s", i+1, v)
				}
			}
			t.Logf("%s: statuses %v", name, seq)
			t.Logf("%s: stalled %v after the consumer reached the poison message (poll interval %v, stall-after %v default)", name, detected, w.interval, lagStallAfterDefault)
			if detected < 0 || detected > 2*time.Minute {
				t.Errorf("%s: stalled after %v, want within 2m0s (-1: never in %v)", name, detected, 16*w.interval)
			}
		})
	}
}
