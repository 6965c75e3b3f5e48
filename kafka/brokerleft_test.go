package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"
)

// A broker that leaves the cluster must leave nothing of lagwatch's behind:
// no sarama connection, no franz-go client (with its goroutines), no
// connect lock for its address.
func TestBrokerThatLeavesHasEveryConnectionClosedAndItsBookkeepingDropped(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	// Bootstrap from broker 0 alone: a bootstrap server keeps its
	// bookkeeping whether it is in the metadata or not.
	c := New(Config{Bootstrap: cluster.ListenAddrs()[:1]})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// connectTo opens both of lagwatch's connections to broker id: a
	// Metadata request on sarama's, an ApiVersions on franz-go's.
	connectTo := func(id int32) {
		t.Helper()
		b, ok := c.broker(id)
		if !ok {
			t.Fatalf("broker %d is not in the metadata", id)
		}
		if err := c.do(ctx, "Metadata", b, func(b *sarama.Broker) error {
			_, err := b.GetMetadata(sarama.NewMetadataRequest(c.conf.Version, nil))
			return err
		}); err != nil {
			t.Fatalf("metadata from broker %d: %v", id, err)
		}
		if _, _, err := c.supports(ctx, id, keyShareGroupDescribe); err != nil {
			t.Fatalf("api versions of broker %d: %v", id, err)
		}
	}
	if _, err := c.metadataResponse(ctx); err != nil {
		t.Fatal(err)
	}
	connectTo(0)
	connectTo(1)
	// Everything running now stays; what broker 2's connections start
	// (client and server side) must be gone once it has left.
	staying := goleak.IgnoreCurrent()
	connectTo(2)
	leaving, _ := c.broker(2)
	leavingAddr := leaving.Addr()

	if err := cluster.RemoveNode(2); err != nil {
		t.Fatal(err)
	}
	resp, err := c.metadataResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Brokers) != 2 {
		t.Fatalf("metadata lists %d brokers after one left, want 2", len(resp.Brokers))
	}
	if ok, _ := leaving.Connected(); ok {
		t.Error("the sarama connection to the broker that left is open")
	}
	c.mu.Lock()
	_, kmsgKept := c.kmsgBrokers[2]
	_, lockKept := c.connecting[leavingAddr]
	c.mu.Unlock()
	if kmsgKept {
		t.Error("the franz-go client for the broker that left is kept")
	}
	if lockKept {
		t.Error("the connect lock of the broker that left is kept")
	}
	// kfake starts a goroutine per request read on a connection; the
	// staying connections' next one is no leak. A leaving connection's
	// own reader (kfake.(*clientConn).read) still counts.
	goleak.VerifyNone(t, staying, goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*clientConn).read.func1"))
}
