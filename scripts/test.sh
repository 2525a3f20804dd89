#!/usr/bin/env bash
# Run every test: doctests, then unit, registry, conformance (every backend)
# and end-to-end (real guests) tests, then the PostgreSQL and Redis restart
# tests alone, one at a time (each restarts a server the other tests use).
# First it installs what is missing and starts the services
# (scripts/setup.sh); last it runs the kvhost serve vs wasmtime serve
# comparison in its quick form.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${KVHOST_SKIP_SETUP:-}" = 1 ]; then
    echo "== set-up skipped (KVHOST_SKIP_SETUP=1)"
else
    ./scripts/setup.sh
fi
cargo test --doc --release -p kvhost
cargo nextest run --workspace --release --no-fail-fast "$@"
cargo nextest run --release -p kvhost-tests --test pg_restart --test redis_restart --run-ignored only --test-threads 1
echo "== kvhost serve against wasmtime serve (quick)"
cargo run --release --quiet -p kvhost-bench -- --quick --filter serve
