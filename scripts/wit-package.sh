#!/usr/bin/env bash
# The kvhost:store WIT package in its binary form, for toolchains that take
# an interface from one file (wit-bindgen, componentize-py, jco, wkg):
#   ./scripts/wit-package.sh           writes wit-package/kvhost-store@VERSION.wasm from wit/
#   ./scripts/wit-package.sh --check   fails if the checked-in file differs from wit/
# (scripts/test.sh runs the check). Needs wasm-tools (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^package kvhost:store@\(.*\);$/\1/p' wit/store.wit)
out="wit-package/kvhost-store@$version.wasm"
built=$(mktemp)
trap 'rm -f "$built"' EXIT
wasm-tools component wit wit/ --wasm -o "$built"
if [ "${1:-}" = --check ]; then
    if ! cmp -s "$built" "$out"; then
        echo "$out does not match wit/: run ./scripts/wit-package.sh and commit the result" >&2
        exit 1
    fi
    echo "$out matches wit/"
else
    mkdir -p wit-package
    cp "$built" "$out"
    chmod 644 "$out"
    echo "wrote $out"
fi
