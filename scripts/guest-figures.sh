#!/usr/bin/env bash
# Per guest language: build time, component size, cold start (compiling,
# --no-cache) and cached start of `kvhost run GUEST demo`, and the cost of
# one store call (N gets timed inside the guest). Prints a Markdown table.
# Needs the guest toolchains (.ci/run installs them) and a release kvhost.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p kvhost --bin kvhost
kvhost=target/release/kvhost
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export KVHOST_CACHE_DIR="$work/cache"
adapter="$work/wasi_snapshot_preview1.reactor.wasm"
cp "$(ls ~/.cargo/registry/src/*/wasi-preview1-component-adapter-provider-48.0.8/artefacts/wasi_snapshot_preview1.reactor.wasm | head -1)" "$adapter"

seconds() { local s; s=$(date +%s%N); "$@" >/dev/null 2>&1; awk -v ns=$(( $(date +%s%N) - s )) 'BEGIN { print ns / 1e9 }'; }
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }

build() {  # build LANG OUT: build from clean
    case "$1" in
        rust) rm -rf "$work/rust"; cargo build --release --quiet --target wasm32-wasip2 \
                  --manifest-path guest-examples/rust/Cargo.toml --target-dir "$work/rust" \
              && cp "$work/rust/wasm32-wasip2/release/kvdemo.wasm" "$2" ;;
        c) ADAPTER="$adapter" bash guest-examples/c/build.sh "$2" ;;
        *) bash "guest-examples/$1/build.sh" "$2" ;;
    esac
}

echo "| language | build (s) | size (KB) | cold start (s) | cached start (s) | cold/cached | ns per get |"
echo "|---|---|---|---|---|---|---|"
for lang in rust c javascript python; do
    wasm="$work/$lang.wasm"
    b=$(seconds build "$lang" "$wasm")
    size=$(( $(stat -c %s "$wasm") / 1024 ))
    cold=$(median3 "$(seconds $kvhost run --no-cache "$wasm" demo)" "$(seconds $kvhost run --no-cache "$wasm" demo)" "$(seconds $kvhost run --no-cache "$wasm" demo)")
    $kvhost run "$wasm" demo >/dev/null
    cached=$(median3 "$(seconds $kvhost run "$wasm" demo)" "$(seconds $kvhost run "$wasm" demo)" "$(seconds $kvhost run "$wasm" demo)")
    case "$lang" in
        rust) bench=(bench get 1000000) ;;  # kvdemo benches get or set
        c) bench=(bench 1000000) ;;
        *) bench=(bench 100000) ;;
    esac
    ns=$($kvhost run "$wasm" "${bench[@]}" | awk '/^bench/ {print $NF}')
    ratio=$(awk -v a="$cold" -v b="$cached" 'BEGIN { printf "%.0f", a / b }')
    printf "| %s | %.1f | %d | %.2f | %.3f | %sx | %s |\n" "$lang" "$b" "$size" "$cold" "$cached" "$ratio" "$ns"
done
