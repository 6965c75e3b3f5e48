package main

import (
	"context"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lagwatch/lagwatch/config"
)

// checkListenAddr checks a --web.listen-address: [host]:port with a port
// from 0 (any free port) to 65535; vsock addresses are the toolkit's.
func checkListenAddr(addr string) error {
	if strings.HasPrefix(addr, "vsock://") {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("is not [host]:port: %v", err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// checkTelemetryPath checks --web.telemetry-path: a clean absolute path
// of printable characters. Go's ServeMux reads "{…}" as a wildcard (so
// /{x} would match every path), a space as the separator after a method,
// and panics on what it cannot parse; none of that belongs in a path.
func checkTelemetryPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("must start with /")
	}
	for _, r := range p {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("{}?#%\\", r) {
			return fmt.Errorf("has %q, which is not for a path (use letters, digits, '/', '-', '_', '.')", r)
		}
	}
	if clean := path.Clean(p); clean != p && clean+"/" != p {
		return fmt.Errorf("is not a clean path (%q)", clean)
	}
	return nil
}

// loadUnlessDone loads the configuration, or returns when ctx is done
// first (SIGTERM while a large file is read): the load is left to finish
// in the background and its result dropped.
func loadUnlessDone(ctx context.Context, load func() ([]config.Cluster, error)) ([]config.Cluster, error) {
	type result struct {
		specs []config.Cluster
		err   error
	}
	done := make(chan result, 1)
	go func() {
		specs, err := load()
		done <- result{specs, err}
	}()
	select {
	case r := <-done:
		return r.specs, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// maxErrorLine bounds the error line of bad input: a value quoted from a
// hostile flag or file must not make it megabytes long.
const maxErrorLine = 1000

// errorLine is err as one line of at most maxErrorLine bytes.
func errorLine(err error) string {
	return shortenedTo(strings.Join(strings.Fields(err.Error()), " "), maxErrorLine)
}

func shortenedTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
