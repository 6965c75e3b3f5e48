package main

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionAndBuildDateComeFromGoBuildInformation(t *testing.T) {
	for _, c := range []struct {
		module, vcsTime, wantVersion, wantDate string
	}{
		{"v0.1.0", "", "0.1.0", ""}, // go install github.com/lagwatch/lagwatch@v0.1.0
		{"v0.0.0-20261202043852-ab95565abcde", "2026-12-02T04:38:52Z", "0.0.0-20261202043852-ab95565abcde", "2026-12-02T04:38:52Z"},
		{"(devel)", "", "devel", ""},
	} {
		info := &debug.BuildInfo{Main: debug.Module{Version: c.module}}
		if c.vcsTime != "" {
			info.Settings = []debug.BuildSetting{{Key: "vcs.time", Value: c.vcsTime}}
		}
		if v, date := versionFromBuildInfo(info); v != c.wantVersion || date != c.wantDate {
			t.Errorf("%s: version %q, date %q; want %q, %q", c.module, v, date, c.wantVersion, c.wantDate)
		}
	}
}

func gitHead(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func versionOf(t *testing.T, binary string) string {
	t.Helper()
	out, err := exec.Command(binary, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", binary, err, out)
	}
	return string(out)
}

// `make release` builds a static binary per platform, packs each with
// the LICENSE, and lists their checksums; the host's binary says its
// version and revision.
func TestMakeReleaseBuildsStampedStaticBinariesAndChecksums(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lagwatch")
	}
	head := gitHead(t, ".")
	dist := t.TempDir()
	host := runtime.GOOS + "/" + runtime.GOARCH
	cmd := exec.Command("make", "release", "RELEASE_PLATFORMS="+host, "DIST="+dist, "VERSION=0.0.0-test")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	name := fmt.Sprintf("lagwatch-0.0.0-test.%s-%s", runtime.GOOS, runtime.GOARCH)
	archive := filepath.Join(dist, name+".tar.gz")
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	sums, err := os.ReadFile(filepath.Join(dist, "sha256sums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(sum[:]) + "  " + name + ".tar.gz\n"; string(sums) != want {
		t.Errorf("sha256sums.txt:\n%s\nwant\n%s", sums, want)
	}
	if out, err := exec.Command("tar", "-C", dist, "-xzf", archive).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	for _, f := range []string{"lagwatch", "LICENSE", "README.md"} {
		if _, err := os.Stat(filepath.Join(dist, name, f)); err != nil {
			t.Errorf("the archive lacks %s: %v", f, err)
		}
	}
	binary := filepath.Join(dist, name, "lagwatch")
	if got := versionOf(t, binary); !strings.Contains(got, "version 0.0.0-test ") || !strings.Contains(got, "revision: "+head) {
		t.Errorf("--version of the release binary:\n%s\nwant version 0.0.0-test and revision %s", got, head)
	}
	if runtime.GOOS == "linux" {
		f, err := elf.Open(binary)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("the release binary links %v; want a static binary", libs)
		}
	}
}

// A plain `go build` in a git clone, without the Makefile's ldflags,
// still says which commit it is and a version naming it.
func TestSourceBuildPrintsItsRevision(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lagwatch")
	}
	gitHead(t, ".")
	clone := filepath.Join(t.TempDir(), "lagwatch")
	if out, err := exec.Command("git", "clone", "--quiet", ".", clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	head := gitHead(t, clone)
	build := exec.Command("go", "build", "-o", "lagwatch", ".")
	build.Dir = clone
	// Go stamps the revision unless told not to; some machines' go env
	// says -buildvcs=false.
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=true")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	got := versionOf(t, filepath.Join(clone, "lagwatch"))
	if !strings.Contains(got, "revision: "+head) || !strings.Contains(got, head[:12]) || !strings.Contains(got, "build date:       20") {
		t.Errorf("--version of a source build:\n%s\nwant revision %s, a version naming it and the commit's date", got, head)
	}
}
