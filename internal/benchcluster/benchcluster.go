// Package benchcluster is the shape of the cluster the Go benchmarks and
// bench/clustergen use: 3 brokers, 2,000 topics × 5 partitions, 10,000
// groups each committing all 5 partitions of two topics: 100,000
// group-partitions.
package benchcluster

import (
	"fmt"
	"time"
)

const (
	Brokers         = 3
	Topics          = 2000
	Partitions      = 5
	Groups          = 10000
	TopicsPerGroup  = 2
	GroupPartitions = Groups * TopicsPerGroup * Partitions
	PollInterval    = 15 * time.Second
)

// TopicName is the name of topic i.
func TopicName(i int) string { return fmt.Sprintf("bench.topic-%05d", i) }

// GroupName is the name of group g.
func GroupName(g int) string { return fmt.Sprintf("bench.group-%06d", g) }

// GroupTopics are the topics group g consumes.
func GroupTopics(g int) []int {
	out := make([]int, TopicsPerGroup)
	for k := range out {
		out[k] = (g*TopicsPerGroup + k) % Topics
	}
	return out
}

// Leader is the broker id that leads partition p of topic i.
func Leader(i int, p int32) int32 {
	return int32((i*Partitions+int(p))%Brokers) + 1
}
