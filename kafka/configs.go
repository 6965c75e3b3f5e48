package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/IBM/sarama"
)

// Topics per DescribeConfigs request.
const topicsPerConfigRequest = 1000

// configNames are the topic configs lagwatch reads: what retention deletes
// and when, and how many in-sync replicas acks=all producers need.
var configNames = []string{"cleanup.policy", "retention.ms", "retention.bytes", "min.insync.replicas"}

// TopicConfig holds the topic configs lagwatch reads with DescribeConfigs.
type TopicConfig struct {
	Known             bool
	CleanupPolicy     string
	RetentionMs       int64 // -1: infinite
	RetentionBytes    int64 // -1: infinite
	MinInsyncReplicas int64
}

// Deletes reports whether retention deletes old messages of the topic:
// cleanup.policy is a comma-separated list ("delete", "compact" or
// "compact,delete"), and only a list naming "delete" lets retention.ms and
// retention.bytes remove records.
func (c TopicConfig) Deletes() bool {
	for _, policy := range strings.Split(c.CleanupPolicy, ",") {
		if strings.TrimSpace(policy) == "delete" {
			return true
		}
	}
	return false
}

// TopicConfigs reads the configs of the named topics, many topics
// per request. Topic configs change rarely, so the poller calls this every
// few minutes and for new topics, not every poll.
func (c *Client) TopicConfigs(ctx context.Context, topics []string) (map[string]TopicConfig, error) {
	out := make(map[string]TopicConfig, len(topics))
	var errs []error
	for start := 0; start < len(topics); start += topicsPerConfigRequest {
		end := min(start+topicsPerConfigRequest, len(topics))
		got, err := c.describeConfigsBatch(ctx, topics[start:end])
		for name, cfg := range got {
			out[name] = cfg
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

func (c *Client) describeConfigsBatch(ctx context.Context, topics []string) (map[string]TopicConfig, error) {
	b, ok := c.anyBroker()
	if !ok {
		return nil, errors.New("describe configs: no broker in the metadata")
	}
	req := &sarama.DescribeConfigsRequest{Version: describeConfigsVersion(c.versionCap)}
	for _, t := range topics {
		req.Resources = append(req.Resources, &sarama.ConfigResource{Type: sarama.TopicResource, Name: t, ConfigNames: configNames})
	}
	var resp *sarama.DescribeConfigsResponse
	err := c.do(ctx, "DescribeConfigs", b, func(b *sarama.Broker) (err error) {
		resp, err = b.DescribeConfigs(req)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("describe configs of %d topics on broker %d: %w", len(topics), b.ID(), err)
	}
	out := make(map[string]TopicConfig, len(resp.Resources))
	var errs []error
	for _, r := range resp.Resources {
		if r.ErrorCode != 0 {
			errs = append(errs, &ResourceError{Type: ResourceTopic, Name: r.Name, Operation: OpDescribeConfigs, Err: fmt.Errorf("describe configs: %w", sarama.KError(r.ErrorCode))})
			continue
		}
		out[r.Name] = topicConfig(r.Configs)
	}
	return out, errors.Join(errs...)
}

// topicConfig reads the config entries, with Kafka's defaults for any the
// broker left out: delete after 7 days, no size limit, min ISR 1.
func topicConfig(entries []*sarama.ConfigEntry) TopicConfig {
	cfg := TopicConfig{Known: true, CleanupPolicy: "delete", RetentionMs: 604800000, RetentionBytes: -1, MinInsyncReplicas: 1}
	for _, e := range entries {
		switch e.Name {
		case "cleanup.policy":
			cfg.CleanupPolicy = e.Value
		case "retention.ms":
			cfg.RetentionMs = parseConfigInt(e.Value, cfg.RetentionMs)
		case "retention.bytes":
			cfg.RetentionBytes = parseConfigInt(e.Value, cfg.RetentionBytes)
		case "min.insync.replicas":
			cfg.MinInsyncReplicas = parseConfigInt(e.Value, cfg.MinInsyncReplicas)
		}
	}
	return cfg
}

func parseConfigInt(s string, fallback int64) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fallback
	}
	return v
}

func describeConfigsVersion(v sarama.KafkaVersion) int16 {
	switch {
	case v.IsAtLeast(sarama.V2_8_0_0):
		return 4
	case v.IsAtLeast(sarama.V2_0_0_0):
		return 2
	default:
		return 0
	}
}
