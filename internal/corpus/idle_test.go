package corpus

import (
	"fmt"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// On a topic nobody writes to, a consumer that read everything is ok for
// as long as it sits there, and one that died part-way before lagwatch
// started is stopped once its offset has sat still for the warm-up limit
// (lagwatch never saw it move, so it cannot have learned its cadence), and
// unknown, never ok, from stall-after until then.
func TestIdleTopicCaughtUpConsumerIsOkAndConsumerThatDiedBehindIsStopped(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	const topic, caughtUp, died = "idle-topic", "idle-caught-up", "idle-died-behind"
	kafkatest.CreateTopic(t, addr, topic, 1, nil)
	adm := kafkatest.NewKadm(t, addr)
	produceN(t, producer(t, addr), topic, 0, 100, 100)

	startSaramaMember(t, addr, caughtUp, topic, 100*time.Millisecond)
	dying := startSaramaMember(t, addr, died, topic, 100*time.Millisecond)
	dying.markBelow.Store(60)
	waitCommitted(t, adm, caughtUp, topic, map[int32]int64{0: 100})
	waitCommitted(t, adm, died, topic, map[int32]int64{0: 60})
	dying.stop()
	waitfor.Condition(t, driverTimeout, "the dead consumer's group is empty", func() error {
		if state, members := groupState(t, adm, died); members != 0 {
			return fmt.Errorf("%s with %d members", state, members)
		}
		return nil
	})
	if state, members := groupState(t, adm, caughtUp); members != 1 {
		t.Fatalf("the caught-up consumer's group is %s with %d members, want 1", state, members)
	}

	w := newWatcher(t, addr, "idle-", lagSettings{})
	var okSeq, diedSeq []string
	firstStopped := -1
	polls := 2 + int(stallWarmUpLimit/w.interval)
	for i := range polls {
		s := w.poll()
		ok, gone := find(s, caughtUp, topic, 0), find(s, died, topic, 0)
		okSeq, diedSeq = append(okSeq, ok.status()), append(diedSeq, gone.status())
		if ok.lag() != 0 || (i > 0 && ok.status() != "ok") {
			t.Errorf("poll %d: caught-up consumer: %s, want ok with lag 0", i+1, ok)
		}
		if gone.lag() != 40 {
			t.Errorf("poll %d: dead consumer: lag %d, want 40", i+1, gone.lag())
		}
		if gone.status() == "stopped" && firstStopped < 0 {
			firstStopped = i + 1
		}
		// Until the offset has sat still for stall-after, lagwatch cannot
		// tell a dead consumer from one that commits once a minute, so ok
		// or unknown are both honest; after it, until the warm-up limit,
		// only unknown is (it might commit every 10 minutes); stalled (no
		// members) and lagging (lag constant) never are.
		if gone.status() == "stalled" || gone.status() == "lagging" {
			t.Errorf("poll %d: dead consumer with lag 40 and no members: %s", i+1, gone)
		}
		if still := time.Duration(i) * w.interval; still > lagStallAfterDefault && gone.status() == "ok" {
			t.Errorf("poll %d: dead consumer still for %v with lag 40: ok", i+1, still)
		}
	}
	t.Logf("caught up: %v; died behind: %v, first stopped at poll %d", counts(okSeq), counts(diedSeq), firstStopped)
	// lagwatch first sees the offset at poll 1; it has sat still for the
	// warm-up limit by poll 1 + limit/interval.
	if limit := 1 + int(stallWarmUpLimit/w.interval) + 1; firstStopped < 0 || firstStopped > limit {
		t.Errorf("dead consumer first stopped at poll %d, want by poll %d; sequence %v", firstStopped, limit, diedSeq)
	}
}
