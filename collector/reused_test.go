package collector

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lagwatch/lagwatch/lagcalc"
)

// Answers reused for a failing broker (lastKnown) are marked as such for
// lagcalc, which derives no status and no lag from them: a partition keeps
// the status and lag of the last poll that read its committed offset and
// log offsets together. The two probes of issue 19, as regression tests.

// produceTo writes n records to topic/partition.
func (fc *faultCluster) produceTo(topic string, partition int32, n int) {
	fc.t.Helper()
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = &kgo.Record{Topic: topic, Partition: partition, Value: fmt.Appendf(nil, "%d", i)}
	}
	if err := fc.cl.ProduceSync(faultContext(fc.t), rs...).FirstErr(); err != nil {
		fc.t.Fatalf("produce to %s/%d: %v", topic, partition, err)
	}
}

// evalOf is lagcalc's result for group on topic/partition in snap.
func evalOf(t *testing.T, snap *Snapshot, group, topic string, partition int32) lagcalc.GroupPartitionNumbers {
	t.Helper()
	gp, ok := groupPartition(findGroup(t, snap, group), topic, partition)
	if !ok {
		t.Fatalf("group %s has no entry for %s/%d", group, topic, partition)
	}
	return gp.Eval
}

func TestReusedLogOffsetsOfAFailingLeaderNeverReadAsOutOfRange(t *testing.T) {
	// A consumer 2 messages behind the head of a partition whose leader's
	// ListOffsets fails keeps committing past the log end of the leader's
	// last answer. Judged as fresh, that read out_of_range at the second
	// poll, and paged "topic re-created or truncated".
	const leader = int32(2)
	fc := newFaultCluster(t)
	fc.topic("payments", []int32{leader}, 1, 20)
	end, committed := 20, 18
	fc.commit("payments-app", "payments", map[int32]int64{0: int64(committed)})
	clock := t0
	p := fc.pollerWith(Config{StaleAfter: time.Minute, Now: func() time.Time { return clock }})
	step := func() {
		clock = clock.Add(15 * time.Second)
		fc.produceTo("payments", 0, 10)
		end += 10
		committed = end - 2
		fc.commit("payments-app", "payments", map[int32]int64{0: int64(committed)})
	}
	for range 4 {
		pollComplete(t, p)
		step()
	}
	before := pollComplete(t, p)
	if r := evalOf(t, before, "payments-app", "payments", 0); r.Status != lagcalc.StatusOK || r.Lag != 2 {
		t.Fatalf("before the fault: status %v, lag %d; want ok, 2", r.Status, r.Lag)
	}

	stop := fc.intercept(kmsg.ListOffsets, leader, listOffsetsAnswer(func(string, int32, int64) (int64, int16) {
		return -1, kerr.NotLeaderForPartition.Code
	}))
	for i := range 3 { // 45 s, within StaleAfter
		step()
		snap, _ := pollSnapshot(t, p)
		r := evalOf(t, snap, "payments-app", "payments", 0)
		if r.Status != lagcalc.StatusOK || r.Lag != 2 {
			t.Errorf("failing poll %d: committed %d past the reused log end: status %v, lag %d; want ok and 2 (the last lag read together)", i+1, committed, r.Status, r.Lag)
		}
	}
	stop()
	step()
	snap := pollComplete(t, p)
	if r := evalOf(t, snap, "payments-app", "payments", 0); r.Status == lagcalc.StatusOutOfRange || r.Lag != 2 {
		t.Errorf("after the fault: status %v, lag %d; want no out_of_range and lag 2", r.Status, r.Lag)
	}
}

func TestReusedCommitsOfAFailingCoordinatorNeitherStallNorDriftTheLag(t *testing.T) {
	// A consumer 900 behind a producer, both moving 200 messages per 20 s
	// poll, while its coordinator's OffsetFetch fails for three polls (60
	// s, the stall-after). Judged as fresh, the reused committed offset
	// sat still (stopped) and the lag against the fresh log end drifted up
	// by 200 a poll while the true lag stayed 900.
	fc := newFaultCluster(t)
	fc.topic("ledger", []int32{0}, 1, 1000)
	end, committed := 1000, 100
	fc.commit("ledger-app", "ledger", map[int32]int64{0: int64(committed)})
	coordinator := fc.c.CoordinatorFor("ledger-app")
	clock := t0
	p := fc.pollerWith(Config{StaleAfter: 80 * time.Second, Now: func() time.Time { return clock }})
	step := func() {
		clock = clock.Add(20 * time.Second)
		fc.produceTo("ledger", 0, 200)
		end += 200
		committed += 200
		fc.commit("ledger-app", "ledger", map[int32]int64{0: int64(committed)})
	}
	for range 12 { // 4 minutes: more than the trend's minimum span
		pollComplete(t, p)
		step()
	}
	before := pollComplete(t, p)
	if r := evalOf(t, before, "ledger-app", "ledger", 0); r.Status != lagcalc.StatusOK || r.Lag != 900 {
		t.Fatalf("before the fault: status %v, lag %d; want ok, 900", r.Status, r.Lag)
	}

	stop := fc.intercept(kmsg.OffsetFetch, coordinator, offsetFetchError(kerr.CoordinatorLoadInProgress.Code))
	for i := range 3 {
		step()
		snap, _ := pollSnapshot(t, p)
		r := evalOf(t, snap, "ledger-app", "ledger", 0)
		if r.Status != lagcalc.StatusOK || r.Lag != 900 {
			t.Errorf("failing poll %d (%v after the last answer): status %v, lag %d; want ok and 900", i+1, time.Duration(i+1)*20*time.Second, r.Status, r.Lag)
		}
	}
	stop()
	step()
	snap := pollComplete(t, p)
	if r := evalOf(t, snap, "ledger-app", "ledger", 0); r.Status != lagcalc.StatusOK || r.Lag != 900 {
		t.Errorf("after the fault: status %v, lag %d; want ok and 900", r.Status, r.Lag)
	}
}
