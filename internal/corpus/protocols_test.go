package corpus

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// A group of the Kafka 4 consumer protocol (KIP-848, broker-side
// assignment) and a classic group read the same topic: both are ok while
// they keep up, and both are stalled, not stopped, when their members stay
// but stop committing.
func TestKIP848AndClassicGroupsSideBySideAreOkWhileConsumingAndStalledWhenStuck(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	const topic, classic, kip848 = "proto-topic", "proto-classic", "proto-kip848"
	const partitions = 2
	kafkatest.CreateTopic(t, addr, topic, partitions, nil)
	adm := kafkatest.NewKadm(t, addr)
	prod := producer(t, addr)
	classicMember := startSaramaMember(t, addr, classic, topic, 100*time.Millisecond)
	newMember := kgoMember(t, addr, kip848, topic, kgo.ServerSideBalancer())

	ctx, cancel := context.WithTimeout(context.Background(), driverTimeout)
	defer cancel()
	waitfor.Condition(t, driverTimeout, "the KIP-848 group is stable with its member", func() error {
		described, err := adm.DescribeConsumerGroups(ctx, kip848)
		if err != nil {
			return err
		}
		if g := described[kip848]; g.Err != nil || g.State != "Stable" || len(g.Members) != 1 {
			return fmt.Errorf("state %q, %d members, err %v", g.State, len(g.Members), g.Err)
		}
		return nil
	})

	w := newWatcher(t, addr, "proto-", lagSettings{})
	written := int64(0)
	stuck := false
	var seq [2][]string
	var stuckAt time.Time
	for i := range 22 {
		if i == 10 {
			// Both consumers stay in their groups and stop making progress.
			stuck = true
			stuckAt = w.Now()
			classicMember.frozen.Store(true)
		}
		for p := range int32(partitions) {
			produceN(t, prod, topic, p, 20, 100)
		}
		written += 20
		want := map[int32]int64{}
		if !stuck {
			commitLastPlusOne(t, newMember, consumeN(t, newMember, 20*partitions))
			for p := range int32(partitions) {
				want[p] = written
			}
			waitCommitted(t, adm, classic, topic, want)
			waitCommitted(t, adm, kip848, topic, want)
		}
		s := w.poll()
		if state, members := groupState(t, adm, classic); members != 1 {
			t.Fatalf("classic group is %s with %d members, want 1", state, members)
		}
		for g, group := range []string{classic, kip848} {
			committed := kafkatest.Committed(t, adm, group, topic)
			for p := range int32(partitions) {
				v := find(s, group, topic, p)
				if p == 0 {
					seq[g] = append(seq[g], v.status())
				}
				if v.members != 1 {
					t.Errorf("poll %d %s: %d members, want 1", i+1, group, v.members)
				}
				if want := written - committed[p]; v.lag() != want {
					t.Errorf("poll %d %s/%d: lag %d, want %d", i+1, group, p, v.lag(), want)
				}
				switch {
				case !stuck && i > 0 && v.status() != "ok":
					t.Errorf("poll %d %s/%d: %s while keeping up, want ok", i+1, group, p, v)
				case stuck && v.status() == "stopped":
					t.Errorf("poll %d %s/%d: stopped with a member alive: %s", i+1, group, p, v)
				case stuck && w.since(stuckAt) > lagStallAfterDefault+2*w.interval && v.status() != "stalled":
					t.Errorf("poll %d %s/%d: %s %v after the consumer got stuck, want stalled", i+1, group, p, v, w.since(stuckAt))
				}
			}
		}
	}
	t.Logf("partition 0 statuses, classic: %v", seq[0])
	t.Logf("partition 0 statuses, KIP-848: %v", seq[1])
}
