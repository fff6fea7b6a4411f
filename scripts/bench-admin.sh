#!/usr/bin/env bash
# The admin API's request latencies over loopback (divan bench `admin` of
# cache-admin, see cache-admin/benches/admin.rs): GET /statistics over 100
# regions, a page of 100 entries, the list of 100 regions, /health/live
# (each request on a new connection, as the CLI makes them); then one fleet
# clear of 100,000 keys per instance across two managers sharing a
# redis-server the bench starts on a free loopback port (a memory region,
# then a Redis region).
#
# Usage: scripts/bench-admin.sh [divan arguments]
# Environment: BENCH_SKIP_FLEET=1 leaves out the fleet clear (no
# redis-server needed then). Nothing here asserts a timing: it only reports.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BENCH_SKIP_FLEET:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
    echo "error: the fleet clear needs redis-server on PATH (apt-get install redis-server), or set BENCH_SKIP_FLEET=1" >&2
    exit 1
fi
cargo bench -p cache-admin --all-features --bench admin -- --sample-count 100 "$@"
