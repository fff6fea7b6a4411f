#!/usr/bin/env bash
# Benchmarks the Redis tier (divan bench `redis` of cache-runtime, feature
# `redis`, see cache-runtime/benches/redis.rs) against raw redis and raw
# moka, over an ephemeral redis-server the bench starts and kills, and
# prints the ratios computed from the medians:
#
#   1. a Redis get of the same bytes (1,024 keys, 32-byte values):
#      RegionHandle::get and get_blocking against a raw redis GET on a
#      multiplexed connection, all async variants on one current-thread
#      tokio runtime; also the raw GET with its connection driven from
#      another thread (the manager's I/O-thread architecture, without its
#      layers) and redis' synchronous connection. Target: manager get
#      within 5 % of raw.
#   2. batches: get_many / insert_many of 1,000 keys against 1,000
#      sequential get / insert, and get_many against one raw MGET and one
#      raw pipeline of 1,000 GETs (target: get_many within 30 % of MGET).
#   3. a hybrid region's L1 (memory) hit against raw moka, 1,024 and
#      100,000 entries, random keys.
#   1b. the same get with 100-byte and 4 KiB values (interleaved rounds
#      only), the sizes of the target; same target.
#   4. the longest stall of another client (PING in a tight loop on its own
#      connection) while RegionHandle::clear removes 1,000,000 keys
#      (SCAN MATCH + UNLINK), against the same client with no clear.
#
# The divan bench runs RUNS times (default 3), each a new process; each
# ratio is computed per run from that run's medians, then the median over
# the runs is shown with the runs' values, and in brackets the same from
# each run's fastest samples. After divan's table each run measures the get
# and L1 variants again in interleaved rounds (paired ratios per round):
# on this shared machine, the steadier comparison. The clear is measured
# in one more process (CACHE_BENCH_CLEAR_STALL=1), STALL_REPEATS times.
#
#   5. instructions per get on the caller's thread, raw GET against the
#      manager at 32 B, 100 B and 4 KiB, under valgrind's callgrind
#      (counted, so steady where times are not; about 6 minutes).
#
# Usage: scripts/bench-redis.sh [--skip-bench] [--skip-stall] [--skip-callgrind]
#   --skip-bench      recompute the summary from the last runs' output
#   --skip-stall      leave out the clear measurement (section 4)
#   --skip-callgrind  leave out the instruction counts (section 5)
# Environment: CARGO_TARGET_DIR (honoured), RUNS (bench processes, default
# 3), BENCH_ARGS (extra divan arguments), CACHE_BENCH_ROUNDS (interleaved
# rounds per run, default 40; 0 skips them), CLEAR_KEYS (default
# 1000000), STALL_REPEATS (default 2). Needs redis-server on PATH and
# python3. Nothing here asserts a timing: it only reports. Results go to
# $CARGO_TARGET_DIR/bench-redis/ (divan.N.txt per run, stall.txt,
# summary.txt).

set -euo pipefail

# shellcheck source=lib/bench-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh"

run_bench=1
run_stall=1
run_callgrind=1
callgrind_gets=2000
for arg in "$@"; do
    case "$arg" in
        --skip-bench) run_bench=0 ;;
        --skip-stall) run_stall=0 ;;
        --skip-callgrind) run_callgrind=0 ;;
        -h | --help) usage ;;
        *) unknown_argument "$arg" ;;
    esac
done

bench_output bench-redis
bench_runs
clear_keys=${CLEAR_KEYS:-1000000}
[[ $clear_keys =~ ^[1-9][0-9]*$ ]] || die "CLEAR_KEYS must be a positive number, got '$clear_keys'"
stall_repeats=${STALL_REPEATS:-2}
[[ $stall_repeats =~ ^[1-9][0-9]*$ ]] || die "STALL_REPEATS must be a positive number, got '$stall_repeats'"

bench=(cargo bench -p cache-runtime --features redis --bench redis)

if ((run_bench)); then
    command -v redis-server > /dev/null ||
        die "redis-server not found on PATH: the Redis benches start their own server on a free loopback port. Install it (\`sudo apt-get install redis-server\`, or run scripts/test.sh, which installs it) and run this script again."
    echo "building the bench..." >&2
    "${bench[@]}" --no-run
    rm -f "$out"/divan.*.txt "$out"/stderr.*.txt
    if ((run_stall)); then
        rm -f "$out/stall.txt" "$out/stall.stderr.txt"
    fi
    {
        echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, rustc: $(rustc --version), $(redis-server --version | cut -d' ' -f1-3)"
        echo "command: ${bench[*]} -- ${BENCH_ARGS:-} ($runs runs)"
    } > "$out/run.txt"
    for run in $(seq "$runs"); do
        echo "run $run of $runs..." >&2
        load_before=$(cut -d' ' -f1-3 /proc/loadavg)
        started=$(date +%s)
        # shellcheck disable=SC2086 # BENCH_ARGS is split on purpose
        "${bench[@]}" -- ${BENCH_ARGS:-} > "$out/divan.$run.txt" 2> "$out/stderr.$run.txt" ||
            die "the bench failed; its output is in $out/divan.$run.txt and $out/stderr.$run.txt"
        echo "run $run: load average before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg); $(($(date +%s) - started)) s; $(grep -m1 '^set-up' "$out/stderr.$run.txt" || true)" >> "$out/run.txt"
        cat "$out/divan.$run.txt"
    done
    if ((run_stall)); then
        echo "clearing $clear_keys keys, $stall_repeats times..." >&2
        load_before=$(cut -d' ' -f1-3 /proc/loadavg)
        started=$(date +%s)
        echo "command: CACHE_BENCH_CLEAR_STALL=1 CACHE_BENCH_CLEAR_KEYS=$clear_keys CACHE_BENCH_STALL_REPEATS=$stall_repeats ${bench[*]}" >> "$out/run.txt"
        CACHE_BENCH_CLEAR_STALL=1 CACHE_BENCH_CLEAR_KEYS=$clear_keys CACHE_BENCH_STALL_REPEATS=$stall_repeats \
            "${bench[@]}" > "$out/stall.txt" 2> "$out/stall.stderr.txt" ||
            die "the clear measurement failed; its output is in $out/stall.txt and $out/stall.stderr.txt"
        echo "clear: load average before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg); $(($(date +%s) - started)) s" >> "$out/run.txt"
        cat "$out/stall.txt"
    fi
fi
shopt -s nullglob
outputs=("$out"/divan.*.txt)
((${#outputs[@]})) || die "no divan output in $out (run without --skip-bench)"

BENCH_LIB="$(dirname "${BASH_SOURCE[0]}")/lib" python3 - "$out/run.txt" "$out/stall.txt" "${outputs[@]}" > "$summary" << 'EOF' || die "could not summarize the bench output in $out"
import os
import re
import statistics
import sys

run_txt, stall_txt, outputs = sys.argv[1], sys.argv[2], sorted(sys.argv[3:])
sys.path.insert(0, os.environ["BENCH_LIB"])
from divan_table import Report, fmt  # noqa: E402

results = Report(outputs, label_width=52)
runs, mixed = results.runs, results.mixed
per_run, time, fastest, ratios = results.per_run, results.time, results.fastest, results.ratios

say, row, show_ratio = results.say, results.row, results.show_ratio

def paired_ratio(label, a, b):
    values = [found[a]["paired"] / found[b]["paired"] for found in mixed if a in found and b in found]
    if not values:
        return None
    each = ", ".join(f"{v:.3f}" for v in values)
    say(f"{label:<52} {statistics.median(values):7.3f} (runs: {each})")
    return statistics.median(values)

def interleaved_rows(names):
    for name in names:
        medians = [found[name]["median"] for found in mixed if name in found]
        paired = [found[name]["paired"] for found in mixed if name in found]
        if medians:
            each = ", ".join(f"{v:.3f}" for v in paired)
            say(f"  {name:<40} {fmt(statistics.median(medians)):>11}   / first of its group: "
                f"{statistics.median(paired):.3f} (runs: {each})")

def verdict(label, value):
    return f"{label}: {'met' if value <= 1.05 else 'MISSED'} ({(value - 1) * 100:+.1f} %)"

say(f"bench-redis: {len(runs)} run(s); divan medians (median over runs) [fastest sample of all runs], per operation")
try:
    say(open(run_txt, encoding="utf-8").read().rstrip())
except FileNotFoundError:
    pass
say("")
GET = ["get/raw_get", "get/manager_get", "get/manager_get_caller_runtime", "get/manager_get_blocking",
       "get/raw_get_io_thread", "get/raw_sync_get"]
say("== 1. Redis get hit, 1,024 keys, 32-byte values (raw reads the manager's key: the same envelope bytes)")
for name in GET:
    row(name)
target, target_fastest = show_ratio("manager get / raw get", "get/manager_get", "get/raw_get")
show_ratio("manager get, RedisConfig::runtime(caller's) / raw get", "get/manager_get_caller_runtime", "get/raw_get")
show_ratio("manager get_blocking / raw get", "get/manager_get_blocking", "get/raw_get")
show_ratio("manager get_blocking / raw sync get", "get/manager_get_blocking", "get/raw_sync_get")
show_ratio("raw get, driver on another thread / raw get", "get/raw_get_io_thread", "get/raw_get")
show_ratio("manager get / raw get, driver on another thread", "get/manager_get", "get/raw_get_io_thread")
say(verdict("target manager get within 5 % of raw, medians", target) + "; "
    + verdict("fastest samples", target_fastest))
if mixed:
    say("-- interleaved rounds (paired per round, median over rounds; CACHE_BENCH_ROUNDS, default 40)")
    interleaved_rows(GET)
    mixed_target = paired_ratio("manager get / raw get", "get/manager_get", "get/raw_get")
    paired_ratio("manager get, RedisConfig::runtime(caller's) / raw get",
                 "get/manager_get_caller_runtime", "get/raw_get")
    paired_ratio("manager get_blocking / raw get", "get/manager_get_blocking", "get/raw_get")
    paired_ratio("manager get_blocking / raw sync get", "get/manager_get_blocking", "get/raw_sync_get")
    paired_ratio("raw get, driver on another thread / raw get", "get/raw_get_io_thread", "get/raw_get")
    paired_ratio("manager get / raw get, driver on another thread", "get/manager_get", "get/raw_get_io_thread")
    if mixed_target is not None:
        say(verdict("target manager get within 5 % of raw, interleaved", mixed_target))
    for size, label in (("100b", "100-byte"), ("4k", "4 KiB")):
        say(f"-- {label} values (another region, the same keys; interleaved rounds only)")
        interleaved_rows([f"get_{size}/raw_get", f"get_{size}/manager_get"])
        sized = paired_ratio(f"manager get / raw get, {label} values", f"get_{size}/manager_get", f"get_{size}/raw_get")
        if sized is not None:
            say(verdict(f"target manager get within 5 % of raw at {label}, interleaved", sized))
say("")
say("== 2. batches of 1,000 keys against one by one (time per 1,000)")
for name in ["batch/get_many_1000", "batch/get_1000_one_by_one", "batch/raw_mget_1000", "batch/raw_pipelined_get_1000",
             "batch/insert_many_1000", "batch/insert_1000_one_by_one"]:
    row(name)
show_ratio("speed-up: get one by one / get_many", "batch/get_1000_one_by_one", "batch/get_many_1000")
show_ratio("speed-up: insert one by one / insert_many", "batch/insert_1000_one_by_one", "batch/insert_many_1000")
show_ratio("get_many / raw pipeline of 1,000 GETs", "batch/get_many_1000", "batch/raw_pipelined_get_1000")
show_ratio("get_many / raw MGET of 1,000 keys", "batch/get_many_1000", "batch/raw_mget_1000")
if mixed:
    say("-- interleaved rounds")
    interleaved_rows(["batch/raw_mget_1000", "batch/raw_pipelined_get_1000", "batch/get_many_1000"])
    paired_ratio("get_many / raw pipeline of 1,000 GETs", "batch/get_many_1000", "batch/raw_pipelined_get_1000")
    mixed_many = paired_ratio("get_many / raw MGET of 1,000 keys", "batch/get_many_1000", "batch/raw_mget_1000")
    if mixed_many is not None:
        say(f"target get_many within 30 % of a raw MGET, interleaved: {'met' if mixed_many <= 1.3 else 'MISSED'} "
            f"({(mixed_many - 1) * 100:+.1f} %)")
say("")
say("== 3. hybrid region, L1 (memory) hit: get_blocking against raw moka get, random 16-character keys")
for name in ["l1_1k/moka_plain", "l1_1k/hybrid_get_blocking", "l1_100k/moka_plain", "l1_100k/hybrid_get_blocking"]:
    row(name)
show_ratio("1,024 entries: hybrid L1 / moka", "l1_1k/hybrid_get_blocking", "l1_1k/moka_plain")
show_ratio("100,000 entries: hybrid L1 / moka", "l1_100k/hybrid_get_blocking", "l1_100k/moka_plain")
if mixed:
    say("-- interleaved rounds")
    interleaved_rows(["l1_1k/moka_plain", "l1_1k/hybrid_get_blocking", "l1_100k/moka_plain", "l1_100k/hybrid_get_blocking"])
    paired_ratio("1,024 entries: hybrid L1 / moka", "l1_1k/hybrid_get_blocking", "l1_1k/moka_plain")
    paired_ratio("100,000 entries: hybrid L1 / moka", "l1_100k/hybrid_get_blocking", "l1_100k/moka_plain")
say("")

try:
    stall = [line.split() for line in open(stall_txt, encoding="utf-8") if line.startswith("stall ")]
except FileNotFoundError:
    stall = []
if stall:
    settings = dict(zip(stall[0][2::2], stall[0][3::2])) if stall[0][1] == "settings" else {}
    say(f"== 4. another client's PING round trips while RegionHandle::clear removes {int(settings.get('keys', 0)):,} keys "
        f"(SCAN MATCH + UNLINK); baseline: the same client for {settings.get('baseline_s', '?')} s with no clear")
    by_run = {}
    for words in stall:
        if words[1] != "settings":
            by_run.setdefault(words[1], {})[words[2]] = dict(zip(words[3::2], words[4::2]))
    for run, parts in sorted(by_run.items()):
        clear, during, alone, server = (parts.get(k, {}) for k in ("clear", "during", "baseline", "server"))
        fill = parts.get("fill", {})
        say(f"  repeat {run}: filled {int(fill.get('keys', 0)):,} keys in {fill.get('fill_ms', '?')} ms; "
            f"clear {clear.get('clear_ms', '?')} ms, removed {int(clear.get('removed', 0)):,}, left {clear.get('left', '?')}")
        for label, part in (("during clear", during), ("baseline", alone)):
            say(f"    {label:<13} pings {int(part.get('pings', 0)):>8,}  p50 {part.get('p50_us', '?'):>8} µs  "
                f"p99 {part.get('p99_us', '?'):>8} µs  p99.9 {part.get('p999_us', '?'):>8} µs  "
                f"max {part.get('max_us', '?'):>9} µs  (> 1 ms: {part.get('over_1ms', '?')})")
        try:
            say(f"    max during / max baseline: {float(during['max_us']) / float(alone['max_us']):.2f}; "
                f"p99.9 during / baseline: {float(during['p999_us']) / float(alone['p999_us']):.2f}")
        except (KeyError, ValueError, ZeroDivisionError):
            pass
        over = settings.get('slowlog_over_us', '?')
        for command in ("scan", "unlink"):
            say(f"    server, {command.upper():<6}: {server.get(command + '_calls', '?')} calls, "
                f"{server.get(command + '_usec_per_call', '?')} µs per call; "
                f"{server.get(command + '_slow', '?')} over {over} µs, slowest {server.get(command + '_slowest_us', '?')} µs")
else:
    say("== 4. clear stall: not measured (see --skip-stall)")
print(results.text())
EOF

# Counted, not timed: instructions per get on the caller's thread (the
# connection's driver runs there too), raw against the manager, under
# callgrind; see `measured_gets` in the bench.
if ((run_bench && run_callgrind)); then
    {
        echo
        echo "== 5. instructions per Redis get (valgrind --tool=callgrind, $callgrind_gets gets after a warm-up; the server's not counted)"
        if command -v valgrind > /dev/null; then
            executable=$("${bench[@]}" --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
            [[ -x $executable ]] || die "no bench executable found for callgrind"
            printf '%-10s %9s %9s  %s\n' "value" "raw GET" "manager" "manager / raw"
            for bytes in 32 100 4096; do
                declare -A per_get=()
                for variant in raw_get manager_get; do
                    CACHE_BENCH_CALLGRIND=$variant:$bytes valgrind --tool=callgrind --toggle-collect='*measured_gets*' \
                        --callgrind-out-file="$out/callgrind.$variant.$bytes.out" "$executable" > /dev/null 2> "$out/valgrind.$variant.$bytes.log" ||
                        die "valgrind failed on $variant:$bytes; see $out/valgrind.$variant.$bytes.log"
                    total=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/valgrind.$variant.$bytes.log")
                    per_get[$variant]=$((total / callgrind_gets))
                done
                printf '%-10s %9s %9s  %s\n' "$bytes B" "${per_get[raw_get]}" "${per_get[manager_get]}" \
                    "$(awk -v a="${per_get[manager_get]}" -v b="${per_get[raw_get]}" 'BEGIN { printf "x%.3f", a / b }')"
            done
        else
            echo "valgrind not found: install it (sudo apt-get install valgrind) for this section"
        fi
    } >> "$summary"
fi

echo
cat "$summary"
echo
echo "summary written to $summary"
