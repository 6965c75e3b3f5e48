package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lagwatch/lagwatch/kafka"
	"github.com/lagwatch/lagwatch/lagcalc"
)

// lockedBuffer collects a logger's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines(level string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for l := range strings.SplitSeq(b.buf.String(), "\n") {
		if strings.Contains(l, "level="+level) {
			out = append(out, l)
		}
	}
	return out
}

func loggingPoller(t *testing.T, servers []string, interval time.Duration) (*Poller, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	conf := kafka.NewSaramaConfig()
	conf.Net.DialTimeout = 5 * time.Second
	conf.Net.ReadTimeout = 10 * time.Second
	p, err := NewPoller(Config{
		Servers: servers, Kafka: kafka.WrapSarama(conf), PollInterval: interval,
		Lag:    lagcalc.Settings{Window: time.Minute},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, logs
}

// With Cluster Describe but Group Describe on some groups only, ListGroups
// names groups Kafka then denies. Those are a missing permission, not a
// failed poll: lagwatch is up, counts them, logs one line of bounded
// length that names the first few and the grant that fixes it, and does
// not ask for them again on the next polls (each denied request is a line
// in the broker's authorizer log).
func TestGroupsKafkaDeniesAreCountedLoggedOnceAndNotAskedAgain(t *testing.T) {
	fc := newFaultCluster(t)
	fc.topic("orders", []int32{0, 1, 2}, 1, 20)
	const denied = 201
	coordinators := fc.groupsOnEveryBroker("billing", denied, "orders", map[int32]int64{0: 5})
	fc.commit("orders-app", "orders", map[int32]int64{0: 5})
	isDenied := func(g string) bool { _, ok := coordinators[g]; return ok }

	var askedDenied atomic.Int64
	fc.intercept(kmsg.OffsetFetch, allBrokers, func(r kmsg.Request) (kmsg.Response, error) {
		req := r.(*kmsg.OffsetFetchRequest)
		resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
		for _, g := range req.Groups {
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group = g.Group
			if isDenied(g.Group) {
				askedDenied.Add(1)
				rg.ErrorCode = kerr.GroupAuthorizationFailed.Code
			} else {
				t := kmsg.NewOffsetFetchResponseGroupTopic()
				t.Topic = "orders"
				pt := kmsg.NewOffsetFetchResponseGroupTopicPartition()
				pt.Partition, pt.Offset = 0, 5
				t.Partitions = append(t.Partitions, pt)
				rg.Topics = append(rg.Topics, t)
			}
			resp.Groups = append(resp.Groups, rg)
		}
		return resp, nil
	})
	fc.intercept(kmsg.DescribeGroups, allBrokers, func(r kmsg.Request) (kmsg.Response, error) {
		req := r.(*kmsg.DescribeGroupsRequest)
		resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
		for _, name := range req.Groups {
			g := kmsg.NewDescribeGroupsResponseGroup()
			g.Group, g.State = name, "Empty"
			if isDenied(name) {
				askedDenied.Add(1)
				g.ErrorCode = kerr.GroupAuthorizationFailed.Code
			}
			resp.Groups = append(resp.Groups, g)
		}
		return resp, nil
	})

	p, logs := loggingPoller(t, fc.c.ListenAddrs(), time.Second)
	if err := p.PollOnce(t.Context()); err != nil {
		t.Fatalf("a poll whose only trouble is denied groups failed: %v", err)
	}
	h := p.Health()
	if !h.Up || !p.Ready() {
		t.Errorf("up=%v ready=%v with every visible group read, want both true", h.Up, p.Ready())
	}
	if got := accessOf(h, "group", "Describe"); got.Denied != denied || got.Allowed != 1 {
		t.Errorf("group Describe: allowed %d denied %d, want 1 and %d", got.Allowed, got.Denied, denied)
	}
	if g := p.Snapshot().Groups; len(g) != 1 || g[0].Name != "orders-app" {
		t.Errorf("snapshot has %d groups, want only orders-app", len(g))
	}
	warns := logs.lines("WARN")
	if len(warns) != 1 {
		t.Fatalf("want one warning, got %d:\n%s", len(warns), strings.Join(warns, "\n"))
	}
	for _, want := range []string{"Describe", "201 group", "billing-00", "and 198 more", "kafka-acls", "--operation Describe", "--resource-pattern-type prefixed --group 'billing-'", "User:ANONYMOUS"} {
		if !strings.Contains(warns[0], want) {
			t.Errorf("warning lacks %q: %s", want, warns[0])
		}
	}
	if len(warns[0]) > 800 {
		t.Errorf("warning is %d characters long for %d groups: it grows with the cluster", len(warns[0]), denied)
	}

	askedDenied.Store(0)
	for range 3 {
		if err := p.PollOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := askedDenied.Load(); n != 0 {
		t.Errorf("the next polls asked for denied groups %d times, want 0 until the recheck", n)
	}
	if n := len(logs.lines("WARN")); n != 1 {
		t.Errorf("the next polls logged again: %d warnings", n)
	}
	if h := p.Health(); !h.Stages[StageCommittedOffsets].Success || !h.Stages[StageDescribeGroups].Success {
		t.Errorf("stages %+v: denials are not failures of the stage", h.Stages)
	}
}

func accessOf(h HealthReport, typ, op string) Access {
	for _, a := range h.Access {
		if a.ResourceType == typ && a.Operation == op {
			return a
		}
	}
	return Access{Allowed: -99, Denied: -99}
}

// Kafka lists only the topics a principal may Describe, and says nothing
// of the others: metadata with no topic is a blind lagwatch, not a healthy
// one. The poll is not published, lagwatch is neither up nor ready, and
// one line says which grant is missing.
func TestMetadataListingNoTopicIsNeitherUpNorReady(t *testing.T) {
	fc := newFaultCluster(t)
	fc.topic("orders", []int32{0}, 1, 5)
	base := fc.metadata()
	fc.intercept(kmsg.Metadata, allBrokers, func(r kmsg.Request) (kmsg.Response, error) {
		resp := r.(*kmsg.MetadataRequest).ResponseKind().(*kmsg.MetadataResponse)
		resp.Brokers, resp.ClusterID, resp.ControllerID = base.Brokers, base.ClusterID, base.ControllerID
		return resp, nil
	})
	p, logs := loggingPoller(t, fc.c.ListenAddrs(), time.Second)
	for range 2 {
		if err := p.PollOnce(t.Context()); err == nil {
			t.Fatal("a poll that sees no topic reported no error")
		}
	}
	h := p.Health()
	if h.Up || p.Ready() || p.Snapshot() != nil {
		t.Errorf("up=%v ready=%v snapshot=%v, want false, false, nil", h.Up, p.Ready(), p.Snapshot() != nil)
	}
	if h.Stages[StageMetadata].Success {
		t.Errorf("metadata stage reports success")
	}
	var described []string
	for _, l := range logs.lines("WARN") {
		if strings.Contains(l, "operation=Describe") && strings.Contains(l, "resource_type=topic") {
			described = append(described, l)
		}
	}
	if len(described) != 1 || !strings.Contains(described[0], "--operation Describe --topic '*'") {
		t.Errorf("want one line naming Topic Describe and its grant, got:\n%s", logs.buf.String())
	}
}

// hungBroker accepts TCP connections and never answers, as a broker whose
// process hangs does.
func hungBroker(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// A broker that accepts TCP but never answers costs at most one poll
// interval per poll: each request is cut off at its deadline (half the
// interval by default) instead of sarama's 30 s read timeout, and the poll
// asks that broker nothing more once it timed out.
func TestBrokerThatNeverAnswersCostsAtMostOnePollInterval(t *testing.T) {
	const interval = 2 * time.Second
	fc := newFaultCluster(t)
	fc.topic("orders", []int32{0, 1, 2}, 1, 5)
	fc.commit("orders-app", "orders", map[int32]int64{0: 5})

	t.Run("alone", func(t *testing.T) {
		p, _ := loggingPoller(t, []string{hungBroker(t)}, interval)
		for i := range 2 {
			start := time.Now()
			err := p.PollOnce(t.Context())
			if took := time.Since(start); took > interval {
				t.Errorf("poll %d took %v, more than the poll interval %v", i, took, interval)
			}
			if err == nil {
				t.Errorf("poll %d of a broker that never answers reported no error", i)
			}
		}
	})
	t.Run("first of the bootstrap servers", func(t *testing.T) {
		p, _ := loggingPoller(t, append([]string{hungBroker(t)}, fc.c.ListenAddrs()...), interval)
		start := time.Now()
		err := p.PollOnce(t.Context())
		if took := time.Since(start); took > interval {
			t.Errorf("poll took %v, more than the poll interval %v", took, interval)
		}
		if err != nil || !p.Health().Up {
			t.Errorf("the other servers answered, yet the poll failed: %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		p, _ := loggingPoller(t, []string{hungBroker(t)}, time.Minute)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		_ = p.PollOnce(ctx)
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("a cancelled poll returned after %v: requests in flight are not cut off", took)
		}
	})
}

// A log line about a failed poll names how many parts failed and the
// first few, whatever the size of the cluster, and a new group failing the
// same way is not a new failure.
func TestFailureLogIsBoundedAndNotRepeatedForTheSameCause(t *testing.T) {
	var errs []error
	for i := range 201 {
		errs = append(errs, &kafka.ResourceError{Type: "group", Name: fmt.Sprintf("g-%03d", i), Operation: kafka.OpDescribe, Err: fmt.Errorf("fetch on broker 1: %w", kerr.UnknownServerError)})
	}
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	var l failureLog
	l.record(logger, joinErrors(errs))
	l.record(logger, joinErrors(append(errs, &kafka.ResourceError{Type: "group", Name: "new", Operation: kafka.OpDescribe, Err: kerr.UnknownServerError})))
	warns := logs.lines("WARN")
	if len(warns) != 1 {
		t.Fatalf("want one warning, got %d", len(warns))
	}
	if len(warns[0]) > 1200 || !strings.Contains(warns[0], "and 198 more") || !strings.Contains(warns[0], "errors=201") {
		t.Errorf("warning of %d characters: %s", len(warns[0]), warns[0])
	}
}

func joinErrors(errs []error) error {
	return fmt.Errorf("committed offsets: %w", errorsJoin(errs))
}

func errorsJoin(errs []error) error { return errors.Join(errs...) }
