package collector

import (
	"fmt"
	"math"
	"testing"
)

// The hash is part of the contract: replicas of different versions must
// agree, and the docs tell operators how to find a group's shard. The
// expected shards were computed with the paper's C++ code and an FNV-1a
// 64 written in C, not with this package.
func TestShardOfIsTheJumpHashOfFNV1a64OfTheGroupName(t *testing.T) {
	for _, c := range []struct {
		group string
		count int
		want  int
	}{
		// FNV-1a 64 of "" is 14695981039346656037, of "a" 12638187200555641996.
		{"", 2, 1}, {"", 3, 1}, {"", 100, 90},
		{"a", 3, 2}, {"a", 4, 2}, {"a", 100, 31},
		{"orders-service", 2, 0}, {"orders-service", 9, 2}, {"orders-service", 100, 74},
		{"bench.group-000042", 4, 2}, {"bench.group-000042", 7, 4}, {"bench.group-000042", 9, 7}, {"bench.group-000042", 100, 26},
		{"anything", 1, 0},
		{"anything", 0, 0},
	} {
		if got := ShardOf(c.group, c.count); got != c.want {
			t.Errorf("ShardOf(%q, %d) = %d, want %d", c.group, c.count, got, c.want)
		}
	}
	for _, c := range []struct {
		key     uint64
		buckets int
		want    int
	}{{0, 10, 0}, {1, 6, 0}, {1, 7, 6}, {1, 10, 6}, {0xdeadbeef, 1000, 285}} {
		if got := jumpHash(c.key, c.buckets); got != c.want {
			t.Errorf("jumpHash(%d, %d) = %d, want %d", c.key, c.buckets, got, c.want)
		}
	}
}

// Resharding from n to n+1 replicas moves only the groups the new shard
// takes, about 1/(n+1) of them, so the others keep their history. The
// fractions measured here are the README's.
func TestReshardingMovesAboutOneInNPlusOneGroupsAllToTheNewShard(t *testing.T) {
	const groups = 100_000
	for _, from := range []int{1, 2, 3, 8} {
		to := from + 1
		moved := 0
		for g := range groups {
			name := fmt.Sprintf("synthetic.group-%06d", g)
			before, after := ShardOf(name, from), ShardOf(name, to)
			if before == after {
				continue
			}
			moved++
			if after != from {
				t.Fatalf("%s moved from shard %d to %d going from %d to %d shards: only the new shard %d may take groups", name, before, after, from, to, from)
			}
		}
		fraction, want := float64(moved)/groups, 1/float64(to)
		t.Logf("%d → %d shards: %d of %d groups move (%.2f%%, ideal %.2f%%)", from, to, moved, groups, 100*fraction, 100*want)
		// 100,000 draws of a fair coin of bias 1/(n+1) stay within 1% of
		// it (over 6 standard deviations at n = 1).
		if math.Abs(fraction-want) > 0.01 {
			t.Errorf("%d → %d shards moves %.4f of the groups, want %.4f ± 0.01", from, to, fraction, want)
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
