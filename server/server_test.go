package server

import (
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// A client sending its request one byte at a time does not hold a
// connection past the server's header timeout.
func TestSlowClientIsCutOffAtTheHeaderTimeout(t *testing.T) {
	const timeout = 500 * time.Millisecond
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := New(http.NotFoundHandler(), timeout)
	go server.Serve(l)
	t.Cleanup(func() { server.Close() })

	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	request := []byte("GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: a-very-slow-client\r\n\r\n")
	for _, b := range request {
		if _, err := conn.Write([]byte{b}); err != nil {
			break
		}
		_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		buf := make([]byte, 512)
		if _, err := conn.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			break // closed by the server (or answered 408)
		}
		break
	}
	if held := time.Since(start); held > timeout+time.Second {
		t.Errorf("a client sending a byte every 100 ms held its connection for %v; the header timeout is %v", held, timeout)
	}
}

// Scrapes beyond --web.max-requests are answered 503 at once rather than
// queued behind the running ones.
func TestScrapesBeyondTheLimitAreRefusedAtOnce(t *testing.T) {
	release := make(chan struct{})
	var running sync.WaitGroup
	running.Add(2)
	h := limitRequests(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		running.Done()
		<-release
	}), 2)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := New(h, time.Second)
	go server.Serve(l)
	t.Cleanup(func() { server.Close() })
	url := "http://" + l.Addr().String() + "/metrics"
	for range 2 {
		go func() {
			if resp, err := http.Get(url); err == nil {
				resp.Body.Close()
			}
		}()
	}
	running.Wait()
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || time.Since(start) > time.Second {
		t.Errorf("third scrape: %d after %v, want 503 at once", resp.StatusCode, time.Since(start))
	}
	close(release)
}
