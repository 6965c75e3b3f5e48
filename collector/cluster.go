package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
)

// cluster owns the connections to the brokers and is the one place every
// Kafka request passes through, so that each is counted by API and the
// number in flight is bounded. lagwatch talks to brokers directly rather
// than through sarama.Client: the client refreshes metadata and finds
// coordinators on its own, which would hide requests from the count and
// cost one request per group at scale.
type cluster struct {
	conf      *sarama.Config
	bootstrap []string
	requests  *prometheus.CounterVec
	inFlight  chan struct{}

	// connecting serialises (re)connects: two goroutines reconnecting one
	// broker at once would close each other's fresh connection.
	connecting sync.Mutex

	mu      sync.Mutex
	brokers map[int32]*sarama.Broker
	seeds   []*sarama.Broker
}

func newCluster(conf *sarama.Config, bootstrap []string, maxInFlight int, requests *prometheus.CounterVec) *cluster {
	if maxInFlight < 1 {
		maxInFlight = 1
	}
	c := &cluster{
		conf:      conf,
		bootstrap: bootstrap,
		requests:  requests,
		inFlight:  make(chan struct{}, maxInFlight),
		brokers:   map[int32]*sarama.Broker{},
	}
	for _, addr := range bootstrap {
		c.seeds = append(c.seeds, sarama.NewBroker(addr))
	}
	return c
}

// do runs one Kafka request under the in-flight bound and counts it.
func (c *cluster) do(ctx context.Context, api string, b *sarama.Broker, send func(*sarama.Broker) error) error {
	select {
	case c.inFlight <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.inFlight }()
	if err := c.connect(b); err != nil {
		return err
	}
	c.requests.WithLabelValues(api).Inc()
	return send(b)
}

// connect opens b if it is not connected. sarama's Open returns at once and
// the dial completes in the background; Connected waits for it.
func (c *cluster) connect(b *sarama.Broker) error {
	if ok, _ := b.Connected(); ok {
		return nil
	}
	c.connecting.Lock()
	defer c.connecting.Unlock()
	if ok, _ := b.Connected(); ok {
		return nil
	}
	// A broker that failed before must be closed before it can be opened again.
	_ = b.Close()
	if err := b.Open(c.conf); err != nil && !errors.Is(err, sarama.ErrAlreadyConnected) {
		return fmt.Errorf("connect to %s: %w", b.Addr(), err)
	}
	ok, err := b.Connected()
	if !ok {
		if err == nil {
			err = errors.New("connection closed")
		}
		return fmt.Errorf("connect to %s: %w%s", b.Addr(), err, c.closedAtConnectHint(err))
	}
	if c.conf.ApiVersionsRequest {
		// Open negotiates API versions on every new connection.
		c.requests.WithLabelValues("ApiVersions").Inc()
	}
	return nil
}

// closedAtConnectHint explains a connection the broker closed as it
// opened, which by itself reads as a bare EOF: a listener that expects TLS
// or SASL does that to a client using neither.
func (c *cluster) closedAtConnectHint(err error) string {
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
		return ""
	}
	var missing []string
	if !c.conf.Net.TLS.Enable {
		missing = append(missing, "TLS (--tls.enabled)")
	}
	if !c.conf.Net.SASL.Enable {
		missing = append(missing, "SASL (--sasl.enabled)")
	}
	if len(missing) == 0 {
		return " (the broker closed the connection as it opened)"
	}
	return " (the broker closed the connection as it opened: does its listener expect " + strings.Join(missing, " or ") + "?)"
}

// metadata asks the brokers of the last metadata, then the bootstrap
// servers, for the metadata of every topic, and adopts the broker list it
// names.
func (c *cluster) metadata(ctx context.Context) (*sarama.MetadataResponse, error) {
	req := sarama.NewMetadataRequest(c.conf.Version, nil)
	req.AllowAutoTopicCreation = false

	var errs []error
	for _, b := range c.metadataCandidates() {
		var resp *sarama.MetadataResponse
		err := c.do(ctx, "Metadata", b, func(b *sarama.Broker) (err error) {
			resp, err = b.GetMetadata(req)
			return err
		})
		if err == nil {
			c.adoptBrokers(resp.Brokers)
			return resp, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("no broker answered Metadata: %w", errors.Join(errs...))
}

func (c *cluster) metadataCandidates() []*sarama.Broker {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*sarama.Broker
	for _, id := range sortedBrokerIDs(c.brokers) {
		out = append(out, c.brokers[id])
	}
	return append(out, c.seeds...)
}

// adoptBrokers makes the broker list of a metadata response the one
// requests go to, keeping open connections to brokers that stay and
// closing those to brokers that left.
func (c *cluster) adoptBrokers(listed []*sarama.Broker) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := make(map[int32]*sarama.Broker, len(listed))
	for _, b := range listed {
		if old, ok := c.brokers[b.ID()]; ok && old.Addr() == b.Addr() {
			next[b.ID()] = old
			continue
		}
		next[b.ID()] = b
	}
	for id, old := range c.brokers {
		if next[id] != old {
			_ = old.Close()
		}
	}
	c.brokers = next
}

// broker returns the broker with the given id from the last metadata.
func (c *cluster) broker(id int32) (*sarama.Broker, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.brokers[id]
	return b, ok
}

// anyBroker returns a broker from the last metadata for requests any
// broker can answer, such as DescribeConfigs for topics.
func (c *cluster) anyBroker() (*sarama.Broker, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := sortedBrokerIDs(c.brokers)
	if len(ids) == 0 {
		return nil, false
	}
	return c.brokers[ids[0]], true
}

func (c *cluster) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.brokers {
		_ = b.Close()
	}
	for _, b := range c.seeds {
		_ = b.Close()
	}
}

func sortedBrokerIDs(m map[int32]*sarama.Broker) []int32 {
	ids := make([]int32, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}
