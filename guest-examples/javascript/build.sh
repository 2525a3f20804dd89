#!/usr/bin/env bash
# Build kvdemo-js: bash build.sh OUTPUT.wasm (default ../../target/guests/javascript/kvdemo-js.wasm).
# Needs Node with npm; installs jco 1.35.0 (package-lock.json) on first use.
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-../../target/guests/javascript/kvdemo-js.wasm}"
command -v npm >/dev/null || { echo "npm not found: install Node.js 20" >&2; exit 127; }
[ -x node_modules/.bin/componentize-qjs ] || npm ci --no-audit --no-fund --silent
mkdir -p "$(dirname "$out")"
node_modules/.bin/componentize-qjs --wit ../../wit --world kvhost:store/command --js app.js --sync -o "$out.tmp" >/dev/null
mv "$out.tmp" "$out"
