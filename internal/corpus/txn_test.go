package corpus

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// txnProducer writes records to partition 0 of a topic inside transactions.
type txnProducer struct {
	t     *testing.T
	cl    *kgo.Client
	topic string
}

func newTxnProducer(t *testing.T, addr, topic string) *txnProducer {
	return &txnProducer{t: t, topic: topic, cl: producer(t, addr, kgo.TransactionalID("corpus-"+topic))}
}

// open begins a transaction and writes n records in it; they are in the log
// (the high watermark passed them) but not stable until end is called.
func (p *txnProducer) open(n int) {
	p.t.Helper()
	if err := p.cl.BeginTransaction(); err != nil {
		p.t.Fatalf("begin transaction on %s: %v", p.topic, err)
	}
	produceN(p.t, p.cl, p.topic, 0, n, 100)
}

// end commits or aborts the open transaction; either writes a control
// record (the marker) that takes an offset no consumer ever receives.
func (p *txnProducer) end(commit kgo.TransactionEndTry) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), driverTimeout)
	defer cancel()
	if err := p.cl.EndTransaction(ctx, commit); err != nil {
		p.t.Fatalf("end transaction on %s: %v", p.topic, err)
	}
}

func (p *txnProducer) commit(n int) { p.open(n); p.end(kgo.TryCommit) }

// readCommittedMember is a group member that reads with read_committed
// isolation and commits "last record + 1".
func readCommittedMember(t *testing.T, addr, group, topic string) *kgo.Client {
	return kgoMember(t, addr, group, topic, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
}

// assertOnlyControlRecordsBetween checks the ground truth that makes a lag
// of 0 right: between the committed offset and the last stable offset a
// read_committed consumer receives nothing but transaction markers.
func assertOnlyControlRecordsBetween(t *testing.T, addr, topic string, from, to int64) {
	t.Helper()
	rs := kafkatest.ReadLog(t, addr, topic, 0, from, to, kgo.ReadCommitted())
	for _, r := range rs {
		if !r.Attrs.IsControl() {
			t.Fatalf("%s: a read_committed consumer gets %s between committed %d and LSO %d; all: %s",
				topic, kafkatest.RecordKind(r), from, to, describeRecords(rs))
		}
	}
	if len(rs) == 0 && to > from {
		t.Fatalf("%s: offsets %d..%d hold no record at all", topic, from, to)
	}
}

// waitEnds waits until partition 0's high watermark and LSO are as
// expected. EndTransaction returns once the coordinator has the decision;
// it writes the markers into the partitions right after, asynchronously.
func waitEnds(t *testing.T, adm *kadm.Client, topic string, wantHW, wantLSO int64) {
	t.Helper()
	waitfor.Condition(t, driverTimeout, fmt.Sprintf("%s: high watermark %d and LSO %d", topic, wantHW, wantLSO), func() error {
		h, l := kafkatest.LogEnds(t, adm, topic)
		if h[0] != wantHW || l[0] != wantLSO {
			return fmt.Errorf("high watermark %d, LSO %d", h[0], l[0])
		}
		return nil
	})
}

// pollCaughtUp polls n times and checks that lagwatch shows a consumer
// caught up on a transactional topic: lag 0 and ok, never stalled, from
// the second poll on (the first has no history).
func pollCaughtUp(t *testing.T, w *watcher, group, topic, phase string, n int) {
	t.Helper()
	var seq []string
	for i := range n {
		v := find(w.poll(), group, topic, 0)
		seq = append(seq, v.status())
		if v.lag() != 0 {
			t.Errorf("%s poll %d: lag %d, want 0 (only transaction markers and aborted records are left): %s", phase, i+1, v.lag(), v)
		}
		if i > 0 && v.status() != "ok" {
			t.Errorf("%s poll %d: %s, want ok: %s", phase, i+1, v.status(), v)
		}
	}
	t.Logf("%s: statuses %v over %d polls (%v simulated)", phase, counts(seq), n, time.Duration(n)*w.interval)
}

func TestReadCommittedConsumerCommittingLastRecordPlusOneOnAnIdleTransactionalTopicIsOkWithLagZero(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	const topic, group = "txn-idle", "txn-idle-reader"
	kafkatest.CreateTopic(t, addr, topic, 1, nil)
	adm := kafkatest.NewKadm(t, addr)
	txn := newTxnProducer(t, addr, topic)
	reader := readCommittedMember(t, addr, group, topic)

	txn.commit(5)
	commitLastPlusOne(t, reader, consumeN(t, reader, 5))

	// 5 records and the commit marker.
	waitEnds(t, adm, topic, 6, 6)
	waitCommitted(t, adm, group, topic, map[int32]int64{0: 5})
	assertOnlyControlRecordsBetween(t, addr, topic, 5, 6)

	w := newWatcher(t, addr, "txn-idle", lagSettings{})
	pollCaughtUp(t, w, group, topic, "idle, caught up", 12)
}

func TestReadCommittedConsumerOnABusyTransactionalTopicIsOkAndAtLagZeroWhenCaughtUp(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	const topic, group = "txn-busy", "txn-busy-reader"
	kafkatest.CreateTopic(t, addr, topic, 1, nil)
	adm := kafkatest.NewKadm(t, addr)
	txn := newTxnProducer(t, addr, topic)
	reader := readCommittedMember(t, addr, group, topic)
	w := newWatcher(t, addr, "txn-busy", lagSettings{})

	// Every interval the producer commits a transaction of 40 records and
	// the reader reads and commits them. Polls land alternately just after
	// the reader caught up (truth: lag 0) and just after the next
	// transaction committed (truth: 40 records to read, 41 or 42 offsets).
	var seq []string
	committed := int64(0)
	for i := range 30 {
		txn.commit(40)
		caughtUp := i%2 == 0
		if caughtUp {
			rs := consumeN(t, reader, 40)
			commitLastPlusOne(t, reader, rs)
			committed = rs[len(rs)-1].Offset + 1
			waitCommitted(t, adm, group, topic, map[int32]int64{0: committed})
		}
		// Each transaction takes 40 offsets and its marker one more.
		hw := int64(41 * (i + 1))
		waitEnds(t, adm, topic, hw, hw)
		if caughtUp {
			assertOnlyControlRecordsBetween(t, addr, topic, committed, hw)
		}

		v := find(w.poll(), group, topic, 0)
		seq = append(seq, v.status())
		switch {
		case caughtUp && v.lag() != 0:
			t.Errorf("poll %d (reader caught up, only a marker after %d, log end %d): lag %d, want 0: %s", i+1, committed, hw, v.lag(), v)
		case !caughtUp && (v.lag() < 40 || v.lag() > hw-committed):
			t.Errorf("poll %d (40 records to read): lag %d, want 40 records (at most %d offsets): %s", i+1, v.lag(), hw-committed, v)
		}
		if i > 0 && v.status() != "ok" {
			t.Errorf("poll %d: %s, want ok: %s", i+1, v.status(), v)
		}
		if !caughtUp {
			rs := consumeN(t, reader, 40)
			commitLastPlusOne(t, reader, rs)
			committed = rs[len(rs)-1].Offset + 1
		}
	}
	t.Logf("busy: statuses %v over 30 polls", counts(seq))
}

func TestOpenTransactionHoldsReadCommittedConsumerAtTheLastStableOffsetAndAnAbortedOneLeavesNoLag(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	const topic, group = "txn-open", "txn-open-reader"
	kafkatest.CreateTopic(t, addr, topic, 1, nil)
	adm := kafkatest.NewKadm(t, addr)
	txn := newTxnProducer(t, addr, topic)
	reader := readCommittedMember(t, addr, group, topic)

	txn.commit(5) // offsets 0-4, marker at 5
	commitLastPlusOne(t, reader, consumeN(t, reader, 5))
	waitCommitted(t, adm, group, topic, map[int32]int64{0: 5})
	txn.open(3) // offsets 6-8, not yet stable

	waitEnds(t, adm, topic, 9, 6)
	assertOnlyControlRecordsBetween(t, addr, topic, 5, 6)
	if rs := pollBriefly(reader); len(rs) != 0 {
		t.Fatalf("read_committed reader got %s past the LSO", describeRecords(rs))
	}

	w := newWatcher(t, addr, "txn-open", lagSettings{})
	pollCaughtUp(t, w, group, topic, "transaction open", 12)

	txn.end(kgo.TryAbort) // marker at 9
	waitEnds(t, adm, topic, 10, 10)
	assertOnlyControlRecordsBetween(t, addr, topic, 5, 10)
	pollCaughtUp(t, w, group, topic, "transaction aborted", 12)
}
