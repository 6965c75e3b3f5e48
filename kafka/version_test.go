package kafka

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"
)

func TestCapLossesNameWhatACapBelowTheNeededVersionLoses(t *testing.T) {
	for _, c := range []struct {
		cap  sarama.KafkaVersion
		want []string // fragments; none when empty
	}{
		{sarama.MaxVersion, nil},
		{sarama.V3_7_0_0, nil},
		{sarama.V2_3_0_0, nil},
		{sarama.V2_0_0_0, []string{"Metadata v8", "needs 2.3.0"}},
		{sarama.V0_10_2_0, []string{"no lag in seconds", "needs 0.11.0", "Metadata v8"}},
	} {
		got := CapLosses(Version{c.cap})
		if len(c.want) == 0 && got != "" {
			t.Errorf("cap %s loses %q, want nothing", c.cap, got)
		}
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("cap %s: %q does not say %q", c.cap, got, w)
			}
		}
	}
}

// A broker older than Kafka 3.0 answers OffsetFetch below v8, one group
// per request: the committed offsets of every group still come back.
func TestCommittedOffsetsOfEveryGroupFromABrokerOlderThan3_0(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders"), kfake.MaxVersions(kversion.V2_8_0()))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.MaxVersions(kversion.V2_8_0()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("x")}, &kgo.Record{Topic: "orders", Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	for i := range 3 {
		offsets := kadm.Offsets{}
		offsets.AddOffset("orders", 0, int64(i), -1)
		if resp, err := adm.CommitOffsets(ctx, fmt.Sprintf("group-%d", i), offsets); err != nil || resp.Error() != nil {
			t.Fatal(err, resp.Error())
		}
	}

	c := New(Config{Bootstrap: cluster.ListenAddrs()}) // the newest versions, lowered by the broker
	defer c.Close()
	md, err := c.Metadata(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var brokers []int32
	for _, b := range md.Brokers {
		brokers = append(brokers, b.ID)
	}
	groups, _, err := c.ListGroups(ctx, brokers, nil)
	if err != nil || len(groups) != 3 {
		t.Fatalf("listed %v, %v", groups, err)
	}
	committed, err := c.CommittedOffsetsOn(ctx, groups, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		group := fmt.Sprintf("group-%d", i)
		if got, ok := committed[group][TopicPartition{Topic: "orders", Partition: 0}]; !ok || got != int64(i) {
			t.Errorf("%s: committed %v (%v), want %d", group, got, ok, i)
		}
	}
}
