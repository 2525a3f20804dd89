#!/usr/bin/env bash
# Build index-watcher-py: ./build.sh [OUTPUT.wasm] (default ../../target/guests/python-watcher/index-watcher-py.wasm).
# Needs componentize-py 0.25.1 (pip install componentize-py==0.25.1); see ../build-python.sh.
set -euo pipefail
cd "$(dirname "$0")"
exec ../build-python.sh wasi:keyvalue/watch-service@0.2.0-draft2 ../../target/guests/python-watcher/index-watcher-py.wasm "$@"
