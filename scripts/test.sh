#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (`.ci/run` calls this script):
# formatting, lints, docs, then every test of the workspace, the trybuild UI
# cases included. Besides cargo it needs `redis-server` (the Redis tests
# start their own): installed with apt-get when missing. It starts no
# process that outlives it: each Redis test starts an ephemeral server on a
# free loopback port and kills it on drop, a panicking test included. Only
# a test process killed with SIGKILL leaves its server behind; it shows as
# `redis-server 127.0.0.1:<port>` in `ps`, with its folder in
# `$TMPDIR/cache-redis-<test pid>-<n>`.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if ! command -v redis-server >/dev/null 2>&1; then
    step "installing redis-server (apt-get)"
    if [ "$(id -u)" -eq 0 ]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        sudo=(false)
    fi
    # (`${sudo[@]+...}`: an empty array under `set -u` in older bash.)
    if ! { ${sudo[@]+"${sudo[@]}"} apt-get update -qq &&
        ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq redis-server; } ||
        ! command -v redis-server >/dev/null 2>&1; then
        echo "error: redis-server is missing and could not be installed; the Redis tests need it." >&2
        echo "       Install it (e.g. \`sudo apt-get install redis-server\`) and run this script again." >&2
        exit 1
    fi
    # On a host with systemd the package starts a server on port 6379; the
    # tests never use it, and this script leaves nothing running.
    if command -v systemctl >/dev/null 2>&1; then
        ${sudo[@]+"${sudo[@]}"} systemctl disable --now redis-server >/dev/null 2>&1 || true
    fi
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --quiet

step "cargo test (workspace, all features)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --all-features 2>&1 | tee "$log"

# One closing line for the whole run (cargo prints one per test binary, the
# last often an empty doctest group).
awk '/^test result:/ {
    for (i = 2; i <= NF; i++) {
        if ($i ~ /^passed;?$/) passed += $(i - 1)
        if ($i ~ /^failed;?$/) failed += $(i - 1)
        if ($i ~ /^ignored;?$/) ignored += $(i - 1)
    }
} END { printf "\ntests: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$log"
