package kafkatest

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/lagwatch/lagwatch/internal/waitfor"
)

// Main runs a package's tests against one shared broker: it starts the
// broker into *broker, runs m.Run, stops the broker and returns the exit
// code for os.Exit. With -short no broker is started and *broker stays nil,
// so tests that call Require skip. A broker that fails to start fails the
// whole package with the broker's error, rather than skipping its tests
// silently.
func Main(m *testing.M, opts Options, broker **Broker) int {
	// testing.Short reads the -short flag, which m.Run has not parsed yet.
	if !flag.Parsed() {
		flag.Parse()
	}
	// A bad LAGWATCH_TEST_SLOWDOWN stops here, before a broker starts.
	waitfor.Slowdown()
	if testing.Short() {
		return m.Run()
	}
	b, err := Start(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the Kafka broker for this package's tests did not start:\n%v\n", err)
		return 1
	}
	*broker = b
	code := m.Run()
	if err := b.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: stop the Kafka broker: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Require returns the broker's PLAINTEXT address. It skips the test under
// -short, where Main starts no broker, and fails it when b is nil otherwise
// (the package's TestMain does not call Main).
func Require(t testing.TB, b *Broker) (addr string) {
	t.Helper()
	if b == nil {
		if testing.Short() {
			t.Skip("kafkatest: needs a Kafka broker; skipped with -short")
		}
		t.Fatal("kafkatest: no broker: call kafkatest.Main from TestMain")
	}
	return b.Addr()
}
