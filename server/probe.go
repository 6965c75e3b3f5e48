package server

import (
	"fmt"
	"net"
	"net/http"

	"github.com/lagwatch/lagwatch/fleet"
)

// ProbeRoutes are what --web.probe-address serves: /-/healthy and
// /-/ready, without the TLS and basic auth of --web.config.file, for
// probes that cannot present them (Kubernetes' httpGet probes take no
// header from a Secret). They say only whether lagwatch runs and is
// ready, never which clusters it polls.
func ProbeRoutes(clusters *fleet.Fleet) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy.")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if ready, _ := clusters.Ready(); !ready {
			http.Error(w, "Not ready: no poll of Kafka has succeeded yet.", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready.")
	})
	return mux
}

// ListenProbe opens --web.probe-address, if given: a port in use is bad
// input, as for --web.listen-address.
func ListenProbe(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--web.probe-address %q: %v", addr, unwrapAll(err))
	}
	return l, nil
}

// unwrapAll is the innermost error: "bind: address already in use".
func unwrapAll(err error) error {
	for {
		inner, ok := err.(interface{ Unwrap() error })
		if !ok || inner.Unwrap() == nil {
			return err
		}
		err = inner.Unwrap()
	}
}
