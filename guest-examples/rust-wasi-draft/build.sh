#!/usr/bin/env bash
# Build kv-draft, the wasi:keyvalue@0.2.0-draft guest: ./build.sh [OUTPUT.wasm]
# (see ../build-rust.sh: cargo build --release --target wasm32-wasip2)
set -euo pipefail
cd "$(dirname "$0")"
exec ../build-rust.sh kv-draft "$@"
