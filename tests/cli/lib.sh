# tests/cli/lib.sh -- the check helpers the CLI tests share (sourced, not
# run).  A test sets EGRET and SCRATCH from its arguments, then:
#
#   . "$(dirname "$0")/lib.sh"
#   cli_setup NAME     # EGRET made absolute and checked, $T a fresh
#                      # directory under SCRATCH removed on exit
#
# and counts with check/ok/bad; it ends with
#   echo "$PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ]
# run ARGS... runs egret with stdout in $T/out, stderr in $T/err, the exit
# status in $RC; a failed check shows the last run's stderr.

cli_setup() {
    case $EGRET in /*) ;; *) EGRET=$PWD/$EGRET ;; esac
    [ -x "$EGRET" ] || { echo "not executable: $EGRET" >&2; exit 2; }
    mkdir -p "$SCRATCH" || exit 2
    T=$(mktemp -d "$SCRATCH/$1.XXXXXX") || exit 2
    trap 'rm -rf "$T"' EXIT
}

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() {
    FAIL=$((FAIL + 1))
    echo "FAIL - $1"
    [ -n "${2:-}" ] && echo "       $2"
    [ -f "$T/err" ] && sed 's/^/       | /' "$T/err" | head -20
}
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name" "failed: $*"; fi
}
run() {
    "$EGRET" "$@" >"$T/out" 2>"$T/err"
    RC=$?
}
rc_is() { [ "$RC" -eq "$1" ]; }
# err_has ERE: the last run's stderr matches
err_has() { grep -Eq -- "$1" "$T/err"; }
