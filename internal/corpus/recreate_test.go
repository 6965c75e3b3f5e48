package corpus

import (
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

// A topic deleted and re-created under a live group starts again at offset
// 0; a member that re-commits its old position leaves a committed offset
// past the new log end. The consumer will reset on its next fetch or start
// (skipping or replaying, depending on auto.offset.reset), which someone
// must decide about: lagwatch must not show it green.
func TestTopicRecreatedUnderALiveGroupWithCommittedOffsetPastTheLogEndIsOutOfRange(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	const topic, group = "recreate-topic", "recreate-live"
	kafkatest.CreateTopic(t, addr, topic, 1, nil)
	adm := kafkatest.NewKadm(t, addr)
	prod := producer(t, addr)
	produceN(t, prod, topic, 0, 100, 100)
	member := startSaramaMember(t, addr, group, topic, 100*time.Millisecond)
	waitCommitted(t, adm, group, topic, map[int32]int64{0: 100})

	w := newWatcher(t, addr, "recreate-", lagSettings{})
	for i := range 3 {
		if v := find(w.poll(), group, topic, 0); v.lag() != 0 {
			t.Errorf("before the deletion, poll %d: %s, want lag 0", i+1, v)
		}
	}

	// The member stays in the group but processes nothing more (it would
	// otherwise reset to the new topic's start and commit that).
	member.frozen.Store(true)
	kafkatest.DeleteTopic(t, addr, topic)
	t.Logf("after the deletion the broker holds committed offsets %v for the group", kafkatest.Committed(t, adm, group, topic))
	kafkatest.CreateTopic(t, addr, topic, 1, nil)
	// A new producer: the old one would send the deleted topic's ID.
	produceN(t, producer(t, addr), topic, 0, 10, 100)
	member.commitPosition(t, adm, group, topic, 0, 100)
	if hw, _ := kafkatest.LogEnds(t, adm, topic); hw[0] != 10 {
		t.Fatalf("re-created topic: high watermark %d, want 10", hw[0])
	}
	if state, members := groupState(t, adm, group); members != 1 {
		t.Fatalf("group is %s with %d members, want the live member", state, members)
	}

	var seq []string
	for i := range 6 {
		v := find(w.poll(), group, topic, 0)
		seq = append(seq, v.status())
		// The first poll after the re-creation may still see the topic's
		// old metadata; from the second on the verdict must hold.
		if i > 0 && v.status() != "out_of_range" {
			t.Errorf("poll %d after the re-creation: %s, want out_of_range (committed 100 past log end 10)", i+1, v)
		}
	}
	t.Logf("statuses after the re-creation: %v", seq)
}
