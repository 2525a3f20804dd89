#!/usr/bin/env bash
# Build kvtour-py, the guest on the kvhost-guest Python SDK:
# ./build.sh [OUTPUT.wasm] (default ../../target/guests/python-sdk/kvtour-py.wasm).
# Needs componentize-py 0.25.1 (pip install componentize-py==0.25.1). The SDK
# comes from ../../guest-sdk-python/src (-p), as an installed kvhost-guest would
# from site-packages: it brings the WIT, so there is no -d here.
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-../../target/guests/python-sdk/kvtour-py.wasm}"
command -v componentize-py >/dev/null || { echo "componentize-py not found: pip install componentize-py==0.25.1" >&2; exit 127; }
mkdir -p "$(dirname "$out")"
componentize-py -w kvhost:store/command componentize -p . -p ../../guest-sdk-python/src app -o "$out.tmp"
mv "$out.tmp" "$out"
