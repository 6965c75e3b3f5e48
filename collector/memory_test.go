package collector

import (
	"testing"
)

// The next poll may allocate two thirds of what lagwatch keeps, and at
// least 32 MiB, before the collector works harder.
func TestPollMemoryLimitIsWhatIsKeptPlusTwoThirdsAndAtLeast32MiBMore(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		kept uint64
		want int64
	}{
		{kept: 0, want: 32 * mib},
		{kept: 8 * mib, want: 40 * mib},
		{kept: 60 * mib, want: 100 * mib},
		{kept: 480 * mib, want: 800 * mib},
	} {
		if got := pollMemoryLimit(c.kept); got != c.want {
			t.Errorf("kept %d MiB: limit %d MiB, want %d MiB", c.kept/mib, got/mib, c.want/mib)
		}
	}
}

// A memory limit the operator set, or a collector they turned off, is
// theirs: lagwatch sets no limit then.
func TestAnOperatorsMemoryLimitOrGOGCOffIsLeftAlone(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		owns bool
	}{
		{env: map[string]string{}, owns: true},
		{env: map[string]string{"GOGC": "50"}, owns: true},
		{env: map[string]string{"GOMEMLIMIT": "2GiB"}, owns: false},
		{env: map[string]string{"GOGC": "off"}, owns: false},
		{env: map[string]string{"GOMEMLIMIT": "off"}, owns: false},
	} {
		if got := ownsMemoryLimit(func(k string) string { return c.env[k] }); got != c.owns {
			t.Errorf("environment %v: lagwatch sets the limit %v, want %v", c.env, got, c.owns)
		}
	}
}

// What is kept is read as the runtime's limit counts it: something, and
// never more than all the runtime mapped.
func TestKeptMemoryIsSomethingTheRuntimeHolds(t *testing.T) {
	if kept := keptMemory(); kept == 0 || kept > 1<<40 {
		t.Errorf("kept memory %d bytes", kept)
	}
}
