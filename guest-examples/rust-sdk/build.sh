#!/usr/bin/env bash
# Build kvtour, the guest on the kvhost-guest SDK: ./build.sh [OUTPUT.wasm]
# (see ../build-rust.sh: cargo build --release --target wasm32-wasip2)
set -euo pipefail
cd "$(dirname "$0")"
exec ../build-rust.sh kvtour "$@"
