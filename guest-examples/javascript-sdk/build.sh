#!/usr/bin/env bash
# Build kvtour-js, the guest on the kvhost-guest JavaScript SDK:
# ./build.sh [OUTPUT.wasm] (default ../../target/guests/javascript-sdk/kvtour-js.wasm).
# Needs Node with npm. `npm ci` installs componentize-qjs 0.4.5 (the QuickJS
# componentize that jco 1.35.0 ships) and copies kvhost-guest from
# ../../guest-sdk-js into node_modules (.npmrc: install-links), afresh on every
# build so that the copy never lags the SDK's sources.
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-../../target/guests/javascript-sdk/kvtour-js.wasm}"
command -v npm >/dev/null || { echo "npm not found: install Node.js 20" >&2; exit 127; }
npm ci --no-audit --no-fund --silent
mkdir -p "$(dirname "$out")"
node_modules/.bin/componentize-qjs --wit node_modules/kvhost-guest/wit --world kvhost:store/command --js app.js --sync -o "$out.tmp" >/dev/null
mv "$out.tmp" "$out"
