#!/usr/bin/env bash
# Build the Python guest in the current folder (app.py) with componentize-py:
# build-python.sh WORLD DEFAULT_OUTPUT.wasm [OUTPUT.wasm]. Each Python
# folder's ./build.sh calls it with its world and output.
# Needs componentize-py 0.25.1 (pip install componentize-py==0.25.1).
set -euo pipefail
world=$1
out="${3:-$2}"
command -v componentize-py >/dev/null || { echo "componentize-py not found: pip install componentize-py==0.25.1" >&2; exit 127; }
mkdir -p "$(dirname "$out")"
componentize-py -d ../../wit -w "$world" componentize app -o "$out.tmp"
mv "$out.tmp" "$out"
