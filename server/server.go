// Package server is lagwatch's HTTP side: the routes (metrics, health,
// readiness, reload, landing page, pprof), the probe server, the bounds
// against slow and too many clients, and the HTTP server's error log.
package server

import (
	"net/http"
	"time"
)

// Defaults of the HTTP server's bounds.
const (
	// DefaultMaxRequests is --web.max-requests' default, node_exporter's.
	DefaultMaxRequests = 40
	// HeaderTimeout bounds reading a request's headers: a client sending
	// one byte per second holds its connection no longer.
	HeaderTimeout = 10 * time.Second
	// writeTimeout bounds a whole response, the largest scrape included
	// (about 0.5 s at 1.8 million series on two cores).
	writeTimeout = 2 * time.Minute
	idleTimeout  = 2 * time.Minute
	// ShutdownGrace bounds the shutdown after SIGTERM: well inside
	// Kubernetes' default grace period of 30 s.
	ShutdownGrace = 5 * time.Second
)

// New is lagwatch's HTTP server, bounded against slow clients.
func New(h http.Handler, header time.Duration) *http.Server {
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
