package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/lagwatch/lagwatch/config"
	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/fleet"
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

// registeredAt is where ServeMux's panic says a pattern was registered:
// lagwatch's source lines, of no use to the user.
var registeredAt = regexp.MustCompile(` \(registered at [^)]*\)`)

// checkRoutes builds lagwatch's routes once with the flags as given,
// before anything starts, so that a telemetry path clashing with another
// route (/-/healthy, /-/ready, /debug/pprof/ …) is one line and exit 2,
// not a panic of Go's ServeMux. Every route the command adds is checked
// with it.
func checkRoutes(f *flagValues) (err error) {
	defer func() {
		if r := recover(); r != nil {
			msg := registeredAt.ReplaceAllString(fmt.Sprint(r), "")
			msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, ":\n", ": ")), " ")
			err = fmt.Errorf("--web.telemetry-path %q clashes with another of lagwatch's routes: %s", f.telemetryPath, msg)
		}
	}()
	logger := slog.New(slog.DiscardHandler)
	_, err = routes(exporter.NewClusters(f.exporterOpts), fleet.New(nil, nil, logger), func() error { return nil }, f, logger)
	return err
}

// listen opens every --web.listen-address before anything else starts,
// so that a port in use or an address not of this host is bad input:
// one line and exit 2. With --web.systemd-socket, or for vsock addresses,
// the exporter toolkit listens itself (nil listeners).
func listen(flags *web.FlagConfig) ([]net.Listener, error) {
	if flags.WebSystemdSocket != nil && *flags.WebSystemdSocket {
		return nil, nil
	}
	var listeners []net.Listener
	for _, addr := range *flags.WebListenAddresses {
		if strings.HasPrefix(addr, "vsock://") {
			closeAll(listeners)
			return nil, nil
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll(listeners)
			return nil, fmt.Errorf("--web.listen-address %q: %v", addr, errors.Unwrap(err))
		}
		listeners = append(listeners, l)
	}
	return listeners, nil
}

func closeAll(listeners []net.Listener) {
	for _, l := range listeners {
		_ = l.Close()
	}
}

// serveHTTP serves on the listeners opened by listen, or lets the toolkit
// listen where listen left it to it.
func serveHTTP(server *http.Server, listeners []net.Listener, flags *web.FlagConfig, logger *slog.Logger) error {
	if listeners == nil {
		return web.ListenAndServe(server, flags, logger)
	}
	return web.ServeMultiple(listeners, server, flags, logger)
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
