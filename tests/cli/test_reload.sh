#!/usr/bin/env bash
# test_reload.sh -- SIGHUP rule reload, --check-rules and `egret test`
# failures, through the egret command line.
#
#   bash tests/cli/test_reload.sh EGRET_BINARY SCRATCH_DIR
#
# Reload: egret reads a pcap on stdin (-r -) from a pipe that a Python
# driver feeds in parts, with -R pointing at a scratch rule directory of
# two on_dns rules.  Each part is one DNS query/answer pair (its own flow,
# so each rule alerts once per part).  Between parts the driver edits the
# rules and sends SIGHUP:
#   part 1  a1.example  the original rules
#   (1) r1.lua gets a new signature name -> SIGHUP -> "reloaded"
#   part 2  a2.example  the new r1
#   (2) r1.lua changed again AND r2.lua broken (syntax error, line 2)
#       -> SIGHUP -> "reload failed ... r2.lua:2: ..."; nothing swapped
#   part 3  a3.example  still the part-2 rules (both files: atomic)
#   (3) r2.lua fixed -> SIGHUP -> "reloaded"
#   part 4  a4.example  the latest r1
# The CLI checks the reload flag after feeding a packet, so each part
# starts with a filler packet (no DNS) that absorbs the switch.  The
# driver waits until egret has drained the pipe before each signal.
# Prints "N passed, N failed"; exits non-zero on any failure.
set -u

EGRET=${1:?usage: test_reload.sh EGRET_BINARY SCRATCH_DIR}
SCRATCH=${2:?usage: test_reload.sh EGRET_BINARY SCRATCH_DIR}
PY=/usr/bin/python3
SRC=$(cd "$(dirname "$0")/../.." && pwd)

. "$SRC/tests/cli/lib.sh"
cli_setup reload
out_has() { grep -Eq -- "$1" "$T/out"; }
err_count() { [ "$(grep -Ec -- "$1" "$T/err")" -eq "$2" ]; }

# ---- rule files ----------------------------------------------------------
R=$T/rules
mkdir -p "$R"
r1() { # r1 SIGNATURE VERSION
    cat >"$R/r1.lua.tmp" <<EOF
rule { id = 9100001, name = "$1", severity = 2, hooks = { "on_dns" },
  on_dns = function(flow) alert { why = { version = "$2", name = flow:dns().rrname } } end }
EOF
    mv "$R/r1.lua.tmp" "$R/r1.lua"
}
R2_GOOD='rule { id = 9100002, name = "reload test second file", severity = 3,
  on_dns = function(flow) alert { why = { name = flow:dns().rrname } } end }'
R2_BROKEN='rule { id = 9100002, name = "reload test second file", severity = 3,
  on_dns = function(flow) alert { why = { name = flow:dns().rrname } end }'
r1 "reload test OLD" old
printf '%s\n' "$R2_GOOD" >"$R/r2.lua"

# ---- the driver ----------------------------------------------------------
cat >"$T/driver.py" <<'EOF'
import os, signal, subprocess, sys
from scapy.all import Ether, IP, UDP, DNS, DNSQR, DNSRR, Raw
from pipefeed import HDR, MAC, T0, rec, send, wait_text

egret, rules, outp, errp = sys.argv[1:5]

def part(i, name):
    t = T0 + 10 * i
    filler = Ether(**MAC) / IP(src="10.9.9.9", dst="10.9.9.8") / UDP(sport=1000, dport=2000) / Raw(b"x" * 20)
    q = Ether(**MAC) / IP(src="10.1.1.10", dst="10.0.0.53") / UDP(sport=33000 + i, dport=53) / \
        DNS(id=i, rd=1, qd=DNSQR(qname=name))
    a = Ether(dst=MAC["src"], src=MAC["dst"]) / IP(src="10.0.0.53", dst="10.1.1.10") / \
        UDP(sport=53, dport=33000 + i) / \
        DNS(id=i, qr=1, rd=1, ra=1, qd=DNSQR(qname=name), an=DNSRR(rrname=name, rdata="192.0.2.%d" % i))
    return rec(filler, t) + rec(q, t + 0.1) + rec(a, t + 0.2)

def r1(sig, ver):
    with open(rules + "/r1.lua.tmp", "w") as f:
        f.write('rule { id = 9100001, name = "%s", severity = 2, hooks = { "on_dns" },\n'
                '  on_dns = function(flow) alert { why = { version = "%s", name = flow:dns().rrname } } end }\n'
                % (sig, ver))
    os.rename(rules + "/r1.lua.tmp", rules + "/r1.lua")

def r2(text):
    with open(rules + "/r2.lua.tmp", "w") as f:
        f.write(text + "\n")
    os.rename(rules + "/r2.lua.tmp", rules + "/r2.lua")

def wait_err(text, n=1):
    wait_text(errp, text, n)

with open(outp, "wb") as out, open(errp, "wb") as err:
    p = subprocess.Popen([egret, "-r", "-", "-R", rules], stdin=subprocess.PIPE, stdout=out, stderr=err)
    send(p, HDR + part(1, "a1.example"))
    r1("reload test NEW", "new")
    p.send_signal(signal.SIGHUP)
    send(p, part(2, "a2.example"))
    wait_err("reloaded (SIGHUP)", 1)
    r1("reload test NEWER", "newer")
    r2(os.environ["R2_BROKEN"])
    p.send_signal(signal.SIGHUP)
    send(p, part(3, "a3.example"))
    wait_err("rules reload failed", 1)
    r2(os.environ["R2_GOOD"])
    p.send_signal(signal.SIGHUP)
    send(p, part(4, "a4.example"))
    wait_err("reloaded (SIGHUP)", 2)
    p.stdin.close()
    sys.exit(p.wait(timeout=30))
EOF

# alert NAME SID SIGNATURE [VERSION]: exactly one alert for the DNS flow of
# NAME with this sid (and signature, and why.version when given).
alert() {
    "$PY" - "$T/out" "$@" <<'EOF'
import json, sys
path, name, sid, sig = sys.argv[1:5]
ver = sys.argv[5] if len(sys.argv) > 5 else None
hits = []
for line in open(path):
    r = json.loads(line)
    if r.get("event_type") != "alert":
        continue
    a = r["alert"]
    if a["signature_id"] == int(sid) and a["why"].get("name") == name:
        hits.append(a)
if len(hits) != 1:
    sys.exit("%d alerts for %s sid %s" % (len(hits), name, sid))
a = hits[0]
if sig and a["signature"] != sig:
    sys.exit("signature %r, want %r" % (a["signature"], sig))
if ver and a["why"].get("version") != ver:
    sys.exit("version %r, want %r" % (a["why"].get("version"), ver))
EOF
}

export R2_GOOD R2_BROKEN
PYTHONPATH="$(cd "$(dirname "$0")" && pwd)" "$PY" "$T/driver.py" "$EGRET" "$R" "$T/out" "$T/err"
RC=$?

# ---- SIGHUP reload -------------------------------------------------------
check "reload: egret exits 0 after four parts and three SIGHUPs" rc_is 0
check "reload: part 1 runs the original rule" alert a1.example 9100001 "reload test OLD" old
check "reload: part 1 runs the second file" alert a1.example 9100002 "reload test second file"
check "reload: a valid change is picked up (new signature)" alert a2.example 9100001 "reload test NEW" new
check "reload: stderr says reloaded, twice (two good reloads)" err_count 'egret: reloaded \(SIGHUP\)' 2
check "reload: a broken file is reported with file:line" \
    err_has "warning: rules reload failed, keeping the old rules .*: .*r2\.lua:2: "
check "reload: the load error itself is logged with file:line" err_has "error: .*r2\.lua:2: "
check "reload: after a failed reload the old r1 keeps firing (no partial swap)" \
    alert a3.example 9100001 "reload test NEW" new
check "reload: after a failed reload the old r2 keeps firing" \
    alert a3.example 9100002 "reload test second file"
check "reload: a later good reload applies the pending change" \
    alert a4.example 9100001 "reload test NEWER" newer
check "reload: ... and the fixed file" alert a4.example 9100002 "reload test second file"

# ---- --check-rules -------------------------------------------------------
G=$T/good
B=$T/mixed
mkdir -p "$G" "$B"
cp "$R/r1.lua" "$G/r1.lua"
printf '%s\n' "$R2_GOOD" >"$G/r2.lua"
cp "$R/r1.lua" "$B/r1.lua"
printf '%s\n' "$R2_BROKEN" >"$B/r2.lua"
printf 'rule { id = 9100003, name = "typo", on_flowend = function() end }\n' >"$B/r3.lua"

run --check-rules -R "$G"
check "check-rules: a good directory exits 0" rc_is 0
check "check-rules: ... and says so" err_has "rules OK"
run --check-rules -R "$B"
check "check-rules: one good and two broken files exit 1" rc_is 1
check "check-rules: the syntax error has file:line" err_has "r2\.lua:2: "
check "check-rules: the unknown field has file:line" err_has "r3\.lua:1: .*on_flowend"
check "check-rules: the summary counts 2 load errors" err_has "2 load error\(s\)"
run --check-rules -R "$B/r1.lua"
check "check-rules: the good file alone exits 0" rc_is 0
run --check-rules -R "$T/no-such-dir"
check "check-rules: a missing path exits 1" rc_is 1
run --check-rules -R "$G" --set 'x={'
check "check-rules: a broken --set value exits 1" rc_is 1
check "check-rules: ... naming it" err_has "set"

# Rules that load but fail at run time: the dry run calls every hook on
# synthetic events and reports each distinct fault with file:line.
RT=$T/runtime
mkdir -p "$RT"
cat >"$RT/rt.lua" <<'EOF'
rule { id = 9100011, name = "misspelt call", severity = 3, hooks = { "on_http" },
  on_http = function(flow) return flow:htpp().uri end }
rule { id = 9100012, name = "nil index without TLS", severity = 3, hooks = { "on_tick" },
  on_tick = function(flow) return flow:tls().sni end }
rule { id = 9100013, name = "wrong argument type", severity = 3, hooks = { "on_flow_end" },
  on_flow_end = function(flow) return string.rep(flow:ai(), 2) end }
rule { id = 9100014, name = "fine", severity = 3, hooks = { "on_dns" },
  on_dns = function(flow) return flow:dns().rrname end }
EOF
run --check-rules -R "$RT"
check "check-rules: runtime errors exit 1" rc_is 1
check "check-rules: a call to a missing method, with file:line" err_has "rt\.lua:2: .*htpp.*9100011, on_http"
check "check-rules: indexing nil (flow:tls() is nil without TLS), with file:line" \
    err_has "rt\.lua:4: attempt to index a nil value.*9100012, on_tick"
check "check-rules: a wrong argument type, with file:line" err_has "rt\.lua:6: .*bad argument.*9100013"
check "check-rules: each distinct fault once (nil and table arguments differ), the summary counts 4" \
    err_has "4 rule\(s\) in 1 file\(s\), 0 load error\(s\), 4 runtime error\(s\)"
check "check-rules: one line per distinct fault" err_count "dry run on a synthetic event" 4
run --check-rules
check "check-rules: the shipped rules pass the dry run" rc_is 0

# *_test.lua beside rules are rule tests, never rules.
mkdir -p "$T/withtests"
cp "$R/r1.lua" "$T/withtests/r1.lua"
printf 'return { { name = "t", events = {}, expect = {} } }\n' >"$T/withtests/r1_test.lua"
run --check-rules -R "$T/withtests"
check "check-rules: a *_test.lua beside the rules is not loaded as a rule" \
    err_has "1 rule\(s\) in 1 file\(s\), 0 load error\(s\)"

# egret test: a rule that raises at run time fails its test, even with no
# alert expected; runtime_errors = N declares expected faults.
cat >"$T/rt_test.lua" <<EOF
return {
  { name = "no alert expected, but the hook raises", rules = "$RT/rt.lua", sids = { 9100011 },
    events = { { hook = "on_http", at = 1, flow = { src_ip = "10.0.0.1", dest_ip = "192.0.2.1",
      http = { method = "POST", uri = "/" } } } },
    expect = {} },
  { name = "declared", rules = "$RT/rt.lua", runtime_errors = 1,
    events = { { hook = "on_http", at = 1, flow = { src_ip = "10.0.0.1", dest_ip = "192.0.2.1",
      http = { method = "POST", uri = "/" } } } },
    expect = {} },
}
EOF
run test "$T/rt_test.lua"
check "test: a runtime error fails the test (exit 1)" rc_is 1
check "test: ... printing the error with file:line" \
    out_has "1 runtime error\(s\), expected 0: rule 9100011 error in on_http: .*rt\.lua:2: "
check "test: runtime_errors = 1 declares the fault" out_has "^PASS .*: declared$"

# egret.log / print: one clean line each at the default verbosity, with the
# rule's sid and name, no stray 'userdata:' values.
mkdir -p "$T/logr"
cat >"$T/logr/log.lua" <<'EOF'
print("loading", 1, true)
rule { id = 9100021, name = "logger", severity = 3, hooks = { "on_dns" },
  on_dns = function(flow) egret.log("dns", flow:dns().rrname, 7) end }
EOF
run -r "$SRC/pcaps/dns-answers.pcap" -R "$T/logr" -o /dev/null
check "log: egret runs" rc_is 0
check "log: print at load is one line with the file" err_has "log\.lua: loading 1 true$"
check "log: egret.log is shown by default with the rule's sid and name" \
    err_has "^egret: rule 9100021 \(logger\): dns [a-z0-9.-]+ 7$"
check "log: no stray userdata values" bash -c "! grep -q userdata '$T/err'"

# ---- egret test: capture tests that fail --------------------------------
cat >"$T/cap_test.lua" <<EOF
return {
  { name = "right", pcap = "$SRC/pcaps/ai-upload.pcap", sids = { 9000005 },
    expect = { { sid = 9000005, provider = "Anthropic", src_ip = "10.1.1.20" } } },
  { name = "wrong provider", pcap = "$SRC/pcaps/ai-upload.pcap", sids = { 9000005 },
    expect = { { sid = 9000005, provider = "OpenAI" } } },
  { name = "missing capture", pcap = "no-such.pcap", expect = {} },
}
EOF
run test "$T/cap_test.lua"
check "test: failing capture tests exit 1" rc_is 1
check "test: the passing capture test passes" out_has "^PASS .*: right$"
check "test: the diff shows the missing expectation" out_has "expected \(1 of 1 missing\): .*OpenAI"
check "test: ... and the alert that came instead" \
    out_has "unexpected: sid=9000005 severity=3 10\.1\.1\.20 -> 203\.0\.113\.20 provider=Anthropic"
check "test: an unreadable capture is a failure with its path" out_has "capture: .*no-such\.pcap"
check "test: the summary counts them" out_has "rules tests: 3 run, 1 passed, 2 failed"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
