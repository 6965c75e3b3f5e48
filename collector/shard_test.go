package collector

import (
	"fmt"
	"testing"
)

// The hash is part of the contract: replicas of different versions must
// agree, and the docs tell operators how to find a group's shard.
func TestShardOfIsFNV1a32OfTheGroupNameModuloTheCount(t *testing.T) {
	for _, c := range []struct {
		group string
		count int
		want  int
	}{
		// FNV-1a 32 of "" is 0x811c9dc5 = 2166136261; of "a" 0xe40c292c = 3826002220.
		{"", 3, 2166136261 % 3},
		{"a", 3, 3826002220 % 3},
		{"a", 7, 3826002220 % 7},
		{"anything", 1, 0},
		{"anything", 0, 0},
	} {
		if got := ShardOf(c.group, c.count); got != c.want {
			t.Errorf("ShardOf(%q, %d) = %d, want %d", c.group, c.count, got, c.want)
		}
	}
}

func TestEveryGroupIsKeptByExactlyOneShardAndTheShardsAreEven(t *testing.T) {
	const count, groups = 3, 30000
	kept := make([]int, count)
	for g := range groups {
		name := fmt.Sprintf("bench.group-%06d", g)
		owners := 0
		for i := range count {
			if (Filters{Shard: Shard{Index: i, Count: count}}).keepGroup(name) {
				owners++
				kept[i]++
			}
		}
		if owners != 1 {
			t.Fatalf("group %s kept by %d shards", name, owners)
		}
	}
	for i, n := range kept {
		if n < groups/count*9/10 || n > groups/count*11/10 {
			t.Errorf("shard %d keeps %d of %d groups: not within 10%% of an even split", i, n, groups)
		}
	}
}
