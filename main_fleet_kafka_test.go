package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// metricValue is the value of the scrape's line for series, exactly as
// written (labels in lagwatch's order).
func metricValue(base, series string) (float64, error) {
	r, err := get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(r.body, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("no series %s in /metrics", series)
}

func reloadBy(t *testing.T, base string) response {
	t.Helper()
	resp, err := http.Post(base+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := new(strings.Builder)
	_, _ = fmt.Fprint(body, resp.Status)
	return response{status: resp.StatusCode, body: body.String()}
}

// Two real clusters in one lagwatch: the shared broker is cluster "one",
// a second broker started here is cluster "two".
func TestTwoClustersInOneProcessAreApartInHealthAndReloadAddsAndRemovesThem(t *testing.T) {
	addrOne := kafkatest.Require(t, broker)
	second, err := kafkatest.Start(kafkatest.Options{})
	if err != nil {
		t.Fatalf("second broker: %v", err)
	}
	t.Cleanup(func() { _ = second.Stop() })
	addrTwo := second.Addr()

	for _, c := range []struct{ addr, topic, group string }{{addrOne, "fleet-one", "fleet-g1"}, {addrTwo, "fleet-two", "fleet-g2"}} {
		kafkatest.CreateTopic(t, c.addr, c.topic, 1, nil)
		kafkatest.Produce(t, c.addr, c.topic, 0, 5)
		kafkatest.CommitOffsets(t, c.addr, c.group, map[string]map[int32]int64{c.topic: {0: 2}})
	}
	config := filepath.Join(t.TempDir(), "lagwatch.yml")
	writeFile := func(yaml string) {
		t.Helper()
		if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	clusterOne := "  - {name: one, servers: [" + addrOne + "], labels: {env: test}, topic_filter: 'fleet-.*'}\n"
	writeFile("clusters:\n" + clusterOne + "  - {name: two, servers: [" + addrTwo + "], topic_filter: 'fleet-.*'}\n")

	base := startExporter(t, "--config.file="+config, "--kafka.poll-interval=300ms", "--lag.window=10s")
	lagOne := `kafka_consumergroup_lag{cluster="one",env="test",consumergroup="fleet-g1",topic="fleet-one",partition="0"}`
	lagTwo := `kafka_consumergroup_lag{cluster="two",consumergroup="fleet-g2",topic="fleet-two",partition="0"}`
	upOne, upTwo := `lagwatch_up{cluster="one",env="test"}`, `lagwatch_up{cluster="two"}`
	waitfor.Condition(t, 20*time.Second, "both clusters polled", func() error {
		for _, l := range []string{lagOne + " 3", lagTwo + " 3", upOne + " 1", upTwo + " 1", "lagwatch_config_last_reload_successful 1"} {
			if err := metricLine(base, l); err != nil {
				return err
			}
		}
		return nil
	})

	// Kill cluster two: its health says so, cluster one stays current.
	if err := second.Kill(); err != nil {
		t.Fatal(err)
	}
	kafkatest.Produce(t, addrOne, "fleet-one", 0, 4)
	waitfor.Condition(t, 20*time.Second, "cluster two down, cluster one current", func() error {
		for _, l := range []string{upTwo + " 0", upOne + " 1", lagOne + " 7"} {
			if err := metricLine(base, l); err != nil {
				return err
			}
		}
		return nil
	})
	if r, err := get(base + "/-/ready"); err != nil || r.status != http.StatusOK {
		t.Errorf("/-/ready with one of two clusters down = %d %v, want 200", r.status, err)
	}

	// Reload: cluster two removed, cluster three added, cluster one kept
	// with its poller (its poll count goes on rather than restarting).
	pollsOne := `lagwatch_poll_duration_seconds_count{cluster="one",env="test"}`
	before, err := metricValue(base, pollsOne)
	if err != nil {
		t.Fatal(err)
	}
	writeFile("clusters:\n" + clusterOne + "  - {name: three, servers: [" + addrOne + "], group_filter: 'fleet-g1', topic_filter: 'fleet-.*'}\n")
	if r := reloadBy(t, base); r.status != http.StatusOK {
		t.Fatalf("POST /-/reload = %s", r.body)
	}
	waitfor.Condition(t, 20*time.Second, "cluster three added, two removed", func() error {
		if err := metricLine(base, `kafka_consumergroup_lag{cluster="three",consumergroup="fleet-g1",topic="fleet-one",partition="0"} 7`); err != nil {
			return err
		}
		r, err := get(base + "/metrics")
		if err != nil {
			return err
		}
		if strings.Contains(r.body, `cluster="two"`) {
			return fmt.Errorf("cluster two still served after its removal")
		}
		return nil
	})
	if after, err := metricValue(base, pollsOne); err != nil || after < before {
		t.Errorf("cluster one's polls went from %v to %v (%v) across the reload: its poller was replaced", before, after, err)
	}

	// An invalid file is refused; the clusters stay as they were.
	writeFile("clusters:\n" + clusterOne + "  - {name: three, servers: [nope]}\n")
	if r := reloadBy(t, base); r.status != http.StatusInternalServerError {
		t.Errorf("POST /-/reload of an invalid file = %s, want 500", r.body)
	}
	if err := metricLine(base, "lagwatch_config_last_reload_successful 0"); err != nil {
		t.Error(err)
	}
	if err := metricLine(base, upOne+" 1"); err != nil {
		t.Errorf("cluster one after a refused reload: %v", err)
	}

	// SIGHUP reloads too: only cluster one now.
	writeFile("clusters:\n" + clusterOne)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitfor.Condition(t, 10*time.Second, "reloaded on SIGHUP", func() error {
		if err := metricLine(base, "lagwatch_config_last_reload_successful 1"); err != nil {
			return err
		}
		r, err := get(base + "/metrics")
		if err != nil {
			return err
		}
		if strings.Contains(r.body, `cluster="three"`) {
			return fmt.Errorf("cluster three still served")
		}
		return metricLine(base, lagOne+" 7")
	})
}
