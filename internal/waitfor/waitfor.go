// Package waitfor holds what tests that run lagwatch as a process share:
// waiting for a condition with a deadline instead of sleeping, deadlines
// that stretch on a slow machine, and a free loopback address to serve on.
package waitfor

import (
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// SlowdownEnv names the one setting every deadline of the real-broker
// tests scales with: how many times slower than a quiet 2-core machine
// this one is (default 1). On a busy laptop or a shared CI runner set it to
// 3 or more; a wait that ends early is never slowed down, only the point at
// which a test gives up moves.
const SlowdownEnv = "LAGWATCH_TEST_SLOWDOWN"

// slowdown parses SlowdownEnv once.
var slowdown = sync.OnceValues(func() (float64, error) {
	s := os.Getenv(SlowdownEnv)
	if s == "" {
		return 1, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 1 || f > 100 {
		return 1, fmt.Errorf("%s=%q: want a factor from 1 to 100, such as 3", SlowdownEnv, s)
	}
	return f, nil
})

// Slowdown is the factor from LAGWATCH_TEST_SLOWDOWN, 1 when it is unset.
// A value that is not a number from 1 to 100 stops the test binary with
// one line on stderr and exit code 2: a typo must not quietly shorten or
// stretch every deadline.
func Slowdown() float64 {
	f, err := slowdown()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	return f
}

// Scaled is d stretched by Slowdown: the deadline for something that takes
// well under d on a quiet machine.
func Scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * Slowdown())
}

// Condition retries check every 100 ms until it returns nil, and fails the
// test with check's last error once within, scaled by Slowdown, has
// passed.
func Condition(t testing.TB, within time.Duration, what string, check func() error) {
	t.Helper()
	within = Scaled(within)
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
