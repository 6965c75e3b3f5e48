package collector_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

// Two healthy consumers on topics whose log start moves all the time, on
// the real broker: one keeps up (1 to 4 messages behind) on a topic of
// 5-second retention, which the broker enforces every 2 seconds (its first
// check 30 s after it starts); the other
// is a Kafka Streams-like application on a topic of infinite retention that
// deletes (DeleteRecords) up to its committed offset right after every
// commit. Neither has lost a message and neither is at risk: no poll may
// show expired messages or a retention headroom.
func TestConsumersThatKeepUpShowNoExpiredMessagesNorHeadroomWhileTheLogStartMoves(t *testing.T) {
	addr := kafkatest.Require(t, collector.SharedBroker())
	const short, purged = "keepup-short-retention", "streams-repartition"
	retention5s, segment1s, infinite := "5000", "1000", "-1"
	kafkatest.CreateTopic(t, addr, short, 1, map[string]*string{"retention.ms": &retention5s, "segment.ms": &segment1s})
	kafkatest.CreateTopic(t, addr, purged, 1, map[string]*string{"retention.ms": &infinite})

	cl := kafkatest.NewKgo(t, addr, kgo.DefaultProduceTopic(short), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	appErr := make(chan error, 2)
	// The consumer of the short-retention topic commits every 200 ms
	// what it has read: the log end of a moment ago, 1 to 4 messages behind.
	wg.Go(func() { appErr <- keepUp(ctx, cl, adm, short, "keepup-group", 1) })
	// The Streams-like application commits and then purges every 100 ms.
	wg.Go(func() { appErr <- keepUp(ctx, cl, adm, purged, "streams-app", 0) })

	p, _ := newTestPoller(t, addr, collector.Filters{})
	// Poll for at least 20 s and until both log starts have moved (the
	// broker's first retention check runs 30 s after it starts), at most
	// 2 minutes.
	minEnd, deadline := time.Now().Add(20*time.Second), time.Now().Add(2*time.Minute)
	var shortStart, purgedStart int64
	polls := 0
	for time.Now().Before(minEnd) || (shortStart == 0 || purgedStart == 0) && time.Now().Before(deadline) {
		select {
		case err := <-appErr:
			t.Fatalf("application: %v", err)
		default:
		}
		// A poll may fail in part (the coordinator still loading offsets
		// just after the broker started); what it published is checked all
		// the same.
		pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := p.PollOnce(pctx); err != nil {
			t.Logf("poll %d: %v", polls+1, err)
		}
		pcancel()
		polls++
		snap := p.Snapshot()
		if snap == nil {
			continue
		}
		for _, g := range snap.Groups {
			for _, gp := range g.Partitions {
				if gp.Topic != short && gp.Topic != purged {
					continue
				}
				if gp.Eval.ExpiredMessages != 0 || gp.Eval.HasRetentionHeadroom {
					t.Errorf("poll %d, %s on %s: committed %d, lag %d (%.2f s): expired %d, headroom %v (%.0f s); want neither",
						polls, g.Name, gp.Topic, gp.Committed, gp.Eval.Lag, gp.Eval.LagSeconds,
						gp.Eval.ExpiredMessages, gp.Eval.HasRetentionHeadroom, gp.Eval.RetentionHeadroomSeconds)
				}
			}
		}
		for _, topic := range snap.Topics {
			switch topic.Name {
			case short:
				shortStart = topic.Partitions[0].LogStart
			case purged:
				purgedStart = topic.Partitions[0].LogStart
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	// The test means something only if both log starts really moved.
	if shortStart == 0 || purgedStart == 0 {
		t.Errorf("after %d polls the log starts are %d (retention) and %d (purges); want both moved", polls, shortStart, purgedStart)
	}
	t.Logf("%d polls; log start %d on %s, %d on %s", polls, shortStart, short, purgedStart, purged)
}

// keepUp produces 5 records to partition 0 of topic every 100 ms and
// commits, for group, the log end as it was a little earlier; with purge 0
// it deletes the records up to that commit right after it, as Kafka Streams
// does on its repartition topics. It returns when ctx ends.
func keepUp(ctx context.Context, cl *kgo.Client, adm *kadm.Client, topic, group string, every int) error {
	purge := every == 0
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var read int64 // the log end at the previous tick: what the consumer has read
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		for range 5 {
			r := &kgo.Record{Topic: topic, Partition: 0, Value: []byte("x")}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				return ignoreCancel(err)
			}
		}
		if purge || i%2 == 0 {
			var offs kadm.Offsets
			offs.Add(kadm.Offset{Topic: topic, Partition: 0, At: read, LeaderEpoch: -1})
			if _, err := adm.CommitOffsets(ctx, group, offs); err != nil {
				return ignoreCancel(err)
			}
			if purge && read > 0 {
				resp, err := adm.DeleteRecords(ctx, offs)
				if err == nil {
					err = resp.Error()
				}
				if err != nil {
					return ignoreCancel(err)
				}
			}
		}
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return ignoreCancel(err)
		}
		if o, ok := ends.Lookup(topic, 0); ok && o.Err == nil {
			read = o.Offset - 1 // one record still in hand
		}
	}
}

func ignoreCancel(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
