#!/usr/bin/env bash
# test_evidence.sh -- black-box tests of `--evidence DIR` (per-alert files).
#
#   bash tests/cli/test_evidence.sh EGRET_BINARY SCRATCH_DIR [REPO_ROOT]
#
# On pcaps/testnet-plaintext.pcap (one 2.4 MB chat POST to api.mistral.ai,
# 4 alerts under tests/testnet/egret-test.conf.lua) and on a small generated
# capture whose chat body holds e-mail addresses, a phone number and long
# digit runs, checks that every alert on stdout has <flow_id>-<sid>.json
# equal to that record, that each alerted flow has a <flow_id>.pcap that
# tcpdump and tshark read (1..12 packets), that the body samples
# (<flow_id>-<sid>.txt) are short and redacted (no e-mail address, no run of
# 6+ digits), that stats.evidence.written counts the files, that without
# --evidence nothing is written, and that an unusable --evidence path is a
# configuration error (exit 2) with a message naming the path.
set -u

EGRET=${1:?usage: test_evidence.sh EGRET_BINARY SCRATCH_DIR [REPO_ROOT]}
SCRATCH=${2:?usage: test_evidence.sh EGRET_BINARY SCRATCH_DIR [REPO_ROOT]}
ROOT=${3:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3

case $EGRET in /*) ;; *) EGRET=$PWD/$EGRET ;; esac
[ -x "$EGRET" ] || { echo "not executable: $EGRET" >&2; exit 2; }
mkdir -p "$SCRATCH" || exit 2
T=$(mktemp -d "$SCRATCH/evidence.XXXXXX") || exit 2
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
PCAP=$ROOT/pcaps/testnet-plaintext.pcap
CONF=$ROOT/tests/testnet/egret-test.conf.lua
[ -f "$PCAP" ] && [ -f "$CONF" ] || { echo "missing $PCAP or $CONF" >&2; exit 2; }

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && echo "       $2"; [ -f "$T/err" ] && sed 's/^/       | /' "$T/err" | head -10; }
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name" "failed: $*"; fi
}

# check_dir NAME OUT DIR MIN_ALERTS TXT_SIDS PCAP : the evidence of one run
# (PCAP 1: run with --evidence-pcap, a slice per alerting flow; 0: none).
# The python checker prints one "ok"/"FAIL" line per check.
check_dir() {
    local res
    res=$("$PY" - "$@" <<'EOF'
import glob, json, os, re, shutil, subprocess, sys
name, out, d, min_alerts, txt_sids = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
want_pcap = sys.argv[6] == "1"
txt_sids = {int(s) for s in txt_sids.split(",") if s}
res = []
def check(what, cond, detail=""):
    res.append(("ok   - " if cond else "FAIL - ") + f"{name}: {what}" + ("" if cond else f"\n       {detail}"))
recs = [json.loads(l) for l in open(out) if l.strip()]
alerts = [r for r in recs if r.get("event_type") == "alert"]
stats = [r["stats"] for r in recs if r.get("event_type") == "stats"]
check(f">= {min_alerts} alerts on stdout", len(alerts) >= min_alerts, str(len(alerts)))
expected = set()
for a in alerts:
    fid, sid = a["flow_id"], a["alert"]["signature_id"]
    fn = os.path.join(d, f"{fid}-{sid}.json")
    expected |= {os.path.basename(fn)} | ({f"{fid}.pcap"} if want_pcap else set())
    try:
        j = json.load(open(fn))
    except (OSError, ValueError) as ex:
        check(f"{fid}-{sid}.json parses", False, str(ex)); continue
    check(f"{fid}-{sid}.json equals the alert record on stdout", j == a,
          json.dumps(j, sort_keys=True)[:200])
if not want_pcap:
    check("no pcap slice without --evidence-pcap", not glob.glob(os.path.join(d, "*.pcap")))
for fid in sorted({a["flow_id"] for a in alerts}) if want_pcap else []:
    fn = os.path.join(d, f"{fid}.pcap")
    if not os.path.exists(fn):
        check(f"{fid}.pcap exists", False); continue
    p = subprocess.run(["tcpdump", "-nn", "-r", fn], capture_output=True, text=True)
    n = len([l for l in p.stdout.splitlines() if l.strip()])
    check(f"{fid}.pcap: tcpdump reads it, 1..12 packets", p.returncode == 0 and 1 <= n <= 12,
          f"rc {p.returncode}, {n} packets: {p.stderr[-200:]}")
    # tshark is installed by scripts/bootstrap: its absence is a failure, not a skip
    check(f"{fid}.pcap: tshark installed to read it", shutil.which("tshark") is not None)
    if shutil.which("tshark"):
        p = subprocess.run(["tshark", "-r", fn, "-T", "fields", "-e", "frame.number"],
                           capture_output=True, text=True)
        n2 = len(p.stdout.splitlines())
        check(f"{fid}.pcap: tshark reads it, same packet count", p.returncode == 0 and n2 == n,
              f"rc {p.returncode}, {n2} vs {n}")
for sid in sorted(txt_sids):
    hits = [a for a in alerts if a["alert"]["signature_id"] == sid]
    check(f"a body sample for every {sid} alert", hits and all(
        os.path.exists(os.path.join(d, f"{a['flow_id']}-{sid}.txt")) for a in hits))
EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
DIGITS = re.compile(rb"[0-9]{6,}")
CARD = re.compile(rb"[0-9]{4}[ -][0-9]{4}[ -][0-9]{4}[ -][0-9]{1,4}")
LITERAL = re.compile(rb"@\[[0-9A-Fa-f.:]+\]")  # user@[192.0.2.1]: EMAIL does not see it
txts = glob.glob(os.path.join(d, "*.txt"))
for fn in txts:
    b = open(fn, "rb").read()
    base = os.path.basename(fn)
    m = re.fullmatch(r"(\d+)-(\d+)\.txt", base)
    check(f"{base}: named after an alert on stdout", bool(m) and any(
        a["flow_id"] == int(m.group(1)) and a["alert"]["signature_id"] == int(m.group(2))
        for a in alerts))
    expected.add(base)
    check(f"{base}: 1..300 bytes", 0 < len(b) <= 300, str(len(b)))
    check(f"{base}: no e-mail address", not EMAIL.search(b), "an address is in the sample")
    check(f"{base}: no run of 6+ digits", not DIGITS.search(b), "a digit run is in the sample")
    check(f"{base}: no grouped card number", not CARD.search(b), "a card number is in the sample")
    check(f"{base}: no escaped '@' (\\u0040)", b"u0040" not in b, "an escaped address")
    check(f"{base}: no address literal", not LITERAL.search(b), "an address literal is in the sample")
present = set(os.listdir(d))
check("no files beyond the alerts' json/pcap/txt", present <= expected and
      {e for e in expected if not e.endswith(".txt")} <= present,
      f"extra {sorted(present - expected)}, missing {sorted(expected - present)}")
if stats:
    ev = stats[-1].get("evidence", {})
    check("stats.evidence.written == alerts", ev.get("written") == len(alerts),
          f"{ev} vs {len(alerts)}")
print("\n".join(res))
EOF
)
    [ -n "$res" ] || { bad "$1: evidence checker ran" "no output"; return; }
    echo "$res"
    PASS=$((PASS + $(grep -c '^ok   - ' <<<"$res")))
    FAIL=$((FAIL + $(grep -c '^FAIL - ' <<<"$res")))
}

# ---- 1. testnet-plaintext: 4 alerts on one flow, a sample for 9000007
E=$T/ev-plain # does not exist yet: egret creates it
"$EGRET" -q -r "$PCAP" -c "$CONF" --eve alert,stats --evidence "$E" >"$T/out" 2>"$T/err"
RC=$?
check "plaintext: exit 0" test "$RC" -eq 0
check "plaintext: the directory was created" test -d "$E"
check "plaintext: directory not world-readable" test -z "$(find "$E" -maxdepth 0 -perm -o=r)"
check "plaintext: the 9000007 alert is on stdout" grep -q '"signature_id":9000007' "$T/out"
check_dir plaintext "$T/out" "$E" 4 9000007 0

# ---- 2. generated capture: PII in a chat body to api.openai.com (Host attribution)
G=$T/pii.pcap
"$PY" - "$G" <<'EOF' || { echo "cannot generate the PII capture (scapy?)" >&2; exit 2; }
import json, sys
from scapy.all import Ether, IP, TCP, Raw, wrpcap
msgs = [{"role": "user", "content": "mail jane.doe@example.com or bob_smith+ai@corp.example.org, "
         "phone +1 415 555 0199, card 4111 1111 1111 1111, account 12345678, "
         "ops@[192.0.2.1]"}]
msgs += [{"role": "user", "content": f"note {i}: call 0612345678"} for i in range(5)]
body = json.dumps({"model": "gpt-4o", "messages": msgs}).encode()
body = body.replace(b"jane.doe@", b"jane.doe\\u0040")  # an escaped '@' hides nothing
req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
       b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
       b"\r\n\r\n" + body)
resp = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
c, s, cp, sp = "10.9.0.5", "203.0.113.77", 41000, 80
E = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
Er = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
t, pk = 1700000000.0, []
def add(p):
    global t
    p.time = t; t += 0.001; pk.append(p)
add(E / IP(src=c, dst=s) / TCP(sport=cp, dport=sp, flags="S", seq=1000))
add(Er / IP(src=s, dst=c) / TCP(sport=sp, dport=cp, flags="SA", seq=5000, ack=1001))
add(E / IP(src=c, dst=s) / TCP(sport=cp, dport=sp, flags="A", seq=1001, ack=5001))
add(E / IP(src=c, dst=s) / TCP(sport=cp, dport=sp, flags="PA", seq=1001, ack=5001) / Raw(req))
add(Er / IP(src=s, dst=c) / TCP(sport=sp, dport=cp, flags="PA", seq=5001, ack=1001 + len(req)) / Raw(resp))
add(E / IP(src=c, dst=s) / TCP(sport=cp, dport=sp, flags="FA", seq=1001 + len(req), ack=5001 + len(resp)))
add(Er / IP(src=s, dst=c) / TCP(sport=sp, dport=cp, flags="FA", seq=5001 + len(resp), ack=1002 + len(req)))
add(E / IP(src=c, dst=s) / TCP(sport=cp, dport=sp, flags="A", seq=1002 + len(req), ack=5002 + len(resp)))
wrpcap(sys.argv[1], pk)
EOF
E2=$T/ev-pii
mkdir -p "$E2"
"$EGRET" -q -r "$G" --no-geo --set content.min_messages=5 --eve alert,stats --evidence "$E2" \
    --evidence-pcap >"$T/out" 2>"$T/err"
RC=$?
check "pii: exit 0" test "$RC" -eq 0
check "pii: 9000007 alerts (6 messages, min_messages 5)" grep -q '"signature_id":9000007' "$T/out"
check_dir pii "$T/out" "$E2" 1 9000007 1
"$EGRET" -q -r "$G" --no-geo --eve alert --evidence-pcap >"$T/out" 2>"$T/err"
RC=$?
check "--evidence-pcap without --evidence: exit 2" test "$RC" -eq 2
check "--evidence-pcap without --evidence: says so" grep -q -- "--evidence-pcap needs --evidence" "$T/err"

# ---- 3. without --evidence nothing is written (cwd, scratch)
W=$T/cwd
mkdir -p "$W"
(cd "$W" && "$EGRET" -q -r "$PCAP" -c "$CONF" --eve alert >"$T/out" 2>"$T/err")
RC=$?
check "no --evidence: exit 0 and alerts on stdout" test "$RC" -eq 0 -a -s "$T/out"
check "no --evidence: nothing created in the working directory" test -z "$(ls -A "$W")"
check "no --evidence: no evidence files under the scratch dir" \
    test -z "$(find "$T" -path "$T/ev-*" -prune -o \( -name '*-9000*.json' -o -name '*-9000*.txt' \) -print)"
"$EGRET" -q -r "$PCAP" -c "$CONF" --eve stats >"$T/out" 2>"$T/err"
check "no --evidence: no stats.evidence object" \
    "$PY" -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; sys.exit('evidence' in r[-1]['stats'])" "$T/out"

# ---- 4. unusable --evidence paths: exit 2 and a message naming the path
touch "$T/plainfile"
for P in /proc/egret-evidence-test "$T/plainfile" "$T/plainfile/sub"; do
    "$EGRET" -q -r "$PCAP" -c "$CONF" --eve alert --evidence "$P" >"$T/out" 2>"$T/err"
    RC=$?
    check "--evidence $P: exit 2" test "$RC" -eq 2
    check "--evidence $P: message names --evidence and the path" grep -qF -- "--evidence $P" "$T/err"
    check "--evidence $P: no records written" test ! -s "$T/out"
done
if [ "$(id -u)" != 0 ]; then # root writes into a mode-500 directory anyway
    mkdir -p "$T/ro" && chmod 500 "$T/ro"
    "$EGRET" -q -r "$PCAP" -c "$CONF" --eve alert --evidence "$T/ro" >"$T/out" 2>"$T/err"
    RC=$?
    check "--evidence read-only dir: exit 2" test "$RC" -eq 2
    check "--evidence read-only dir: message" grep -q "not writable" "$T/err"
else
    echo "skip - --evidence read-only dir (running as root)"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
