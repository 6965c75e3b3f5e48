package kafkatest

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
)

// The helpers retry what a Kafka client retries, from either client
// library, and stop at once on the broker's other verdicts.
func TestHelpersRetryWhatAKafkaClientRetries(t *testing.T) {
	for _, tc := range []struct {
		err   error
		retry bool
	}{
		{sarama.ErrOffsetsLoadInProgress, true},
		{fmt.Errorf("fetch offsets: %w", sarama.ErrOffsetsLoadInProgress), true},
		{kerr.CoordinatorLoadInProgress, true},
		{sarama.ErrNotCoordinatorForConsumer, true},
		{kerr.NotCoordinator, true},
		{sarama.ErrRebalanceInProgress, true},
		{kerr.RebalanceInProgress, true}, // kerr calls it not retriable; a client rejoins and retries
		{sarama.ErrLeaderNotAvailable, true},
		{kerr.LeaderNotAvailable, true},
		{sarama.ErrUnknownTopicOrPartition, true},
		{sarama.ErrNotLeaderForPartition, true},
		{kerr.UnstableOffsetCommit, true},
		{syscall.ECONNREFUSED, true},
		{io.EOF, true},
		{sarama.ErrOutOfBrokers, true},
		{sarama.ErrTopicAuthorizationFailed, false},
		{kerr.GroupAuthorizationFailed, false},
		{sarama.ErrTopicAlreadyExists, false},
		{sarama.ErrInvalidPartitions, false},
		{kerr.UnknownMemberID, false},
		{sarama.ErrNonEmptyGroup, false},
	} {
		if got := retriable(tc.err); got != tc.retry {
			t.Errorf("retriable(%v) = %v, want %v", tc.err, got, tc.retry)
		}
	}
}

func TestPollStopsAtTheFirstVerdictAndRetriesUntilSuccess(t *testing.T) {
	calls := 0
	err := poll(func() error {
		calls++
		if calls < 3 {
			return sarama.ErrOffsetsLoadInProgress
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("poll over two COORDINATOR_LOAD_IN_PROGRESS then success: err %v after %d calls, want nil after 3", err, calls)
	}
	calls = 0
	err = poll(func() error { calls++; return sarama.ErrTopicAuthorizationFailed })
	if !errors.Is(err, sarama.ErrTopicAuthorizationFailed) || calls != 1 {
		t.Errorf("poll over an authorization failure: err %v after %d calls, want it at once", err, calls)
	}
}
