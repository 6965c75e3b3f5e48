package demo

import (
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// retentionInterval is how often the embedded cluster enforces retention.
// kfake deletes expired messages only when ApplyRetention is called (or
// hourly), so without this demo-short-retention would never lose a
// message; every few seconds keeps its log-start offset moving smoothly
// at the exporter's 2 s poll.
const retentionInterval = 5 * time.Second

// StartCluster starts an in-process kfake cluster on loopback (127.0.0.1, a
// free port, 1 broker is fine) and returns its bootstrap addresses. It
// enforces retention periodically (kfake only applies retention.ms and
// retention.bytes when c.ApplyRetention() is called) until stop is called.
// stop is safe to call more than once.
func StartCluster() (addrs []string, stop func(), err error) {
	return startCluster(retentionInterval)
}

func startCluster(applyRetentionEvery time.Duration) ([]string, func(), error) {
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1), // kfake picks a free port on 127.0.0.1 for each broker
		kfake.ClusterID("lagwatch-demo"),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("start the embedded Kafka-protocol cluster: %w", err)
	}

	done := make(chan struct{})
	retentionStopped := make(chan struct{})
	go func() {
		defer close(retentionStopped)
		ticker := time.NewTicker(applyRetentionEvery)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				c.ApplyRetention()
			}
		}
	}()

	var once sync.Once
	stop := func() {
		once.Do(func() {
			// ApplyRetention waits for the cluster's loop, so the
			// ticker goroutine must be gone before Close ends it.
			close(done)
			<-retentionStopped
			c.Close()
		})
	}
	return c.ListenAddrs(), stop, nil
}
