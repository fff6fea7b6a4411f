#!/usr/bin/env bash
# Benchmarks dynamic configuration (divan bench `config` of cache-runtime,
# see cache-runtime/benches/config.rs) and prints, from divan's medians:
#
#   1. the fixed cost of CacheManager::configure on an empty region (whole-
#      change validation, the state file's atomic write, the event): a ttl
#      change and a max_entries change on a fresh state file; then a ttl
#      change once the state file keeps the default 1,000 audit records,
#      with the state files in the system temp folder (TMPDIR) and, when
#      /dev/shm is a tmpfs, there too (no fsync cost: what is left is the
#      CPU's, reading and rewriting the history);
#   2. rebuilds: max_entries N -> N/2 (shrink) and N -> 2N (grow) with N
#      entries held, N = 10,000 and 100,000; per entry held, net of the same
#      change on an empty region (and the raw time / N);
#   3. TTL re-time sweeps (ttl 1h -> 30m) over N entries, per entry net of
#      the change on an empty region;
#   4. the hit path (1,024 entries) before any reconfiguration and after one
#      rebuild: the ratio after / before, from divan's medians and from
#      interleaved rounds (paired ratios, the steadier on a shared machine).
#
# Sections 2-4 and the first two rows of 1 come from RUNS bench processes
# (default 3; the 1,000-record history bench is skipped there: filling the
# history takes 1,000 fsynced changes); each ratio or per-entry cost is
# computed per run from that run's medians, then the median over the runs
# is shown with the runs' values. Times are the median over the runs of each
# run's median, and in brackets the fastest sample of all runs. The state
# file rows of section 1 come from one more process per folder running the
# `fixed` group only. Takes about 2 minutes on the reference machine.
#
# Usage: scripts/bench-config.sh [--skip-bench] [--skip-state]
#   --skip-bench  recompute the summary from the last runs' divan output
#   --skip-state  leave out the state-file processes (1,000-record history)
# Environment: CARGO_TARGET_DIR (honoured), RUNS (bench processes, default
# 3), BENCH_ARGS (extra divan arguments), CACHE_BENCH_ROUNDS (interleaved
# rounds per run, default 40; 0 skips them), TMPDIR (where the state files
# go), TMPFS_DIR (the tmpfs for the fsync-free pass, default /dev/shm).
# Nothing here asserts a timing: it only reports. Results go to
# $CARGO_TARGET_DIR/bench-config/ (divan.N.txt per run, state.disk.txt,
# state.tmpfs.txt, summary.txt).

set -euo pipefail

# shellcheck source=lib/bench-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh"

run_bench=1
run_state=1
for arg in "$@"; do
    case "$arg" in
        --skip-bench) run_bench=0 ;;
        --skip-state) run_state=0 ;;
        -h | --help) usage ;;
        *) unknown_argument "$arg" ;;
    esac
done

bench_output bench-config
bench_runs
temp=${TMPDIR:-/tmp}
tmpfs=${TMPFS_DIR:-/dev/shm}

# Runs the bench once: divan's output to $out/$1.txt, its stderr to
# $out/stderr.$1.txt; the other arguments are divan's.
bench_once() {
    local name=$1
    shift
    cargo bench -p cache-runtime --bench config -- "$@" > "$out/$name.txt" 2> "$out/stderr.$name.txt" ||
        die "the bench failed; its output is in $out/$name.txt and $out/stderr.$name.txt"
}

if ((run_bench)); then
    echo "building the bench..." >&2
    cargo bench -p cache-runtime --bench config --no-run
    rm -f "$out"/divan.*.txt "$out"/state.*.txt "$out"/stderr.*.txt
    {
        echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, rustc: $(rustc --version)"
        echo "command: cargo bench -p cache-runtime --bench config -- --skip ttl_history_1000 ${BENCH_ARGS:-} ($runs runs)"
        echo "state files in $temp ($(stat -f -c %T "$temp" 2> /dev/null || echo '?'))"
    } > "$out/run.txt"
    for run in $(seq "$runs"); do
        echo "run $run of $runs..." >&2
        load_before=$(cut -d' ' -f1-3 /proc/loadavg)
        started=$(date +%s)
        # shellcheck disable=SC2086 # BENCH_ARGS is split on purpose
        bench_once "divan.$run" --skip ttl_history_1000 ${BENCH_ARGS:-}
        echo "run $run: load average before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg); $(($(date +%s) - started)) s; $(grep -m1 '^set-up' "$out/stderr.divan.$run.txt" || true)" >> "$out/run.txt"
        cat "$out/divan.$run.txt"
    done
    if ((run_state)); then
        echo "state file: the fixed group in $temp..." >&2
        echo "command: CACHE_BENCH_ROUNDS=0 cargo bench -p cache-runtime --bench config -- fixed (state files in $temp)" >> "$out/run.txt"
        CACHE_BENCH_ROUNDS=0 bench_once state.disk fixed
        cat "$out/state.disk.txt"
        if [[ $(stat -f -c %T "$tmpfs" 2> /dev/null) == tmpfs && -w $tmpfs ]]; then
            echo "state file: the fixed group in $tmpfs..." >&2
            echo "command: TMPDIR=$tmpfs CACHE_BENCH_ROUNDS=0 cargo bench -p cache-runtime --bench config -- fixed" >> "$out/run.txt"
            TMPDIR=$tmpfs CACHE_BENCH_ROUNDS=0 bench_once state.tmpfs fixed
            cat "$out/state.tmpfs.txt"
        else
            echo "no tmpfs at $tmpfs: the fsync-free pass is left out" >> "$out/run.txt"
        fi
    fi
fi
shopt -s nullglob
outputs=("$out"/divan.*.txt)
((${#outputs[@]})) || die "no divan output in $out (run without --skip-bench)"

BENCH_LIB="$(dirname "${BASH_SOURCE[0]}")/lib" python3 - "$out" "${outputs[@]}" > "$summary" << 'EOF' || die "could not summarize the divan output in $out"
import os
import statistics
import sys

out, outputs = sys.argv[1], sorted(sys.argv[2:])
sys.path.insert(0, os.environ["BENCH_LIB"])
from divan_table import Report, fmt  # noqa: E402

results = Report(outputs, label_width=44)
say, row, show_ratio = results.say, results.row, results.show_ratio
runs, mixed = results.runs, results.mixed


def sizes(group):
    """The N of `group`'s benches (divan's args), smallest first."""
    found = {name.rsplit("/", 1)[1] for run in runs for name in run if name.startswith(group + "/")}
    return sorted(found, key=int)


def per_entry(name, baseline, n, stat="median"):
    """(name - baseline) / n per run, in ns, and their median."""
    values = [(run[name][stat] - run[baseline][stat]) / n for run in runs if name in run and baseline in run]
    return statistics.median(values), values


def entry_row(label, name, baseline, n):
    """A rebuild or sweep: its time, and per entry net of the empty-region
    change, from medians and [fastest samples], and the raw time / n."""
    net, each = per_entry(name, baseline, int(n))
    net_fastest, _ = per_entry(name, baseline, int(n), "fastest")
    each_text = ", ".join(f"{v:.0f}" for v in each)
    fastest = f"[{fmt(results.fastest(name))}]"
    say(f"  {label:<30} {fmt(results.time(name)):>10} {fastest:<11}  per entry {fmt(net):>9} "
        f"{'[' + fmt(net_fastest) + ']':<10} (runs: {each_text} ns)  raw / N {fmt(results.time(name) / int(n))}")


say(f"bench-config: {len(runs)} run(s); divan medians (median over runs) [fastest sample of all runs], per operation")
try:
    say(open(os.path.join(out, "run.txt"), encoding="utf-8").read().rstrip())
except FileNotFoundError:
    pass
say("")
say("== 1. CacheManager::configure on an empty region: the fixed cost")
row("fixed/ttl_empty", "ttl 1h -> 30m, fresh state file")
row("fixed/max_entries_empty", "max_entries 10k -> 5k, fresh state file")
states = {}
for kind, where in [("disk", "system temp folder"), ("tmpfs", "tmpfs: no fsync cost")]:
    path = os.path.join(out, f"state.{kind}.txt")
    if not os.path.exists(path):
        continue
    state = Report([path])
    say(f"  state files in the {where} (one process):")
    for name, label in [("fixed/ttl_empty", "ttl, fresh state file"),
                        ("fixed/max_entries_empty", "max_entries, fresh state file"),
                        ("fixed/ttl_history_1000", "ttl, 1,000 audit records kept")]:
        if name in state.runs[0]:
            say(f"    {label:<38} {fmt(state.time(name)):>11}  [{fmt(state.fastest(name))}]")
    states[kind] = state.runs[0]
if len(states) == 2:
    say("  the disk's part (system temp folder - tmpfs: the fsyncs, mostly):")
    for name, label in [("fixed/ttl_empty", "ttl, fresh state file"),
                        ("fixed/ttl_history_1000", "ttl, 1,000 audit records kept")]:
        if name in states["disk"] and name in states["tmpfs"]:
            say(f"    {label:<38} {fmt(states['disk'][name]['median'] - states['tmpfs'][name]['median']):>11}")
say("")
say("== 2. rebuilds (max_entries) with N entries held; per entry held = (time - max_entries_empty) / N")
for kind, label in [("shrink", "N -> N/2"), ("grow", "N -> 2N")]:
    for n in sizes(f"rebuild/{kind}"):
        entry_row(f"{kind} {label}, N = {int(n):,}", f"rebuild/{kind}/{n}", "fixed/max_entries_empty", n)
say("")
say("== 3. TTL re-time sweep (ttl 1h -> 30m) over N entries; per entry = (time - ttl_empty) / N")
for n in sizes("retime/ttl"):
    entry_row(f"sweep, N = {int(n):,}", f"retime/ttl/{n}", "fixed/ttl_empty", n)
say("")
say("== 4. hit path, 1,024 entries, random keys, statistics on (about 1,000 gets a second timed)")
row("hit_1k/before_rebuild", "before any reconfiguration")
row("hit_1k/after_rebuild", "after one rebuild")
show_ratio("after / before (divan medians)", "hit_1k/after_rebuild", "hit_1k/before_rebuild")
if mixed:
    paired = [found["hit_1k/after_rebuild"]["paired"] for found in mixed if "hit_1k/after_rebuild" in found]
    medians = {name: [found[name]["median"] for found in mixed if name in found]
               for name in ["hit_1k/before_rebuild", "hit_1k/after_rebuild"]}
    if paired:
        each = ", ".join(f"{v:.3f}" for v in paired)
        say(f"{'after / before (interleaved, paired)':<44} {statistics.median(paired):7.3f} (runs: {each})"
            f"  [times: {fmt(statistics.median(medians['hit_1k/before_rebuild']))} -> "
            f"{fmt(statistics.median(medians['hit_1k/after_rebuild']))}; rounds per run: CACHE_BENCH_ROUNDS, default 40]")
print(results.text())
EOF

echo
cat "$summary"
echo
echo "summary written to $summary"
