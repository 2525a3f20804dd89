#!/usr/bin/env bash
# Build kvdemo-c: ./build.sh [OUTPUT.wasm] (default ../../target/guests/c/kvdemo-c.wasm).
# Needs wit-bindgen-cli 0.63.0, Debian clang + lld + wasi-libc + libclang-rt-dev-wasm32,
# wasm-tools, and the WASI preview1 *reactor* adapter of wasmtime 48.0.8.
#
# The adapter: ADAPTER=path/to/wasi_snapshot_preview1.reactor.wasm uses that file
# (the tests pass the bytes of the crate wasi-preview1-component-adapter-provider
# 48.0.8). Without ADAPTER, the file cached in ../../target/adapters/wasmtime-48.0.8/;
# on first use it is copied there from that crate if cargo has it (building kvhost
# fetches it), else downloaded with curl from the wasmtime v48.0.8 release.
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-../../target/guests/c/kvdemo-c.wasm}"
wasmtime_version=48.0.8
for tool in wit-bindgen clang wasm-tools; do
    command -v "$tool" >/dev/null || { echo "$tool not found; see README.md (or scripts/setup.sh) to install it" >&2; exit 127; }
done

# Whether $1 starts with the WebAssembly magic number.
is_wasm() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 0061736d ]; }

if [ -n "${ADAPTER:-}" ]; then
    adapter="$ADAPTER"
    [ -f "$adapter" ] || { echo "ADAPTER=$adapter: no such file" >&2; exit 127; }
else
    cache="../../target/adapters/wasmtime-$wasmtime_version"
    adapter="$cache/wasi_snapshot_preview1.reactor.wasm"
    if ! is_wasm "$adapter"; then
        mkdir -p "$cache"
        crate=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"wasi-preview1-component-adapter-provider-$wasmtime_version"/artefacts/wasi_snapshot_preview1.reactor.wasm 2>/dev/null | head -1 || true)
        if [ -n "$crate" ]; then
            echo "build.sh: WASI adapter from the crate wasi-preview1-component-adapter-provider $wasmtime_version" >&2
            cp "$crate" "$adapter.tmp"
        else
            url="https://github.com/bytecodealliance/wasmtime/releases/download/v$wasmtime_version/wasi_snapshot_preview1.reactor.wasm"
            command -v curl >/dev/null || { echo "curl not found: install curl, or download $url and set ADAPTER to it" >&2; exit 127; }
            echo "build.sh: downloading the WASI adapter from $url" >&2
            curl -fsSL --retry 3 -o "$adapter.tmp" "$url" \
                || { rm -f "$adapter.tmp"; echo "could not download $url; download it yourself and set ADAPTER to it" >&2; exit 1; }
        fi
        is_wasm "$adapter.tmp" || { rm -f "$adapter.tmp"; echo "the WASI adapter is not a wasm file" >&2; exit 1; }
        mv "$adapter.tmp" "$adapter"
    fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
wit-bindgen c ../../wit --world kvhost:store/command --out-dir "$work/gen" >/dev/null
clang --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Werror -mexec-model=reactor -I "$work" -o "$work/kvdemo.core.wasm" \
    kvdemo.c "$work/gen/command.c" "$work/gen/command_component_type.o"
mkdir -p "$(dirname "$out")"
wasm-tools component new "$work/kvdemo.core.wasm" --adapt "wasi_snapshot_preview1=$adapter" -o "$out.tmp"
mv "$out.tmp" "$out"
