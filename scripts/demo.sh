#!/usr/bin/env bash
# Build the Rust guest and run it on the demo registry. Needs only Rust (rustup).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
cargo build --release --target wasm32-wasip2 \
    --manifest-path guest-examples/rust/Cargo.toml --target-dir target/guests
cargo build --release -p kvhost
./target/release/kvhost schema --config guest-examples/demo.yaml demo:data --apply
./target/release/kvhost run --config guest-examples/demo.yaml
