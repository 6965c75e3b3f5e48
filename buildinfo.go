package main

import (
	"runtime/debug"
	"strings"

	"github.com/prometheus/common/version"
)

// stampVersionFromBuildInfo fills the version and build date that no
// -ldflags set (`go build`, `go install`) from Go's build information, so
// that --version and lagwatch_build_info say what was built. The revision
// prometheus/common/version reads from it by itself.
func stampVersionFromBuildInfo() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	v, date := versionFromBuildInfo(info)
	if version.Version == "" {
		version.Version = v
	}
	if version.BuildDate == "" {
		version.BuildDate = date
	}
}

// versionFromBuildInfo is the module's version, without its "v" (`go
// install …@v0.1.0` gives 0.1.0, a build in a git checkout a
// pseudo-version naming the commit, "devel" when Go knows none), and
// the time of the commit built, when Go recorded it.
func versionFromBuildInfo(info *debug.BuildInfo) (v, date string) {
	v = strings.TrimPrefix(info.Main.Version, "v")
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.time" {
			date = s.Value
		}
	}
	return v, date
}
