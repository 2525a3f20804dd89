#!/usr/bin/env bash
# The Python and JavaScript SDKs' own checks, as scripts/test.sh runs them:
#   ./scripts/sdk-checks.sh python       guest-sdk-python: the WIT copy and the
#       binding stubs match wit/, mypy --strict (the SDK, its tests and the
#       example guest), its unit tests, and the sdist and wheel build
#   ./scripts/sdk-checks.sh javascript   guest-sdk-js: tsc --strict over the
#       SDK and its API test, and npm pack --dry-run
# (both without an argument). Needs what scripts/setup.sh installs:
# componentize-py, guest-sdk-python/.venv (mypy, build), and guest-sdk-js's
# node_modules (typescript). The guests on the SDKs run in tests/language_sdks.rs.
set -euo pipefail
cd "$(dirname "$0")/.."

needs() {  # needs FILE: what scripts/setup.sh installs is there
    [ -e "$1" ] || { echo "sdk-checks.sh: $1 is missing: run scripts/setup.sh (or KVHOST_SKIP=python,javascript)" >&2; exit 1; }
}

licence() {  # the package's LICENSE is the repository's
    cmp -s LICENSE "$1/LICENSE" || { echo "$1/LICENSE differs from LICENSE: cp LICENSE $1/" >&2; exit 1; }
}

python_checks() {
    echo "== guest-sdk-python: generated files, mypy --strict, unit tests, wheel"
    needs guest-sdk-python/.venv/bin/mypy
    licence guest-sdk-python
    guest-sdk-python/generate.sh --check
    (cd guest-sdk-python && .venv/bin/mypy)
    (cd guest-examples/python-sdk \
        && MYPYPATH=../../guest-sdk-python/src:../../guest-sdk-python/typings \
           ../../guest-sdk-python/.venv/bin/mypy --strict --no-error-summary app.py)
    (cd guest-sdk-python && PYTHONPATH=src:typings python3 -m unittest discover --quiet -s tests)
    local dist
    dist=$(mktemp -d)
    if ! (cd guest-sdk-python && .venv/bin/python -m build --outdir "$dist" . >"$dist/log" 2>&1); then
        cat "$dist/log" >&2
        exit 1
    fi
    (cd "$dist" && ls ./*.whl ./*.tar.gz)
    rm -rf "$dist"
}

javascript_checks() {
    echo "== guest-sdk-js: tsc --strict, npm pack --dry-run"
    needs guest-sdk-js/node_modules/.bin/tsc
    licence guest-sdk-js
    (cd guest-sdk-js && npm run --silent check && npm pack --dry-run 2>&1 | grep -v '^npm warn install-scripts')
}

for sdk in "${@:-python javascript}"; do
    for one in $sdk; do
        case "$one" in
            python) python_checks ;;
            javascript) javascript_checks ;;
            *) echo "sdk-checks.sh: python or javascript, not $one" >&2; exit 2 ;;
        esac
    done
done
