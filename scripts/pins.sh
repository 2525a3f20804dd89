# Sourced by scripts/setup.sh and scripts/test.sh: toolchains pinned by date
# or version, named once.

# The nightly Rust whose Miri checks the memory store's unsafe module
# (host/src/backend/memory/slot.rs) for undefined behaviour.
MIRI_TOOLCHAIN=nightly-2026-10-29
