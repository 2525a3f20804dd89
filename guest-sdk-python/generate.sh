#!/usr/bin/env bash
# What kvhost_guest ships that is made from ../wit (the one copy of the WIT):
#   src/kvhost_guest/wit/          a copy of ../wit, which componentize-py reads
#                                  (it refuses a WIT folder outside the package,
#                                  so this cannot be a link)
#   src/kvhost_guest/_bindings/    the type stubs of the bindings, which
#                                  componentize-py replaces with the real ones
#                                  when it builds a guest
#   typings/componentize_py_types.py   what the stubs import, for type checkers
#
#   ./generate.sh           writes them
#   ./generate.sh --check   fails if the checked-in files differ from what ../wit gives
# (scripts/test.sh runs the check). Needs componentize-py 0.25.1 (scripts/setup.sh).
# The flags match src/kvhost_guest/componentize-py.toml.
set -euo pipefail
cd "$(dirname "$0")"
command -v componentize-py >/dev/null || { echo "componentize-py not found: pip install componentize-py==0.25.1" >&2; exit 127; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
componentize-py -d ../wit -w kvhost:store/command --world-module kvhost_guest._bindings --full-names \
    --export-interface-name "wasi:cli/run@0.2.12=run" bindings "$out/gen" >/dev/null
mkdir -p "$out/sdk/kvhost_guest"
cp -r ../wit "$out/sdk/kvhost_guest/wit"
cp -r "$out/gen/kvhost_guest/_bindings" "$out/sdk/kvhost_guest/_bindings"
if [ "${1:-}" = --check ]; then
    for made in kvhost_guest/wit kvhost_guest/_bindings; do
        if ! diff -r "$out/sdk/$made" "src/$made" >&2; then
            echo "guest-sdk-python/src/$made does not match ../wit: run guest-sdk-python/generate.sh and commit the result" >&2
            exit 1
        fi
    done
    if ! diff "$out/gen/componentize_py_types.py" typings/componentize_py_types.py >&2; then
        echo "guest-sdk-python/typings does not match componentize-py: run guest-sdk-python/generate.sh and commit the result" >&2
        exit 1
    fi
    echo "guest-sdk-python: the WIT copy and the bindings stubs match ../wit"
else
    rm -rf src/kvhost_guest/wit src/kvhost_guest/_bindings
    cp -r "$out/sdk/kvhost_guest/wit" "$out/sdk/kvhost_guest/_bindings" src/kvhost_guest/
    mkdir -p typings
    cp "$out/gen/componentize_py_types.py" typings/
    echo "wrote src/kvhost_guest/wit, src/kvhost_guest/_bindings and typings/componentize_py_types.py"
fi
