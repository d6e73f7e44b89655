#!/usr/bin/env bash
# test_hostile.sh -- egret against hostile rules and bad input (issue 16):
# a rule whose pattern never finishes in stock Lua is stopped and the
# flow records are still written at end of input; SIGTERM during a run
# with such a rule stops egret with its records flushed; files that are
# not regular, too large, missing or empty rule paths, configuration
# errors are exit 2 with a message; a failing output is reported and not
# claimed; a zero-length record replayed by two workers.
#
#   bash tests/cli/test_hostile.sh EGRET_BINARY SOURCE_DIR SCRATCH_DIR
set -u

EGRET=${1:?usage: test_hostile.sh EGRET_BINARY SOURCE_DIR SCRATCH_DIR}
SRC=${2:?}
SCRATCH=${3:?}
. "$SRC/tests/cli/lib.sh"
cli_setup hostile
PCAP=$SRC/pcaps/ai-upload.pcap

# err_has BRE (lib.sh's takes an ERE): the patterns below hold literal ( )
err_has() { grep -q -- "$1" "$T/err"; }
flows_in() { [ "$(grep -c '"event_type":"flow"' "$1")" -eq "$2" ]; }

# ---- a stalling rule ----------------------------------------------------
mkdir -p "$T/stall"
cat >"$T/stall/stall.lua" <<'LUA'
rule { id = 9001, name = 'stall',
  on_flow_end = function(flow)
    string.find(('a'):rep(5000), ('a*'):rep(100) .. 'b')
  end,
  on_classified = function(flow)
    local s = ('x'):rep(4000)
    s:gsub(('.-'):rep(40) .. 'y', '')
  end }
LUA
run -r "$PCAP" -R "$T/stall" --eve flow,stats
check "stall rule: exit 0" rc_is 0
check "stall rule: the 3 flow records are written" flows_in "$T/out" 3
check "stall rule: stopped by the instruction limit, with file:line" \
    err_has "stall.lua:[0-9]*: instruction limit exceeded"
check "stall rule: disabled" err_has "rule 9001 (stall, .*) disabled after 3 faults"
check "stall rule: counted in stats" grep -q '"sid":9001,[^}]*"instr_limit":3' "$T/out"

# ---- SIGTERM with a stalling rule, input still open ----------------------
# The capture arrives on a pipe that stays open; SIGTERM must end the run
# with the flows seen so far written (the wait is a hang guard, not a timing).
# A second rule stalls only at flow end: the flows end in the flush that
# SIGTERM starts, so the stop itself meets a stuck rule.
mkdir -p "$T/stallend"
cat >"$T/stallend/end.lua" <<'LUA'
rule { id = 9002, name = 'stall_at_end',
  on_flow_end = function(flow)
    string.find(('a'):rep(5000), ('a*'):rep(100) .. 'b')
  end }
LUA
mkfifo "$T/fifo"
(cat "$PCAP"; exec sleep 60) >"$T/fifo" &
writer=$!
rm -f "$T/err" # the loop below must not see the previous run's
"$EGRET" -r - -R "$T/stall" -R "$T/stallend" --eve flow -o "$T/term.json" <"$T/fifo" 2>"$T/err" &
pid=$!
for _ in $(seq 300); do # until the capture's flows are in the engine
    grep -q "disabled after" "$T/err" 2>/dev/null && break
    sleep 0.1
done
kill -TERM "$pid"
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
    bad "SIGTERM: egret still running 20 s later"
    kill -KILL "$pid"
fi
wait "$pid"
RC=$?
kill "$writer" 2>/dev/null
wait "$writer" 2>/dev/null
check "SIGTERM: exit 0" rc_is 0
check "SIGTERM: the summary says interrupted" err_has "summary (interrupted)"
check "SIGTERM: flow records flushed" flows_in "$T/term.json" 3
check "SIGTERM: the flush met the stuck flow-end rule and stopped it" \
    err_has "rule 9002 (stall_at_end, .*) disabled after 3 faults"

# ---- bad input is loud ----------------------------------------------------
# Each is refused before any packet with exit 2 and a message naming it.
mkdir -p "$T/empty" "$T/adir"
truncate -s 9M "$T/big.lua"
refuse() { # NAME MESSAGE-REGEX ARGS...
    local name=$1 msg=$2
    shift 2
    run -r "$PCAP" "$@"
    if rc_is 2 && err_has "$msg" && ! grep -q '"event_type"' "$T/out"; then ok "$name"; else bad "$name (rc $RC)"; fi
}
refuse "--ai-catalog /dev/zero" "/dev/zero: not a regular file" --ai-catalog /dev/zero
refuse "--ai-catalog DIR" "is a directory" --ai-catalog "$T/adir"
refuse "--tls-keylog /dev/zero" "/dev/zero: not a regular file" --tls-keylog /dev/zero
refuse "--ndpi-protos /dev/zero" "/dev/zero: not a regular file" --ndpi-protos /dev/zero
# a FIFO is refused at once, not waited on for a writer (open blocks without O_NONBLOCK)
mkfifo "$T/loadfifo"
refuse "--ai-catalog FIFO" "loadfifo: not a regular file" --ai-catalog "$T/loadfifo"
refuse "--ndpi-protos FIFO" "loadfifo: not a regular file" --ndpi-protos "$T/loadfifo"
refuse "-R missing directory" "rules: $T/nope: No such file or directory" -R "$T/nope"
refuse "-R directory without rules" "holds no rule file" -R "$T/empty"
refuse "-R /dev/zero" "/dev/zero: not a rule file or directory" -R /dev/zero
refuse "-c directory" "not a regular file" -c "$T/adir"
refuse "-c missing file" "no such file" -c "$T/nope.lua"
printf 'return { a = \n' >"$T/syntax.conf.lua"
refuse "-c syntax error: file:line" "syntax.conf.lua:2:" -c "$T/syntax.conf.lua"
printf 'while true do end\n' >"$T/loop.conf.lua"
refuse "-c looping configuration: file:line" "loop.conf.lua:1: instruction limit" -c "$T/loop.conf.lua"
refuse "--set with the wrong type names the --set" \
    "--set bulk_upload.min_bytes: configuration key 'bulk_upload.min_bytes' is a string, expected a number" \
    --set bulk_upload.min_bytes=lots
# a rule file over the cap is refused (the other rules run: a broken file is a warning)
mkdir -p "$T/bigrules" && cp "$T/big.lua" "$T/bigrules/big.lua"
run -r "$PCAP" -R "$T/bigrules" -R "$T/stall"
check "a 9 MB rule file: too large, reported" err_has "big.lua: too large (9437184 bytes; at most 8388608)"
mkdir -p "$T/fiforules" && mkfifo "$T/fiforules/x.lua"
run -r "$PCAP" -R "$T/fiforules" -R "$T/stall"
check "a FIFO in a rule directory: refused, not waited on" err_has "x.lua: not a regular file"

# ---- output that fails ----------------------------------------------------
if [ -w /dev/full ]; then
    run -r "$PCAP" -o /dev/full
    check "-o /dev/full: exit 1" rc_is 1
    check "-o /dev/full: the write error is reported" err_has "/dev/full: write error"
    check "-o /dev/full: the summary does not claim the records" \
        err_has "records *0 of [0-9]* known written to /dev/full (write error"
else
    echo "skip - /dev/full not writable here"
fi

# ---- a zero-length record from a pipe with two workers ---------------------
# The capture starts with two zero-length records: copied before the
# chunk's buffer exists, memcpy(NULL, data, 0) was undefined behaviour
# (the UBSan build's runtime error).  A pipe, not a redirect: a regular
# file is mapped, not copied.
REG=$SRC/tests/cli/regressions/zero-caplen-workers.pcap
cat "$REG" | "$EGRET" -r - --workers 2 >"$T/out" 2>"$T/err"
RC=$?
check "zero-caplen records, stdin, --workers 2: exit 0" rc_is 0
check "zero-caplen records: all 4 counted" err_has "packets *4 "
check "zero-caplen records: no sanitizer report" sh -c "! grep -q 'runtime error\|AddressSanitizer' '$T/err'"

echo "# $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
