package kafka

import (
	"context"
	"errors"
	"time"

	"github.com/IBM/sarama"
)

// Slow is not failed. A request's deadline is sized to the work it asks
// of the broker: the client's RequestTimeout for any request, plus an
// allowance per group or partition it carries, up to MaxRequestTimeout.
// A single deadline for every request (half the poll interval) let the
// DescribeGroups and OffsetFetch of 10,000 groups per coordinator time
// out on every poll of a large cluster, which then dropped every series.
//
// Large group requests are also split into batches of groupsPerRequest,
// sent in parallel over up to lanesPerBroker connections to their
// coordinator, as Kafka's admin client batches per coordinator: a broker
// handles the requests of one connection one at a time, so one huge
// request is one long wait while batches on several connections are
// handled side by side. Each connection carries one request at a time
// (sarama holds the connection from writing a request until its response
// is read), and a request's deadline starts once its connection is free:
// waiting behind another request is not counted against it.

// Allowances per item a request carries, on top of the client's base
// request timeout. Generous: an answer a little slower than usual must
// not fail; a broker that does not answer at all is still given up on
// after at most MaxRequestTimeout.
const (
	// perGroupAllowance is per group of a DescribeGroups,
	// ConsumerGroupDescribe or OffsetFetch.
	perGroupAllowance = time.Millisecond
	// perPartitionAllowance is per partition of a ListOffsets.
	perPartitionAllowance = 20 * time.Microsecond
)

// lanesPerBroker bounds the connections one broker's batches are sent
// over at once; the client's in-flight bound applies across them all.
const lanesPerBroker = 4

// maxPace bounds how many times its sized deadline a request may be given
// (MaxRequestTimeout bounds it too).
const maxPace = 64

// paceKey is one API on one broker.
type paceKey struct{ addr, api string }

// errRequestTimedOut is the cause of a request's own deadline, told apart
// from the poll's context ending.
var errRequestTimedOut = errors.New("request deadline")

// paced is the deadline of a sized request on addr: its sized deadline
// times the pace the broker has shown for the API. A broker slower than
// the allowances (a busy cluster, a slow disk under the offsets topic)
// then fails one poll's batch, not every poll's: slow is not failed, up
// to MaxRequestTimeout, which says when slow is failed. Unsized requests
// keep their deadline, so a broker that does not answer at all is still
// found out by the first small request of each poll.
func (c *Client) paced(addr, api string, deadline time.Duration) time.Duration {
	c.mu.Lock()
	pace := max(c.pace[paceKey{addr, api}], 1)
	c.mu.Unlock()
	d := deadline * time.Duration(pace)
	if c.maxRequestTimeout > 0 {
		d = min(d, c.maxRequestTimeout)
	}
	return d
}

// learnPace doubles the pace of the API on addr after a request of it ran
// out of its own deadline, and halves it after one answered within a
// quarter of its deadline.
func (c *Client) learnPace(addr, api string, deadline, took time.Duration, timedOut bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := paceKey{addr, api}
	pace := max(c.pace[k], 1)
	switch {
	case timedOut:
		pace = min(2*pace, maxPace)
	case took < deadline/4:
		pace = max(pace/2, 1)
	}
	if pace == 1 {
		delete(c.pace, k)
		return
	}
	c.pace[k] = pace
}

// deadlineFor is the deadline of a request whose size earns it work on
// top of the base request timeout, capped by the maximum.
func (c *Client) deadlineFor(work time.Duration) time.Duration {
	t := c.requestTimeout
	if t > 0 {
		t += work
	}
	if c.maxRequestTimeout > 0 && (t <= 0 || t > c.maxRequestTimeout) {
		t = c.maxRequestTimeout
	}
	return t
}

// turn is the one request in flight on a connection: whoever holds it
// may send on b. Callers release it by receiving from the channel.
func (c *Client) turn(ctx context.Context, b *sarama.Broker) (release func(), err error) {
	c.mu.Lock()
	ch, ok := c.turns[b]
	if !ok {
		ch = make(chan struct{}, 1)
		c.turns[b] = ch
	}
	c.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type laneKey struct{}

// withLane makes the requests sent with ctx go over the lane'th
// connection to their broker; lane 0 is the connection every other
// request uses.
func withLane(ctx context.Context, lane int) context.Context {
	return context.WithValue(ctx, laneKey{}, lane)
}

// onLane is the connection to b's broker that ctx's lane names.
func (c *Client) onLane(ctx context.Context, b *sarama.Broker) *sarama.Broker {
	lane, _ := ctx.Value(laneKey{}).(int)
	if lane <= 0 || b.ID() < 0 {
		return b
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	lanes := c.lanes[b.ID()]
	if len(lanes) > 0 && lanes[0].Addr() != b.Addr() {
		closeBrokers(lanes)
		lanes = nil
	}
	for len(lanes) < lane {
		lanes = append(lanes, sarama.NewBroker(b.Addr()))
	}
	c.lanes[b.ID()] = lanes
	return lanes[lane-1]
}

// dropLanes closes the extra connections of the brokers keep rejects,
// and forgets the turns of connections no longer used. Callers hold c.mu.
func (c *Client) dropLanes(keep func(id int32, addr string) bool) {
	for id, lanes := range c.lanes {
		if len(lanes) > 0 && !keep(id, lanes[0].Addr()) {
			closeBrokers(lanes)
			for _, b := range lanes {
				delete(c.turns, b)
			}
			delete(c.lanes, id)
		}
	}
}

func closeBrokers(bs []*sarama.Broker) {
	for _, b := range bs {
		_ = b.Close()
	}
}

// gatherInLanes is gather for requests that go to one broker each
// (brokerOf): a broker's requests are dealt out over up to
// lanesPerBroker connections to it, sent one after the other on each.
func gatherInLanes[Req any, K comparable, V any](ctx context.Context, requests []Req, brokerOf func(Req) int32, fetch func(context.Context, Req) (map[K]V, error)) (map[K]V, error) {
	type lane struct {
		ctx      context.Context
		requests []Req
	}
	byBroker := map[int32][]Req{}
	var order []int32
	for _, r := range requests {
		id := brokerOf(r)
		if _, ok := byBroker[id]; !ok {
			order = append(order, id)
		}
		byBroker[id] = append(byBroker[id], r)
	}
	var lanes []lane
	for _, id := range order {
		reqs := byBroker[id]
		n := min(len(reqs), lanesPerBroker)
		for i := range n {
			l := lane{ctx: withLane(ctx, i)}
			for j := i; j < len(reqs); j += n {
				l.requests = append(l.requests, reqs[j])
			}
			lanes = append(lanes, l)
		}
	}
	return gather(lanes, func(l lane) (map[K]V, error) {
		got := make([]map[K]V, 0, len(l.requests))
		var errs []error
		for _, r := range l.requests {
			m, err := fetch(l.ctx, r)
			got = append(got, m)
			if err != nil {
				errs = append(errs, err)
			}
		}
		return merged(got), errors.Join(errs...)
	})
}
