package kafkatest

import (
	_ "embed"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// pom pins the broker's jars; EnsureJars writes a copy into the cache
// directory because tests of other packages run with their own working
// directory and cannot find this file on disk.
//
//go:embed pom.xml
var pom []byte

// HomeEnv names the environment variable that overrides the jar cache
// directory (the jars then live in $LAGWATCH_KAFKA_HOME/lib).
const HomeEnv = "LAGWATCH_KAFKA_HOME"

// KafkaVersion is the Apache Kafka release the broker runs, as pinned in
// pom.xml (the single place to change it).
func KafkaVersion() string {
	var p struct {
		Version string `xml:"properties>kafka.version"`
	}
	if err := xml.Unmarshal(pom, &p); err != nil || p.Version == "" {
		// The pom is embedded at build time; TestPomPinsKafkaVersion guards it.
		panic(fmt.Sprintf("kafkatest: pom.xml has no <properties><kafka.version>: %v", err))
	}
	return p.Version
}

// CacheDir is where EnsureJars keeps the jars: $LAGWATCH_KAFKA_HOME if set,
// else $HOME/.cache/lagwatch/kafka-<version>.
func CacheDir() (string, error) {
	if dir := os.Getenv(HomeEnv); dir != "" {
		return filepath.Abs(dir)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("kafkatest: no cache directory (set %s): %w", HomeEnv, err)
	}
	return filepath.Join(base, "lagwatch", "kafka-"+KafkaVersion()), nil
}

// EnsureJars returns the directory holding the broker's jars, downloading
// them with Maven the first time (see MavenJars).
func EnsureJars() (libDir string, err error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	return MavenJars{
		What:     "Apache Kafka " + KafkaVersion(),
		Pom:      pom,
		Dir:      dir,
		Tools:    []string{"java"},
		Required: []string{"kafka_2.13-" + KafkaVersion() + ".jar"},
	}.Ensure()
}

func javaPath() (string, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return "", errors.New("kafkatest: java not found on PATH: install a Java 17+ JDK (Debian: apt-get install openjdk-17-jdk-headless)")
	}
	return java, nil
}
