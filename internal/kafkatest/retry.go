package kafkatest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// helperTimeout bounds each helper's retries: long enough for a broker that
// has just restarted to elect partition leaders and load the offsets topic
// (20 s and more on a busy machine), short enough that a wrong test fails
// promptly. LAGWATCH_TEST_SLOWDOWN stretches it.
func helperTimeout() time.Duration { return waitfor.Scaled(30 * time.Second) }

const pollInterval = 100 * time.Millisecond

// Kafka error codes (the protocol's, shared by sarama.KError and kerr).
const (
	unknownTopicOrPartition   int16 = 3
	leaderNotAvailable        int16 = 5
	notLeaderOrFollower       int16 = 6
	requestTimedOut           int16 = 7
	coordinatorLoadInProgress int16 = 14
	coordinatorNotAvailable   int16 = 15
	notCoordinator            int16 = 16
	notEnoughReplicas         int16 = 19
	notEnoughReplicasAfter    int16 = 20
	rebalanceInProgress       int16 = 27
	notController             int16 = 41
	kafkaStorageError         int16 = 56
	fencedLeaderEpoch         int16 = 74
	unknownLeaderEpoch        int16 = 75
	offsetNotAvailable        int16 = 78
	unstableOffsetCommit      int16 = 88
)

// retriableCodes are the errors a Kafka client retries rather than reports:
// a coordinator loading or moving the offsets topic
// (COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
// for a while after every broker start), a group between generations
// (REBALANCE_IN_PROGRESS), a partition between leaders or not yet in the
// metadata right after its topic was created (LEADER_NOT_AVAILABLE,
// NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, epochs), and a
// request the broker did not finish in time.
var retriableCodes = []int16{
	unknownTopicOrPartition, leaderNotAvailable, notLeaderOrFollower,
	requestTimedOut, coordinatorLoadInProgress, coordinatorNotAvailable,
	notCoordinator, notEnoughReplicas, notEnoughReplicasAfter,
	rebalanceInProgress, notController, kafkaStorageError,
	fencedLeaderEpoch, unknownLeaderEpoch, offsetNotAvailable,
	unstableOffsetCommit,
}

// kafkaCode returns the Kafka error code err carries, from sarama or
// franz-go, and false for an error that is not a Kafka error code (a
// refused connection, a timeout, a closed client).
func kafkaCode(err error) (int16, bool) {
	if k, ok := errors.AsType[sarama.KError](err); ok {
		return int16(k), true
	}
	if k, ok := errors.AsType[*kerr.Error](err); ok {
		return k.Code, true
	}
	return 0, false
}

// isKafkaCode reports whether err carries one of codes.
func isKafkaCode(err error, codes ...int16) bool {
	code, ok := kafkaCode(err)
	return ok && slices.Contains(codes, code)
}

// retriable reports whether a helper retries err, as a Kafka client would:
// the retriable Kafka errors above, and errors that are not Kafka's answer
// at all (a broker that is restarting refuses connections or drops them).
// Any other Kafka error is the broker's verdict and ends the helper at once.
func retriable(err error) bool {
	if code, ok := kafkaCode(err); ok {
		return slices.Contains(retriableCodes, code)
	}
	return true
}

// poll calls try until it succeeds or returns an error that is not
// retriable, or helperTimeout passes; it returns the last error.
func poll(try func() error) error {
	return pollAttempts(func(int) error { return try() })
}

// pollAttempts is poll for a try that needs to know its attempt (from 1):
// a retried create or delete may find its first attempt's work done.
func pollAttempts(try func(attempt int) error) error {
	timeout := helperTimeout()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for attempt := 1; ; attempt++ {
		err := try(attempt)
		if err == nil {
			return nil
		}
		if !retriable(err) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still failing after %v: %w", timeout, err)
		}
		<-tick.C
	}
}

// scaledCount is n retries stretched by LAGWATCH_TEST_SLOWDOWN, for
// clients that count retries rather than time.
func scaledCount(n int) int { return int(float64(n) * waitfor.Slowdown()) }

// Retry calls try until it returns nil, retrying what a Kafka client
// retries (see retriable) for up to 30 s times LAGWATCH_TEST_SLOWDOWN, and
// fails the test with what and the last error otherwise. Tests that send
// their own requests to the broker use it where a client library would
// retry for them: right after a topic is created or the broker restarted.
func Retry(t testing.TB, what string, try func() error) {
	t.Helper()
	if err := poll(try); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
