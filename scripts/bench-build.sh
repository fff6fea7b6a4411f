#!/usr/bin/env bash
# Benchmarks cache-build's scan over 10,000 generated source files (divan
# bench `scan` of crate `cache-build`, see cache-build/benches/scan.rs) and
# prints the ratios:
#
#   warm / cold        an unchanged rerun against a full scan (no cache);
#   1% / cold          a rerun after editing 100 files against a full scan;
#   cold / blake3      a full scan against blake3 of the same bytes in memory;
#   warm / blake3      the design target: "a small fraction of hashing them";
#   and the share of `cargo metadata`, which the builder runs even with
#   `dependencies(false)`, in a warm rerun.
#
# Every builder measurement exists twice: `cargo-metadata` (as in a real
# build script) and `no-metadata` (CARGO points nowhere, so the builder
# guesses the targets from Cargo's default layout and starts no process).
#
# Usage: scripts/bench-build.sh [--skip-bench]
#   --skip-bench  reuse the last divan output instead of running the bench.
# Environment: CARGO_TARGET_DIR (honoured). Nothing here asserts a timing:
# it only reports. Results are also written to $CARGO_TARGET_DIR/bench-build/.

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


bench_output bench-build


# A divan time ("84.98 µs") in nanoseconds.
to_ns() {
    awk -v v="$1" -v u="$2" 'BEGIN {
        m = (u == "ps") ? 0.001 : (u == "ns") ? 1 : (u == "µs" || u == "us") ? 1000 : (u == "ms") ? 1e6 : (u == "s") ? 1e9 : -1
        if (m < 0) { print "nan"; exit 1 }
        printf "%.3f", v * m
    }'
}

# "a / b", to three decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.3f", a / b }'; }
ms() { awk -v n="$1" 'BEGIN { printf "%.1f ms", n / 1e6 }'; }
percent() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.0f%%", 100 * a / b }'; }

if ((run_bench)); then
    : > "$summary"
    say "bench-build: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    say "rustc: $(rustc --version)"
    say "target dir: $target"
    section "divan bench (cargo bench -p cache-build --bench scan)"
    echo "building and running the bench (10,000 generated files; a few minutes)..." >&2
    cargo bench -p cache-build --bench scan --no-run
    cargo bench -p cache-build --bench scan > "$out/divan.txt" ||
        die "the bench failed; its output is in $out/divan.txt"
    cat "$out/divan.txt" | tee -a "$summary"
else
    [[ -s $out/divan.txt ]] || die "no earlier output in $out/divan.txt; run without --skip-bench"
    printf '\n(reusing %s)\n' "$out/divan.txt" | tee -a "$summary"
fi

# Flatten divan's tree into "group/bench/arg<TAB>median<TAB>unit".
sed 's/│/|/g; s/├─/+-/g; s/╰─/+-/g' "$out/divan.txt" | awk '
    /\+- / {
        at = index($0, "+- ")
        depth = int((at - 1) / 3)
        rest = substr($0, at + 3)
        n = split(rest, cols, "|")
        split(cols[1], first, " ")
        path[depth] = first[1]
        name = path[0]
        for (i = 1; i <= depth; i++) name = name "/" path[i]
        if (n >= 4 && first[2] != "") {
            split(cols[3], median, " ")
            printf "%s\t%s\t%s\n", name, median[1], median[2]
        }
    }' > "$out/divan.tsv"
[[ -s $out/divan.tsv ]] || die "could not read divan's table in $out/divan.txt"

median_ns() {
    local line
    line=$(awk -F'\t' -v n="$1" '$1 == n' "$out/divan.tsv")
    [[ -n $line ]] || die "no result for '$1' in $out/divan.tsv"
    to_ns "$(cut -f2 <<< "$line")" "$(cut -f3 <<< "$line")"
}

floor=$(median_ns blake3_floor)
read_hash=$(median_ns read_and_hash)
metadata=$(median_ns cargo_metadata)

section "medians"
say "blake3 floor (bytes in memory):   $(ms "$floor")"
say "fs::read + blake3:                $(ms "$read_hash")"
say "cargo metadata --offline alone:   $(ms "$metadata")"
for variant in cargo-metadata no-metadata; do
    say "[$variant]"
    say "  cold scan (no cache):           $(ms "$(median_ns "cold_scan/$variant")")"
    say "  warm rerun (nothing changed):   $(ms "$(median_ns "warm_rerun/$variant")")"
    say "  rerun, 1% of files edited:      $(ms "$(median_ns "rerun_1pct_changed/$variant")")"
done

section "ratios (medians)"
for variant in cargo-metadata no-metadata; do
    cold=$(median_ns "cold_scan/$variant")
    warm=$(median_ns "warm_rerun/$variant")
    changed=$(median_ns "rerun_1pct_changed/$variant")
    say "[$variant]"
    say "  warm / cold:          $(ratio "$warm" "$cold")"
    say "  1% changed / cold:    $(ratio "$changed" "$cold")"
    say "  cold / blake3 floor:  $(ratio "$cold" "$floor")"
    say "  warm / blake3 floor:  $(ratio "$warm" "$floor")   (design target: well below 1)"
    say "  cold / read+hash:     $(ratio "$cold" "$read_hash")"
done
warm_with=$(median_ns warm_rerun/cargo-metadata)
say "cargo metadata in a warm rerun: $(ms "$metadata") of $(ms "$warm_with") ($(percent "$metadata" "$warm_with"))"
say "written to $summary"
