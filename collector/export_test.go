package collector

import "github.com/lagwatch/lagwatch/internal/kafkatest"

// SharedBroker is the package's real broker, for the tests of package
// collector_test, which poll it and read the result through the exporter
// as Prometheus does.
func SharedBroker() *kafkatest.Broker { return broker }
