#!/usr/bin/env bash
# Build kv_watcher (the watcher) and users (the command that writes): ./build.sh [OUTPUT.wasm]
# (see ../build-rust.sh: cargo build --release --target wasm32-wasip2; both land in
# target/wasm32-wasip2/release/, OUTPUT.wasm is a copy of the watcher)
set -euo pipefail
cd "$(dirname "$0")"
exec ../build-rust.sh kv_watcher "$@"
