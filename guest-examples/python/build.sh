#!/usr/bin/env bash
# Build kvdemo-py: bash build.sh OUTPUT.wasm (default ../../target/guests/python/kvdemo-py.wasm).
# Needs componentize-py 0.25.1 (pip install componentize-py==0.25.1).
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-../../target/guests/python/kvdemo-py.wasm}"
command -v componentize-py >/dev/null || { echo "componentize-py not found: pip install componentize-py==0.25.1" >&2; exit 127; }
mkdir -p "$(dirname "$out")"
componentize-py -d ../../wit -w kvhost:store/command componentize app -o "$out.tmp"
mv "$out.tmp" "$out"
