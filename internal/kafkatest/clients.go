package kafkatest

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// NewKgo connects a franz-go client to addr, closed when the test ends.
// franz-go speaks what sarama does not: transactions with read_committed
// fetches, and the Kafka 4 consumer protocol (KIP-848).
func NewKgo(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatalf("kafkatest: kgo client for %s: %v", addr, err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// NewKadm connects a franz-go admin client to addr, closed when the test
// ends.
func NewKadm(t testing.TB, addr string) *kadm.Client {
	t.Helper()
	return kadm.NewClient(NewKgo(t, addr))
}

// LogEnds returns each partition's high watermark and last stable offset:
// ListOffsets(latest) with read_uncommitted and with read_committed
// isolation. The two differ while a transaction is open on the partition.
func LogEnds(t testing.TB, adm *kadm.Client, topic string) (highWatermark, lastStable map[int32]int64) {
	t.Helper()
	read := func(list func(context.Context, ...string) (kadm.ListedOffsets, error)) map[int32]int64 {
		out := map[int32]int64{}
		err := poll(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), helperTimeout())
			defer cancel()
			listed, err := list(ctx, topic)
			if err != nil {
				return err
			}
			if err := listed.Error(); err != nil {
				return err
			}
			for p, o := range listed[topic] {
				out[p] = o.Offset
			}
			return nil
		})
		if err != nil {
			t.Fatalf("kafkatest: list offsets of %q: %v", topic, err)
		}
		return out
	}
	return read(adm.ListEndOffsets), read(adm.ListCommittedOffsets)
}

// Committed returns a group's committed offsets on topic, partition → next
// offset to consume; a partition the group never committed is absent.
func Committed(t testing.TB, adm *kadm.Client, group, topic string) map[int32]int64 {
	t.Helper()
	out := map[int32]int64{}
	err := poll(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), helperTimeout())
		defer cancel()
		fetched, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return err
		}
		if err := fetched.Error(); err != nil {
			return err
		}
		clear(out)
		fetched.Each(func(o kadm.OffsetResponse) {
			if o.Topic == topic && o.At >= 0 {
				out[o.Partition] = o.At
			}
		})
		return nil
	})
	if err != nil {
		t.Fatalf("kafkatest: fetch offsets of group %q: %v", group, err)
	}
	return out
}

// ReadLog returns the records of one partition from offset from up to (not
// including) offset to, as a consumer with the given isolation sees them,
// control records (transaction markers) included. With read_committed,
// aborted records are left out; compacted-away offsets are simply absent.
func ReadLog(t testing.TB, addr, topic string, partition int32, from, to int64, isolation kgo.IsolationLevel) []*kgo.Record {
	t.Helper()
	if from >= to {
		return nil
	}
	cl := NewKgo(t, addr,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: kgo.NewOffset().At(from)}}),
		kgo.FetchIsolationLevel(isolation),
		kgo.KeepControlRecords(),
	)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout())
	defer cancel()
	var out []*kgo.Record
	next := from
	for next < to {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("kafkatest: read %s/%d from %d to %d: reached only %d", topic, partition, from, to, next)
		}
		var ferr error
		fetches.EachError(func(_ string, _ int32, err error) {
			// kgo fetches again after a retriable error by itself.
			if !retriable(err) {
				ferr = err
			}
		})
		if ferr != nil {
			t.Fatalf("kafkatest: read %s/%d: %v", topic, partition, ferr)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset < to {
				out = append(out, r)
			}
			next = r.Offset + 1
		})
	}
	return out
}

// RecordKind names a record's kind and offset for test messages.
func RecordKind(r *kgo.Record) string {
	if r.Attrs.IsControl() {
		return fmt.Sprintf("control@%d", r.Offset)
	}
	return fmt.Sprintf("data@%d", r.Offset)
}
