#!/usr/bin/env bash
# Build the Rust guest in the current folder: build-rust.sh NAME [OUTPUT.wasm]
# = cargo build --release --target wasm32-wasip2, which writes
# target/wasm32-wasip2/release/NAME.wasm there (under $CARGO_TARGET_DIR if
# set); with OUTPUT.wasm, also copies it there. Needs Rust with rustup.
# Each Rust folder's ./build.sh calls it with its component's NAME.
set -euo pipefail
name=$1
shift
command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup (https://rustup.rs)" >&2; exit 127; }
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip2; then
    echo "the wasm32-wasip2 target is missing: rustup target add wasm32-wasip2" >&2
    exit 127
fi
cargo build --release --target wasm32-wasip2
wasm="${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/$name.wasm"
if [ -n "${1:-}" ]; then
    mkdir -p "$(dirname "$1")"
    cp "$wasm" "$1"
    wasm="$1"
fi
echo "built $wasm" >&2
