package frameworks

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lagwatch/lagwatch/internal/kafkatest"
)

// pom pins the framework clients' jars (Kafka Streams, Kafka Connect);
// EnsureJars fetches them with Maven into a cache beside the broker's.
//
//go:embed pom.xml
var pom []byte

// HomeEnv names the environment variable that overrides the framework jar
// cache directory (the jars then live in $LAGWATCH_FRAMEWORKS_HOME/lib).
const HomeEnv = "LAGWATCH_FRAMEWORKS_HOME"

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
	return filepath.Join(base, "lagwatch", "frameworks-"+kafkatest.PomHash(pom)[:12]), nil
}

// EnsureJars returns the directory holding the framework jars, running
// Maven the first time (see kafkatest.MavenJars).
func EnsureJars() (libDir string, err error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	return kafkatest.MavenJars{
		What:     "Kafka Streams and Connect",
		Pom:      pom,
		Dir:      dir,
		Tools:    []string{"java", "javac"},
		Required: []string{"kafka-streams-*.jar", "connect-runtime-*.jar", "connect-file-*.jar"},
	}.Ensure()
}
