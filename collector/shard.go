package collector

import "hash/fnv"

// Shard is one replica's part of the consumer groups when several
// replicas share the work of one deployment (--shard.count,
// --shard.index). Every group belongs to exactly one shard, decided by
// its name alone, so replicas agree without talking to each other and a
// group stays on its shard (and keeps its history) as long as the number
// of shards does not change; when it changes, few groups move (ShardOf).
type Shard struct {
	Index int // 0-based
	Count int // 0 or 1: one shard
}

// ShardOf is the shard that owns group among count: the jump consistent
// hash (Lamping and Veach, 2014) of the FNV-1a 64-bit hash of the group's
// name. Going from n to n+1 shards moves only the groups the new shard
// takes, about 1/(n+1) of them, and each moves to the new shard; the old
// FNV-1a modulo n moved about n/(n+1) of them between every pair of
// shards, and each moved group starts its rates and statuses again from a
// short history.
func ShardOf(group string, count int) int {
	if count <= 1 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(group))
	return jumpHash(h.Sum64(), count)
}

// jumpHash is the paper's figure 1: the key drives a linear congruential
// generator that jumps from bucket b to the next bucket that would take
// the key as buckets are added, until the next jump lands past buckets-1.
func jumpHash(key uint64, buckets int) int {
	b, j := int64(-1), int64(0)
	for j < int64(buckets) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b)
}

// Owns reports whether the shard polls and exports group.
func (s Shard) Owns(group string) bool { return ShardOf(group, s.Count) == s.Index }

// ServesCluster reports whether the shard exports what every shard sees
// alike: brokers, topics, partitions and the cluster's totals. Shard 0
// does; the others would only duplicate it, and a sum over the shards
// must count each partition once.
func (s Shard) ServesCluster() bool { return s.Index == 0 }
