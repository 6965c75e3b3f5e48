package collector

import (
	"os"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

// The real Apache Kafka broker this package's tests run against, shared by
// all of them; every test uses its own topics and groups.
var broker *kafkatest.Broker

// t0 is the time of the first poll in tests that drive the clock.
var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	os.Exit(kafkatest.Main(m, kafkatest.Options{ServerProperties: map[string]string{
		// Retention every 2 s rather than every 5 minutes, so that a
		// short-retention topic loses its old segments within a test.
		"log.retention.check.interval.ms": "2000",
	}}, &broker))
}
