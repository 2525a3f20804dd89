#!/usr/bin/env bash
# Build kvdemo-c: bash build.sh OUTPUT.wasm (default ../../target/guests/c/kvdemo-c.wasm).
# Needs wit-bindgen-cli 0.63.0, Debian clang + lld + wasi-libc + libclang-rt-dev-wasm32,
# wasm-tools, and ADAPTER: the WASI preview1 reactor adapter from the crate
# wasi-preview1-component-adapter-provider 48.0.8 (the tests write it to
# target/guests/c/wasi_snapshot_preview1.reactor.wasm and set ADAPTER).
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-../../target/guests/c/kvdemo-c.wasm}"
adapter="${ADAPTER:-../../target/guests/c/wasi_snapshot_preview1.reactor.wasm}"
for tool in wit-bindgen clang wasm-tools; do
    command -v "$tool" >/dev/null || { echo "$tool not found; scripts/setup.sh installs it" >&2; exit 127; }
done
[ -f "$adapter" ] || { echo "no WASI adapter at $adapter; set ADAPTER" >&2; exit 127; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
wit-bindgen c ../../wit --world kvhost:store/command --out-dir "$work/gen" >/dev/null
clang --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Werror -mexec-model=reactor -I "$work" -o "$work/kvdemo.core.wasm" \
    kvdemo.c "$work/gen/command.c" "$work/gen/command_component_type.o"
mkdir -p "$(dirname "$out")"
wasm-tools component new "$work/kvdemo.core.wasm" --adapt "wasi_snapshot_preview1=$adapter" -o "$out.tmp"
mv "$out.tmp" "$out"
