#!/usr/bin/env bash
# Scale benchmark: starts a populated kfake cluster (bench/clustergen) and
# lagwatch against it, and measures lagwatch over BENCH_POLLS polls. The
# cluster moves (a record per partition and a commit per group-partition
# every BENCH_ADVANCE_EVERY), so lagwatch's history fills to its caps as in
# production: 70 polls are enough for the default window's caps (63 points
# per partition), whatever the interval. Every process it starts is
# stopped on exit.
#
# Environment (defaults in brackets): BENCH_GROUPS [10000], BENCH_TOPICS
# [2000], BENCH_PARTITIONS [5], BENCH_GROUP_PARTITIONS [100000],
# BENCH_BROKERS [3], BENCH_POLLS [70], BENCH_PORT [19308],
# BENCH_POLL_INTERVAL [2s], BENCH_ADVANCE_EVERY [2s], BENCH_READY_TIMEOUT [600] seconds,
# BENCH_FLAGS [none]: more lagwatch flags, e.g. --lag.granularity=topic;
# BENCH_PROFILE_DIR [unset]: when set, a 30 s CPU profile and a heap
# profile of lagwatch are written there (go tool pprof FILE);
# BENCH_BASELINE [unset]: a git revision; when set, lagwatch built from it
# is measured first against the same populated cluster, then the current
# tree, and the ratios are printed (before and after in one run);
# BENCH_GOGC [unset]: GOGC for the lagwatch processes (Go's default is 100);
# BENCH_SHARDS [unset]: when above 1, afterwards runs that many more
# lagwatch processes as shards (--shard.count, --shard.index) against the
# same cluster for BENCH_SHARD_POLLS [10] polls, and prints each shard's
# poll time, requests, peak RSS and series, and whether their Kafka series
# add up to the unsharded scrape's;
# BENCH_BUSY [unset]: when set, a second cluster of the same size keeps
# producing and committing on the same cores throughout, unread by
# lagwatch: a machine whose cores are busy with other work, where the
# garbage collector gets less of them.
set -euo pipefail

groups=${BENCH_GROUPS:-10000}
topics=${BENCH_TOPICS:-2000}
partitions=${BENCH_PARTITIONS:-5}
group_partitions=${BENCH_GROUP_PARTITIONS:-100000}
brokers=${BENCH_BROKERS:-3}
polls=${BENCH_POLLS:-70}
port=${BENCH_PORT:-19308}
interval=${BENCH_POLL_INTERVAL:-2s}
advance=${BENCH_ADVANCE_EVERY:-2s}
ready_timeout=${BENCH_READY_TIMEOUT:-600}
GO=${GO:-go}

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lagwatch-bench.XXXXXX")
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }

# deadline_loop SECONDS CMD...: run CMD every second until it succeeds, or fail.
wait_for() {
	local timeout=$1 what=$2
	shift 2
	local end=$((SECONDS + timeout))
	until "$@"; do
		if ((SECONDS >= end)); then
			log "timed out after ${timeout}s waiting for $what"
			return 1
		fi
		sleep 1
	done
}

log "building lagwatch and clustergen"
(cd "$root" && $GO build -o "$work/lagwatch" . && $GO build -o "$work/clustergen" ./bench/clustergen)
baseline=${BENCH_BASELINE:-}
if [[ -n $baseline ]]; then
	log "building the baseline lagwatch at $baseline"
	git -C "$root" worktree add --quiet --detach "$work/baseline-src" "$baseline"
	(cd "$work/baseline-src" && $GO build -o "$work/lagwatch-baseline" .)
	git -C "$root" worktree remove --force "$work/baseline-src"
fi

log "populating the cluster: $brokers brokers, $topics topics × $partitions partitions, $groups groups, $group_partitions group-partitions"
"$work/clustergen" -brokers "$brokers" -topics "$topics" -partitions "$partitions" \
	-groups "$groups" -group-partitions "$group_partitions" -advance-every "$advance" >"$work/cluster.out" 2>"$work/cluster.err" &
pids+=($!)
cluster_pid=$!
cluster_ready() {
	kill -0 "$cluster_pid" 2>/dev/null || { cat "$work/cluster.err" >&2; exit 1; }
	grep -q '^bootstrap ' "$work/cluster.out"
}
populate_start=$SECONDS
wait_for "$ready_timeout" "the cluster to be populated" cluster_ready
cat "$work/cluster.err" >&2
log "cluster ready in $((SECONDS - populate_start))s"
if [[ -n ${BENCH_BUSY:-} ]]; then
	log "BENCH_BUSY: a second cluster of the same size keeps the cores busy"
	"$work/clustergen" -brokers "$brokers" -topics "$topics" -partitions "$partitions" \
		-groups "$groups" -group-partitions "$group_partitions" -advance-every "$advance" >/dev/null 2>"$work/busy.err" &
	pids+=($!)
fi

server_flags=()
IFS=, read -ra addrs <<<"$(sed -n 's/^bootstrap //p' "$work/cluster.out")"
for a in "${addrs[@]}"; do server_flags+=("--kafka.server=$a"); done

profile_flags=()
[[ -n ${BENCH_PROFILE_DIR:-} ]] && profile_flags=(--web.enable-pprof)
read -ra extra_flags <<<"${BENCH_FLAGS:-}"
# The lagwatch processes' environment: GOGC from BENCH_GOGC, when set.
lw_env=(env)
[[ -z ${BENCH_GOGC:-} ]] || lw_env+=("GOGC=$BENCH_GOGC")
url="http://127.0.0.1:$port/metrics"
interval_s=$(awk -v d="$interval" 'BEGIN { v = d + 0; if (d ~ /ms$/) v /= 1000; else if (d ~ /m$/) v *= 60; print (v < 4 ? 4 : int(v + 0.999)) }')

# scrape FILE: the full /metrics, gzip-compressed on the wire, decompressed
# into FILE. Prints curl's total time and compressed size.
scrape() {
	curl -sf --compressed -H 'Accept-Encoding: gzip' -o "$1" -w '%{time_total} %{size_download}' "$url"
}
metric() { # metric FILE NAME: sum of the values of NAME's series
	awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.6f\n", s + 0 }' "$1"
}
requests_by_api() { # FILE: api count lines
	sed -n 's/^lagwatch_kafka_requests_total{api="\([^"]*\)"} \(.*\)$/\1 \2/p' "$1" | sort
}
requests_per_poll_by_api() { # AFTER BEFORE POLLS: "api requests-per-poll" lines
	join -a1 -e 0 -o 0,2.2,1.2 <(requests_by_api "$1") <(requests_by_api "$2") |
		awk -v n="$3" '{ printf "%s %.1f\n", $1, ($2 == "" ? $3 : $3 - $2) / n }'
}
polls_between() { # AFTER BEFORE: polls between two scrapes
	awk -v a="$(metric "$1" lagwatch_poll_duration_seconds_count)" -v b="$(metric "$2" lagwatch_poll_duration_seconds_count)" 'BEGIN { print a - b }'
}
# glance: one scrape streamed through grep, never written to disk:
# "LAG_SERIES UP POLLS" (consumer-group lag series, lagwatch_up, polls so far).
glance() {
	curl -sf --compressed -H 'Accept-Encoding: gzip' "$url" |
		grep -E '^(kafka_consumergroup_lag\{|lagwatch_up |lagwatch_poll_duration_seconds_count )' |
		awk '/^kafka_consumergroup_lag\{/ { n++; next } /^lagwatch_up / { u = $2 } /^lagwatch_poll_duration_seconds_count / { c = $2 }
			END { if (u == "" || c == "") exit 1; print n + 0, u, c }'
}

# measure NAME BINARY: runs BINARY against the cluster for $polls polls and
# writes its figures to $work/row.NAME (the table row) and the scrapes to
# $work/NAME.{before,after,scrape}. Every check during the run counts the
# consumer-group lag series: a check that finds none while some were
# served before is a dropped cluster. The process is stopped at the end
# unless NAME is "current" (the shards and profiles follow it).
measure() {
	local name=$1 bin=$2
	"${lw_env[@]}" "$bin" "${server_flags[@]}" "${profile_flags[@]}" "${extra_flags[@]}" --kafka.poll-interval="$interval" \
		--web.listen-address="127.0.0.1:$port" --log.level=warn >"$work/$name.log" 2>&1 &
	pids+=($!)
	lagwatch_pid=$!
	up() {
		kill -0 "$lagwatch_pid" 2>/dev/null || { cat "$work/$name.log" >&2; exit 1; }
		scrape "$work/m" >/dev/null 2>&1 && grep -q '^lagwatch_up 1$' "$work/m"
	}
	wait_for "$ready_timeout" "lagwatch_up 1 ($name)" up
	log "$name: first complete poll done"
	cp "$work/m" "$work/$name.before"
	count0=$(metric "$work/$name.before" lagwatch_poll_duration_seconds_count)
	checks=0 dropped=0 down=0 fewest=""
	polled() {
		# Space the checks out as a Prometheus server would its scrapes.
		sleep "$interval_s"
		kill -0 "$lagwatch_pid" 2>/dev/null || { cat "$work/$name.log" >&2; exit 1; }
		local g n u c
		g=$(glance) || return 1
		read -r n u c <<<"$g"
		checks=$((checks + 1))
		((n > 0)) || dropped=$((dropped + 1))
		[[ $u == 1 ]] || down=$((down + 1))
		[[ -z $fewest ]] || ((n < fewest)) && fewest=$n
		awk -v a="$c" -v b="$count0" -v p="$polls" 'BEGIN { exit !(a - b >= p) }'
	}
	log "$name: measuring $polls polls (interval $interval)"
	wait_for $((polls * 120 + 120)) "$polls more polls ($name)" polled
	scrape "$work/$name.after" >/dev/null

	if [[ -n ${BENCH_PROFILE_DIR:-} && $name == current ]]; then
		mkdir -p "$BENCH_PROFILE_DIR"
		log "profiling lagwatch for 30s into $BENCH_PROFILE_DIR"
		curl -sf -o "$BENCH_PROFILE_DIR/cpu.pprof" "http://127.0.0.1:$port/debug/pprof/profile?seconds=30"
		curl -sf -o "$BENCH_PROFILE_DIR/heap.pprof" "http://127.0.0.1:$port/debug/pprof/heap"
		cp "$bin" "$BENCH_PROFILE_DIR/lagwatch"
	fi

	# Scrape timings, taken between polls: the gzip body as the server
	# sends it, into /dev/null, so that neither curl inflating it nor the
	# disk writing it counts (both share the 2 cores).
	local scrape_times=() i
	for i in 1 2 3 4 5; do
		scrape_times+=("$(curl -sf -H 'Accept-Encoding: gzip' -o /dev/null -w '%{time_total} %{size_download}' "$url")")
	done
	scrape "$work/$name.scrape" >/dev/null
	local series rss_peak rss_now sum0 sum1 count1 req0 req1 n poll_s req_per_poll leaders committed scrape_max scrape_size
	series=$(grep -vc '^#' "$work/$name.scrape")
	rss_peak=$(awk '/^VmHWM/ { print $2 }' "/proc/$lagwatch_pid/status")
	rss_now=$(awk '/^VmRSS/ { print $2 }' "/proc/$lagwatch_pid/status")
	sum0=$(metric "$work/$name.before" lagwatch_poll_duration_seconds_sum)
	sum1=$(metric "$work/$name.after" lagwatch_poll_duration_seconds_sum)
	count1=$(metric "$work/$name.after" lagwatch_poll_duration_seconds_count)
	req0=$(metric "$work/$name.before" lagwatch_kafka_requests_total)
	req1=$(metric "$work/$name.after" lagwatch_kafka_requests_total)
	n=$(awk -v a="$count1" -v b="$count0" 'BEGIN { print a - b }')
	poll_s=$(awk -v a="$sum1" -v b="$sum0" -v n="$n" 'BEGIN { printf "%.3f", (a - b) / n }')
	req_per_poll=$(awk -v a="$req1" -v b="$req0" -v n="$n" 'BEGIN { printf "%.1f", (a - b) / n }')
	leaders=$(awk '/^kafka_topic_partition_leader\{/ { l[$NF] = 1 } END { print length(l) }' "$work/$name.after")
	committed=$(grep -c '^kafka_consumergroup_lag{' "$work/$name.after" || true)
	# At --lag.granularity=topic there are no per-partition series to count.
	((committed > 0)) || committed="$group_partitions"
	scrape_max=$(printf '%s\n' "${scrape_times[@]}" | awk '{ if ($1 > m) m = $1 } END { printf "%.3f", m }')
	scrape_size=$(printf '%s\n' "${scrape_times[@]}" | awk 'END { printf "%.1f", $2 / 1048576 }')
	printf '%-9s %-8s %-17s %-8s %-8s %-13s %-14s %-14s %-22s %-8s %s\n' "$name" "$groups" "$committed" "${#addrs[@]}" "$leaders" "$poll_s" "$req_per_poll" \
		"$(awk -v k="$rss_peak" 'BEGIN { printf "%.0f", k / 1024 }')" "$scrape_max (${scrape_size} MiB gz)" "$series" \
		"$dropped/$checks dropped, $down/$checks up=0, fewest lag series $fewest; $(metric "$work/$name.after" lagwatch_polls_overrun_total | cut -d. -f1) overruns; RSS now $(awk -v k="$rss_now" 'BEGIN { printf "%.0f", k / 1024 }') MiB; scrapes ${scrape_times[*]}" \
		>"$work/row.$name"
	printf '%s %s %s %s\n' "$poll_s" "$req_per_poll" "$(awk -v k="$rss_peak" 'BEGIN { printf "%.0f", k / 1024 }')" "$scrape_max" >"$work/fig.$name"
	if [[ $name != current ]]; then
		kill "$lagwatch_pid" 2>/dev/null || true
		wait "$lagwatch_pid" 2>/dev/null || true
	fi
}

[[ -z $baseline ]] || measure baseline "$work/lagwatch-baseline"
measure current "$work/lagwatch"
cp "$work/current.before" "$work/before"
cp "$work/current.after" "$work/after"
cp "$work/current.scrape" "$work/s"
committed=$(grep -c '^kafka_consumergroup_lag{' "$work/after" || true)
((committed > 0)) || committed="$group_partitions"
leaders=$(awk '/^kafka_topic_partition_leader\{/ { l[$NF] = 1 } END { print length(l) }' "$work/after")
n=$(polls_between "$work/after" "$work/before")

echo
echo "lagwatch scale benchmark ($polls polls at --kafka.poll-interval=$interval${BENCH_FLAGS:+ $BENCH_FLAGS}${BENCH_GOGC:+, GOGC=$BENCH_GOGC}, default --lag.window; the cluster advances every $advance${BENCH_BUSY:+; a second cluster keeps the cores busy})"
printf '%-9s %-8s %-17s %-8s %-8s %-13s %-14s %-14s %-22s %-8s %s\n' build groups group-partitions brokers leaders "poll wall s" "requests/poll" "peak RSS MiB" "scrape s (max of 5)" series "during the run"
[[ -z $baseline ]] || cat "$work/row.baseline"
cat "$work/row.current"
if [[ -n $baseline ]]; then
	read -r bp br bm bs <"$work/fig.baseline"
	read -r cp cr cm cs <"$work/fig.current"
	awk -v bp="$bp" -v br="$br" -v bm="$bm" -v bs="$bs" -v cp="$cp" -v cr="$cr" -v cm="$cm" -v cs="$cs" -v rev="$baseline" 'BEGIN {
		printf "current / baseline (%s): poll %.2f, requests %.2f, peak RSS %.2f, scrape %.2f\n", rev, cp / bp, cr / br, cm / bm, cs / bs }'
fi
echo
echo "requests per poll by api:"
requests_per_poll_by_api "$work/after" "$work/before" "$n" | awk '{ printf "  %-22s %8.1f\n", $1, $2 }'
cat <<FORMULA
formula (B brokers, L partition leaders <= B, C_i groups coordinated by broker i):
  requests/poll = 1 Metadata + B ListGroups
                + sum_i ceil(C_i/2000) DescribeGroups (and as many ConsumerGroupDescribe
                  where KIP-848 groups exist) + sum_i ceil(C_i/2000) OffsetFetch
                + 3L ListOffsets (log start, high watermark, last stable offset)
                + F Fetch (records the offsets cannot tell about: per leader, one per
                  distinct offset asked of one partition, plus one per partition whose
                  batch came back cut short; cached while a group sits at the offset)
                + ceil(topics/1000) DescribeConfigs every 5m
                = 1 + 3B + 3L <= 1 + 6B while no coordinator holds more than 2,000 groups
  here: 1 + 3*${#addrs[@]} + 3*$leaders = $((1 + 3 * ${#addrs[@]} + 3 * leaders)) (+ Fetch, + DescribeConfigs,
        + one DescribeGroups and one OffsetFetch per further 2,000 groups of a coordinator)
FORMULA
# The series budget: series per family, and per group-partition for the
# families of consumer groups (the bulk of any large cluster's series).
echo "series by family (per group-partition for consumer-group families; $committed group-partitions):"
awk -v gp="$committed" '
	/^# TYPE / { if ($4 == "histogram") hist[$3] = 1; next }
	/^#/ { next }
	{
		name = $1; sub(/\{.*/, "", name)
		base = name; sub(/_(bucket|sum|count)$/, "", base)
		if (base in hist) name = base # histogram series count as their family
		n[name]++; total++
	}
	END {
		for (f in n) printf "  %-52s %9d  %6.3f/gp\n", f, n[f], n[f] / gp
		printf "  %-52s %9d  %6.3f/gp\n", "total", total, total / gp
	}' "$work/s" | sort -k2 -n -r
if grep -q 'lagwatch_poll_errors_total{.*} [1-9]' "$work/after"; then
	echo "poll errors:"
	grep 'lagwatch_poll_errors_total{.*} [1-9]' "$work/after"
fi

shards=${BENCH_SHARDS:-1}
if ((shards > 1)); then
	shard_polls=${BENCH_SHARD_POLLS:-10}
	# The unsharded process stops first: the shards get the cores it had.
	kill "$lagwatch_pid" 2>/dev/null || true
	wait "$lagwatch_pid" 2>/dev/null || true
	shard_pids=()
	for ((i = 0; i < shards; i++)); do
		"${lw_env[@]}" "$work/lagwatch" "${server_flags[@]}" "${extra_flags[@]}" --kafka.poll-interval="$interval" \
			--shard.count="$shards" --shard.index="$i" \
			--web.listen-address="127.0.0.1:$((port + 1 + i))" --log.level=warn >"$work/shard$i.log" 2>&1 &
		pids+=($!)
		shard_pids+=($!)
	done
	shard_polled() { # shard_polled I N: the shard has done N polls (scraped into $work/shardI)
		local i=$1 c
		kill -0 "${shard_pids[$i]}" 2>/dev/null || { cat "$work/shard$i.log" >&2; exit 1; }
		sleep 2
		curl -sf --compressed -o "$work/shard$i" "http://127.0.0.1:$((port + 1 + i))/metrics" || return 1
		c=$(metric "$work/shard$i" lagwatch_poll_duration_seconds_count)
		awk -v c="$c" -v p="$2" 'BEGIN { exit !(c >= p) }'
	}
	# As for the unsharded process, the polls are measured between two
	# scrapes, the first after two polls: a shard's first poll asks for
	# what later ones do not (API versions, topic configs, record reads
	# for every lagging group), and counted in a few polls it would hide
	# what a steady poll costs.
	log "measuring $shards shards over $shard_polls polls each"
	for ((i = 0; i < shards; i++)); do
		wait_for $((2 * 120 + ready_timeout)) "shard $i to poll twice" shard_polled "$i" 2
		mv "$work/shard$i" "$work/shard$i.before"
	done
	for ((i = 0; i < shards; i++)); do
		from=$(metric "$work/shard$i.before" lagwatch_poll_duration_seconds_count)
		wait_for $((shard_polls * 120 + ready_timeout)) "shard $i to poll $shard_polls times more" \
			shard_polled "$i" "$(awk -v f="$from" -v p="$shard_polls" 'BEGIN { print f + p }')"
	done
	echo
	echo "$shards shards (--shard.count=$shards) against the same cluster, $shard_polls polls each after two:"
	printf '  %-6s %-8s %-13s %-14s %-14s %-10s %-10s\n' shard groups "poll wall s" "requests/poll" "peak RSS MiB" series "kafka_*"
	union=0
	for ((i = 0; i < shards; i++)); do
		f="$work/shard$i" b="$work/shard$i.before"
		n=$(polls_between "$f" "$b")
		printf '  %-6s %-8s %-13s %-14s %-14s %-10s %-10s\n' "$i" \
			"$(grep -c '^kafka_consumergroup_members{' "$f" || true)" \
			"$(awk -v a="$(metric "$f" lagwatch_poll_duration_seconds_sum)" -v b="$(metric "$b" lagwatch_poll_duration_seconds_sum)" -v n="$n" 'BEGIN { printf "%.3f", (a - b) / n }')" \
			"$(awk -v a="$(metric "$f" lagwatch_kafka_requests_total)" -v b="$(metric "$b" lagwatch_kafka_requests_total)" -v n="$n" 'BEGIN { printf "%.1f", (a - b) / n }')" \
			"$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/${shard_pids[$i]}/status")" \
			"$(grep -vc '^#' "$f")" "$(grep -c '^kafka_' "$f" || true)"
		union=$((union + $(grep -c '^kafka_' "$f" || true)))
	done
	echo "  requests per poll by api and shard:"
	for ((i = 0; i < shards; i++)); do
		f="$work/shard$i" b="$work/shard$i.before"
		printf '    %s:' "$i"
		requests_per_poll_by_api "$f" "$b" "$(polls_between "$f" "$b")" | awk '$2 > 0 { printf " %s %s", $1, $2 } END { print "" }'
	done
	# Series names and labels, not values: the shards polled at other times.
	shard_scrapes=()
	for ((i = 0; i < shards; i++)); do shard_scrapes+=("$work/shard$i"); done
	grep -h '^kafka_' "${shard_scrapes[@]}" | sed 's/ [^ ]*$//' | sort >"$work/union"
	grep '^kafka_' "$work/s" | sed 's/ [^ ]*$//' | sort >"$work/whole"
	dups=$(uniq -d "$work/union" | wc -l)
	echo "  union of the shards' kafka_* series: $union ($dups in two shards); unsharded: $(wc -l <"$work/whole"); $(comm -3 "$work/union" "$work/whole" | wc -l) differ (groups that committed in between)"
fi
