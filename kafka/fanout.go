package kafka

import (
	"errors"
	"sync"
)

// gather runs fetch once per request (a leader's partitions, a
// coordinator's batch of groups) concurrently and merges what they return.
// A request that fails adds its error and keeps whatever it did return, so
// one broker's failure degrades only its part. The Client bounds how many
// requests are in flight.
func gather[Req any, K comparable, V any](requests []Req, fetch func(Req) (map[K]V, error)) (map[K]V, error) {
	var (
		mu   sync.Mutex
		out  = map[K]V{}
		errs []error
		wg   sync.WaitGroup
	)
	for _, req := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := fetch(req)
			mu.Lock()
			defer mu.Unlock()
			for k, v := range got {
				out[k] = v
			}
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
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
