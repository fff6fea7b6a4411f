# Sourced by scripts/bench-*.sh: what they share. The sourcing script sets
# `set -euo pipefail` and calls `bench_output <name>` after its arguments.

# The repository root, whatever the caller's working folder.
root=$(cd "$(dirname "${BASH_SOURCE[1]}")/.." && pwd)
cd "$root"

die() {
    echo "error: $*" >&2
    exit 1
}

# Prints the sourcing script's header comment (its --help) and exits.
usage() {
    sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
}

unknown_argument() {
    echo "error: unknown argument '$1' (try --help)" >&2
    exit 2
}

command -v cargo > /dev/null || die "cargo not found on PATH"

# Sets `target`, `out` ($target/<name>, created) and `summary`.
bench_output() {
    target=${CARGO_TARGET_DIR:-$root/target}
    out=$target/$1
    mkdir -p "$out"
    summary=$out/summary.txt
}

# Sets `runs` from RUNS (default 3; a positive number), for the scripts
# that run their bench several times and summarize with python3.
bench_runs() {
    command -v python3 > /dev/null || die "python3 not found on PATH"
    runs=${RUNS:-3}
    [[ $runs =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, got '$runs'"
}

say() { printf '%s\n' "$*" | tee -a "$summary"; }
section() { printf '\n== %s\n' "$*" | tee -a "$summary"; }
