package frameworks

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
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

// pom pins the framework clients' jars (Kafka Streams, Kafka Connect);
// EnsureJars fetches them with Maven into a cache beside the broker's.
//
//go:embed pom.xml
var pom []byte

// HomeEnv names the environment variable that overrides the framework jar
// cache directory (the jars then live in $LAGWATCH_FRAMEWORKS_HOME/lib).
const HomeEnv = "LAGWATCH_FRAMEWORKS_HOME"

const fetchTimeout = 15 * time.Minute

// CacheDir is where EnsureJars keeps the jars: $LAGWATCH_FRAMEWORKS_HOME if
// set, else $HOME/.cache/lagwatch/frameworks-<pom hash prefix>.
func CacheDir() (string, error) {
	if dir := os.Getenv(HomeEnv); dir != "" {
		return filepath.Abs(dir)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("frameworks: no cache directory (set %s): %w", HomeEnv, err)
	}
	return filepath.Join(base, "lagwatch", "frameworks-"+pomHash()[:12]), nil
}

// EnsureJars returns the directory holding the framework jars, running
// Maven the first time. Concurrent callers (test binaries of several
// packages, the Makefile's deps step) wait on a file lock so only one runs
// Maven; a marker written last makes a fetch killed halfway redo itself.
func EnsureJars() (libDir string, err error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	libDir = filepath.Join(dir, "lib")
	marker := filepath.Join(dir, ".complete")
	if complete(marker) {
		return libDir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("frameworks: create jar cache: %w", err)
	}
	unlock, err := lock(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if complete(marker) {
		return libDir, nil
	}
	for _, tool := range []string{"java", "javac", "mvn"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("frameworks: %s not found on PATH: install a Java 17+ JDK and Maven (Debian: apt-get install openjdk-17-jdk-headless maven)", tool)
		}
	}
	fmt.Fprintf(os.Stderr, "frameworks: fetching Kafka Streams and Connect jars with Maven into %s\n", libDir)
	pomPath := filepath.Join(dir, "pom.xml")
	if err := os.WriteFile(pomPath, pom, 0o644); err != nil {
		return "", fmt.Errorf("frameworks: write pom: %w", err)
	}
	if err := os.RemoveAll(libDir); err != nil {
		return "", fmt.Errorf("frameworks: clear %s: %w", libDir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "mvn", "-q", "-B", "-f", pomPath,
		"dependency:copy-dependencies", "-DoutputDirectory="+libDir)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("frameworks: mvn dependency:copy-dependencies: %w\n%s", err, out.String())
	}
	for _, jar := range []string{"kafka-streams", "connect-runtime", "connect-file"} {
		if m, _ := filepath.Glob(filepath.Join(libDir, jar+"-*.jar")); len(m) == 0 {
			return "", fmt.Errorf("frameworks: Maven finished but no %s jar is in %s", jar, libDir)
		}
	}
	if err := os.WriteFile(marker+".tmp", []byte(pomHash()+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("frameworks: write cache marker: %w", err)
	}
	if err := os.Rename(marker+".tmp", marker); err != nil {
		return "", fmt.Errorf("frameworks: write cache marker: %w", err)
	}
	return libDir, nil
}

func pomHash() string {
	sum := sha256.Sum256(pom)
	return hex.EncodeToString(sum[:])
}

func complete(marker string) bool {
	got, err := os.ReadFile(marker)
	return err == nil && strings.TrimSpace(string(got)) == pomHash()
}

// lock takes an exclusive flock; the kernel drops it when the process dies.
func lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("frameworks: open jar cache lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("frameworks: lock jar cache: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
