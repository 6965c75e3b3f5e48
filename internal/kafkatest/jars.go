package kafkatest

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
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

const (
	// completeMarker is written after Maven copied every jar; its content is
	// the pom's hash, so editing pom.xml invalidates the cache.
	completeMarker = ".complete"
	lockFile       = ".lock"
	fetchTimeout   = 15 * time.Minute
)

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
// them with Maven the first time. Concurrent callers, including other test
// binaries (go test runs packages in parallel), wait on a file lock so only
// one of them runs Maven.
func EnsureJars() (libDir string, err error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	libDir = filepath.Join(dir, "lib")
	want := pomHash()
	if cacheComplete(dir, want) {
		return libDir, nil
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("kafkatest: create jar cache: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another process may have completed the fetch while we waited.
	if cacheComplete(dir, want) {
		return libDir, nil
	}

	mvn, err := lookTools()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "kafkatest: fetching Apache Kafka %s jars with Maven into %s\n", KafkaVersion(), libDir)
	if err := fetchJars(mvn, dir, libDir); err != nil {
		return "", err
	}
	// Written last and renamed into place: a fetch killed halfway leaves no
	// marker and is redone by the next caller.
	tmp := filepath.Join(dir, completeMarker+".tmp")
	if err := os.WriteFile(tmp, []byte(want+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("kafkatest: write cache marker: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, completeMarker)); err != nil {
		return "", fmt.Errorf("kafkatest: write cache marker: %w", err)
	}
	return libDir, nil
}

func pomHash() string {
	sum := sha256.Sum256(pom)
	return hex.EncodeToString(sum[:])
}

func cacheComplete(dir, want string) bool {
	got, err := os.ReadFile(filepath.Join(dir, completeMarker))
	return err == nil && strings.TrimSpace(string(got)) == want
}

// lockDir takes an exclusive flock on dir/.lock. The kernel drops the lock
// when the process dies, so a killed fetch never wedges later runs.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: open jar cache lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("kafkatest: lock jar cache: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// lookTools checks for java before mvn: Maven without a JDK fails with a
// message that does not say what to install.
func lookTools() (mvn string, err error) {
	if _, err := javaPath(); err != nil {
		return "", err
	}
	mvn, err = exec.LookPath("mvn")
	if err != nil {
		return "", errors.New("kafkatest: mvn not found on PATH: install Maven 3.6+ (Debian: apt-get install maven)")
	}
	return mvn, nil
}

func javaPath() (string, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return "", errors.New("kafkatest: java not found on PATH: install a Java 17+ JDK (Debian: apt-get install openjdk-17-jdk-headless)")
	}
	return java, nil
}

func fetchJars(mvn, dir, libDir string) error {
	pomPath := filepath.Join(dir, "pom.xml")
	if err := os.WriteFile(pomPath, pom, 0o644); err != nil {
		return fmt.Errorf("kafkatest: write pom: %w", err)
	}
	// Jars of an older, different pom must not linger on the classpath.
	if err := os.RemoveAll(libDir); err != nil {
		return fmt.Errorf("kafkatest: clear %s: %w", libDir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mvn, "-q", "-B", "-f", pomPath,
		"dependency:copy-dependencies", "-DoutputDirectory="+libDir)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kafkatest: mvn dependency:copy-dependencies for Kafka %s: %w\n%s",
			KafkaVersion(), err, lastLines(out.String(), 40))
	}
	jar := filepath.Join(libDir, "kafka_2.13-"+KafkaVersion()+".jar")
	if _, err := os.Stat(jar); err != nil {
		return fmt.Errorf("kafkatest: Maven finished but %s is missing: %w", jar, err)
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
