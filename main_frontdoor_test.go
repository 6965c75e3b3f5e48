package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// SIGHUP's default action kills a process; `systemctl reload` sends it.
// Without --config.file lagwatch has nothing to reload: it says so in
// its log and keeps serving, and so does POST /-/reload.
func TestSIGHUPAndReloadWithoutConfigFileAreLoggedAndHarmless(t *testing.T) {
	addrs := startFilterCluster(t)
	base, logs := runLagwatch(t, "--kafka.server="+addrs[0], "--kafka.poll-interval=300ms", "--lag.window=10s")
	waitfor.Condition(t, 20*time.Second, "a poll", func() error { return metricLine(base, "lagwatch_up 1") })

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitfor.Condition(t, 10*time.Second, "the log says why SIGHUP changed nothing", func() error {
		if !strings.Contains(logs.String(), "no --config.file to read again") {
			return fmt.Errorf("not in the log:\n%s", logs.String())
		}
		return nil
	})
	resp, err := http.Post(base+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST /-/reload = %d, want 200", resp.StatusCode)
	}
	if err := metricLine(base, "lagwatch_up 1"); err != nil {
		t.Errorf("after SIGHUP and /-/reload: %v", err)
	}
}

// kafka_exporter's chart probes /healthz.
func TestHealthzAnswersAsHealthy(t *testing.T) {
	base, _ := runLagwatch(t, "--kafka.server=127.0.0.1:1")
	for _, path := range []string{"/healthz", "/-/healthy"} {
		if r, err := get(base + path); err != nil || r.status != http.StatusOK || r.body != "Healthy.\n" {
			t.Errorf("GET %s = %d %q %v, want 200 Healthy.", path, r.status, r.body, err)
		}
	}
}

// Every link of the landing page answers: the profiles are linked only
// with --web.enable-pprof, which serves them.
func TestLandingPageLinksOnlyWhatAnswers(t *testing.T) {
	addrs := startFilterCluster(t)
	for _, pprof := range []bool{false, true} {
		args := []string{"--kafka.server=" + addrs[0], "--kafka.poll-interval=300ms", "--lag.window=10s"}
		if pprof {
			args = append(args, "--web.enable-pprof")
		}
		base, _ := runLagwatch(t, args...)
		waitfor.Condition(t, 20*time.Second, "ready", func() error {
			r, err := get(base + "/-/ready")
			if err == nil && r.status != http.StatusOK {
				err = fmt.Errorf("/-/ready = %d", r.status)
			}
			return err
		})
		page, err := get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(page.body, "debug/pprof"); got != pprof {
			t.Errorf("--web.enable-pprof=%v: the landing page links the profiles: %v", pprof, got)
		}
		for _, m := range regexp.MustCompile(`href="([^"]+)"`).FindAllStringSubmatch(page.body, -1) {
			link := m[1]
			if strings.HasPrefix(link, "http") || strings.Contains(link, "seconds=") {
				continue // outside lagwatch, or a 60 s CPU profile
			}
			if r, err := get(base + "/" + strings.TrimPrefix(link, "/")); err != nil || r.status != http.StatusOK {
				t.Errorf("--web.enable-pprof=%v: link %s answers %d %v", pprof, link, r.status, err)
			}
		}
	}
}
