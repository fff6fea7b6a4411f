#!/usr/bin/env bash
# Benchmarks the link-time registry over generated regions (crate
# `cache-benches`, see benches/build.rs) and prints the ratios:
#
#   1. divan bench `registry`: first-call cost (`RegistryBuilder::linked()
#      .build()`) vs the naive `inventory` HashMap build, lookups by name and
#      by type, iteration;
#   2. start-up: instructions (valgrind callgrind, deterministic) of four
#      tiny programs that link nothing / 10,000 linkme regions / the same
#      10,000 descriptors through inventory / as raw linkme statics, plus
#      their wall time, binary sizes and the
#      cold first `registry()` call measured inside the process;
#   3. compile time per 1,000 declared regions (debug `cargo check` and
#      release `cargo build` of the start-up examples with CACHE_BENCH_REGIONS
#      = 1, 1000 and 10000; optimized builds default to 10,000 regions,
#      debug ones to 100), for #[cache_region], inventory and raw linkme
#      statics of the same descriptors, with rustc's peak memory; and the
#      fixed cost, a debug build of 10 regions with 10 key/value pairs.
#
# Usage: scripts/bench-registry.sh [--skip-bench] [--skip-startup] [--skip-compile]
# Environment: CARGO_TARGET_DIR (honoured), STARTUP_RUNS (wall-time runs per
# program, default 200), BENCH_ARGS (extra divan arguments, e.g.
# "--sample-count 500"). Nothing here asserts a timing: it only reports.
# Results are also written to $CARGO_TARGET_DIR/bench-registry/.

set -euo pipefail

# shellcheck source=lib/bench-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh"

run_bench=1
run_startup=1
run_compile=1
for arg in "$@"; do
    case "$arg" in
        --skip-bench) run_bench=0 ;;
        --skip-startup) run_startup=0 ;;
        --skip-compile) run_compile=0 ;;
        -h | --help) usage ;;
        *) unknown_argument "$arg" ;;
    esac
done


bench_output bench-registry
: > "$summary"
runs=${STARTUP_RUNS:-200}
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "STARTUP_RUNS must be a positive number, got '$runs'"
default_regions=10000

# The generated count comes from this variable; the measurements below set it
# themselves and the default run must not inherit one from the caller.
unset CACHE_BENCH_REGIONS CACHE_BENCH_INDEX


# A divan time ("84.98 µs") in nanoseconds.
to_ns() {
    awk -v v="$1" -v u="$2" 'BEGIN {
        m = (u == "ps") ? 0.001 : (u == "ns") ? 1 : (u == "µs" || u == "us") ? 1000 : (u == "ms") ? 1e6 : (u == "s") ? 1e9 : -1
        if (m < 0) exit 1
        printf "%.3f", v * m
    }' || die "unknown time '$1 $2' in divan's output ($out/divan.txt)"
}

# "a / b", to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

# Seconds since an arbitrary point, with nanoseconds.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

say "bench-registry: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "rustc: $(rustc --version)"
say "target dir: $target"

# ---------------------------------------------------------------------------
# 1. divan
# ---------------------------------------------------------------------------

if ((run_bench)); then
    section "divan bench (cargo bench -p cache-benches --bench registry), $default_regions regions"
    echo "building the bench (10,000 generated regions: this takes a minute or two)..." >&2
    cargo bench -p cache-benches --bench registry --no-run
    # shellcheck disable=SC2086 # BENCH_ARGS is split on purpose
    cargo bench -p cache-benches --bench registry -- ${BENCH_ARGS:-} > "$out/divan.txt" ||
        die "the bench failed; its output is in $out/divan.txt"
    cat "$out/divan.txt"

    # Flatten divan's tree into "group/bench/arg<TAB>median<TAB>unit<TAB>fastest<TAB>unit".
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
                printf "%s\t%s\t%s\t%s\t%s\n", name, median[1], median[2], first[2], first[3]
            }
        }' > "$out/divan.tsv"
    [[ -s $out/divan.tsv ]] || die "could not read divan's table in $out/divan.txt"

    # median_ns NAME [fastest]: divan's median (or fastest) time of NAME.
    median_ns() {
        local line
        line=$(awk -F'\t' -v n="$1" '$1 == n' "$out/divan.tsv")
        [[ -n $line ]] || die "no result for '$1' in $out/divan.tsv"
        if [[ ${2:-} == fastest ]]; then
            to_ns "$(cut -f4 <<< "$line")" "$(cut -f5 <<< "$line")"
        else
            to_ns "$(cut -f2 <<< "$line")" "$(cut -f3 <<< "$line")"
        fi
    }
    us() { awk -v n="$1" 'BEGIN { printf "%.1f µs", n / 1000 }'; }

    build_ns=$(median_ns build/registry_linked)
    naive_ns=$(median_ns build/inventory_hashmap)
    slice_ns=$(median_ns build/slice_hashmap)
    section "divan: median (fastest) of each bench's samples; the fastest is the least disturbed by other load"
    say "registry build (= first registry() call, warm):  $(us "$build_ns") ($(us "$(median_ns build/registry_linked fastest)"))   target <= 100 µs: $(awk -v n="$build_ns" 'BEGIN { print (n <= 100000) ? "met" : "MISSED (median)" }')"
    say "inventory iterate + HashMap build:                $(us "$naive_ns") ($(us "$(median_ns build/inventory_hashmap fastest)"))"
    say "HashMap over the linkme slice, with capacity:     $(us "$slice_ns") ($(us "$(median_ns build/slice_hashmap fastest)"))"
    say "  ratio inventory HashMap / registry build: $(ratio "$naive_ns" "$build_ns")x; slice HashMap / registry build: $(ratio "$slice_ns" "$build_ns")x"
    for name in region-00000 region-05000 region-09999 region-absent; do
        reg=$(median_ns "lookup_by_name/registry_get/$name")
        map=$(median_ns "lookup_by_name/inventory_hashmap_get/$name")
        say "$(printf 'lookup by name %-14s registry %7.2f ns   HashMap %7.2f ns   ratio %s' "$name" "$reg" "$map" "$(ratio "$map" "$reg")x")"
    done
    for region in Region00000 Region05000 Region09999; do
        say "$(printf 'lookup by type %-14s registry %7.2f ns' "$region" "$(median_ns "lookup_by_type/registry_region/$region")")"
    done
    say "iterate in name order (warm): $(us "$(median_ns iterate/registry_iter)"); inventory's list: $(us "$(median_ns iterate/inventory_iter)")"
    say "first iter() of a registry (lazy sort by name): $(us "$(median_ns iterate/registry_first_iter)")"
fi

# ---------------------------------------------------------------------------
# 2. start-up
# ---------------------------------------------------------------------------

examples=(startup_baseline startup_linkme startup_inventory startup_raw_linkme startup_raw_packed)

build_examples() {
    cargo build --release -p cache-benches "${@/#/--example=}"
}

if ((run_startup)); then
    section "start-up: release examples ${examples[*]}"
    echo "building the start-up examples..." >&2
    build_examples "${examples[@]}"
    declare -A expected=([startup_baseline]=0 [startup_linkme]=$default_regions [startup_inventory]=$default_regions [startup_raw_linkme]=$default_regions [startup_raw_packed]=$default_regions)
    declare -A first_call
    for example in "${examples[@]}"; do
        binary=$target/release/examples/$example
        [[ -x $binary ]] || die "$binary was not built"
        # Proves the entries are linked in (the linker drops unreferenced
        # statics) and times the cold first index build inside the process.
        samples=()
        for _ in $(seq 21); do
            read -r count ns < <(CACHE_BENCH_INDEX=1 "$binary")
            [[ $count == "${expected[$example]}" ]] ||
                die "$example holds $count entries, expected ${expected[$example]}"
            samples+=("$ns")
        done
        first_call[$example]=$(printf '%s\n' "${samples[@]}" | sort -n | sed -n 11p)
    done
    say "entries linked: baseline 0, linkme $default_regions, inventory $default_regions, raw linkme $default_regions, raw packed $default_regions (verified)"
    say "raw linkme: statics of a plain struct, one &'static str per string (the floor of a hand-written linkme registry);"
    say "raw packed: statics of the descriptors #[cache_region] writes (one packed string each), without its index entry, kit and marker"
    say "$(printf 'cold first index build in a fresh process (median of 21): registry() %.1f µs, inventory HashMap %.1f µs' \
        "$(awk -v n="${first_call[startup_linkme]}" 'BEGIN { print n / 1000 }')" \
        "$(awk -v n="${first_call[startup_inventory]}" 'BEGIN { print n / 1000 }')")"

    # Wall time per process, fork + exec included, averaged over many runs.
    declare -A wall
    for example in "${examples[@]}"; do
        binary=$target/release/examples/$example
        "$binary" # warm the page cache
        start=$(now)
        for _ in $(seq "$runs"); do "$binary"; done
        wall[$example]=$(awk -v a="$start" -v b="$(now)" -v n="$runs" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
    done
    say "wall time per run, exit without indexing (mean of $runs, fork+exec included, noisy):"
    say "  baseline ${wall[startup_baseline]} µs, linkme ${wall[startup_linkme]} µs, inventory ${wall[startup_inventory]} µs, raw linkme ${wall[startup_raw_linkme]} µs, raw packed ${wall[startup_raw_packed]} µs"
    say "  extra over baseline: linkme $(awk -v a="${wall[startup_linkme]}" -v b="${wall[startup_baseline]}" 'BEGIN { printf "%.1f", a - b }') µs, inventory $(awk -v a="${wall[startup_inventory]}" -v b="${wall[startup_baseline]}" 'BEGIN { printf "%.1f", a - b }') µs"

    if command -v valgrind > /dev/null; then
        # Instructions of a whole run, and of its phases, from callgrind.
        declare -A total reloc ctors mainfn
        sizes=""
        for example in "${examples[@]}"; do
            binary=$target/release/examples/$example
            for mode in exit index; do
                file=$out/callgrind.$example.$mode.out
                if [[ $mode == index ]]; then
                    CACHE_BENCH_INDEX=1 valgrind --tool=callgrind --callgrind-out-file="$file" "$binary" > /dev/null 2> "$out/valgrind.log" ||
                        die "valgrind failed on $example; see $out/valgrind.log"
                else
                    valgrind --tool=callgrind --callgrind-out-file="$file" "$binary" > /dev/null 2> "$out/valgrind.log" ||
                        die "valgrind failed on $example; see $out/valgrind.log"
                fi
                key=$example.$mode
                total[$key]=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/valgrind.log")
                [[ -n ${total[$key]} ]] || die "no instruction count in $out/valgrind.log"
                callgrind_annotate --inclusive=yes --threshold=100 "$file" 2> /dev/null | tr -d , > "$file.txt"
                reloc[$key]=$(awk '/dl-reloc\.c:_dl_relocate_object / { print $1; exit }' "$file.txt")
                ctors[$key]=$(awk '/::__ctor / { s += $1 } END { print s + 0 }' "$file.txt")
                mainfn[$key]=$(awk -v m="$example::main " 'index($0, m) { print $1; exit }' "$file.txt")
            done
        done
        base=${total[startup_baseline.exit]}
        section "start-up instructions (valgrind --tool=callgrind, whole process)"
        printf '%-18s %14s %14s %14s %14s %16s\n' program "exit: total" "relocations" constructors "extra vs base" "index: total" | tee -a "$summary"
        for example in "${examples[@]}"; do
            printf '%-18s %14s %14s %14s %14s %16s\n' "$example" "${total[$example.exit]}" "${reloc[$example.exit]:-?}" \
                "${ctors[$example.exit]}" "$((total[$example.exit] - base))" "${total[$example.index]}" | tee -a "$summary"
        done
        linkme_extra=$((total[startup_linkme.exit] - base))
        inventory_extra=$((total[startup_inventory.exit] - base))
        raw_extra=$((total[startup_raw_linkme.exit] - base))
        packed_extra=$((total[startup_raw_packed.exit] - base))
        say "start-up cost of the $default_regions entries (instructions over baseline): linkme $linkme_extra, inventory $inventory_extra, raw linkme $raw_extra, raw packed $packed_extra; linkme/inventory = $(ratio "$linkme_extra" "$inventory_extra"), linkme/raw linkme = $(ratio "$linkme_extra" "$raw_extra"), linkme/raw packed = $(ratio "$linkme_extra" "$packed_extra")"
        say "whole process, registry unused: linkme / raw linkme = $(ratio "${total[startup_linkme.exit]}" "${total[startup_raw_linkme.exit]}") (target <= 1.1), linkme / raw packed = $(ratio "${total[startup_linkme.exit]}" "${total[startup_raw_packed.exit]}"), linkme / inventory = $(ratio "${total[startup_linkme.exit]}" "${total[startup_inventory.exit]}")"
        for example in "${examples[@]}"; do
            sizes+="$example $(stat -c %s "$target/release/examples/$example") B; "
        done
        say "binary sizes: ${sizes:-}"
        if command -v readelf > /dev/null; then
            relocs=""
            base_relocs=$(readelf -r "$target/release/examples/startup_baseline" | grep -c R_X86_64_ || true)
            for example in "${examples[@]:1}"; do
                n=$(readelf -r "$target/release/examples/$example" | grep -c R_X86_64_ || true)
                relocs+="$example $(awk -v n="$n" -v b="$base_relocs" -v r="$default_regions" 'BEGIN { printf "%.2f", (n - b) / r }'); "
            done
            say "dynamic relocations per region (readelf, over the baseline's $base_relocs): $relocs"
        fi
        say "  of which relocations (ld.so, before main): linkme $((reloc[startup_linkme.exit] - reloc[startup_baseline.exit])), inventory $((reloc[startup_inventory.exit] - reloc[startup_baseline.exit])); inventory constructors: ${ctors[startup_inventory.exit]}"
        say "first index build (instructions of main with CACHE_BENCH_INDEX=1): registry() $((mainfn[startup_linkme.index] - mainfn[startup_baseline.index])), inventory HashMap $((mainfn[startup_inventory.index] - mainfn[startup_baseline.index])) (over the baseline's main)"
        say "start-up + first index build over baseline: linkme $((total[startup_linkme.index] - total[startup_baseline.index])), inventory $((total[startup_inventory.index] - total[startup_baseline.index])), ratio $(ratio "$((total[startup_linkme.index] - total[startup_baseline.index]))" "$((total[startup_inventory.index] - total[startup_baseline.index]))")"
    else
        say "valgrind not found (apt-get install -y valgrind): instruction counts skipped; wall times above only"
    fi
fi

# ---------------------------------------------------------------------------
# 3. compile time
# ---------------------------------------------------------------------------

# Times one cargo command with CACHE_BENCH_REGIONS=$1 ("" = unset, the
# default 10,000) and prints "wall cpu peak" (seconds, seconds, MiB; cpu =
# user + sys of cargo and the compilers it runs: steadier than wall time on
# a busy machine; peak = the largest resident set among them, i.e. rustc's).
# The change of count reruns build.rs, which regenerates the included
# files, so the command recompiles the example (and the tiny lib). A "*"
# marks a timing during which another crate was rebuilt (the workspace
# changed meanwhile).
timed() {
    local regions=$1
    shift
    (
        if [[ -n $regions ]]; then export CACHE_BENCH_REGIONS=$regions; fi
        /usr/bin/time -o "$out/time.txt" -f '%e %U %S %M' "$@" > /dev/null 2> "$out/compile.log"
    ) || die "'$*' failed; see $out/compile.log"
    local mark=""
    if grep -E '^ *(Compiling|Checking) ' "$out/compile.log" | grep -qv 'cache-benches'; then
        mark="*"
    fi
    awk -v m="$mark" '{ printf "%.2f%s %.2f%s %.0f\n", $1, m, $2 + $3, m, $4 / 1024 }' "$out/time.txt"
}

if ((run_compile)); then
    [[ -x /usr/bin/time ]] || die "/usr/bin/time is needed for the compile timings (apt-get install -y time)"
    compiled=(startup_linkme startup_inventory startup_raw_linkme)
    section "compile time of one example (build.rs rerun + lib + the example) with CACHE_BENCH_REGIONS = 1 / 1000 / 10000"
    echo "warming the dependencies..." >&2
    CACHE_BENCH_REGIONS=2 cargo check -p cache-benches --examples 2> "$out/compile.log" || die "cargo check failed; see $out/compile.log"
    CACHE_BENCH_REGIONS=2 build_examples "${compiled[@]}" 2> "$out/compile.log" || die "cargo build failed; see $out/compile.log"
    dirty=0
    per() { awk -v a="${1%\*}" -v b="${2%\*}" 'BEGIN { printf "%.2f", (b - a) / 10 }'; }
    printf '%-34s %16s %16s %16s %22s %14s\n' "seconds, wall / cpu" "1 region" "1,000" "10,000" "per 1,000: wall / cpu" "peak MiB 10k" | tee -a "$summary"
    declare -A per_cpu peak
    for profile in check release; do
        for example in "${compiled[@]}"; do
            if [[ $profile == check ]]; then
                cmd=(cargo check -p cache-benches --example "$example")
                label="check (debug) $example"
            else
                cmd=(cargo build --release -p cache-benches --example "$example")
                label="build --release $example"
            fi
            echo "timing ${cmd[*]}..." >&2
            read -r w1 c1 _ <<< "$(timed 1 "${cmd[@]}")"
            read -r w1000 c1000 _ <<< "$(timed 1000 "${cmd[@]}")"
            # Release: the default count (10,000), which leaves the release
            # examples as the start-up measurement wants them. Debug
            # defaults to 100 regions, so 10,000 is asked for explicitly.
            if [[ $profile == check ]]; then r=$(timed 10000 "${cmd[@]}"); else r=$(timed "" "${cmd[@]}"); fi
            read -r w10000 c10000 m10000 <<< "$r"
            [[ "$w1$w1000$w10000" == *'*'* ]] && dirty=1
            per_cpu[$profile.$example]=$(per "$c1" "$c10000")
            peak[$profile.$example]=$m10000
            printf '%-34s %16s %16s %16s %22s %14s\n' "$label" "$w1 / $c1" "$w1000 / $c1000" "$w10000 / $c10000" \
                "$(per "$w1" "$w10000") / ${per_cpu[$profile.$example]}" "$m10000" | tee -a "$summary"
        done
    done
    # The same check without incremental compilation (CARGO_INCREMENTAL=0):
    # what the compiler's own passes cost, without the dependency graph
    # and query cache an incremental session also writes. Warmed first:
    # the setting is part of every crate's fingerprint.
    echo "warming the dependencies without incremental compilation..." >&2
    CARGO_INCREMENTAL=0 CACHE_BENCH_REGIONS=2 cargo check -p cache-benches --examples 2> "$out/compile.log" ||
        die "cargo check failed; see $out/compile.log"
    for example in startup_linkme startup_raw_linkme; do
        cmd=(env CARGO_INCREMENTAL=0 cargo check -p cache-benches --example "$example")
        echo "timing ${cmd[*]}..." >&2
        read -r w1 c1 _ <<< "$(timed 1 "${cmd[@]}")"
        read -r w1000 c1000 _ <<< "$(timed 1000 "${cmd[@]}")"
        read -r w10000 c10000 m10000 <<< "$(timed 10000 "${cmd[@]}")"
        [[ "$w1$w1000$w10000" == *'*'* ]] && dirty=1
        per_cpu[noincr.$example]=$(per "$c1" "$c10000")
        printf '%-34s %16s %16s %16s %22s %14s\n' "check, not incremental, ${example#startup_}" "$w1 / $c1" "$w1000 / $c1000" "$w10000 / $c10000" \
            "$(per "$w1" "$w10000") / ${per_cpu[noincr.$example]}" "$m10000" | tee -a "$summary"
    done
    say "per 1,000 regions = (t(10000) - t(1)) / 10; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
    say "check without incremental compilation: cpu per 1,000 #[cache_region] ${per_cpu[noincr.startup_linkme]} s, raw linkme ${per_cpu[noincr.startup_raw_linkme]} s ($(ratio "${per_cpu[noincr.startup_linkme]}" "${per_cpu[noincr.startup_raw_linkme]}"))"
    for profile in check release; do
        say "$profile: cpu per 1,000 #[cache_region] / raw linkme = $(ratio "${per_cpu[$profile.startup_linkme]}" "${per_cpu[$profile.startup_raw_linkme]}"), / inventory = $(ratio "${per_cpu[$profile.startup_linkme]}" "${per_cpu[$profile.startup_inventory]}"); peak rustc memory at 10,000 / raw linkme's = $(ratio "${peak[$profile.startup_linkme]}" "${peak[$profile.startup_raw_linkme]}") (target <= 2)"
    done
    say "target: <= 2 s cpu per 1,000 declarations in check: $(awk -v c="${per_cpu[check.startup_linkme]}" 'BEGIN { print (c <= 2) ? "met" : "MISSED" }')"

    # The fixed cost: a debug build (code generation included) of a crate
    # with 10 regions, each with its own key/value pair (the generated
    # regions cycle through 4 key and 5 value types), against 1 region.
    section "fixed cost: debug build of the startup_linkme example with 10 regions (10 key/value pairs) vs 1"
    cmd=(cargo build -p cache-benches --example startup_linkme)
    CACHE_BENCH_REGIONS=2 "${cmd[@]}" 2> "$out/compile.log" || die "cargo build failed; see $out/compile.log"
    read -r fw1 fc1 fm1 <<< "$(timed 1 "${cmd[@]}")"
    read -r fw10 fc10 fm10 <<< "$(timed 10 "${cmd[@]}")"
    say "1 region: $fw1 s wall / $fc1 s cpu, peak $fm1 MiB; 10 regions: $fw10 s wall / $fc10 s cpu, peak $fm10 MiB"
    say "cost of 9 more regions with their own types: $(awk -v a="${fc1%\*}" -v b="${fc10%\*}" 'BEGIN { printf "%.2f", b - a }') s cpu (target: a crate with 10 regions <= 1.5 s fixed cost: $(awk -v a="${fc1%\*}" -v b="${fc10%\*}" 'BEGIN { print (b - a <= 1.5) ? "met" : "MISSED" }'))"
    if ((dirty)); then
        say "* another crate was rebuilt during that timing (the workspace changed meanwhile): rerun with --skip-bench --skip-startup"
    fi
fi

echo
echo "summary written to $summary"
