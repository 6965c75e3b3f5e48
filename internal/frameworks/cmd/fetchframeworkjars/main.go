// Command fetchframeworkjars downloads the Kafka Streams and Kafka Connect
// jars the framework corpus runs, so `make test` fetches them in its deps
// step. It prints the jar directory.
package main

import (
	"fmt"
	"os"

	"github.com/lagwatch/lagwatch/internal/frameworks"
)

func main() {
	libDir, err := frameworks.EnsureJars()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(libDir)
}
