#!/usr/bin/env bash
# Build kvhost_memory_store, kvhost:store as a component: ./build.sh [OUTPUT.wasm]
# (see ../build-rust.sh: cargo build --release --target wasm32-wasip2)
set -euo pipefail
cd "$(dirname "$0")"
exec ../build-rust.sh kvhost_memory_store "$@"
