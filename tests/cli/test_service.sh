#!/usr/bin/env bash
# test_service.sh -- egret run as a service: output files appended to or
# truncated, a partial last line ended, SIGHUP reopening the outputs
# (rename, signal, the next records in a new file, none lost), --pidfile,
# a SIGTERM stop that flushes the flows and writes the final stats, and
# the alert log.
#
#   bash tests/cli/test_service.sh EGRET_BINARY SCRATCH_DIR
#
# egret reads a pcap on stdin (-r -) from a pipe a Python driver feeds in
# parts; each part is one DNS query/answer pair (its own flow) that a
# scratch on_dns rule alerts on.  Prints "N passed, N failed".
set -u

EGRET=${1:?usage: test_service.sh EGRET_BINARY SCRATCH_DIR}
SCRATCH=${2:?usage: test_service.sh EGRET_BINARY SCRATCH_DIR}
PY=/usr/bin/python3

. "$(dirname "$0")/lib.sh"
cli_setup service

R=$T/rules
mkdir -p "$R"
cat >"$R/r1.lua" <<'EOF'
rule { id = 9100001, name = "service test", severity = 2, hooks = { "on_dns" },
  on_dns = function(flow) alert { why = { name = flow:dns().rrname, n = 7 } } end }
EOF

# ---- the driver: egret on a pipe, driven step by step ----------------------
cat >"$T/driver.py" <<'EOF'
import os, signal, subprocess, sys
from scapy.all import Ether, IP, UDP, DNS, DNSQR, DNSRR, Raw
from pipefeed import HDR, MAC, T0, rec, send, wait_text

egret, rules, T, mode = sys.argv[1:5]

def part(i):
    name = "a%d.example" % i
    t = T0 + 10 * i
    filler = Ether(**MAC) / IP(src="10.9.9.9", dst="10.9.9.8") / UDP(sport=1000, dport=2000) / Raw(b"x" * 20)
    q = Ether(**MAC) / IP(src="10.1.1.10", dst="10.0.0.53") / UDP(sport=33000 + i, dport=53) / \
        DNS(id=i, rd=1, qd=DNSQR(qname=name))
    a = Ether(dst=MAC["src"], src=MAC["dst"]) / IP(src="10.0.0.53", dst="10.1.1.10") / \
        UDP(sport=53, dport=33000 + i) / \
        DNS(id=i, qr=1, rd=1, ra=1, qd=DNSQR(qname=name), an=DNSRR(rrname=name, rdata="192.0.2.%d" % i))
    return rec(filler, t) + rec(q, t + 0.1) + rec(a, t + 0.2)

def wait_err(text, n=1):
    wait_text(T + "/err", text, n)

eve, fast, pid = T + "/eve.json", T + "/fast.log", T + "/egret.pid"
args = [egret, "-r", "-", "-R", rules, "-o", eve, "--alert-log", fast, "--pidfile", pid,
        "--eve", "alert,flow,stats", "--no-geo"]
with open(T + "/err", "wb") as err:
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
    send(p, HDR + part(1))
    with open(pid) as f:
        print("pidfile", f.read().strip() == str(p.pid))
    if mode == "rotate":
        # logrotate: rename both files, then SIGHUP
        os.rename(eve, eve + ".1")
        os.rename(fast, fast + ".1")
        # the CLI looks at the flag after a packet: part 2's filler
        # packet absorbs the switch (a live capture's timeout does it too)
        p.send_signal(signal.SIGHUP)
        send(p, part(2))
        wait_err("reloaded (SIGHUP)")
        send(p, part(3))
        p.stdin.close()
    else:  # "term": SIGTERM while egret waits on the pipe
        p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=30)
    print("rc", rc)
    print("pidfile_removed", not os.path.exists(pid))
EOF

# counts FILE: "alerts flows stats names..." of an EVE file (every line parsed)
counts() {
    "$PY" - "$1" <<'EOF'
import json, sys
a = f = s = 0
names = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    t = r["event_type"]
    if t == "alert":
        a += 1
        names.append(r["alert"]["why"]["name"])
    f += t == "flow"
    s += t == "stats"
print(a, f, s, " ".join(sorted(names)))
EOF
}

# ---- SIGHUP: rename, reopen, nothing lost ------------------------------------
PYTHONPATH="$(cd "$(dirname "$0")" && pwd)" "$PY" "$T/driver.py" "$EGRET" "$R" "$T" rotate >"$T/drv" 2>&1
check "rotate: egret exits 0" grep -q "^rc 0$" "$T/drv"
check "pidfile: holds egret's pid while it runs" grep -q "^pidfile True$" "$T/drv"
check "pidfile: removed at exit" grep -q "^pidfile_removed True$" "$T/drv"
OLD=$(counts "$T/eve.json.1" 2>&1)
NEW=$(counts "$T/eve.json" 2>&1)
check "rotate: the renamed file has part 1's alert (got: $OLD)" \
    test "$(echo "$OLD" | cut -d' ' -f1,4-)" = "1 a1.example"
check "rotate: the new file has parts 2 and 3 (got: $NEW)" \
    test "$(echo "$NEW" | cut -d' ' -f1,4-)" = "2 a2.example a3.example"
# 3 DNS flows + the filler flow (one 5-tuple), each in one file or the other, once
TOTAL_FLOWS=$(($(echo "$OLD" | cut -d' ' -f2) + $(echo "$NEW" | cut -d' ' -f2)))
check "rotate: every flow record is in one of the files ($TOTAL_FLOWS of 4)" test "$TOTAL_FLOWS" -eq 4
check "rotate: the final stats record goes to the new file" test "$(echo "$NEW" | cut -d' ' -f3)" -ge 1
check "alert log: the renamed one has part 1's line" grep -q "a1.example" "$T/fast.log.1"
check "alert log: the new one has parts 2 and 3" \
    test "$(grep -c 'a[23]\.example' "$T/fast.log")" -eq 2
check "alert log: fast.log layout (sid, signature, severity, addresses, why numbers first)" \
    grep -Eq '^[0-9T:.+-]+  \[\*\*\] \[1:9100001:[0-9]+\] service test \[\*\*\] \[Severity: 2\] \{UDP\} 10\.1\.1\.10:3300[23] -> 10\.0\.0\.53:53 why: n=7 name=a[23]\.example$' "$T/fast.log"

# ---- append by default, --truncate on request -------------------------------
PCAP=$T/one.pcap
"$PY" - "$PCAP" <<'EOF'
import struct, sys
from scapy.all import Ether, IP, UDP, DNS, DNSQR, wrpcap
wrpcap(sys.argv[1], [Ether() / IP(src="10.1.1.10", dst="10.0.0.53") / UDP(sport=33000, dport=53) /
                     DNS(id=1, rd=1, qd=DNSQR(qname="b.example"))])
EOF
A=$T/append.json
run -r "$PCAP" -o "$A" --no-rules --no-geo
run -r "$PCAP" -o "$A" --no-rules --no-geo
check "append: a second run adds its records (2 lines)" test "$(wc -l <"$A")" -eq 2
run -r "$PCAP" -o "$A" --no-rules --no-geo --truncate
check "--truncate: the file holds one run's records (1 line)" test "$(wc -l <"$A")" -eq 1
printf 'outputs = { truncate = true }\n' >"$T/conf.lua"
run -r "$PCAP" -o "$A" --no-rules --no-geo
run -r "$PCAP" -o "$A" --no-rules --no-geo -c "$T/conf.lua"
check "outputs.truncate = true in the configuration file truncates too" test "$(wc -l <"$A")" -eq 1

# ---- a partial last line (a crash mid-write) is ended first ------------------
printf '{"timestamp":"cut short' >>"$A"
run -r "$PCAP" -o "$A" --no-rules --no-geo
check "repair: egret warns that the last line was cut" grep -q "last line was cut" "$T/err"
check "repair: the new record starts a line of its own (3 lines, the last one valid JSON)" \
    "$PY" -c 'import json,sys; l=open(sys.argv[1]).read().split("\n"); assert l[-1]=="" and len(l)==4, l; json.loads(l[2])' "$A"
run -r "$PCAP" -o "$A" --no-rules --no-geo
check "repair: a whole last line is left as it is (no warning, no empty line)" \
    "$PY" -c 'import sys; t=open(sys.argv[1]).read(); assert "\n\n" not in t and t.count("\n")==4' "$A"

# ---- SIGTERM: the flows flushed, the final stats written ---------------------
rm -f "$T/eve.json" "$T/fast.log"
PYTHONPATH="$(cd "$(dirname "$0")" && pwd)" "$PY" "$T/driver.py" "$EGRET" "$R" "$T" term >"$T/drv" 2>&1
C=$(counts "$T/eve.json" 2>&1)
check "SIGTERM: egret exits 0" grep -q "^rc 0$" "$T/drv"
check "SIGTERM: part 1's alert and both its flows are written, and a stats record (got: $C)" \
    test "$(echo "$C" | cut -d' ' -f1-4)" = "1 2 1 a1.example"
check "SIGTERM: the summary says interrupted" grep -q "egret: summary (interrupted)" "$T/err"
check "SIGTERM: the summary counts the alert" grep -q "alerts         1 (high 0, medium 1, low 0)" "$T/err"
check "SIGTERM: pid file removed" grep -q "^pidfile_removed True$" "$T/drv"

# ---- bad values ---------------------------------------------------------------
run -r "$PCAP" --user no-such-user-egret-test
check "--user with an unknown user: exit 2" test "$RC" -eq 2
check "... naming it" grep -q "no user 'no-such-user-egret-test'" "$T/err"
run -r "$PCAP" --no-rules --pidfile "$T/no/such/dir/egret.pid"
check "--pidfile in a missing directory: exit 1 with the path" \
    sh -c "[ $RC -eq 1 ] && grep -q 'no/such/dir/egret.pid' '$T/err'"

# ---- --user: root is dropped before reading (the outputs are opened first) -----
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
    run -r "$SRCDIR/pcaps/ai-upload.pcap" --no-rules --no-geo -v --user nobody -o "$T/user.json"
    check "--user nobody: exit 0, switched (root cannot be regained: checked)" \
        sh -c "[ $RC -eq 0 ] && grep -q 'running as user nobody' '$T/err'"
    check "... the output opened as root is written" test -s "$T/user.json"
else
    echo "NOTE: not root (or no user nobody): --user switching NOT tested"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
