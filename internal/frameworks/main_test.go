package frameworks

import (
	"os"
	"testing"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

// The real Apache Kafka broker every member runs against, shared by the
// package.
var broker *kafkatest.Broker

func TestMain(m *testing.M) {
	if os.Getenv(crashHelperEnv) != "" {
		// Re-executed as the crashing consumer: no broker of its own.
		os.Exit(m.Run())
	}
	os.Exit(kafkatest.Main(m, kafkatest.Options{}, &broker))
}
