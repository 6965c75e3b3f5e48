package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/prometheus/exporter-toolkit/web"
)

// Listen opens every --web.listen-address before anything else starts,
// so that a port in use or an address not of this host is bad input:
// one line and exit 2. With --web.systemd-socket, or for vsock addresses,
// the exporter toolkit listens itself (nil listeners).
func Listen(flags *web.FlagConfig) ([]net.Listener, error) {
	if flags.WebSystemdSocket != nil && *flags.WebSystemdSocket {
		return nil, nil
	}
	var listeners []net.Listener
	for _, addr := range *flags.WebListenAddresses {
		if strings.HasPrefix(addr, "vsock://") {
			CloseAll(listeners)
			return nil, nil
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			CloseAll(listeners)
			return nil, fmt.Errorf("--web.listen-address %q: %v", addr, errors.Unwrap(err))
		}
		listeners = append(listeners, l)
	}
	return listeners, nil
}

// CloseAll closes the listeners Listen opened.
func CloseAll(listeners []net.Listener) {
	for _, l := range listeners {
		_ = l.Close()
	}
}

// Serve serves on the listeners opened by Listen, or lets the toolkit
// listen where Listen left it to it.
func Serve(server *http.Server, listeners []net.Listener, flags *web.FlagConfig, logger *slog.Logger) error {
	if listeners == nil {
		return web.ListenAndServe(server, flags, logger)
	}
	return web.ServeMultiple(listeners, server, flags, logger)
}
