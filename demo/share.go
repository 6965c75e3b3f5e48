package demo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Share groups (KIP-932): many members read the same partitions and
// acknowledge each record on its own; the broker keeps a start offset and
// a lag per share-partition. kfake and Apache Kafka 4.2+ both serve them
// (a Kafka without them answers nothing, and these members only log).
const (
	groupShareQueue   = "demo-share-queue"
	groupShareStalled = "demo-share-stalled"
)

// shareMember is one member of a share group: it accepts every record it
// polls until hangAfter (0: never), then holds the records of its last
// poll without acknowledging them and polls no more, as a worker stuck on
// a call that never returns does. Its client keeps heartbeating, so the
// group keeps the member while the start offset stays put and the lag
// grows.
type shareMember struct {
	clientID  string
	group     string
	topic     string
	hangAfter time.Duration
}

func (w workload) shareMembers() []*shareMember {
	return []*shareMember{
		{clientID: "demo-share-queue-1", group: groupShareQueue, topic: topicOrders},
		{clientID: "demo-share-queue-2", group: groupShareQueue, topic: topicOrders},
		{clientID: "demo-share-stalled-1", group: groupShareStalled, topic: topicPayments, hangAfter: w.stuckAfter},
	}
}

func shareScenarios(w workload) []Scenario {
	const status = "kafka_sharegroup_partition_status"
	return []Scenario{
		{
			Name: "share-queue", Group: groupShareQueue, Topic: topicOrders,
			Shows: fmt.Sprintf(`%s: %s{status="ok"}, a share group of two members that accept every record`, topicOrders, status),
		},
		{
			Name: "share-stalled", Group: groupShareStalled, Topic: topicPayments,
			Shows: fmt.Sprintf(`%s: %s{status="stalled"} --lag.stall-after after its member stops acknowledging at %s (kafka_sharegroup_start_offset flat, kafka_sharegroup_lag growing)`,
				topicPayments, status, short(w.stuckAfter)),
		},
	}
}

func (m *shareMember) run(ctx context.Context, addrs []string, logger *slog.Logger) {
	logger = logger.With("group", m.group, "member", m.clientID)
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addrs...),
		kgo.ClientID(m.clientID),
		kgo.ShareGroup(m.group),
		kgo.ConsumeTopics(m.topic),
		kgo.FetchMaxWait(time.Second),
	)
	if err != nil {
		// NewClient fails only on invalid options; it does not dial.
		logger.Warn("demo: create share consumer", "err", err)
		return
	}
	defer cl.Close()
	logger.Debug("demo: share member starting", "topic", m.topic)
	problems := &problemLog{logger: logger, what: "share fetch"}
	start := time.Now()
	for ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			problems.failure(errs[0].Err)
			sleepUntil(ctx, time.Now().Add(time.Second))
			continue
		}
		problems.success()
		if m.hangAfter > 0 && time.Since(start) >= m.hangAfter {
			logger.Debug("demo: share member hangs, holding its records", "records", fetches.NumRecords())
			<-ctx.Done()
			return
		}
		cl.MarkAcks(kgo.AckAccept)
	}
}
