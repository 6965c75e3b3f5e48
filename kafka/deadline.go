package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/IBM/sarama"
)

// sarama's Broker holds its lock from writing a request until the response
// is read, and Close takes that lock: a request to a broker that accepts
// TCP but never answers blocks for Net.ReadTimeout (30 s), and neither a
// context nor Close can end it sooner. lagwatch dials the connections
// itself (sarama's Net.Proxy.Dialer hook) and keeps them by address, so
// that a request whose context ends is cut off by closing its socket: the
// blocked read fails at once and sarama drops the connection; the next
// request reconnects.

// connTracker dials broker connections and remembers those open, and the
// dials in progress, by address.
type connTracker struct {
	dialer net.Dialer

	mu      sync.Mutex
	conns   map[string]map[*trackedConn]struct{}
	dialing map[string]map[*context.CancelFunc]struct{}
}

// trackConnections returns a copy of conf whose connections are dialed by
// a connTracker.
func trackConnections(conf *sarama.Config) *sarama.Config {
	c := *conf
	c.Net.Proxy.Enable = true
	c.Net.Proxy.Dialer = &connTracker{
		dialer:  net.Dialer{Timeout: conf.Net.DialTimeout, KeepAlive: conf.Net.KeepAlive, LocalAddr: conf.Net.LocalAddr},
		conns:   map[string]map[*trackedConn]struct{}{},
		dialing: map[string]map[*context.CancelFunc]struct{}{},
	}
	return &c
}

// Dial is what sarama calls to open a connection to addr.
func (t *connTracker) Dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t.mu.Lock()
	if t.dialing[addr] == nil {
		t.dialing[addr] = map[*context.CancelFunc]struct{}{}
	}
	t.dialing[addr][&cancel] = struct{}{}
	t.mu.Unlock()
	conn, err := t.dialer.DialContext(ctx, network, addr)
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.dialing[addr], &cancel)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: conn, t: t, addr: addr}
	if t.conns[addr] == nil {
		t.conns[addr] = map[*trackedConn]struct{}{}
	}
	t.conns[addr][tc] = struct{}{}
	return tc, nil
}

// cut closes every connection to addr and aborts the dials in progress.
func (t *connTracker) cut(addr string) {
	t.mu.Lock()
	conns := make([]*trackedConn, 0, len(t.conns[addr]))
	for c := range t.conns[addr] {
		conns = append(conns, c)
	}
	for cancel := range t.dialing[addr] {
		(*cancel)()
	}
	t.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// trackedConn forgets itself when closed.
type trackedConn struct {
	net.Conn
	t    *connTracker
	addr string
}

func (c *trackedConn) Close() error {
	c.t.mu.Lock()
	delete(c.t.conns[c.addr], c)
	c.t.mu.Unlock()
	return c.Conn.Close()
}

// cut closes the connections to addr, when the client dials them itself.
func (c *Client) cut(addr string) {
	if t, ok := c.conf.Net.Proxy.Dialer.(*connTracker); ok {
		t.cut(addr)
	}
}

// pollScope remembers, for one poll, the brokers that let a request time
// out: the poll's other requests to them fail at once instead of each
// waiting for its own deadline, so that a broker that accepts TCP but
// never answers costs one request timeout per poll, not one per stage.
type pollScope struct {
	mu       sync.Mutex
	timedOut map[string]bool
}

type pollScopeKey struct{}

// WithPollScope returns a context for one poll's requests: within it, a
// broker that let a request time out is not asked again.
func WithPollScope(ctx context.Context) context.Context {
	return context.WithValue(ctx, pollScopeKey{}, &pollScope{timedOut: map[string]bool{}})
}

func scopeOf(ctx context.Context) *pollScope {
	s, _ := ctx.Value(pollScopeKey{}).(*pollScope)
	return s
}

func (s *pollScope) markTimedOut(addr string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.timedOut[addr] = true
	s.mu.Unlock()
}

func (s *pollScope) hasTimedOut(addr string) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.timedOut[addr]
}

// ErrBrokerTimedOut is returned for requests not sent because their broker
// let an earlier request of the same poll time out.
var ErrBrokerTimedOut = errors.New("broker did not answer an earlier request of this poll in time")

// deadlined runs fn, a request or a connect to addr, and cuts addr's
// connections if ctx ends first, so fn returns at once.
func (c *Client) deadlined(ctx context.Context, api, addr string, fn func() error) error {
	stop := context.AfterFunc(ctx, func() { c.cut(addr) })
	err := fn()
	stop()
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			scopeOf(ctx).markTimedOut(addr)
		}
		return fmt.Errorf("%s to %s: %w", api, addr, ctx.Err())
	}
	return err
}
