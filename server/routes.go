package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"regexp"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/fleet"
)

// Options are the settings of the routes, from the --web.* flags.
type Options struct {
	// TelemetryPath is --web.telemetry-path, where the metrics are served.
	TelemetryPath string
	// MaxRequests is --web.max-requests: scrapes served at once; < 1
	// means no limit.
	MaxRequests int
	// EnablePprof is --web.enable-pprof.
	EnablePprof bool
}

// ErrNothingToReload is a reload's answer without --config.file.
var ErrNothingToReload = errors.New("nothing to reload: lagwatch runs on its flags, with no --config.file")

// Routes are lagwatch's HTTP endpoints: the metrics, health and readiness,
// the landing page, /-/reload and, when asked for, pprof.
func Routes(e *exporter.Exporter, clusters *fleet.Fleet, reload func() error, o Options, logger *slog.Logger) (*http.ServeMux, error) {
	// Go and process metrics; lagwatch's own come from the metric table.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	mux := http.NewServeMux()
	mux.Handle(o.TelemetryPath, limitRequests(exporter.Handler(e, reg, logger), o.MaxRequests))
	if o.EnablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	healthy := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy.") }
	mux.HandleFunc("/-/healthy", healthy)
	// kafka_exporter's liveness path, which its chart probes.
	mux.HandleFunc("/healthz", healthy)
	// Ready once some cluster has been polled: one unreachable cluster of
	// several must not take the others' series out of service discovery.
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		ready, waiting := clusters.Ready()
		if !ready {
			http.Error(w, "Not ready: no poll of Kafka has succeeded yet.", http.StatusServiceUnavailable)
			return
		}
		if len(waiting) > 0 && waiting[0] != "" {
			fmt.Fprintf(w, "Ready. Not polled successfully yet: %s.\n", strings.Join(waiting, ", "))
			return
		}
		fmt.Fprintln(w, "Ready.")
	})
	{
		// Prometheus's convention: POST /-/reload, 200 once applied, 500
		// with the reason when the new configuration is refused.
		mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost && r.Method != http.MethodPut {
				w.Header().Set("Allow", "POST, PUT")
				http.Error(w, "Only POST or PUT requests allowed.", http.StatusMethodNotAllowed)
				return
			}
			err := reload()
			if errors.Is(err, ErrNothingToReload) {
				fmt.Fprintln(w, "Nothing to reload: lagwatch runs on its flags, with no --config.file; nothing changed.")
				return
			}
			if err != nil {
				http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
				return
			}
			fmt.Fprintln(w, "Reloaded.")
		})
	}
	if o.TelemetryPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "lagwatch",
			Description: "Kafka consumer-lag and partition-health exporter",
			Version:     version.Info(),
			// The toolkit links the profiles unless told not to; they
			// answer only with --web.enable-pprof.
			Profiling: strconv.FormatBool(o.EnablePprof),
			Links: []web.LandingLinks{
				{Address: o.TelemetryPath, Text: "Metrics"},
				{Address: "/-/healthy", Text: "Health"},
				{Address: "/-/ready", Text: "Readiness"},
			},
		})
		if err != nil {
			return nil, err
		}
		mux.Handle("/", landing)
	}
	return mux, nil
}

// registeredAt is where ServeMux's panic says a pattern was registered:
// lagwatch's source lines, of no use to the user.
var registeredAt = regexp.MustCompile(` \(registered at [^)]*\)`)

// CheckRoutes builds lagwatch's routes once with the flags as given,
// before anything starts, so that a telemetry path clashing with another
// route (/-/healthy, /-/ready, /debug/pprof/ …) is one line and exit 2,
// not a panic of Go's ServeMux. Every route the command adds is checked
// with it.
func CheckRoutes(o Options, exporterOpts exporter.Options) (err error) {
	defer func() {
		if r := recover(); r != nil {
			msg := registeredAt.ReplaceAllString(fmt.Sprint(r), "")
			msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, ":\n", ": ")), " ")
			err = fmt.Errorf("--web.telemetry-path %q clashes with another of lagwatch's routes: %s", o.TelemetryPath, msg)
		}
	}()
	logger := slog.New(slog.DiscardHandler)
	_, err = Routes(exporter.NewClusters(exporterOpts), fleet.New(nil, nil, logger), func() error { return nil }, o, logger)
	return err
}
