package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// The real Apache Kafka broker the exporter runs against in these tests.
var broker *kafkatest.Broker

func TestMain(m *testing.M) {
	os.Exit(kafkatest.Main(m, kafkatest.Options{}, &broker))
}

// startExporter runs lagwatch as main would, on a free loopback port, and
// returns its base URL. It stops when the test ends.
func startExporter(t *testing.T, args ...string) string {
	t.Helper()
	addr := waitfor.FreeAddr(t)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, append([]string{"--web.listen-address=" + addr, "--log.level=error"}, args...), io.Discard, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("lagwatch exited with %d: %s", code, stderr.String())
		}
	})
	base := "http://" + addr
	waitfor.Condition(t, 10*time.Second, "lagwatch serves", func() error {
		_, err := get(base + "/-/healthy")
		return err
	})
	return base
}

type response struct {
	status int
	body   string
}

func get(url string) (response, error) {
	resp, err := http.Get(url)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(body)}, err
}

// metricLine checks that the scrape has the exact line `series value`.
func metricLine(base, line string) error {
	r, err := get(base + "/metrics")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(r.body, "\n") {
		if l == line {
			return nil
		}
	}
	return fmt.Errorf("no line %q in /metrics", line)
}

func TestWithTheBrokerDownAtStartUpIsZeroAndNotReadyUntilItComesUp(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	if err := broker.Kill(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = broker.Restart()
		}
	})

	base := startExporter(t, "--kafka.server="+addr, "--kafka.poll-interval=300ms", "--lag.window=10s")
	waitfor.Condition(t, 10*time.Second, "lagwatch serves", func() error { return metricLine(base, "lagwatch_up 0") })
	if r, err := get(base + "/-/ready"); err != nil || r.status != http.StatusServiceUnavailable {
		t.Fatalf("/-/ready with the broker down = %d %v, want 503", r.status, err)
	}
	if r, err := get(base + "/-/healthy"); err != nil || r.status != http.StatusOK {
		t.Fatalf("/-/healthy = %d %v, want 200 while the process runs", r.status, err)
	}

	if err := broker.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitfor.Condition(t, 30*time.Second, "lagwatch serves", func() error {
		r, err := get(base + "/-/ready")
		if err != nil || r.status != http.StatusOK {
			return fmt.Errorf("/-/ready = %d %v", r.status, err)
		}
		return metricLine(base, "lagwatch_up 1")
	})
}

func TestLandingPageBuildInfoAndMetricsAreServed(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	base := startExporter(t, "--kafka.server="+addr, "--kafka.poll-interval=300ms", "--lag.window=10s")
	r, err := get(base + "/")
	if err != nil || r.status != http.StatusOK || !strings.Contains(r.body, "/metrics") {
		t.Fatalf("landing page = %d %v, want 200 linking /metrics", r.status, err)
	}
	waitfor.Condition(t, 10*time.Second, "lagwatch serves", func() error {
		r, err := get(base + "/metrics")
		if err != nil {
			return err
		}
		for _, want := range []string{"lagwatch_build_info{", "kafka_brokers 1", "lagwatch_kafka_requests_total{api=\"Metadata\"}", "lagwatch_poll_duration_seconds_bucket"} {
			if !strings.Contains(r.body, want) {
				return fmt.Errorf("/metrics lacks %q", want)
			}
		}
		return nil
	})
}

func TestBrokerKilledDuringPollsServesStaleSnapshotThenDropsGroupsAndRecovers(t *testing.T) {
	addr := kafkatest.Require(t, broker)
	kafkatest.CreateTopic(t, addr, "fault-orders", 1, nil)
	kafkatest.Produce(t, addr, "fault-orders", 0, 5)
	kafkatest.CommitOffsets(t, addr, "fault-group", map[string]map[int32]int64{"fault-orders": {0: 2}})
	lagLine := `kafka_consumergroup_lag{consumergroup="fault-group",topic="fault-orders",partition="0"} 3`

	base := startExporter(t, "--kafka.server="+addr, "--kafka.poll-interval=300ms", "--lag.window=10s", "--kafka.stale-after=4s")
	waitfor.Condition(t, 15*time.Second, "lagwatch serves", func() error { return metricLine(base, lagLine) })

	if err := broker.Kill(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = broker.Restart()
		}
	})
	// Stale: polls fail, the last snapshot is still served for a while.
	waitfor.Condition(t, 10*time.Second, "lagwatch serves", func() error {
		if err := metricLine(base, "lagwatch_up 0"); err != nil {
			return err
		}
		return metricLine(base, lagLine)
	})
	// Past --kafka.stale-after the frozen lag is dropped, not reported as current.
	waitfor.Condition(t, 15*time.Second, "lagwatch serves", func() error {
		if metricLine(base, lagLine) == nil {
			return fmt.Errorf("frozen lag still served")
		}
		return metricLine(base, "lagwatch_up 0")
	})

	if err := broker.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitfor.Condition(t, 30*time.Second, "lagwatch serves", func() error {
		if err := metricLine(base, "lagwatch_up 1"); err != nil {
			return err
		}
		return metricLine(base, lagLine)
	})
}

func TestRuntimeProfilesAreServedOnlyWhenEnabled(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		args := []string{"--kafka.server=127.0.0.1:1"} // profiles need no Kafka
		want := http.StatusNotFound
		if enabled {
			args, want = append(args, "--web.enable-pprof"), http.StatusOK
		}
		base := startExporter(t, args...)
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap"} {
			if r, err := get(base + path); err != nil || r.status != want {
				t.Errorf("--web.enable-pprof=%v: GET %s = %d %v, want %d", enabled, path, r.status, err, want)
			}
		}
	}
}
