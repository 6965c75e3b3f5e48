package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
)

// DefaultMaxInFlight is the default of --kafka.max-in-flight-requests.
const DefaultMaxInFlight = 16

// Config is what a Client needs: where to bootstrap from, how to connect,
// and whom to tell about each request sent.
type Config struct {
	Bootstrap []string
	// Sarama carries the protocol version, timeouts, TLS and SASL; nil
	// means NewSaramaConfig with no security.
	Sarama *sarama.Config
	// MaxInFlight bounds the requests in flight at once across all
	// brokers; 0 means DefaultMaxInFlight.
	MaxInFlight int
	// CountRequest, when set, is called once per request sent, with the
	// API's name ("Metadata", "OffsetFetch", ...).
	CountRequest func(api string)
	// RequestTimeout bounds each request, connecting included, from the
	// moment it may be sent; requests carrying many groups or partitions
	// get an allowance for each on top (see batches.go). 0 leaves only
	// the caller's context, MaxRequestTimeout and sarama's
	// Net.ReadTimeout.
	RequestTimeout time.Duration
	// MaxRequestTimeout caps every request's deadline, allowances
	// included; 0: no cap.
	MaxRequestTimeout time.Duration
}

// Client owns the connections to the brokers and is the one place every
// Kafka request passes through, so that each is counted by API and the
// number in flight is bounded. lagwatch talks to brokers directly rather
// than through sarama.Client: the client refreshes metadata and finds
// coordinators on its own, which would hide requests from the count and
// cost one request per group at scale.
type Client struct {
	conf *sarama.Config
	// versionCap is the user's --kafka.version: the highest version of
	// the requests that are not group requests (see version.go). conf
	// itself speaks sarama.MaxVersion, so that sarama sends any request
	// the broker supports.
	versionCap sarama.KafkaVersion
	count      func(api string)
	inFlight   chan struct{}
	// requestTimeout and maxRequestTimeout bound each request
	// (Config.RequestTimeout, Config.MaxRequestTimeout; see deadlineFor).
	requestTimeout, maxRequestTimeout time.Duration

	mu      sync.Mutex
	brokers map[int32]*sarama.Broker
	seeds   []*sarama.Broker
	// connecting holds one lock per broker address, so that two goroutines
	// never reconnect one broker at once (they would close each other's
	// fresh connection) while an unreachable broker delays only its own
	// requests.
	connecting map[string]*sync.Mutex
	// kmsgBrokers are the franz-go connections for the requests sarama
	// lacks (see kmsg.go), opened only for brokers asked such a request.
	kmsgBrokers map[int32]*kmsgBroker
	// lanes are the extra connections per broker that batches of a large
	// request are sent over in parallel, and turns the one request in
	// flight per connection (see batches.go).
	lanes map[int32][]*sarama.Broker
	turns map[*sarama.Broker]chan struct{}
	// pace is, per broker and API, how many times its sized deadline a
	// request is given (see paced); absent is 1.
	pace map[paceKey]int
}

// New prepares a client; it connects to a broker on the first request.
func New(cfg Config) *Client {
	if cfg.Sarama == nil {
		cfg.Sarama = NewSaramaConfig()
	}
	if cfg.MaxInFlight < 1 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.CountRequest == nil {
		cfg.CountRequest = func(string) {}
	}
	versionCap := cfg.Sarama.Version
	cfg.Sarama = trackConnections(cfg.Sarama)
	cfg.Sarama.Version = sarama.MaxVersion
	c := &Client{
		conf:       cfg.Sarama,
		versionCap: versionCap,
		count:      cfg.CountRequest,
		inFlight:   make(chan struct{}, cfg.MaxInFlight),
		brokers:    map[int32]*sarama.Broker{},
		connecting: map[string]*sync.Mutex{},

		kmsgBrokers: map[int32]*kmsgBroker{},
		lanes:       map[int32][]*sarama.Broker{},
		turns:       map[*sarama.Broker]chan struct{}{},
		pace:        map[paceKey]int{},
	}
	for _, addr := range cfg.Bootstrap {
		c.seeds = append(c.seeds, sarama.NewBroker(addr))
	}
	c.requestTimeout, c.maxRequestTimeout = cfg.RequestTimeout, cfg.MaxRequestTimeout
	return c
}

// Version is the highest protocol version the client asks for in the
// requests that are not group requests: the user's --kafka.version.
func (c *Client) Version() sarama.KafkaVersion { return c.versionCap }

// do runs one Kafka request under the in-flight bound and counts it. The
// request, connecting included, ends when ctx does or after the request
// timeout, whichever is first: its connection is cut (see deadline.go). A
// broker that timed out earlier in the same poll is not asked again.
func (c *Client) do(ctx context.Context, api string, b *sarama.Broker, send func(*sarama.Broker) error) error {
	return c.doSized(ctx, api, b, 0, send)
}

// doSized is do for a request that carries many groups or partitions:
// work is the allowance it earns on top of the request timeout (see
// deadlineFor). It goes over the connection ctx's lane names, and its
// deadline starts once that connection is free and the in-flight bound
// lets it go.
func (c *Client) doSized(ctx context.Context, api string, b *sarama.Broker, work time.Duration, send func(*sarama.Broker) error) error {
	if scopeOf(ctx).hasTimedOut(b.Addr()) {
		return fmt.Errorf("%s to %s: %w", api, b.Addr(), ErrBrokerTimedOut)
	}
	b = c.onLane(ctx, b)
	release, err := c.turn(ctx, b)
	if err != nil {
		return err
	}
	defer release()
	select {
	case c.inFlight <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.inFlight }()
	timeout := c.deadlineFor(work)
	if work > 0 {
		timeout = c.paced(b.Addr(), api, timeout)
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, errRequestTimedOut)
		defer cancel()
	}
	started := time.Now()
	err = c.deadlined(ctx, api, b.Addr(), func() error {
		wasConnected, _ := b.Connected()
		if err := c.connect(b); err != nil {
			return err
		}
		c.count(api)
		err := send(b)
		if err != nil && !wasConnected {
			err = c.closedAtFirstRequestHint(err)
		}
		return err
	})
	if work > 0 && timeout > 0 {
		c.learnPace(b.Addr(), api, timeout, time.Since(started), errors.Is(context.Cause(ctx), errRequestTimedOut))
	}
	return err
}

// closedAtFirstRequestHint explains a connection the broker closed at the
// first request after it opened. A SASL listener lets a client without
// SASL open the connection (TLS and ApiVersions come before
// authentication) and closes it at the first other request.
func (c *Client) closedAtFirstRequestHint(err error) error {
	if c.conf.Net.SASL.Enable || (!errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET)) {
		return err
	}
	return fmt.Errorf("%w (the broker closed the connection at the first request: does its listener expect SASL (--sasl.enabled)?)", err)
}

// connectLock is the lock that serialises (re)connects to one address.
func (c *Client) connectLock(addr string) *sync.Mutex {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.connecting[addr]
	if !ok {
		l = &sync.Mutex{}
		c.connecting[addr] = l
	}
	return l
}

// connect opens b if it is not connected. sarama's Open returns at once and
// the dial completes in the background; Connected waits for it.
func (c *Client) connect(b *sarama.Broker) error {
	if ok, _ := b.Connected(); ok {
		return nil
	}
	lock := c.connectLock(b.Addr())
	lock.Lock()
	defer lock.Unlock()
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
		return fmt.Errorf("connect to %s: %w%s", b.Addr(), err, c.closedAtConnectHint(b.Addr(), err))
	}
	if c.conf.ApiVersionsRequest {
		// Open negotiates API versions on every new connection.
		c.count("ApiVersions")
	}
	return nil
}

// closedAtConnectHint explains a connection the broker closed as it
// opened, which by itself reads as a bare EOF: a listener that expects TLS
// or SASL does that to a client using neither, and a plaintext listener
// does it to a TLS client, whose handshake it reads as a request too
// large. With TLS on, one more connection tells the two apart: whether the
// listener completes a TLS handshake.
func (c *Client) closedAtConnectHint(addr string, err error) string {
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
		return ""
	}
	if c.conf.Net.TLS.Enable && !speaksTLS(addr, c.conf.Net.TLS.Config) {
		return " (the broker closed the connection during the TLS handshake: its listener does not speak TLS; is it a plaintext listener? then drop --tls.enabled)"
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

// speaksTLS reports whether the listener at addr answers a TLS handshake:
// a certificate it presents that does not verify is still TLS; a
// connection closed or answered in plaintext is not.
func speaksTLS(addr string, conf *tls.Config) bool {
	if conf == nil {
		conf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	conf = conf.Clone()
	if conf.ServerName == "" {
		conf.ServerName, _, _ = net.SplitHostPort(addr)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", addr, conf)
	if err == nil {
		conn.Close()
		return true
	}
	var header tls.RecordHeaderError
	return !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) && !errors.As(err, &header)
}

// metadataResponse asks the brokers of the last metadata, then the
// bootstrap servers, for the metadata of every topic, and adopts the broker
// list it names.
func (c *Client) metadataResponse(ctx context.Context) (*sarama.MetadataResponse, error) {
	req := sarama.NewMetadataRequest(c.versionCap, nil)
	req.AllowAutoTopicCreation = false
	// What the principal may do on each topic (KIP-430, Metadata v8+):
	// which topics may be read and have their configs described, asked
	// without a denied request and so without a line in the broker's
	// authorizer log.
	req.IncludeTopicAuthorizedOperations = true

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

func (c *Client) metadataCandidates() []*sarama.Broker {
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
// closing every connection to a broker that left or moved (sarama's and
// franz-go's), with the bookkeeping kept for it.
func (c *Client) adoptBrokers(listed []*sarama.Broker) {
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
			delete(c.turns, old)
		}
	}
	for id, kb := range c.kmsgBrokers {
		if b, ok := next[id]; !ok || b.Addr() != kb.addr {
			kb.client.Close()
			delete(c.kmsgBrokers, id)
		}
	}
	c.brokers = next
	c.dropLanes(func(id int32, addr string) bool { b, ok := next[id]; return ok && b.Addr() == addr })
	c.pruneConnectLocks()
}

// pruneConnectLocks drops the connect locks of addresses that are neither
// a broker of the last metadata nor a bootstrap server. Callers hold c.mu.
// A goroutine still connecting to a dropped address keeps its lock; the
// broker it connects to was closed above, so a second lock made for the
// same address later cannot race it.
func (c *Client) pruneConnectLocks() {
	keep := make(map[string]bool, len(c.brokers)+len(c.seeds))
	for _, b := range c.brokers {
		keep[b.Addr()] = true
	}
	for _, b := range c.seeds {
		keep[b.Addr()] = true
	}
	for addr := range c.connecting {
		if !keep[addr] {
			delete(c.connecting, addr)
		}
	}
}

// broker returns the broker with the given id from the last metadata.
func (c *Client) broker(id int32) (*sarama.Broker, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.brokers[id]
	return b, ok
}

// anyBroker returns a broker from the last metadata for requests any
// broker can answer, such as DescribeConfigs for topics.
func (c *Client) anyBroker() (*sarama.Broker, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := sortedBrokerIDs(c.brokers)
	if len(ids) == 0 {
		return nil, false
	}
	return c.brokers[ids[0]], true
}

// Close closes every connection.
func (c *Client) Close() {
	c.closeKmsgBrokers()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.brokers {
		_ = b.Close()
	}
	for _, b := range c.seeds {
		_ = b.Close()
	}
	for _, lanes := range c.lanes {
		closeBrokers(lanes)
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
