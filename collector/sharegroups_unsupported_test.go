package collector_test

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/lagwatch/lagwatch/collector"
	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/internal/waitfor"
	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// Brokers without share groups (KIP-932) or streams groups (KIP-1071): an
// older Kafka, or a new one with the group types turned off. kfake plays
// them, its ApiVersions capped to what such a broker advertises; the real
// broker of the other tests has both features on.

// setupSoftware names the test's own franz-go client in its ApiVersions,
// apart from lagwatch's sarama ("sarama") and franz-go ("kgo", "lagwatch")
// connections.
const setupSoftware = "lagwatch-test-setup"

// withoutShareAndStreams is Kafka 4.4 with share.version and
// streams.version at 0: Kafka does not advertise the RPCs of a group type
// that is off.
func withoutShareAndStreams() *kversion.Versions {
	v := kversion.V4_4_0()
	for _, r := range []kmsg.Request{
		kmsg.NewPtrShareGroupHeartbeatRequest(), kmsg.NewPtrShareGroupDescribeRequest(),
		kmsg.NewPtrShareFetchRequest(), kmsg.NewPtrShareAcknowledgeRequest(),
		kmsg.NewPtrDescribeShareGroupOffsetsRequest(), kmsg.NewPtrAlterShareGroupOffsetsRequest(),
		kmsg.NewPtrDeleteShareGroupOffsetsRequest(),
		kmsg.NewPtrStreamsGroupHeartbeatRequest(), kmsg.NewPtrStreamsGroupDescribeRequest(),
	} {
		v.SetMaxKeyVersion(r.Key(), -1)
	}
	return v
}

// shareTestCluster is a one-broker kfake cluster with versions (nil: all
// kfake implements), a topic "orders" of two partitions with 10 records
// each, and a classic group "billing" that committed offset 4 on both.
func shareTestCluster(t *testing.T, versions *kversion.Versions) (*kfake.Cluster, *kgo.Client) {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if versions != nil {
		opts = append(opts, kfake.MaxVersions(versions))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...),
		kgo.SoftwareNameAndVersion(setupSoftware, "1"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatalf("kgo client: %v", err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	if resp, err := adm.CreateTopic(ctx, 2, 1, nil, "orders"); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	var rs []*kgo.Record
	for p := range int32(2) {
		for range 10 {
			rs = append(rs, &kgo.Record{Topic: "orders", Partition: p, Value: []byte("x")})
		}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	var offs kadm.Offsets
	for p := range int32(2) {
		offs.Add(kadm.Offset{Topic: "orders", Partition: p, At: 4, LeaderEpoch: -1})
	}
	if err := adm.CommitAllOffsets(ctx, "billing", offs); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return c, cl
}

// newKfakePoller polls c the way main does, with sarama at its highest
// version (it reads each broker's ApiVersions).
func newKfakePoller(t *testing.T, c *kfake.Cluster) *collector.Poller {
	t.Helper()
	conf := kafka.NewSaramaConfig()
	conf.Net.DialTimeout = 5 * time.Second
	conf.Net.ReadTimeout = 10 * time.Second
	p, err := collector.NewPoller(collector.Config{
		Servers: c.ListenAddrs(), Kafka: kafka.WrapSarama(conf), PollInterval: time.Second, RequestTimeout: waitfor.Scaled(time.Second),
		Lag: lagcalc.Settings{Window: time.Minute},
	})
	if err != nil {
		t.Fatalf("new poller: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// apiVersionsClients records, from now on, the client software named by
// every ApiVersions request c receives other than the test's own: sarama's
// connections say "sarama", franz-go's "kgo" and lagwatch's own ApiVersions
// on them "lagwatch".
func apiVersionsClients(c *kfake.Cluster) func() []string {
	var (
		mu    sync.Mutex
		names []string
	)
	c.ControlKey(kmsg.ApiVersions.Int16(), func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if name := r.(*kmsg.ApiVersionsRequest).ClientSoftwareName; name != setupSoftware {
			mu.Lock()
			names = append(names, name)
			mu.Unlock()
		}
		return nil, nil, false
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(names)
	}
}

// checkNoShareOrStreamsSeries fails on any kafka_sharegroup_* or
// kafka_streamsgroup_* series in s.
func checkNoShareOrStreamsSeries(t *testing.T, s series) {
	t.Helper()
	var found []string
	for k := range s {
		if strings.HasPrefix(k, "kafka_sharegroup_") || strings.HasPrefix(k, "kafka_streamsgroup_") {
			found = append(found, k)
		}
	}
	sort.Strings(found)
	if len(found) > 0 {
		t.Errorf("share- or streams-group series on a broker without the features:\n%s", strings.Join(found, "\n"))
	}
}

// checkCompletePolls fails unless lagwatch is up, every stage succeeded and
// no poll counted an error; and checks the classic group is all there.
func checkCompletePolls(t *testing.T, p *collector.Poller, s series) {
	t.Helper()
	if got := s.Value(t, "lagwatch_up"); got != 1 {
		t.Errorf("lagwatch_up = %v, want 1", got)
	}
	for k, v := range s {
		if strings.HasPrefix(k, "lagwatch_stage_success{") && v != 1 {
			t.Errorf("%s = %v, want 1", k, v)
		}
		if strings.HasPrefix(k, "lagwatch_poll_errors_total{") && v != 0 {
			t.Errorf("%s = %v, want 0", k, v)
		}
	}
	if !s.Has("lagwatch_stage_success", "stage", collector.StageShareGroups) {
		t.Errorf("no lagwatch_stage_success for the share_groups stage; have:\n%s", s.Matching("lagwatch_stage_success"))
	}
	for _, part := range []string{"0", "1"} {
		if got := s.Value(t, "kafka_consumergroup_lag", "consumergroup", "billing", "topic", "orders", "partition", part); got != 6 {
			t.Errorf("classic group billing lag on orders/%s = %v, want 6", part, got)
		}
	}
	if got := s.Value(t, "kafka_consumergroup_info", "consumergroup", "billing", "type", "classic"); got != 1 {
		t.Errorf("billing is not a classic group: %v", got)
	}
}

// A broker without share and streams groups, whether older than the
// features or with them turned off, lists none: lagwatch polls it as
// before, completely, with neither share- nor streams-group series, and
// opens no franz-go connection to it (every ApiVersions it sends is
// sarama's, and it sends none of the share- or streams-group requests).
func TestShareAndStreamsGroupsOnABrokerWithoutThemGiveNoSeriesNoErrorsAndNoFranzGoConnection(t *testing.T) {
	for _, tc := range []struct {
		name     string
		versions *kversion.Versions
	}{
		{"Kafka 3.9", kversion.V3_9_0()},
		{"Kafka 4.0", kversion.V4_0_0()},
		{"Kafka 4.4 with share and streams groups off", withoutShareAndStreams()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := shareTestCluster(t, tc.versions)
			clients := apiVersionsClients(c)
			p := newKfakePoller(t, c)
			metrics := newMetricsHandler(p, exporter.Options{})
			for range 2 {
				pollOnce(t, p)
			}
			snap := p.Snapshot()
			if !snap.Complete || len(snap.ShareGroups) != 0 {
				t.Errorf("snapshot complete %v with %d share groups; want complete with none", snap.Complete, len(snap.ShareGroups))
			}
			s := scrape(t, metrics)
			checkCompletePolls(t, p, s)
			checkNoShareOrStreamsSeries(t, s)
			requests := p.Health().Requests
			for _, api := range []string{"ShareGroupDescribe", "DescribeShareGroupOffsets", "StreamsGroupDescribe"} {
				if n := requests[api]; n != 0 {
					t.Errorf("%d %s requests sent to a broker without the API", n, api)
				}
			}
			names := clients()
			if len(names) == 0 {
				t.Fatalf("no ApiVersions from lagwatch: the count of connections misses them")
			}
			for _, name := range names {
				if name != "sarama" {
					t.Errorf("ApiVersions from client software %q (all: %v): lagwatch opened a franz-go connection", name, names)
				}
			}
		})
	}
}

// unsupportedVersion answers every group of a ShareGroupDescribe or
// DescribeShareGroupOffsets with UNSUPPORTED_VERSION, as a Kafka that
// advertises the share-group APIs answers while share groups are off
// (share.version 0) and still lists the share groups it has.
func unsupportedVersion(r kmsg.Request) (kmsg.Response, error) {
	code := kerr.UnsupportedVersion.Code
	switch req := r.(type) {
	case *kmsg.ShareGroupDescribeRequest:
		resp := req.ResponseKind().(*kmsg.ShareGroupDescribeResponse)
		for _, name := range req.GroupIDs {
			g := kmsg.NewShareGroupDescribeResponseGroup()
			g.GroupID, g.ErrorCode = name, code
			resp.Groups = append(resp.Groups, g)
		}
		return resp, nil
	case *kmsg.DescribeShareGroupOffsetsRequest:
		resp := req.ResponseKind().(*kmsg.DescribeShareGroupOffsetsResponse)
		for _, rg := range req.Groups {
			g := kmsg.NewDescribeShareGroupOffsetsResponseGroup()
			g.GroupID, g.ErrorCode = rg.GroupID, code
			resp.Groups = append(resp.Groups, g)
		}
		return resp, nil
	}
	panic("unsupportedVersion: unexpected request")
}

// A broker that lists a share group but answers the share-group APIs with
// UNSUPPORTED_VERSION has share groups turned off: lagwatch reads that as
// it reads a broker that does not advertise them, not as a failing
// coordinator. The group has no series, as a share group on a broker
// without the APIs; the poll is complete.
func TestShareGroupAnsweredUnsupportedVersionGivesNoShareSeriesAndNoError(t *testing.T) {
	c, setup := shareTestCluster(t, nil)
	member, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ShareGroup("work-queue"), kgo.ConsumeTopics("orders"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			member.PollFetches(ctx)
		}
	}()
	t.Cleanup(func() { cancel(); <-done; member.Close() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		d, err := kadm.NewClient(setup).DescribeShareGroups(ctx, "work-queue")
		if err == nil && len(d["work-queue"].Members) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the share consumer did not join within 30 s: %v %+v", err, d)
		}
	}

	for _, key := range []kmsg.Key{kmsg.ShareGroupDescribe, kmsg.DescribeShareGroupOffsets} {
		c.ControlKey(key.Int16(), func(r kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			resp, err := unsupportedVersion(r)
			return resp, err, true
		})
	}
	p := newKfakePoller(t, c)
	metrics := newMetricsHandler(p, exporter.Options{})
	for range 2 {
		pollOnce(t, p)
	}
	s := scrape(t, metrics)
	checkCompletePolls(t, p, s)
	checkNoShareOrStreamsSeries(t, s)
	if s.Mentions("consumergroup", "work-queue") {
		t.Errorf("series of the share group, which its coordinator cannot describe:\n%s", s.Matching("kafka_consumergroup_info"))
	}
	if requests := p.Health().Requests; requests["ShareGroupDescribe"] == 0 {
		t.Errorf("no ShareGroupDescribe sent: the broker advertises it, so this test does not test the answer")
	}
}
