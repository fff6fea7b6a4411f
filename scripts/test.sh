#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (`.ci/run` calls this script):
# formatting, lints, docs, then every test of the workspace, the trybuild UI
# cases included. Besides cargo it needs `redis-server` and `memcached`
# (the Redis and Memcached tests start their own; `redis-cli` from
# redis-tools makes the Redis Cluster tests' cluster): installed with apt-get
# when missing, like Debian's `chromium` and `chromium-driver` for the
# dashboard's browser tests, openssl (the TLS tests make their
# certificates with it), and npm for axe-core (into a cache folder);
# and python3 (with venv and pip) for schemathesis and aiosmtpd, installed
# from PyPI into a throwaway venv for the admin API's property-based run
# and the alert mails' SMTP sink.
# It starts no process that outlives it: each of those tests
# starts an ephemeral server on a free loopback port and kills it on drop,
# a panicking test included. Only a test process killed with SIGKILL leaves
# its server behind; it shows as `redis-server 127.0.0.1:<port>` or
# `memcached -l 127.0.0.1 -p <port>` in `ps` (Redis' folder is
# `$TMPDIR/cache-redis-<test pid>-<n>`).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    sudo=(false)
fi
apt_updated=no

# Installs Debian package $1 when command $2 is missing, and stops the
# service the package may start: the tests start their own servers, and
# this script leaves nothing running.
need() {
    local package=$1 command=$2 why=$3
    command -v "$command" >/dev/null 2>&1 && return 0
    step "installing $package (apt-get)"
    # (`${sudo[@]+...}`: an empty array under `set -u` in older bash.)
    if [ "$apt_updated" = no ]; then
        ${sudo[@]+"${sudo[@]}"} apt-get update -qq || true
        apt_updated=yes
    fi
    if ! ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq "$package" ||
        ! command -v "$command" >/dev/null 2>&1; then
        echo "error: $command is missing and could not be installed; $why need it." >&2
        echo "       Install it (e.g. \`sudo apt-get install $package\`) and run this script again." >&2
        exit 1
    fi
    if command -v systemctl >/dev/null 2>&1; then
        ${sudo[@]+"${sudo[@]}"} systemctl disable --now "$package" >/dev/null 2>&1 || true
    fi
}

need redis-server redis-server "the Redis tests"
need redis-tools redis-cli "the Redis Cluster tests (redis-cli --cluster create)"
need memcached memcached "the Memcached backend tests"
need openssl openssl "the TLS tests (rediss:// and alert mail over TLS make their certificates with it)"
need chromium chromium "the dashboard's browser tests"
need chromium-driver chromedriver "the dashboard's browser tests"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --quiet

# schemathesis (PyPI) runs the admin API's OpenAPI document
# (cache-admin/tests/schemathesis.rs) and aiosmtpd is the SMTP sink the
# alert mails go to (cache-admin/tests/alerts.rs): installed into a
# throwaway venv, removed at exit.
step "installing schemathesis and aiosmtpd (pip, throwaway venv)"
scratch=$(mktemp -d)
log="$scratch/test.log"
trap 'rm -rf "$scratch"' EXIT
need python3 python3 "the admin API's schemathesis run and SMTP sink"
if ! python3 -m venv "$scratch/venv" >/dev/null 2>&1; then
    # Debian's python3 keeps venv (and pip) in packages of their own.
    ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq python3-venv python3-pip
    python3 -m venv "$scratch/venv"
fi
"$scratch/venv/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis>=4.32,<5" "aiosmtpd>=1.4.6,<2"
export CACHE_ADMIN_SCHEMATHESIS="$scratch/venv/bin/schemathesis"
export CACHE_ADMIN_AIOSMTPD="$scratch/venv/bin/python"

# axe-core (npm) checks the dashboard's pages for WCAG 2.x A/AA problems
# in the browser test: installed into a cache folder, never the repository.
step "installing axe-core (npm, into a cache folder)"
need npm npm "the dashboard's accessibility checks"
axe_dir="${XDG_CACHE_HOME:-$HOME/.cache}/cache-admin-tests/npm"
if [ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ]; then
    mkdir -p "$axe_dir"
    npm install --prefix "$axe_dir" --no-save --no-audit --no-fund --silent "axe-core@^4.10"
fi
export CACHE_ADMIN_AXE="$axe_dir/node_modules/axe-core/axe.min.js"

step "cargo test (workspace, all features)"
cargo test --workspace --all-features --no-fail-fast 2>&1 | tee "$log"

# One closing line for the whole run (cargo prints one per test binary, the
# last often an empty doctest group).
awk '/^test result:/ {
    for (i = 2; i <= NF; i++) {
        if ($i ~ /^passed;?$/) passed += $(i - 1)
        if ($i ~ /^failed;?$/) failed += $(i - 1)
        if ($i ~ /^ignored;?$/) ignored += $(i - 1)
    }
} END { printf "\ntests: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$log"
