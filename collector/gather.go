package collector

import (
	"errors"
	"sync"
)

// gather runs fetch once per request (a leader's partitions, a
// coordinator's batch of groups) concurrently and merges what they return.
// A request that fails adds its error and keeps whatever it did return, so
// one broker's failure degrades only its part. The cluster bounds how many
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
