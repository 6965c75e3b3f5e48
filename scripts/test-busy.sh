#!/bin/sh
# test-busy.sh: the whole suite on a deliberately busy machine, as a shared CI
# runner on a bad day or a laptop doing other work sees it. While `make test`
# runs here, a second `make test` runs in a fresh clone of this checkout and
# stress-ng keeps CPU and I/O workers busy. Both hogs are stopped when the
# run ends; the load average is printed before, during and after.
#
# Settings (environment):
#   BUSY_CPU_WORKERS  stress-ng CPU workers (default: the number of cores)
#   BUSY_IO_WORKERS   stress-ng I/O workers (default 1)
#   BUSY_SECOND_RUN   1 runs the second `make test` beside this one (default 1)
#   LAGWATCH_TEST_SLOWDOWN  how much every test deadline stretches (default 3 here)
#   BUSY_MAX_SECONDS  stress-ng stops by itself after this long (default 5400)
#   MAKE              the make to run (default make)
#   BUSY_LOG          where this run's verbose output goes (default test-busy.log)
#
# At the end it prints the run time and each package's slowest top-level test.
set -eu

MAKE=${MAKE:-make}
cpu=${BUSY_CPU_WORKERS:-$(nproc)}
io=${BUSY_IO_WORKERS:-1}
second=${BUSY_SECOND_RUN:-1}
export LAGWATCH_TEST_SLOWDOWN="${LAGWATCH_TEST_SLOWDOWN:-3}"

work=$(mktemp -d "${TMPDIR:-/tmp}/lagwatch-busy.XXXXXX")
hogs=""
stop_hogs() {
	for pid in $hogs; do
		# Each hog leads its own process group (setsid below): the second
		# make's go test, brokers and JVMs go down with it.
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $hogs; do wait "$pid" 2>/dev/null || true; done
	hogs=""
}
cleanup() {
	stop_hogs
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

echo "test-busy: load average before: $(loadavg)"
# A bound in case this script is killed before it can stop the hogs.
setsid stress-ng --cpu "$cpu" --io "$io" --timeout "${BUSY_MAX_SECONDS:-5400}" --quiet &
hogs="$hogs $!"
if [ "$second" = 1 ]; then
	# The second run is load, not a result: the committed tree will do.
	git clone --quiet --no-hardlinks . "$work/clone"
	(cd "$work/clone" && exec setsid $MAKE test >"$work/second.log" 2>&1) &
	hogs="$hogs $!"
fi
echo "test-busy: stress-ng (cpu $cpu, io $io)$( [ "$second" = 1 ] && echo ", a second make test in $work/clone") started; LAGWATCH_TEST_SLOWDOWN=$LAGWATCH_TEST_SLOWDOWN"

( while sleep 30; do echo "test-busy: load average $(loadavg)"; done ) &
sampler=$!

log=${BUSY_LOG:-test-busy.log}
start=$(date +%s)
status=0
# -v for the per-test times; the log keeps them, the terminal gets the verdicts.
{ $MAKE test TEST_FLAGS=-v 2>&1 || echo "test-busy: make test exit $?"; } | tee "$log" |
	grep -E '^(ok|FAIL|---|panic:|test-busy:|make)' | grep -v -- '--- PASS' || true
grep -q '^test-busy: make test exit' "$log" && status=1
kill "$sampler" 2>/dev/null || true
echo "test-busy: make test ended with status $status after $(( $(date +%s) - start )) s; load average $(loadavg)"
# go test prints each package's output whole, its verdict line last: the
# slowest top-level test of a package is the longest --- line before it.
echo "test-busy: slowest test of each package (full output in $log):"
awk '
	/^--- (PASS|FAIL|SKIP): / { t = $4; gsub(/[()s]/, "", t); if (t + 0 >= best) { best = t + 0; name = $3 } }
	/^(ok|FAIL)[ \t]+[a-z]/ && NF >= 3 { if (name != "") printf "  %-55s %-60s %8.1f s\n", $2, name, best; best = 0; name = "" }
' "$log"
if [ "$second" = 1 ] && [ -f "$work/second.log" ]; then
	echo "test-busy: the second run's last lines (it is stopped now; its result does not count):"
	tail -n 5 "$work/second.log"
fi
exit $status
