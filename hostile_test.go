package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/config"
	"github.com/lagwatch/lagwatch/exporter"
	"github.com/lagwatch/lagwatch/fleet"
	"github.com/lagwatch/lagwatch/internal/securetest"
	"github.com/lagwatch/lagwatch/internal/waitfor"
	"github.com/lagwatch/lagwatch/server"
)

// hostileTimeLimit is how long lagwatch may take to refuse any input of
// the hostile table, on a loaded 2-core machine; each case measures its
// own time, and the figures are in the test's log.
const hostileTimeLimit = 5 * time.Second

// clustersYAML is a --config.file of n small clusters.
func clustersYAML(n int) string {
	var b strings.Builder
	b.WriteString("clusters:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {name: c%d, servers: [127.0.0.1:1]}\n", i)
	}
	return b.String()
}

// aliasBomb is the "billion laughs" of YAML inside a cluster's fields:
// each anchor names the one before ten times, 10^9 strings if expanded,
// in under 500 bytes.
func aliasBomb() string {
	parts := []string{"&a0 [x]"}
	for i := 1; i <= 9; i++ {
		parts = append(parts, fmt.Sprintf("&a%d [%s]", i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 10), ",")))
	}
	return "clusters:\n  - name: a\n    servers: [" + strings.Join(parts, ", ") + "]\n"
}

// Hostile config files and flags: each is refused with exit code 2 and one
// line naming what is wrong, within hostileTimeLimit, and never panics,
// hangs or grows without bound.
func TestHostileConfigFilesAndFlagsAreRefusedInOneLineWithExitCode2(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cluster := func(fields string) string {
		return "clusters:\n  - {name: a, servers: [127.0.0.1:9092]" + fields + "}\n"
	}
	listen := "--web.listen-address=127.0.0.1:0"
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"10 MB label value (size bomb)", []string{"--config.file=" + file("bomb.yml", cluster(", labels: {env: "+strings.Repeat("x", 10<<20)+"}"))}, "bytes, larger than 1048576"},
		{"10 MB of comments", []string{"--config.file=" + file("comments.yml", strings.Repeat("# padding padding padding\n", 10<<20/26))}, "larger than 1048576"},
		{"40,000 clusters", []string{"--config.file=" + file("40k.yml", clustersYAML(40000))}, "larger than 1048576"},
		{"1,001 clusters", []string{"--config.file=" + file("1001.yml", clustersYAML(config.MaxClusters+1))}, "clusters: 1001 listed, more than 1000"},
		{"endless file (/dev/zero)", []string{"--config.file=/dev/zero"}, "larger than 1048576"},
		{"YAML alias bomb", []string{"--config.file=" + file("laughs.yml", aliasBomb())}, "--config.file"},
		{"deeply nested YAML", []string{"--config.file=" + file("nested.yml", "clusters: "+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+"\n")}, "--config.file"},
		{"2 KB label value", []string{"--config.file=" + file("label.yml", cluster(", labels: {env: "+strings.Repeat("x", 2048)+"}"))}, "labels: label env: value of 2048 bytes, longer than 1024"},
		{"label value not UTF-8", []string{"--config.file=" + file("utf8.yml", cluster(", labels: {env: \"\xff\"}"))}, "--config.file"},
		{"33 labels", []string{"--config.file=" + file("labels.yml", cluster(", labels: {"+manyLabels(32)+"}"))}, "33 labels, more than 32"},
		{"101 servers in a cluster", []string{"--config.file=" + file("servers.yml", "clusters:\n  - {name: a, servers: ["+strings.Repeat("k:1, ", config.MaxServersPerCluster)+"k:1]}\n")}, "servers: 101 listed, more than 100"},
		{"port 99999 in the file", []string{"--config.file=" + file("port.yml", "clusters:\n  - {name: a, servers: [127.0.0.1:99999]}\n")}, `servers: "127.0.0.1:99999" port "99999" is not a number from 1 to 65535`},
		{"port 0 in the file", []string{"--config.file=" + file("port0.yml", "clusters:\n  - {name: a, servers: [127.0.0.1:0]}\n")}, "servers"},
		{"port -1 in the file", []string{"--config.file=" + file("portneg.yml", "clusters:\n  - {name: a, servers: ['127.0.0.1:-1']}\n")}, "servers"},
		{"10 MB cluster name", []string{"--config.file=" + file("name.yml", "clusters:\n  - {name: "+strings.Repeat("n", 10<<20)+", servers: [a:1]}\n")}, "larger than 1048576"},
		{"1 KB+ cluster name", []string{"--config.file=" + file("name2.yml", "clusters:\n  - {name: "+strings.Repeat("n", 2000)+", servers: [a:1]}\n")}, "longer than 1024"},
		{"--kafka.server port 99999", []string{"--kafka.server=127.0.0.1:99999"}, "--kafka.server"},
		{"--kafka.labels of 10 MB", []string{"--kafka.labels=env=" + strings.Repeat("x", 10<<20)}, "longer than 1024"},
		{"--web.max-requests=-1", []string{"--web.max-requests=-1"}, "--web.max-requests"},
		{"--web.telemetry-path=/{x}", []string{"--web.telemetry-path=/{x}"}, "--web.telemetry-path"},
		{"--web.telemetry-path=/-/healthy", []string{"--web.telemetry-path=/-/healthy"}, "--web.telemetry-path"},
		{"--web.listen-address=:99999", []string{"--web.listen-address=:99999"}, "--web.listen-address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{listen}, tc.args...)
			start := time.Now()
			code := run(context.Background(), args, &stdout, &stderr)
			took := time.Since(start)
			line := strings.TrimSpace(stderr.String())
			t.Logf("exit %d in %v: %.160s", code, took.Round(time.Millisecond), line)
			if code != exitUsage {
				t.Fatalf("exit code = %d, want %d; stderr: %.300s", code, exitUsage, line)
			}
			if strings.Count(line, "\n") != 0 || len(line) > 1000 {
				t.Errorf("stderr is %d lines of %d bytes, want one short line: %.300s", strings.Count(line, "\n")+1, len(line), line)
			}
			if !strings.HasPrefix(line, "lagwatch: error:") || !strings.Contains(line, tc.want) {
				t.Errorf("stderr %.300q does not say %q", line, tc.want)
			}
			if took > hostileTimeLimit {
				t.Errorf("took %v to refuse, want at most %v", took, hostileTimeLimit)
			}
		})
	}
}

func manyLabels(n int) string {
	var pairs []string
	for i := range n {
		pairs = append(pairs, fmt.Sprintf("l%d: v", i))
	}
	return strings.Join(pairs, ", ")
}

// A port in use is bad input like any other: one line and exit 2, not a
// run-time failure after the pollers started.
func TestListenAddressInUseExitsWithCode2(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"--web.listen-address=" + l.Addr().String(), "--kafka.server=127.0.0.1:1"}, &stdout, &stderr)
	t.Logf("exit %d in %v: %s", code, time.Since(start).Round(time.Millisecond), strings.TrimSpace(stderr.String()))
	if code != exitUsage || !strings.Contains(stderr.String(), "--web.listen-address") || !strings.Contains(stderr.String(), "address already in use") {
		t.Errorf("exit %d, stderr %q; want 2 and a line naming --web.listen-address and the address in use", code, stderr.String())
	}
}

// SIGTERM while the configuration is being read (here a FIFO nobody
// writes, so the read never ends) stops lagwatch at once with exit 0.
func TestSIGTERMWhileLoadingTheConfigFileStopsAtOnce(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "lagwatch.yml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	ctx, terminate := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"--config.file=" + fifo, "--web.listen-address=127.0.0.1:0", "--log.level=error"}, io.Discard, &stderr)
	}()
	select {
	case code := <-done:
		t.Fatalf("lagwatch returned %d before the file was read: %s", code, stderr.String())
	case <-time.After(300 * time.Millisecond):
	}
	start := time.Now()
	terminate()
	select {
	case code := <-done:
		t.Logf("exit %d %v after SIGTERM", code, time.Since(start).Round(time.Millisecond))
		if code != exitOK {
			t.Errorf("exit %d after SIGTERM while loading, want 0: %s", code, stderr.String())
		}
	case <-time.After(hostileTimeLimit):
		t.Fatalf("lagwatch still loading %v after SIGTERM", hostileTimeLimit)
	}
	// Let the abandoned open of the FIFO return.
	if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		w.Close()
	}
}

// A reload that breaks a bound is refused as at start: the clusters stay,
// and the error is one line.
func TestReloadBeyondTheBoundsKeepsTheRunningClusters(t *testing.T) {
	path := writeConfig(t, clustersYAML(2))
	load := func() ([]config.Cluster, error) { return config.Load(path, baseConfig()) }
	specs, err := load()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := fleet.New(ctx, exporter.NewClusters(exporter.Options{}), slog.New(slog.DiscardHandler))
	if err := f.Apply(specs); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		clustersYAML(40000),
		clustersYAML(config.MaxClusters + 1),
		"clusters:\n  - {name: a, servers: [127.0.0.1:99999]}\n",
		"clusters:\n  - {name: a, servers: [a:1], labels: {env: " + strings.Repeat("x", 2048) + "}}\n",
	} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err := f.Reload(load)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("reload of a %d-byte file: %v, want a one-line error", len(bad), err)
		}
		if took := time.Since(start); took > hostileTimeLimit {
			t.Errorf("reload took %v", took)
		}
		if names := f.ClusterNames(); strings.Join(names, ",") != "c0,c1" {
			t.Errorf("clusters after a refused reload: %v", names)
		}
	}
	cancel()
	f.Wait()
}

// TLS handshake errors on the web port (a scraper speaking plain HTTP to
// a TLS listener) go through lagwatch's logger, at most one line a
// minute, not one line per connection through Go's standard log.
func TestTLSHandshakeErrorsAreLoggedThroughPromslogThrottled(t *testing.T) {
	ca, err := securetest.NewCA("lagwatch-test-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert := securetest.WriteFile(t, dir, "cert.pem", certPEM)
	key := securetest.WriteFile(t, dir, "key.pem", keyPEM)
	webConfig := securetest.WriteFile(t, dir, "web.yml", []byte("tls_server_config:\n  cert_file: "+cert+"\n  key_file: "+key+"\n"))

	var logs lockedLog
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app, f := newApp(io.Discard, io.Discard)
	if _, err := app.Parse([]string{"--web.config.file=" + webConfig, "--web.listen-address=" + l.Addr().String()}); err != nil {
		t.Fatal(err)
	}
	httpServer := server.New(http.NotFoundHandler(), time.Second)
	httpServer.ErrorLog = server.ErrorLog(logger)
	go func() { _ = server.Serve(httpServer, []net.Listener{l}, f.web, logger) }()
	t.Cleanup(func() { httpServer.Close() })

	const requests = 100
	for range requests {
		if resp, err := http.Get("http://" + l.Addr().String() + "/metrics"); err == nil {
			resp.Body.Close()
		}
	}
	waitfor.Condition(t, 10*time.Second, "the handshake error is logged", func() error {
		if !strings.Contains(logs.String(), "TLS handshake error") {
			return fmt.Errorf("not yet:\n%s", logs.String())
		}
		return nil
	})
	if n := strings.Count(logs.String(), "HTTP server error"); n != 1 {
		t.Errorf("%d plain-HTTP requests to the TLS port gave %d log lines, want 1:\n%s", requests, n, logs.String())
	}
	t.Logf("%d plain-HTTP requests to the TLS port: %d log line(s)", requests, strings.Count(logs.String(), "HTTP server error"))
}

type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
