// Command fetchjars downloads the Kafka broker jars that kafkatest runs, so
// that `make test` shows the one-time Maven download as its own step
// instead of inside the first integration test. It prints the jar directory.
package main

import (
	"fmt"
	"os"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

func main() {
	libDir, err := kafkatest.EnsureJars()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(libDir)
}
