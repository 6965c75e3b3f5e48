package collector

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
)

// memoryBound collects garbage between polls and bounds the next poll's
// memory; the polling goroutine owns it.
//
// What a poll allocates (Kafka's answers, the next snapshot, lagcalc's
// input) is garbage once the snapshot is published, and the previous
// snapshot with it. Left to itself, Go's collector often starts in the
// middle of the next poll, counts all of that as live, and lets the heap,
// and the resident set with it, grow to twice that before collecting
// again. Collected here, the process holds what lagwatch keeps between
// polls; bench/run.sh, before and after: at a million group-partitions
// and 15 s polls, 615 instead of 1,266 MiB resident after the last poll
// (README, Scale).
//
// Even so, with GOGC's default a poll could take the heap to about twice
// what is kept: at 100,000 group-partitions 56 MB kept and 65 MB allocated
// a poll. So the soft memory limit is set to what is kept plus two thirds
// of it (pollMemoryLimit): during a poll the collector runs a few more
// times, and the peak follows the state lagwatch keeps, not the poll's
// garbage. The limit is re-anchored after every poll, so it grows with
// the history and shrinks when groups go. A limit or GOGC=off set by the
// operator is left alone (ownsMemoryLimit). A poll that outlasted its
// interval skips all of it, so that the next one is not delayed.
type memoryBound struct {
	// keptBefore is what was kept after the poll before; 0 before the
	// first.
	keptBefore uint64
}

// collectBetweenPolls collects, returns the freed memory to the system
// and sets the limit for the next poll.
func (m *memoryBound) collectBetweenPolls() {
	debug.FreeOSMemory()
	if !memoryLimitOwned {
		return
	}
	kept := keptMemory()
	debug.SetMemoryLimit(pollMemoryLimit(steadyKept(kept, m.keptBefore)))
	m.keptBefore = kept
}

// steadyKept is what the next poll's limit is anchored to: the least of
// what was kept after this poll and after the one before. A scrape that
// is still rendering the previous snapshot while the collection runs
// keeps that snapshot alive, and what is kept then reads a snapshot
// higher for that one poll (at 100,000 group-partitions 73 MB of heap
// instead of 56): anchored to it, the next poll's limit rose by 28 MB,
// and its peak with it (149 MiB against 131 without such a scrape). A
// real change lasts: growth is followed a poll later, a shrink at once.
func steadyKept(now, before uint64) uint64 {
	if before == 0 {
		return now
	}
	return min(now, before)
}

// memoryLimitOwned: lagwatch sets the soft memory limit itself.
var memoryLimitOwned = ownsMemoryLimit(os.Getenv)

// ownsMemoryLimit reports whether lagwatch may set the soft memory limit:
// not when the operator set one (GOMEMLIMIT), nor when they turned the
// collector off (GOGC=off), which a limit would turn back on.
func ownsMemoryLimit(getenv func(string) string) bool {
	return getenv("GOMEMLIMIT") == "" && getenv("GOGC") != "off"
}

// minPollHeadroom is the least a poll may allocate above what is kept
// before the collector works harder: a small cluster's lagwatch keeps a
// few MiB, and a limit of a few MiB more would have it collect all the
// time for nothing.
const minPollHeadroom = 32 << 20

// pollMemoryLimit is the soft memory limit for the next poll: what is kept
// plus two thirds of it, or plus minPollHeadroom when that is more. A poll
// holds up to about half of what is kept alive at once (Kafka's answers
// beside the next snapshot), so the limit leaves the collector room to
// work without running all the time. Measured at 100,000
// group-partitions, 2 s polls, 50 polls beside kfake: no limit 163 MiB
// peak; a half 126 MiB with polls 45 % longer; two thirds 137 MiB, 36 %;
// three quarters 143 MiB, 27 %.
func pollMemoryLimit(kept uint64) int64 {
	return int64(kept + max(kept*2/3, minPollHeadroom))
}

// keptMemory is the memory the Go runtime holds from the system right
// now, as its soft memory limit counts it: everything it mapped, less the
// heap it returned.
func keptMemory() uint64 {
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(samples)
	total, released := samples[0].Value.Uint64(), samples[1].Value.Uint64()
	if released > total {
		return 0
	}
	return total - released
}
