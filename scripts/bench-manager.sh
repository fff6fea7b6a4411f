#!/usr/bin/env bash
# Benchmarks the CacheManager against raw moka (divan bench `manager` of
# cache-runtime, see cache-runtime/benches/manager.rs) and prints the ratios
# computed from divan's medians:
#
#   1. hit path, 100,000 entries, random keys, statistics on:
#      (a) raw moka, max_capacity only; (b) raw moka of the manager's shape
#      (entry struct, Expiry, eviction listener); (c) RegionHandle::get_blocking;
#      (d) RegionHandle::get polled with a no-op waker. Target: (c)/(a) <= 1.05.
#      Also over 1,024 entries (CPU-cache resident: the instructions' cost),
#      and, in the interleaved rounds only, with two threads reading at once.
#   2. get_or_insert_with / try_get_or_insert_with on new keys vs moka's
#      get_with on a cache of the manager's shape;
#   3. insert cost with and without an eviction listener (raw moka, the
#      manager's shape, the manager);
#   4. disk tier: read hit, synchronous write, write-behind enqueue; hybrid
#      memory hit;
#   5. instructions per memory hit under valgrind's callgrind (counted, so
#      steady on a loaded machine): plain moka, moka with an Expiry, the
#      manager's get_blocking and polled get, without latency sampling,
#      and a region with a TTL (bench `hit_cost`); then the manager's hits
#      again from a second build with `--cfg cache_bench_statistics_off`
#      (counting and sampling compiled out): statistics on vs off;
#   6. bytes per entry against moka (a counting allocator).
#
# The bench runs RUNS times (default 3), each a new process: one process's
# heap layout and hash seeds move a hit by several per cent either way, as
# much as the 5 % under test. Each ratio is computed per run from that run's
# medians, then the median over the runs is shown, with the runs' values;
# in brackets, the same from each run's fastest samples (the least disturbed
# by other load: on a shared machine, the more reproducible of the two).
# Times are the median over the runs of each run's median, and in brackets
# the fastest sample of all runs.
#
# After divan's table the bench measures the hit variants again in
# interleaved rounds (every variant in every round, paired ratios): on a
# shared machine that is the steadier comparison; see section 1c.
#
# Usage: scripts/bench-manager.sh [--skip-bench]
#   --skip-bench  recompute the summary from the last runs' divan output
# Environment: CARGO_TARGET_DIR (honoured), RUNS (bench processes, default
# 3), BENCH_ARGS (extra divan arguments), CACHE_BENCH_ROUNDS (interleaved
# rounds per run, default 40; 0 skips them). Nothing here asserts a timing: it
# only reports. Results go to $CARGO_TARGET_DIR/bench-manager/ (divan.N.txt
# per run, summary.txt).

set -euo pipefail

# shellcheck source=lib/bench-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh"

run_bench=1
for arg in "$@"; do
    case "$arg" in
        --skip-bench) run_bench=0 ;;
        -h | --help) usage ;;
        *) unknown_argument "$arg" ;;
    esac
done

bench_output bench-manager
bench_runs

if ((run_bench)); then
    echo "building the bench..." >&2
    cargo bench -p cache-runtime --bench manager --no-run
    rm -f "$out"/divan.*.txt "$out"/stderr.*.txt
    {
        echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, rustc: $(rustc --version)"
        echo "command: cargo bench -p cache-runtime --bench manager -- ${BENCH_ARGS:-} ($runs runs)"
    } > "$out/run.txt"
    for run in $(seq "$runs"); do
        echo "run $run of $runs..." >&2
        load_before=$(cut -d' ' -f1-3 /proc/loadavg)
        started=$(date +%s)
        # shellcheck disable=SC2086 # BENCH_ARGS is split on purpose
        cargo bench -p cache-runtime --bench manager -- ${BENCH_ARGS:-} > "$out/divan.$run.txt" 2> "$out/stderr.$run.txt" ||
            die "the bench failed; its output is in $out/divan.$run.txt and $out/stderr.$run.txt"
        echo "run $run: load average before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg); $(($(date +%s) - started)) s; $(grep -m1 '^set-up' "$out/stderr.$run.txt" || true)" >> "$out/run.txt"
        cat "$out/divan.$run.txt"
    done
fi
shopt -s nullglob
outputs=("$out"/divan.*.txt)
((${#outputs[@]})) || die "no divan output in $out (run without --skip-bench)"

BENCH_LIB="$(dirname "${BASH_SOURCE[0]}")/lib" python3 - "$out/run.txt" "${outputs[@]}" > "$summary" << 'EOF' || die "could not summarize the divan output in $out"
import os
import re
import statistics
import sys

run_txt, outputs = sys.argv[1], sorted(sys.argv[2:])
sys.path.insert(0, os.environ["BENCH_LIB"])
from divan_table import Report, fmt  # noqa: E402

results = Report(outputs, label_width=50)
runs, mixed = results.runs, results.mixed
per_run, time, fastest, ratios = results.per_run, results.time, results.fastest, results.ratios

def ratio(a, b):
    return statistics.median(ratios(a, b))

say, row, show_ratio = results.say, results.row, results.show_ratio

say(f"bench-manager: {len(runs)} run(s); divan medians (median over runs) [fastest sample of all runs], per operation")
try:
    say(open(run_txt, encoding="utf-8").read().rstrip())
except FileNotFoundError:
    pass
say("")
say("== 1. hit path: 100,000 entries, random keys, statistics on (about 1,000 gets a second timed)")
for name in ["hit/moka_plain", "hit/moka_entry_only", "hit/moka_expiry_only", "hit/moka_shaped",
             "hit/manager_get_blocking", "hit/manager_get_polled"]:
    row(name)
show_ratio("(c)/(a) get_blocking / raw moka plain", "hit/manager_get_blocking", "hit/moka_plain")
show_ratio("(c)/(b) get_blocking / raw moka, manager's shape", "hit/manager_get_blocking", "hit/moka_shaped")
show_ratio("(d)/(a) get polled / raw moka plain", "hit/manager_get_polled", "hit/moka_plain")
show_ratio("(d)/(c) get polled / get_blocking", "hit/manager_get_polled", "hit/manager_get_blocking")
show_ratio("(b)/(a) shaped / plain", "hit/moka_shaped", "hit/moka_plain")
show_ratio("    entry struct only / plain", "hit/moka_entry_only", "hit/moka_plain")
show_ratio("    entry struct + Expiry / plain", "hit/moka_expiry_only", "hit/moka_plain")
target = ratio("hit/manager_get_blocking", "hit/moka_plain")
target_fastest = statistics.median(ratios("hit/manager_get_blocking", "hit/moka_plain", "fastest"))
say(f"target (c) within 5 % of (a): {'met' if target <= 1.05 else 'MISSED'} on medians ({(target - 1) * 100:+.1f} %), "
    f"{'met' if target_fastest <= 1.05 else 'MISSED'} on fastest samples ({(target_fastest - 1) * 100:+.1f} %)")
say("")
say("== 1b. hit path over 1,024 entries (in the CPU caches: instructions, not memory stalls)")
for name in ["hit_1k/moka_plain", "hit_1k/moka_shaped", "hit_1k/manager_get_blocking"]:
    row(name)
show_ratio("get_blocking / raw moka plain", "hit_1k/manager_get_blocking", "hit_1k/moka_plain")
show_ratio("get_blocking / raw moka, manager's shape", "hit_1k/manager_get_blocking", "hit_1k/moka_shaped")
show_ratio("shaped / plain", "hit_1k/moka_shaped", "hit_1k/moka_plain")
say("")
if mixed:
    rounds_note = "rounds per run: CACHE_BENCH_ROUNDS (default 40)"
    say(f"== 1c. the same hits measured in interleaved rounds (paired ratios, median over rounds; {rounds_note})")
    for name in ["hit/moka_plain", "hit/moka_entry_only", "hit/moka_expiry_only", "hit/moka_shaped",
                 "hit/manager_get_blocking", "hit/manager_get_polled",
                 "hit_1k/moka_plain", "hit_1k/moka_shaped", "hit_1k/manager_get_blocking",
                 "hit_2t/moka_plain", "hit_2t/manager_get_blocking",
                 "hit_1k_2t/moka_plain", "hit_1k_2t/manager_get_blocking"]:
        medians = [found[name]["median"] for found in mixed if name in found]
        paired = [found[name]["paired"] for found in mixed if name in found]
        if medians:
            each = ", ".join(f"{v:.3f}" for v in paired)
            say(f"  {name:<40} {fmt(statistics.median(medians)):>11}   / moka_plain of its group: "
                f"{statistics.median(paired):.3f} (runs: {each})")

    def paired_ratio(label, a, b):
        values = [found[a]["paired"] / found[b]["paired"] for found in mixed if a in found and b in found]
        if values:
            each = ", ".join(f"{v:.3f}" for v in values)
            say(f"{label:<50} {statistics.median(values):6.3f} (runs: {each})")
        return statistics.median(values) if values else None

    mixed_target = paired_ratio("(c)/(a) get_blocking / raw moka plain", "hit/manager_get_blocking", "hit/moka_plain")
    paired_ratio("(c)/(b) get_blocking / raw moka, manager's shape", "hit/manager_get_blocking", "hit/moka_shaped")
    paired_ratio("(d)/(a) get polled / raw moka plain", "hit/manager_get_polled", "hit/moka_plain")
    paired_ratio("(d)/(c) get polled / get_blocking", "hit/manager_get_polled", "hit/manager_get_blocking")
    paired_ratio("1k: get_blocking / raw moka plain", "hit_1k/manager_get_blocking", "hit_1k/moka_plain")
    paired_ratio("1k: get_blocking / raw moka, manager's shape", "hit_1k/manager_get_blocking", "hit_1k/moka_shaped")
    paired_ratio("2 threads: get_blocking / raw moka plain", "hit_2t/manager_get_blocking", "hit_2t/moka_plain")
    paired_ratio("2 threads, 1k: get_blocking / raw moka plain", "hit_1k_2t/manager_get_blocking", "hit_1k_2t/moka_plain")
    if mixed_target is not None:
        say(f"target (c) within 5 % of (a), interleaved: {'met' if mixed_target <= 1.05 else 'MISSED'} "
            f"({(mixed_target - 1) * 100:+.1f} %)")
    say("")
say("== 2. miss path: a new key per call, trivial loader")
for name in ["miss/moka_get_with", "miss/manager_get_or_insert_with", "miss/manager_try_get_or_insert_with",
             "miss/manager_get_or_insert_with_blocking"]:
    row(name)
show_ratio("get_or_insert_with / moka get_with", "miss/manager_get_or_insert_with", "miss/moka_get_with")
show_ratio("try_get_or_insert_with / moka get_with", "miss/manager_try_get_or_insert_with", "miss/moka_get_with")
show_ratio("get_or_insert_with_blocking / moka get_with", "miss/manager_get_or_insert_with_blocking", "miss/moka_get_with")
say("")
say("== 3. inserts: update = random existing key of 100,000; new = a key never seen")
for kind in ["update", "new"]:
    for name in ["moka_plain", "moka_listener", "moka_shaped_no_listener", "moka_shaped", "manager"]:
        row(f"insert/{kind}_{name}")
for kind in ["update", "new"]:
    show_ratio(f"{kind}: raw moka, no-op listener / none", f"insert/{kind}_moka_listener", f"insert/{kind}_moka_plain")
    show_ratio(f"{kind}: manager's shape, listener / none", f"insert/{kind}_moka_shaped", f"insert/{kind}_moka_shaped_no_listener")
    show_ratio(f"{kind}: manager / raw moka of its shape", f"insert/{kind}_manager", f"insert/{kind}_moka_shaped")
    show_ratio(f"{kind}: manager / raw moka plain", f"insert/{kind}_manager", f"insert/{kind}_moka_plain")
say("")
say("== 4. disk and hybrid tiers")
row("disk/read_hit", "disk read hit (file only)")
row("disk/write_sync", "disk write, write_behind(0) (fsync)")
row("disk/write_behind_enqueue", "disk write, default write-behind")
row("disk/hybrid_memory_hit_1k", "hybrid memory hit (1,024 entries)")
row("disk/memory_hit_1k", "memory-tier hit (1,024 entries)")
show_ratio("hybrid memory hit / memory-tier hit", "disk/hybrid_memory_hit_1k", "disk/memory_hit_1k")
show_ratio("disk read hit / memory hit (100,000 entries)", "disk/read_hit", "hit/manager_get_blocking")
print(results.text())
EOF

# Counted, not timed: instructions per hit (callgrind) and bytes per entry
# (a counting allocator), from the `hit_cost` bench; see its header.
if ((run_bench)); then
    cargo bench -p cache-runtime --bench hit_cost --no-run 2> "$out/hit_cost.build.txt" ||
        die "could not build the hit_cost bench; see $out/hit_cost.build.txt"
    hit_cost=$(sed -n 's/.*Executable .*(\(.*\)).*/\1/p' "$out/hit_cost.build.txt" | tail -1)
    [[ -x $hit_cost ]] || die "no hit_cost executable in $out/hit_cost.build.txt"
    {
        echo
        echo "== 5. instructions per memory hit, 1,024 entries, 100,000 hits (valgrind --tool=callgrind)"
        if command -v valgrind > /dev/null; then
            declare -A per_hit
            for variant in moka moka_expiry moka_hour manager manager_async manager_untimed_stats manager_ttl; do
                HIT_COST=$variant valgrind --tool=callgrind --toggle-collect='*measured_hits*' \
                    --callgrind-out-file="$out/callgrind.$variant.out" "$hit_cost" > /dev/null 2> "$out/valgrind.$variant.log" ||
                    die "valgrind failed on $variant; see $out/valgrind.$variant.log"
                total=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/valgrind.$variant.log")
                per_hit[$variant]=$((total / 100000))
            done
            ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "x%.3f", a / b }'; }
            printf '%-24s %6s  %s\n' variant instr "what it is"
            printf '%-24s %6s  %s\n' moka "${per_hit[moka]}" "plain moka::sync::Cache::get"
            printf '%-24s %6s  %s\n' moka_expiry "${per_hit[moka_expiry]}" "moka with an Expiry that expires nothing: $(ratio "${per_hit[moka_expiry]}" "${per_hit[moka]}") moka"
            printf '%-24s %6s  %s\n' moka_hour "${per_hit[moka_hour]}" "moka with an Expiry of an hour per entry: $(ratio "${per_hit[moka_hour]}" "${per_hit[moka]}") moka"
            printf '%-24s %6s  %s\n' manager "${per_hit[manager]}" "get_blocking, region without TTL: $(ratio "${per_hit[manager]}" "${per_hit[moka]}") moka (target x1.05)"
            printf '%-24s %6s  %s\n' manager_async "${per_hit[manager_async]}" "get polled once: $(ratio "${per_hit[manager_async]}" "${per_hit[manager]}") get_blocking (target x1.05)"
            printf '%-24s %6s  %s\n' manager_untimed_stats "${per_hit[manager_untimed_stats]}" "latency sampling off (counters only): manager is $(ratio "${per_hit[manager]}" "${per_hit[manager_untimed_stats]}") of it"
            printf '%-24s %6s  %s\n' manager_ttl "${per_hit[manager_ttl]}" "get_blocking, ttl = 1h (moka's expiry needed): $(ratio "${per_hit[manager_ttl]}" "${per_hit[moka_hour]}") moka with an Expiry of an hour"
            # Statistics on vs off: the same bench built again with
            # `--cfg cache_bench_statistics_off`, which compiles counting and
            # latency sampling out of cache-runtime (an ablation for this
            # measurement, not a product setting), in a target directory of
            # its own (RUSTFLAGS change every crate's build).
            off_target=$target/statistics-off
            echo "building hit_cost without statistics in $off_target..." >&2
            RUSTFLAGS="${RUSTFLAGS:-} --cfg cache_bench_statistics_off" CARGO_TARGET_DIR=$off_target \
                cargo bench -p cache-runtime --bench hit_cost --no-run 2> "$out/hit_cost_off.build.txt" ||
                die "could not build the statistics-off hit_cost; see $out/hit_cost_off.build.txt"
            hit_cost_off=$(sed -n 's/.*Executable .*(\(.*\)).*/\1/p' "$out/hit_cost_off.build.txt" | tail -1)
            [[ -x $hit_cost_off ]] || die "no hit_cost executable in $out/hit_cost_off.build.txt"
            for variant in manager manager_async; do
                HIT_COST=$variant valgrind --tool=callgrind --toggle-collect='*measured_hits*' \
                    --callgrind-out-file="$out/callgrind.$variant.statistics_off.out" "$hit_cost_off" > /dev/null 2> "$out/valgrind.$variant.off.log" ||
                    die "valgrind failed on $variant without statistics; see $out/valgrind.$variant.off.log"
                total=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/valgrind.$variant.off.log")
                off=$((total / 100000))
                printf '%-24s %6s  %s\n' "${variant}_off" "$off" "$variant built without statistics: on vs off $(ratio "${per_hit[$variant]}" "$off") in instructions (target x1.01, in time)"
            done
            # The same in time: the interleaved hits of the `manager` bench
            # from both builds, alternately (each paired with moka in its
            # own process), twice.
            cargo bench -p cache-runtime --bench manager --no-run 2> "$out/manager_on.build.txt" ||
                die "could not build the manager bench; see $out/manager_on.build.txt"
            RUSTFLAGS="${RUSTFLAGS:-} --cfg cache_bench_statistics_off" CARGO_TARGET_DIR=$off_target \
                cargo bench -p cache-runtime --bench manager --no-run 2> "$out/manager_off.build.txt" ||
                die "could not build the statistics-off manager bench; see $out/manager_off.build.txt"
            manager_on=$(sed -n 's/.*Executable .*(\(.*\)).*/\1/p' "$out/manager_on.build.txt" | tail -1)
            manager_off=$(sed -n 's/.*Executable .*(\(.*\)).*/\1/p' "$out/manager_off.build.txt" | tail -1)
            echo "statistics on vs off in time (interleaved hits, each build's manager / moka, then on / off):"
            for round in 1 2; do
                for build in on off; do
                    binary=$manager_on
                    [[ $build == off ]] && binary=$manager_off
                    CACHE_BENCH_ROUNDS=${CACHE_BENCH_ROUNDS:-40} "$binary" --bench zzz_nothing 2> /dev/null |
                        awk -v b="$build" '/^interleaved .*manager_get_blocking/ { print b, $2, $NF }'
                done > "$out/statistics_on_off.$round.txt"
                awk -v r="$round" '{ v[$1 " " $2] = $3; k[$2] = 1 } END { for (g in k) printf "  round %s %-36s on x%.4f  off x%.4f  on / off x%.3f\n", r, g, v["on " g], v["off " g], v["on " g] / v["off " g] }' \
                    "$out/statistics_on_off.$round.txt" | sort
            done
        else
            echo "valgrind not found: skipped"
        fi
        echo
        echo "== 6. bytes per entry (counting allocator)"
        "$hit_cost" memory
    } | tee -a "$summary"
fi

echo
cat "$summary"
echo
echo "summary written to $summary"
