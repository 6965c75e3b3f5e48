package main

import (
	"net/http"
	"time"
)

// Defaults of the HTTP server's bounds.
const (
	// defaultMaxRequests is --web.max-requests' default, node_exporter's.
	defaultMaxRequests = 40
	// headerTimeout bounds reading a request's headers: a client sending
	// one byte per second holds its connection no longer.
	headerTimeout = 10 * time.Second
	// writeTimeout bounds a whole response, the largest scrape included
	// (about 0.5 s at 1.8 million series on two cores).
	writeTimeout = 2 * time.Minute
	idleTimeout  = 2 * time.Minute
	// shutdownGrace bounds the shutdown after SIGTERM: well inside
	// Kubernetes' default grace period of 30 s.
	shutdownGrace = 5 * time.Second
)

// newHTTPServer is lagwatch's HTTP server, bounded against slow clients.
func newHTTPServer(h http.Handler, header time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: header,
		ReadTimeout:       header,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
	}
}

// limitRequests serves at most n requests of h at once and answers the
// others at once with 503, as node_exporter's --web.max-requests does:
// a scrape costs CPU in proportion to the series, and queueing would only
// make the scrapers' timeouts expire on answers nobody reads. n < 1 means
// no limit.
func limitRequests(h http.Handler, n int) http.Handler {
	if n < 1 {
		return h
	}
	slots := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			h.ServeHTTP(w, r)
		default:
			http.Error(w, "Too many concurrent scrapes (--web.max-requests); try again.", http.StatusServiceUnavailable)
		}
	})
}

// waitAtMost runs wait and returns when it does or after d.
func waitAtMost(wait func(), d time.Duration) {
	done := make(chan struct{})
	go func() {
		wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
	}
}
