package kafkatest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// MavenJars is a set of jars pinned by a pom and fetched with Maven into a
// cache directory: the broker's (EnsureJars) and any other Java component
// a test harness runs beside it (internal/frameworks). Concurrent callers,
// including other test binaries (go test runs packages in parallel) and
// the Makefile's deps step, wait on a file lock so only one runs Maven;
// a marker holding the pom's hash, written last, makes a fetch killed
// halfway, or one of an older pom, redo itself.
type MavenJars struct {
	What string // names the set in messages, e.g. "Apache Kafka 4.3.1"
	Pom  []byte
	Dir  string // the cache directory; the jars go to Dir/lib
	// Tools must be on PATH before Maven runs (java, and javac where the
	// harness compiles Java); mvn is always needed.
	Tools []string
	// Required are globs within lib that must match once Maven is done.
	Required []string
}

const (
	completeMarker = ".complete"
	lockFile       = ".lock"
	fetchTimeout   = 15 * time.Minute
)

// Ensure returns the directory holding the jars, running Maven the first
// time.
func (m MavenJars) Ensure() (libDir string, err error) {
	libDir = filepath.Join(m.Dir, "lib")
	want := m.pomHash()
	if m.complete(want) {
		return libDir, nil
	}
	if err := os.MkdirAll(m.Dir, 0o755); err != nil {
		return "", fmt.Errorf("create the jar cache of %s: %w", m.What, err)
	}
	unlock, err := lockFileIn(m.Dir)
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another process may have completed the fetch while we waited.
	if m.complete(want) {
		return libDir, nil
	}
	mvn, err := m.lookTools()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "kafkatest: fetching the jars of %s with Maven into %s\n", m.What, libDir)
	if err := m.fetch(mvn, libDir); err != nil {
		return "", err
	}
	tmp := filepath.Join(m.Dir, completeMarker+".tmp")
	if err := os.WriteFile(tmp, []byte(want+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("write the jar cache marker of %s: %w", m.What, err)
	}
	if err := os.Rename(tmp, filepath.Join(m.Dir, completeMarker)); err != nil {
		return "", fmt.Errorf("write the jar cache marker of %s: %w", m.What, err)
	}
	return libDir, nil
}

// PomHash is the hex SHA-256 of a pom: the cache marker's content.
func PomHash(pom []byte) string {
	sum := sha256.Sum256(pom)
	return hex.EncodeToString(sum[:])
}

func (m MavenJars) pomHash() string { return PomHash(m.Pom) }

func (m MavenJars) complete(want string) bool {
	got, err := os.ReadFile(filepath.Join(m.Dir, completeMarker))
	return err == nil && strings.TrimSpace(string(got)) == want
}

// lookTools checks for the Java tools before mvn: Maven without a JDK
// fails with a message that does not say what to install.
func (m MavenJars) lookTools() (mvn string, err error) {
	for _, tool := range m.Tools {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("kafkatest: %s not found on PATH: install a Java 17+ JDK (Debian: apt-get install openjdk-17-jdk-headless)", tool)
		}
	}
	mvn, err = exec.LookPath("mvn")
	if err != nil {
		return "", errors.New("kafkatest: mvn not found on PATH: install Maven 3.6+ (Debian: apt-get install maven)")
	}
	return mvn, nil
}

func (m MavenJars) fetch(mvn, libDir string) error {
	pomPath := filepath.Join(m.Dir, "pom.xml")
	if err := os.WriteFile(pomPath, m.Pom, 0o644); err != nil {
		return fmt.Errorf("write the pom of %s: %w", m.What, err)
	}
	// Jars of an older, different pom must not linger on the classpath.
	if err := os.RemoveAll(libDir); err != nil {
		return fmt.Errorf("clear %s: %w", libDir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mvn, "-q", "-B", "-f", pomPath,
		"dependency:copy-dependencies", "-DoutputDirectory="+libDir)
	cmd.Dir = m.Dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mvn dependency:copy-dependencies for %s: %w\n%s", m.What, err, lastLines(out.String(), 40))
	}
	for _, glob := range m.Required {
		if found, _ := filepath.Glob(filepath.Join(libDir, glob)); len(found) == 0 {
			return fmt.Errorf("Maven finished but no %s is in %s", glob, libDir)
		}
	}
	return nil
}

// lockFileIn takes an exclusive flock on dir/.lock. The kernel drops the
// lock when the process dies, so a killed fetch never wedges later runs.
func lockFileIn(dir string) (unlock func(), err error) {
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

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
