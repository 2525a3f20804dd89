#!/usr/bin/env bash
# Run every test: doctests, then unit, registry, conformance (every backend)
# and end-to-end (real guests) tests, then the PostgreSQL, MariaDB and Redis
# restart tests and the README's getting-started commands alone, one at a time.
# First it installs what is missing and starts the services
# (scripts/setup.sh), checks formatting and clippy's lints, and runs the
# Python and JavaScript SDKs' own checks (scripts/sdk-checks.sh); last it runs the kvhost serve vs wasmtime serve
# comparison in its quick form.
#
# A test whose database or toolchain is missing fails, saying how to get it.
# To leave out the tests that need something you cannot have, name it:
#   KVHOST_SKIP=mysql,c ./scripts/test.sh
# (postgres, mysql, redis, python, javascript, c, wasmtime, wasm-tools, miri, or
# all). The test runner counts those tests as skipped, and the run ends with
# their list. Arguments are passed to cargo nextest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/skipping.sh
. scripts/pins.sh

# The tests each need names, as nextest filtersets over test and binary
# names (tests/support/needs.rs fails a test that needs one and is missed).
declare -A NEEDS=(
    [postgres]='test(/postgres/)'
    [mysql]='test(/mysql|mariadb/)'
    [redis]='test(/redis/) | binary(redis) | binary(redis_restart)'
    [python]='test(/python/) | test(/every_language/)'
    [javascript]='test(/javascript/) | test(/every_language/)'
    [c]='test(/^c::/) | test(/every_language/)'
    [wasmtime]='test(/wasmtime/) | binary(compose)'
    [wasm-tools]='binary(compose)'
    [chromium]='binary(ui_browser)'
    # Not a test binary: the memory store's unit tests again, under Miri.
    [miri]='none()'
)

skip_names=()
IFS=',' read -r -a wanted <<< "${KVHOST_SKIP:-}"
for name in "${wanted[@]}"; do
    name="${name// /}"
    [ -z "$name" ] && continue
    if [ "$name" = all ]; then
        skip_names=("${!NEEDS[@]}")
        break
    fi
    if [ -z "${NEEDS[$name]+x}" ]; then
        echo "KVHOST_SKIP: \`$name\` is not something tests need; use any of: ${!NEEDS[*]} (or all)" >&2
        exit 2
    fi
    skip_names+=("$name")
done
skipped_expr=""
for name in "${skip_names[@]}"; do
    skipped_expr="${skipped_expr:+$skipped_expr | }${NEEDS[$name]}"
done
filter=()
if [ -n "$skipped_expr" ]; then
    filter=(-E "not ($skipped_expr)")
fi

if [ "${KVHOST_SKIP_SETUP:-}" = 1 ]; then
    echo "== set-up skipped (KVHOST_SKIP_SETUP=1)"
else
    ./scripts/setup.sh
fi
# The habits the code keeps: formatted, and no clippy warnings.
echo "== cargo fmt --check, cargo clippy -D warnings"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
wit_skipped=""
if skipping wasm-tools; then
    wit_skipped="the check that wit-package/ matches wit/ (it runs wasm-tools)"
else
    ./scripts/wit-package.sh --check
fi
sdks=()
sdk_skipped=""
for sdk in python javascript; do
    if skipping "$sdk"; then
        sdk_skipped="${sdk_skipped:+$sdk_skipped, }the $sdk SDK's checks (type check, unit tests, package build)"
    else
        sdks+=("$sdk")
    fi
done
if [ ${#sdks[@]} -gt 0 ]; then
    ./scripts/sdk-checks.sh "${sdks[@]}"
fi
cargo test --doc --release -p kvhost -p kvhost-guest
miri_skipped=""
if skipping miri; then
    miri_skipped="the memory store's tests under Miri"
else
    # The memory store keeps each entry in one raw allocation (slot.rs):
    # Miri checks its unsafe code, and the store's concurrent paths, for
    # undefined behaviour and data races.
    echo "== the memory store under Miri ($MIRI_TOOLCHAIN)"
    cargo +"$MIRI_TOOLCHAIN" miri test --quiet -p kvhost --lib --no-default-features -- backend::memory
fi
cargo nextest run --workspace --release --no-fail-fast "${filter[@]}" "$@"
# One at a time: the tests marked #[ignore], which restart servers the others
# use (PostgreSQL, MariaDB, Redis; watch_sql has one) or run the README's
# getting-started commands (`cargo install` in this target folder). Run over
# the whole workspace, as above, so cargo builds nothing again.
cargo nextest run --workspace --release --run-ignored only --test-threads 1 --no-tests warn "${filter[@]}"
# The crates as published: each packaged alone and built from the package.
cargo publish --dry-run --quiet --allow-dirty -p kvhost-guest
# kvhost's package is built in release mode in this target folder, where the
# tests' `cargo build -p kvhost` left its dependencies built with the same
# features (a dry-run publish would build them all again, in debug mode).
cargo package --quiet --allow-dirty --no-verify -p kvhost
packaged="$(mktemp -d)"
tar -xzf target/package/kvhost-[0-9]*.crate -C "$packaged"
cargo build --release --locked --quiet --manifest-path "$packaged"/kvhost-*/Cargo.toml --target-dir "$PWD/target"
rm -rf "$packaged"
bench_skipped=""
if skipping wasmtime postgres; then
    bench_skipped="the kvhost serve vs wasmtime serve comparison (it needs wasmtime and postgres)"
else
    echo "== kvhost serve against wasmtime serve (quick)"
    cargo run --release --quiet -p kvhost-bench -- --quick --filter serve
fi

if [ -n "$skipped_expr" ]; then
    echo
    echo "== skipped, as KVHOST_SKIP=${KVHOST_SKIP} asks: tests that need ${skip_names[*]}"
    cargo nextest list --workspace --release --run-ignored all -E "$skipped_expr" --message-format oneline 2>/dev/null \
        | sed 's/^/  /'
    for other in "$bench_skipped" "$wit_skipped" "$sdk_skipped" "$miri_skipped"; do
        if [ -n "$other" ]; then echo "  and $other"; fi
    done
fi
