// Package waitfor holds what tests that run lagwatch as a process share:
// waiting for a condition with a deadline instead of sleeping, and a free
// loopback address to serve on.
package waitfor

import (
	"net"
	"testing"
	"time"
)

// Condition retries check every 100 ms until it returns nil, and fails the
// test with check's last error once within has passed.
func Condition(t testing.TB, within time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// FreeAddr returns a loopback host:port nothing listens on right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
