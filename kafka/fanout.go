package kafka

import (
	"errors"
	"maps"
	"sync"
)

// gather runs fetch once per request (a leader's partitions, a
// coordinator's batch of groups) concurrently and merges what they return.
// A request that fails adds its error and keeps whatever it did return, so
// one broker's failure degrades only its part. The Client bounds how many
// requests are in flight.
func gather[Req any, K comparable, V any](requests []Req, fetch func(Req) (map[K]V, error)) (map[K]V, error) {
	var (
		got  = make([]map[K]V, len(requests))
		errs = make([]error, len(requests))
		wg   sync.WaitGroup
	)
	for i, req := range requests {
		wg.Go(func() { got[i], errs[i] = fetch(req) })
	}
	wg.Wait()
	return merged(got), errors.Join(errs...)
}

// merged is the union of maps whose keys do not overlap (or where any
// value of a key will do). The result is sized once, or is the one
// non-empty map itself: at 100,000 group-partitions a map grown entry by
// entry leaves its outgrown tables behind, as much garbage again as the
// answer, in every poll.
func merged[K comparable, V any](answers []map[K]V) map[K]V {
	total, nonEmpty := 0, 0
	var only map[K]V
	for _, m := range answers {
		if len(m) > 0 {
			total += len(m)
			nonEmpty++
			only = m
		}
	}
	switch nonEmpty {
	case 0:
		return map[K]V{}
	case 1:
		return only
	}
	out := make(map[K]V, total)
	for _, m := range answers {
		maps.Copy(out, m)
	}
	return out
}

// gatherPerBroker is gather over requests grouped by broker id: one fetch
// per broker with that broker's share of the work.
func gatherPerBroker[T any, K comparable, V any](byBroker map[int32][]T, fetch func(broker int32, items []T) (map[K]V, error)) (map[K]V, error) {
	ids := make([]int32, 0, len(byBroker))
	for id := range byBroker {
		ids = append(ids, id)
	}
	return gather(ids, func(id int32) (map[K]V, error) { return fetch(id, byBroker[id]) })
}
