#!/usr/bin/env bash
# Build http_kv, the HTTP guest in Rust: ./build.sh [OUTPUT.wasm]
# (see ../build-rust.sh: cargo build --release --target wasm32-wasip2)
set -euo pipefail
cd "$(dirname "$0")"
exec ../build-rust.sh http_kv "$@"
