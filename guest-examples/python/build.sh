#!/usr/bin/env bash
# Build kvdemo-py: ./build.sh [OUTPUT.wasm] (default ../../target/guests/python/kvdemo-py.wasm).
# Needs componentize-py 0.25.1 (pip install componentize-py==0.25.1); see ../build-python.sh.
set -euo pipefail
cd "$(dirname "$0")"
exec ../build-python.sh kvhost:store/command ../../target/guests/python/kvdemo-py.wasm "$@"
