#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (`.ci/run` calls this script):
# formatting, lints, docs, then every test of the workspace, the trybuild UI
# cases included. Installs nothing yet: the suite needs only cargo. It
# starts no process that outlives it.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "cargo test (workspace, all features)"
cargo test --workspace --all-features
