package collector

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lagwatch/lagwatch/internal/waitfor"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// groupOnShard returns a group name that ShardOf puts on shard index of count.
func groupOnShard(t *testing.T, prefix string, index, count int) string {
	t.Helper()
	for i := range 10_000 {
		if name := fmt.Sprintf("%s-%d", prefix, i); ShardOf(name, count) == index {
			return name
		}
	}
	t.Fatalf("no group name for shard %d of %d", index, count)
	return ""
}

// A shard other than 0 exports only its own groups' series, so it asks
// Kafka for the log offsets of the partitions those groups read, not of
// every partition: with many shards, the partition work is split too.
// Shard 0 exports the topic and partition series, so it reads every
// partition. A group's lag is the same whichever shard reads it.
func TestShardReadsOnlyTheLogOffsetsOfThePartitionsItsGroupsRead(t *testing.T) {
	const shards = 3
	fc := newFaultCluster(t)
	for _, topic := range []string{"zero", "one", "two", "nobody"} {
		fc.topic(topic, []int32{0, 1, 2}, 1, 10)
	}
	groups := map[int]string{}
	for i, topic := range []string{"zero", "one", "two"} {
		groups[i] = groupOnShard(t, "shard-offsets", i, shards)
		fc.commit(groups[i], topic, map[int32]int64{0: 3, 1: 4, 2: 5})
	}
	var (
		mu    sync.Mutex
		asked = map[string]bool{} // topics of the ListOffsets requests since the last reset
	)
	fc.c.ControlKey(kmsg.ListOffsets.Int16(), func(r kmsg.Request) (kmsg.Response, error, bool) {
		fc.c.KeepControl()
		mu.Lock()
		defer mu.Unlock()
		for _, topic := range r.(*kmsg.ListOffsetsRequest).Topics {
			asked[topic.Topic] = true
		}
		return nil, nil, false
	})
	askedSince := func(reset bool) []string {
		mu.Lock()
		defer mu.Unlock()
		topics := slices.Sorted(func(yield func(string) bool) {
			for topic := range asked {
				if !yield(topic) {
					return
				}
			}
		})
		if reset {
			clear(asked)
		}
		return topics
	}

	lagOf := func(snap *Snapshot, group string) []int64 {
		var lags []int64
		for _, g := range snap.Groups {
			if g.Name == group {
				for _, gp := range g.Partitions {
					lags = append(lags, gp.Eval.Lag)
				}
			}
		}
		return lags
	}
	for index, want := range map[int][]string{0: {"nobody", "one", "two", "zero"}, 1: {"one"}, 2: {"two"}} {
		p, err := NewPoller(Config{
			Servers: fc.c.ListenAddrs(), Filters: Filters{Shard: Shard{Index: index, Count: shards}},
			PollInterval: time.Second, RequestTimeout: waitfor.Scaled(time.Second), StaleAfter: time.Nanosecond,
			Lag: lagcalc.Settings{Window: time.Minute},
		})
		if err != nil {
			t.Fatal(err)
		}
		askedSince(true)
		// The first poll learns which partitions the groups read; the
		// second reads the starts before the commits, as every later poll.
		for poll := 1; poll <= 2; poll++ {
			snap := pollComplete(t, p)
			if got := askedSince(true); !slices.Equal(got, want) {
				t.Errorf("shard %d, poll %d: ListOffsets asked for topics %v, want %v", index, poll, got, want)
			}
			if got := lagOf(snap, groups[index]); !slices.Equal(got, []int64{7, 6, 5}) {
				t.Errorf("shard %d, poll %d: %s has lags %v, want [7 6 5]", index, poll, groups[index], got)
			}
		}
		p.Close()
	}
}
