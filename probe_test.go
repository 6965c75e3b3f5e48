package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// With basic auth in --web.config.file, the metrics port answers 401 to
// a client without credentials, as it should, and so would Kubernetes'
// httpGet probes. --web.probe-address serves /-/healthy and /-/ready
// without auth, and nothing else.
func TestProbeAddressServesHealthAndReadinessWithoutTheWebConfigsAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(webConfig, []byte("basic_auth_users:\n  prometheus: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, probeAddr := waitfor.FreeAddr(t), waitfor.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--web.listen-address=" + addr, "--web.probe-address=" + probeAddr, "--web.config.file=" + webConfig,
			"--kafka.server=127.0.0.1:1", "--log.level=error"}, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("exit %d", code)
		}
	}()
	waitfor.Condition(t, 10*time.Second, "lagwatch serves", func() error {
		_, err := get("http://" + probeAddr + "/-/healthy")
		return err
	})
	for _, c := range []struct {
		url  string
		want int
	}{
		{"http://" + addr + "/-/healthy", http.StatusUnauthorized},
		{"http://" + addr + "/metrics", http.StatusUnauthorized},
		{"http://" + probeAddr + "/-/healthy", http.StatusOK},
		{"http://" + probeAddr + "/-/ready", http.StatusServiceUnavailable}, // no broker at 127.0.0.1:1
		{"http://" + probeAddr + "/metrics", http.StatusNotFound},
		{"http://" + probeAddr + "/", http.StatusNotFound},
	} {
		r, err := get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		if r.status != c.want {
			t.Errorf("GET %s: %d, want %d", c.url, r.status, c.want)
		}
	}
}
