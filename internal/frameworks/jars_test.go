package frameworks

import (
	"encoding/xml"
	"testing"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

// The framework clients are the broker's release: a Streams or Connect
// client newer or older than the broker would test a mix no user runs by
// default.
func TestFrameworkJarsAreTheBrokersKafkaRelease(t *testing.T) {
	var p struct {
		Version string `xml:"properties>kafka.version"`
	}
	if err := xml.Unmarshal(pom, &p); err != nil {
		t.Fatal(err)
	}
	if p.Version != kafkatest.KafkaVersion() {
		t.Errorf("internal/frameworks/pom.xml pins Kafka %q, the broker runs %q", p.Version, kafkatest.KafkaVersion())
	}
}
