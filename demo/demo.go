// Package demo is the simulated workload behind `lagwatch demo`: an
// embedded Kafka-protocol cluster (kfake), steady producers, and one
// consumer group per scenario, each scripted so that its committed offsets,
// members and the topics' log offsets give the exporter's rules something
// real to detect (ok, lagging, stalled, stopped, rewound, lost messages,
// dead letters, unassigned partitions).
//
// The same workload runs against an external cluster, such as the Apache
// Kafka of the docker-compose stack, so nothing here depends on kfake.
// Consumers use classic consumer groups: kfake and Apache Kafka differ on
// the KIP-848 protocol (see shared/KAFKA-FACTS.md). Two share groups
// (KIP-932) run beside them (share.go).
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Topic and group names. Everything the demo creates starts with "demo-"
// so a user can filter it in or out.
const (
	topicOrders         = "demo-orders"
	topicPayments       = "demo-payments"
	topicShortRetention = "demo-short-retention"

	groupHealthy       = "demo-healthy"
	groupSlow          = "demo-slow"
	groupDeparted      = "demo-departed"
	groupStalled       = "demo-stalled"
	groupCrashed       = "demo-crashed"
	groupRetentionSlow = "demo-retention-slow"
	groupRewind        = "demo-rewind"
	groupDeadLetter    = "demo-dead-letter"
	groupUnassigned    = "demo-unassigned"

	// topicPaymentsDLT is where demo-dead-letter parks the payments it
	// cannot process.
	topicPaymentsDLT = topicPayments + deadLetterSuffix

	// assignedBelow: demo-unassigned's assignor gives its member the
	// partitions below it, so partition 2 of demo-orders has no member.
	assignedBelow = 2

	// partitionsPerTopic is 3 so that the stalled scenario can hold one
	// partition while others advance, and so the healthy group's two
	// members each get a share.
	partitionsPerTopic = 3

	// stuckPartition is the partition of demo-payments where demo-stalled
	// meets its poison message.
	stuckPartition = 0
)

// Scenario describes one scenario for the demo's start-up message.
type Scenario struct {
	Name  string // short name, e.g. "stalled"
	Group string // consumer group, "" for the producers
	Topic string // topic(s) the scenario reads or writes
	Shows string // what the exporter shows for it, and when
}

// workload holds the rates and the scenario clock. Run uses
// defaultWorkload; tests shorten the clock so every scenario shows within
// seconds.
type workload struct {
	// Messages per second produced to each topic, spread round-robin over
	// its partitions.
	ordersRate, paymentsRate, retentionRate float64

	// commitInterval is how often a member with a backlog commits what
	// it processed (a member that has read everything commits at once),
	// and how often members check their scripted events.
	commitInterval time.Duration

	// Processing capacity of the rate-limited groups, as a share of the
	// production rate of the topic they read.
	slowShare      float64 // demo-slow: below 1, so its lag grows
	retentionShare float64 // demo-retention-slow: far below 1, so it falls behind retention
	rewindShare    float64 // demo-rewind: above 1, so it keeps up and replays a rewind at a visible pace

	leaveAfter          time.Duration // demo-departed's member leaves the group, this long after its first commit
	stuckAfter          time.Duration // demo-stalled meets its poison message
	crashAfter          time.Duration // demo-crashed's member dies without leaving, this long after its first commit
	crashSessionTimeout time.Duration // how long the broker keeps the dead member
	rewindFirst         time.Duration // demo-rewind's first offset reset
	rewindEvery         time.Duration // and the time between resets
	rewindBy            int64         // messages per partition a reset goes back

	deadLetterEvery int64         // demo-dead-letter fails every deadLetterEvery-th record of a partition
	retries         int           // and retries it this many times
	retryBackoff    time.Duration // this far apart, before parking it in the dead-letter topic

	retention  time.Duration // retention.ms of demo-short-retention
	segmentAge time.Duration // its segment.ms, so a real broker rolls segments retention can delete

	// createTimeout bounds how long Run retries creating topics on a
	// cluster that does not answer yet (a broker still starting in
	// docker-compose).
	createTimeout time.Duration
}

func defaultWorkload() workload {
	return workload{
		ordersRate:   20,
		paymentsRate: 10,
		// demo-retention-slow reads 30 % of it, one partition's fetch
		// after another: at 6 msg/s a partition could wait 20 s, the
		// demo's --lag.stall-after, for its turn and read as stalled.
		retentionRate:       20,
		commitInterval:      time.Second,
		slowShare:           0.6,
		retentionShare:      0.3,
		rewindShare:         2,
		leaveAfter:          30 * time.Second,
		stuckAfter:          20 * time.Second,
		crashAfter:          time.Minute,
		crashSessionTimeout: 10 * time.Second,
		rewindFirst:         90 * time.Second,
		rewindEvery:         3 * time.Minute,
		rewindBy:            400, // about a minute of demo-orders per partition
		// About one record every 12 s per partition of demo-payments (10
		// msg/s over 3 partitions), a dead letter every 4 s in all.
		deadLetterEvery: 40,
		retries:         3,
		retryBackoff:    500 * time.Millisecond,
		retention:       time.Minute,
		segmentAge:      10 * time.Second,
		createTimeout:   time.Minute,
	}
}

// Scenarios describes, for the demo's start-up message, each scenario:
// group, topic(s), and the status or metric it shows, with when it shows
// under the demo's defaults (--lag.window 1m, polls every 2 s).
func Scenarios() []Scenario {
	w := defaultWorkload()
	const status = "kafka_consumergroup_partition_status"
	return append([]Scenario{
		{
			Name: "producers", Topic: topicOrders + ", " + topicPayments + ", " + topicShortRetention,
			Shows: fmt.Sprintf("%s, %s, %s: kafka_topic_partition_produce_rate, steady ~%s, ~%s and ~%s msg/s",
				topicOrders, topicPayments, topicShortRetention, rate(w.ordersRate), rate(w.paymentsRate), rate(w.retentionRate)),
		},
		{
			Name: "healthy", Group: groupHealthy, Topic: topicOrders,
			Shows: fmt.Sprintf(`%s: %s{status="ok"}, two members keep up`, topicOrders, status),
		},
		{
			Name: "slow", Group: groupSlow, Topic: topicOrders,
			Shows: fmt.Sprintf(`%s: %s{status="lagging"}, reads %d%% of the produce rate`, topicOrders, status, percent(w.slowShare)),
		},
		{
			Name: "departed", Group: groupDeparted, Topic: topicPayments,
			Shows: fmt.Sprintf(`%s: %s{status="stopped"} --lag.stall-after after its members leave cleanly at %s`,
				topicPayments, status, short(w.leaveAfter)),
		},
		{
			Name: "stalled", Group: groupStalled, Topic: topicPayments,
			Shows: fmt.Sprintf(`%s partition %d: %s{status="stalled"} --lag.stall-after after a poison message at %s`,
				topicPayments, stuckPartition, status, short(w.stuckAfter)),
		},
		{
			Name: "crashed", Group: groupCrashed, Topic: topicOrders,
			Shows: fmt.Sprintf(`%s: %s{status="stopped"} --lag.stall-after after its consumer dies at %s (the broker keeps the dead member for its %s session)`,
				topicOrders, status, short(w.crashAfter), short(w.crashSessionTimeout)),
		},
		{
			Name: "retention", Group: groupRetentionSlow, Topic: topicShortRetention,
			Shows: fmt.Sprintf(`%s (retention.ms %d): kafka_consumergroup_retention_headroom_seconds falls to 0, kafka_consumergroup_expired_messages > 0 from ~%s`,
				topicShortRetention, w.retention.Milliseconds(), short((lossAfter(w) + retentionInterval).Round(10*time.Second))),
		},
		{
			Name: "dead-letter", Group: groupDeadLetter, Topic: topicPayments + ", " + topicPaymentsDLT,
			Shows: fmt.Sprintf(`%s: kafka_topic_dead_letter 1, its offsets grow: every %dth record of each %s partition fails, is retried %d times and parked there; %s stays %s{status="ok"}`,
				topicPaymentsDLT, w.deadLetterEvery, topicPayments, w.retries, topicPayments, status),
		},
		{
			Name: "unassigned", Group: groupUnassigned, Topic: topicOrders,
			Shows: fmt.Sprintf(`%s: kafka_consumergroup_unassigned_partitions %d: the group's assignor gives its one member partitions below %d only`,
				topicOrders, partitionsPerTopic-assignedBelow, assignedBelow),
		},
		{
			Name: "rewind", Group: groupRewind, Topic: topicOrders,
			Shows: fmt.Sprintf(`%s: %s{status="rewound"} for a window and kafka_consumergroup_offset_rewinds_total +1, at %s and every %s`,
				topicOrders, status, short(w.rewindFirst), short(w.rewindEvery)),
		},
	}, shareScenarios(w)...)
}

// lossAfter is when demo-retention-slow's oldest unread message reaches
// retention.ms. Reading a share s of the production rate, after t seconds
// it has read what was produced by s·t, so that message is (1-s)·t old.
// The next retention pass deletes it.
func lossAfter(w workload) time.Duration {
	return time.Duration(float64(w.retention) / (1 - w.retentionShare))
}

func rate(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }

func percent(share float64) int { return int(share*100 + 0.5) }

// short formats d as people write it: "1m", not "1m0s".
func short(d time.Duration) string {
	str := d.String()
	if strings.HasSuffix(str, "m0s") {
		str = strings.TrimSuffix(str, "0s")
	}
	return str
}

// topicSpec is a topic the demo creates.
type topicSpec struct {
	name    string
	rate    float64
	configs map[string]*string
}

func (w workload) topics() []topicSpec {
	ms := func(d time.Duration) *string { return kadm.StringPtr(strconv.FormatInt(d.Milliseconds(), 10)) }
	return []topicSpec{
		{name: topicOrders, rate: w.ordersRate},
		{name: topicPayments, rate: w.paymentsRate},
		{name: topicShortRetention, rate: w.retentionRate, configs: map[string]*string{
			"retention.ms": ms(w.retention),
			// A real broker deletes only whole, closed segments: rolling
			// one every segmentAge lets retention act within seconds of
			// retention.ms rather than after the default week-long
			// segment. 1 MiB is the smallest segment.bytes Kafka 4.3
			// accepts; at a few messages per second segment.ms rolls
			// first.
			"segment.ms":    ms(w.segmentAge),
			"segment.bytes": kadm.StringPtr("1048576"),
		}},
		// Written by demo-dead-letter only.
		{name: topicPaymentsDLT},
	}
}

// members lists every group member the scenarios run. Behaviours that name
// partitions (a poison message, a rewind) run in single-member groups, so
// that member owns every partition of its topic.
func (w workload) members() []*member {
	return []*member{
		{clientID: "demo-healthy-1", group: groupHealthy, topic: topicOrders},
		{clientID: "demo-healthy-2", group: groupHealthy, topic: topicOrders},
		{clientID: "demo-slow-1", group: groupSlow, topic: topicOrders, rate: w.slowShare * w.ordersRate},
		{clientID: "demo-departed-1", group: groupDeparted, topic: topicPayments, leaveAfter: w.leaveAfter},
		{clientID: "demo-stalled-1", group: groupStalled, topic: topicPayments, stuckAfter: w.stuckAfter, stuckOn: stuckPartition},
		{
			clientID: "demo-crashed-1", group: groupCrashed, topic: topicOrders, crashAfter: w.crashAfter,
			// A static member does not leave the group when its client
			// closes, exactly like a process that died: the broker
			// drops it only when its session times out.
			instanceID: "demo-crashed-1", sessionTimeout: w.crashSessionTimeout,
		},
		{clientID: "demo-retention-slow-1", group: groupRetentionSlow, topic: topicShortRetention, rate: w.retentionShare * w.retentionRate},
		{
			clientID: "demo-rewind-1", group: groupRewind, topic: topicOrders, rate: w.rewindShare * w.ordersRate,
			rewindFirst: w.rewindFirst, rewindEvery: w.rewindEvery, rewindBy: w.rewindBy,
		},
		{
			clientID: "demo-dead-letter-1", group: groupDeadLetter, topic: topicPayments,
			deadLetterEvery: w.deadLetterEvery, retries: w.retries, retryBackoff: w.retryBackoff,
		},
		{clientID: "demo-unassigned-1", group: groupUnassigned, topic: topicOrders, assignor: partialAssignor{keepBelow: assignedBelow}},
	}
}

// Run creates the demo topics and runs every scenario against addrs until
// ctx is done. It logs what it does at debug level and returns nil on ctx
// cancellation. Errors creating topics are returned; transient errors
// while running are logged (the first of a run of failures as a warning)
// and retried, never fatal.
func Run(ctx context.Context, addrs []string, logger *slog.Logger) error {
	return run(ctx, addrs, logger, defaultWorkload())
}

func run(ctx context.Context, addrs []string, logger *slog.Logger, w workload) error {
	producer, err := kgo.NewClient(
		kgo.SeedBrokers(addrs...),
		kgo.ClientID("lagwatch-demo-producer"),
		// Round-robin keeps the partitions of a topic at equal rates,
		// so every partition of a lagging group lags alike.
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		// Give up on a record after a while rather than buffer forever
		// while the cluster is away; the producer keeps going.
		kgo.RecordDeliveryTimeout(30*time.Second),
	)
	if err != nil {
		return fmt.Errorf("create the demo producer: %w", err)
	}
	defer producer.Close()

	if err := createTopics(ctx, kadm.NewClient(producer), w, logger); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}

	var wg sync.WaitGroup
	for _, t := range w.topics() {
		wg.Go(func() { produceSteadily(ctx, producer, t.name, t.rate, logger) })
	}
	for _, m := range w.members() {
		wg.Go(func() { m.run(ctx, addrs, w.commitInterval, logger) })
	}
	for _, m := range w.shareMembers() {
		wg.Go(func() { m.run(ctx, addrs, logger) })
	}
	logger.Debug("demo: workload running", "topics", len(w.topics()), "members", len(w.members()))
	wg.Wait()
	return nil
}

// createTopics creates the demo topics, keeping any that already exist (a
// second run against the same external cluster). It retries while the
// cluster does not answer, up to the workload's createTimeout.
func createTopics(ctx context.Context, adm *kadm.Client, w workload, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, w.createTimeout)
	defer cancel()
	for _, t := range w.topics() {
		for {
			// Replication factor -1 takes the broker's default
			// (KIP-464), so the demo fits a one-broker compose stack
			// and a three-broker cluster alike.
			_, err := adm.CreateTopic(ctx, partitionsPerTopic, -1, t.configs, t.name)
			if err == nil {
				logger.Debug("demo: created topic", "topic", t.name, "partitions", partitionsPerTopic)
				break
			}
			if errors.Is(err, kerr.TopicAlreadyExists) {
				logger.Debug("demo: topic exists, reusing it as it is", "topic", t.name)
				break
			}
			var kafkaErr *kerr.Error
			if errors.As(err, &kafkaErr) && !kafkaErr.Retriable {
				return fmt.Errorf("create topic %s: %w", t.name, err)
			}
			logger.Debug("demo: create topic failed, retrying", "topic", t.name, "err", err)
			select {
			case <-ctx.Done():
				return fmt.Errorf("create topic %s: %w (last error: %v)", t.name, ctx.Err(), err)
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}
