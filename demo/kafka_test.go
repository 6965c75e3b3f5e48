package demo

import (
	"os"
	"testing"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

// broker is the real Apache Kafka broker for this package's tests; nil
// under -short.
var broker *kafkatest.Broker

func TestMain(m *testing.M) {
	os.Exit(kafkatest.Main(m, kafkatest.Options{ServerProperties: map[string]string{
		// Kafka deletes expired segments only when its retention task
		// runs: every 5 minutes, first 30 s after start, by default.
		// The test's topic keeps messages for 2 s.
		"log.retention.check.interval.ms": "500",
		"log.initial.task.delay.ms":       "0",
	}}, &broker))
}

// TestWorkloadOnApacheKafka runs the demo against a real broker, as the
// docker-compose stack does with --kafka.server: the topic configs, the
// classic groups, the crashed static member and segment-based retention
// must work there too, not only in kfake.
func TestWorkloadOnApacheKafka(t *testing.T) {
	testWorkload(t, []string{kafkatest.Require(t, broker)})
}
