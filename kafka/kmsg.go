package kafka

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// sarama has none of the RPCs of share groups (KIP-932) and streams groups
// (KIP-1071); franz-go's kmsg defines them. They are sent through one
// franz-go client per broker, seeded with that broker's address alone and
// used only as a connection: requests go to its seed broker directly, so it
// never sends Metadata or FindCoordinator of its own, and the connection
// carries the same TLS and SASL settings as sarama's (kgoOptions derives
// them from the one sarama config). Every request it writes is counted by
// API through the same callback as sarama's, ApiVersions included, and
// each of ours runs under the same in-flight bound.

// kmsgBroker is the franz-go connection to one broker.
type kmsgBroker struct {
	addr   string
	client *kgo.Client

	mu sync.Mutex
	// versions is the broker's ApiVersions answer, api key → max version,
	// read once for this connection; nil until then.
	versions map[int16]int16
}

// The API keys of the requests sent through franz-go.
const (
	keyShareGroupDescribe        = 77
	keyStreamsGroupDescribe      = 89
	keyDescribeShareGroupOffsets = 90
)

// saslKeys are the SASL handshake's requests: sarama's connections do not
// count them either.
var saslKeys = map[int16]bool{17: true, 36: true}

// countWrites is a franz-go hook that counts every request it writes.
type countWrites func(api string)

func (f countWrites) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err == nil && !saslKeys[key] {
		f(kmsg.NameForKey(key))
	}
}

// kmsgBrokerFor returns the franz-go connection to broker id, opening a
// client for it the first time and again when its address changed.
func (c *Client) kmsgBrokerFor(id int32) (*kmsgBroker, error) {
	b, ok := c.broker(id)
	if !ok {
		return nil, fmt.Errorf("broker %d is not in the metadata", id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if kb, ok := c.kmsgBrokers[id]; ok && kb.addr == b.Addr() {
		return kb, nil
	}
	if old, ok := c.kmsgBrokers[id]; ok {
		old.client.Close()
		delete(c.kmsgBrokers, id)
	}
	opts, err := kgoOptions(c.conf)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.SeedBrokers(b.Addr()), kgo.WithHooks(countWrites(c.count)), kgo.MaxVersions(kmsgVersions()))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("franz-go client for broker %d: %w", id, err)
	}
	kb := &kmsgBroker{addr: b.Addr(), client: cl}
	c.kmsgBrokers[id] = kb
	return kb, nil
}

// kmsgVersions are the highest versions franz-go may send: its stable set,
// which leaves out APIs it deems unstable (StreamsGroupDescribe), plus the
// share- and streams-group describe APIs at the newest version kmsg knows.
// The broker's own maximum still caps each request.
func kmsgVersions() *kversion.Versions {
	v := kversion.Stable()
	for _, r := range []kmsg.Request{kmsg.NewPtrShareGroupDescribeRequest(), kmsg.NewPtrStreamsGroupDescribeRequest(), kmsg.NewPtrDescribeShareGroupOffsetsRequest()} {
		if _, ok := v.LookupMaxKeyVersion(r.Key()); !ok {
			v.SetMaxKeyVersion(r.Key(), r.MaxVersion())
		}
	}
	return v
}

// doKmsg sends one request to broker id under the in-flight bound. The
// hook counts it once written.
func (c *Client) doKmsg(ctx context.Context, id int32, req kmsg.Request) (kmsg.Response, error) {
	kb, err := c.kmsgBrokerFor(id)
	if err != nil {
		return nil, err
	}
	select {
	case c.inFlight <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.inFlight }()
	seeds := kb.client.SeedBrokers()
	if len(seeds) == 0 {
		return nil, fmt.Errorf("franz-go client for broker %d has no seed", id)
	}
	resp, err := seeds[0].Request(ctx, req)
	if err != nil {
		// A broker that fails may come back on another connection (or
		// version): read its ApiVersions again then.
		kb.mu.Lock()
		kb.versions = nil
		kb.mu.Unlock()
	}
	return resp, err
}

// supports reports whether broker id answers every API in keys, from its
// ApiVersions answer, read once per connection. A broker older than the
// API (or with the feature off: Kafka does not advertise the RPCs of a
// disabled group type) is not an error: the caller sends nothing to it.
func (c *Client) supports(ctx context.Context, id int32, keys ...int16) (map[int16]int16, bool, error) {
	kb, err := c.kmsgBrokerFor(id)
	if err != nil {
		return nil, false, err
	}
	kb.mu.Lock()
	versions := kb.versions
	kb.mu.Unlock()
	if versions == nil {
		req := kmsg.NewPtrApiVersionsRequest()
		// Required from v3 on; franz-go fills them in only on its
		// routed path, not for a request to one broker.
		req.ClientSoftwareName, req.ClientSoftwareVersion, req.NodeID = "lagwatch", "1", -1
		resp, err := c.doKmsg(ctx, id, req)
		if err != nil {
			return nil, false, fmt.Errorf("api versions of broker %d: %w", id, err)
		}
		av := resp.(*kmsg.ApiVersionsResponse)
		if av.ErrorCode != 0 {
			return nil, false, fmt.Errorf("api versions of broker %d: error code %d", id, av.ErrorCode)
		}
		versions = make(map[int16]int16, len(av.ApiKeys))
		for _, k := range av.ApiKeys {
			versions[k.ApiKey] = k.MaxVersion
		}
		kb.mu.Lock()
		kb.versions = versions
		kb.mu.Unlock()
	}
	for _, k := range keys {
		if _, ok := versions[k]; !ok {
			return versions, false, nil
		}
	}
	return versions, true, nil
}

// closeKmsgBrokers closes every franz-go connection.
func (c *Client) closeKmsgBrokers() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, kb := range c.kmsgBrokers {
		kb.client.Close()
		delete(c.kmsgBrokers, id)
	}
}

// errKmsg turns a kmsg error code into an error, nil for 0.
func errKmsg(code int16, message *string) error {
	if code == 0 {
		return nil
	}
	err := kerr.ErrorForCode(code)
	if message != nil && *message != "" {
		return fmt.Errorf("%w: %s", err, *message)
	}
	return err
}
