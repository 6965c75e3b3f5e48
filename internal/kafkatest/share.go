package kafkatest

import (
	"context"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ShareFromEarliest makes a share group start at the log start: a share
// group starts at the log end by default (share.auto.offset.reset=latest),
// a per-group config (resource type GROUP, 32).
func ShareFromEarliest(t testing.TB, addr, group string) {
	t.Helper()
	cl := NewKgo(t, addr)
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType = kmsg.ConfigResourceTypeGroupConfig
	res.ResourceName = group
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Value = "share.auto.offset.reset", kmsg.StringPtr("earliest")
	res.Configs = append(res.Configs, c)
	req.Resources = append(req.Resources, res)
	err := poll(func() error {
		resp, err := req.RequestWith(context.Background(), cl)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.Resources[0].ErrorCode)
	})
	if err != nil {
		t.Fatalf("kafkatest: set share.auto.offset.reset of %s: %v", group, err)
	}
}

// ShareConsumer runs a member of a share group (KIP-932) that hands each
// poll's records to handle, which acknowledges them as it likes
// (cl.MarkAcks), until stop or the end of the test.
func ShareConsumer(t testing.TB, addr, group, topic string, handle func(cl *kgo.Client, records []*kgo.Record)) (stop func()) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ShareGroup(group), kgo.ConsumeTopics(topic))
	if err != nil {
		t.Fatalf("kafkatest: share consumer of %s: %v", group, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if rs := cl.PollFetches(ctx).Records(); len(rs) > 0 {
				handle(cl, rs)
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			cl.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}
