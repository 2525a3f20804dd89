#!/usr/bin/env bash
# Run every test: unit, registry, end-to-end (real guests), and doctests.
# Needs the wasm32-wasip2 target and the services named in README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
cargo nextest run --workspace --release --no-fail-fast "$@"
cargo test --doc --release --workspace
