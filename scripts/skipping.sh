# Sourced by scripts/test.sh, scripts/setup.sh and .ci/services.sh: whether KVHOST_SKIP
# (a comma-separated list, see scripts/test.sh) names any of the arguments,
# or all.
skipping() {
    local name list=",${KVHOST_SKIP:-},"
    list="${list// /}"
    for name in all "$@"; do
        [[ "$list" == *",$name,"* ]] && return 0
    done
    return 1
}
