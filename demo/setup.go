package demo

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// CreateTopics creates the demo's topics (keeping those that exist), so
// that lagwatch's first poll sees a cluster with topics: a cluster without
// any reads, to lagwatch, like a principal allowed to see none. Run
// creates them too, when it is called alone.
func CreateTopics(ctx context.Context, addrs []string, logger *slog.Logger) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ClientID("lagwatch-demo-setup"))
	if err != nil {
		return fmt.Errorf("create the demo's admin client: %w", err)
	}
	defer cl.Close()
	return createTopics(ctx, kadm.NewClient(cl), defaultWorkload(), logger)
}

// WhatItCreates says, in one sentence, what the demo writes to a cluster:
// its topics (with their partitions), consumer and share groups, and the
// records it produces; all named demo-*, left in place when it stops.
func WhatItCreates() string {
	w := defaultWorkload()
	var topics []string
	for _, t := range w.topics() {
		topics = append(topics, t.name)
	}
	var groups []string
	for _, s := range Scenarios() {
		if s.Group != "" && !slices.Contains(groups, s.Group) {
			groups = append(groups, s.Group)
		}
	}
	return fmt.Sprintf("the topics %s (%d partitions each), records on them at a few per second, and the consumer and share groups %s; all stay on the cluster after the demo stops",
		strings.Join(topics, ", "), partitionsPerTopic, strings.Join(groups, ", "))
}
