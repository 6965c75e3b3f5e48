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

// The limit follows what is kept, except for one poll's reading above the
// one before: a scrape still rendering the previous snapshot during the
// collection keeps it alive, and the next poll would otherwise get a limit
// a snapshot higher.
func TestTheLimitIsAnchoredToTheLeastKeptOfTheLastTwoPolls(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name              string
		before, now, want uint64
	}{
		{name: "the first poll", before: 0, now: 70 * mib, want: 70 * mib},
		{name: "steady", before: 70 * mib, now: 70 * mib, want: 70 * mib},
		{name: "a scrape kept the previous snapshot alive", before: 70 * mib, now: 87 * mib, want: 70 * mib},
		{name: "the next poll after it", before: 87 * mib, now: 70 * mib, want: 70 * mib},
		{name: "groups went", before: 70 * mib, now: 40 * mib, want: 40 * mib},
		{name: "groups came", before: 70 * mib, now: 140 * mib, want: 70 * mib},
		{name: "the poll after they came", before: 140 * mib, now: 140 * mib, want: 140 * mib},
	} {
		if got := steadyKept(c.now, c.before); got != c.want {
			t.Errorf("%s: kept %d MiB after the poll before and %d now: anchored to %d MiB, want %d", c.name, c.before/mib, c.now/mib, got/mib, c.want/mib)
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
