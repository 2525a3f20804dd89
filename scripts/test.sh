#!/usr/bin/env bash
# Run every test: doctests, then unit, registry, conformance (every backend)
# and end-to-end (real guests) tests, then the PostgreSQL and Redis restart
# tests alone, one at a time (each restarts a server the other tests use).
# Needs the wasm32-wasip2 target and the services named in README.md
# (.ci/services.sh starts them).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
cargo test --doc --release -p kvhost
cargo nextest run --workspace --release --no-fail-fast "$@"
cargo nextest run --release -p kvhost-tests --test pg_restart --test redis_restart --run-ignored only --test-threads 1
