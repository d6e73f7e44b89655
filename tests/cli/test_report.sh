#!/usr/bin/env bash
# test_report.sh -- `egret report`: the HTML page from EVE and straight
# from captures, self-contained (no script, no fetch), rendered by
# headless Chromium (Debian's chromium, installed by scripts/bootstrap):
# the charts and the alert table are in the rendered DOM and the console
# reports nothing (a page with a script error proves the console is
# watched).  Also: months of EVE in bounded memory.
#
#   bash tests/cli/test_report.sh EGRET_BINARY SCRATCH_DIR SOURCE_DIR
set -u

EGRET=${1:?usage: test_report.sh EGRET_BINARY SCRATCH_DIR SOURCE_DIR}
SCRATCH=${2:?usage}
SRC=${3:?usage}
PY=/usr/bin/python3
case $EGRET in /*) ;; *) EGRET=$PWD/$EGRET ;; esac
mkdir -p "$SCRATCH" || exit 2
T=$(mktemp -d "$SCRATCH/report.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT

PASS=0
FAIL=0
check() {
    local name=$1
    shift
    if "$@"; then
        PASS=$((PASS + 1))
        echo "ok   - $name"
    else
        FAIL=$((FAIL + 1))
        echo "FAIL - $name"
        echo "       failed: $*"
        [ -f "$T/err" ] && sed 's/^/       | /' "$T/err" | head -20
    fi
}

CAPS=("$SRC/pcaps/testnet-plaintext.pcap" "$SRC/pcaps/ai-upload.pcap" "$SRC/pcaps/testnet-batch-export.pcap")
CONF=(-c "$SRC/tests/testnet/egret-test.conf.lua")
READS=()
for c in "${CAPS[@]}"; do READS+=(-r "$c"); done

# ---- from EVE and from the captures: the same findings ----------------------
"$EGRET" -q --truncate "${CONF[@]}" --eve alert,flow,http,stats -o "$T/eve.json" "${READS[@]}" 2>"$T/err"
N_ALERTS=$(grep -c '"event_type":"alert"' "$T/eve.json")
check "the captures raise alerts to show ($N_ALERTS)" test "$N_ALERTS" -ge 2
"$EGRET" report -o "$T/eve.html" --title "EVE <test>" "$T/eve.json" 2>"$T/err"
check "report from EVE: exit 0" test $? -eq 0
"$EGRET" report -o "$T/cap.html" "${CAPS[@]}" -- "${CONF[@]}" 2>"$T/err"
check "report from the captures: exit 0" test $? -eq 0
rows() { grep -c '<tr id="alert-' "$1"; }
check "report from EVE lists every alert ($(rows "$T/eve.html") of $N_ALERTS)" test "$(rows "$T/eve.html")" -eq "$N_ALERTS"
check "report from the captures lists the same alerts" test "$(rows "$T/cap.html")" -eq "$N_ALERTS"
check "the title is escaped" grep -q '<h1>EVE &lt;test&gt;</h1>' "$T/eve.html"
check "the bundled TEST GeoIP databases are named in a banner" grep -q 'id="test-geo"' "$T/eve.html"
check "self-contained: no script, no external reference" \
    sh -c "! grep -Eqi '<script|src=|href=\"(https?:)?//|url\\(' '$T/eve.html'"
check "every alert links to its flow, and the flow row exists" "$PY" - "$T/eve.html" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
links = set(re.findall(r'href="#flow-(\d+)"', t))
rows = set(re.findall(r'<tr id="flow-(\d+)"><td>\d+</td><td>\d', t))
assert links and links <= rows, (links, rows)
EOF
check "the content table names the shape seen" grep -q '<td>openai_chat</td>' "$T/eve.html"

# ---- the end-of-run summary's tables agree with the EVE of the same run ----------
"$EGRET" --truncate "${CONF[@]}" --eve alert,flow,http -o "$T/sum.json" "${READS[@]}" 2>"$T/summary.txt"
check "the summary's tables match the EVE output of the same run" "$PY" - "$T/sum.json" "$T/summary.txt" <<'EOF'
import collections, json, re, sys
eve = [json.loads(l) for l in open(sys.argv[1])]
text = open(sys.argv[2]).read()
alerts = [r["alert"] for r in eve if r["event_type"] == "alert"]
assert alerts, "no alert in the EVE output: the per-rule table would be compared with nothing"
sev = collections.Counter(a["severity"] for a in alerts)
want = "alerts         %d (high %d, medium %d, low %d)" % (len(alerts), sev[1], sev[2], sev[3])
assert want in text, want
by_rule = collections.Counter(a["signature_id"] for a in alerts)
got = {int(m.group(2)): int(m.group(1)) for m in re.finditer(r"^ +(\d+)  \d +(\d{7,})  ", text, re.M)}
assert got == dict(by_rule), (got, by_rule)
pairs = collections.defaultdict(lambda: [0, 0, 0, 0])
for r in eve:
    if r.get("egret_direction") != "outbound" or "provider" not in r.get("ai", {}):
        continue
    k = (r["src_ip"], r["ai"]["provider"])
    if r["event_type"] == "flow":
        pairs[k][0] += r["flow"]["bytes_toserver"]
        pairs[k][1] += 1
        pairs[k][2] += r["flow"].get("exchanges", 0)
    elif r["event_type"] == "http" and "content" in r:
        pairs[k][3] += r["content"].get("messages", 0) + r["content"].get("embedded_messages", 0)
rows = {}
for m in re.finditer(r"^    (\S+) +(\S+) +([0-9.]+ [kMGT]?B) +(\d+) +(\d+) +(?:>=)?(\d+)  ", text, re.M):
    rows[(m.group(1), m.group(2))] = (m.group(3), int(m.group(4)), int(m.group(5)), int(m.group(6)))
def hb(b):
    v, u = float(b), 0
    while v >= 1000 and u < 4:
        v /= 1000; u += 1
    return "%d B" % b if u == 0 else "%.1f %s" % (v, ["B", "kB", "MB", "GB", "TB"][u])
assert rows, text
for k, (b, f, q, msg) in pairs.items():
    assert rows.get(k) == (hb(b), f, q, msg), (k, rows.get(k), (hb(b), f, q, msg))
assert len(rows) == len(pairs)
EOF

# ---- rendered by Chromium -----------------------------------------------------
render() { # render HTML DOM_OUT LOG
    rm -rf "$T/profile"
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$T/profile" \
        --enable-logging=stderr --dump-dom "file://$1" >"$2" 2>"$3"
}
if command -v chromium >/dev/null; then
    render "$T/eve.html" "$T/dom.html" "$T/chromium.log"
    check "chromium renders the report" test -s "$T/dom.html"
    for id in chart-timeline chart-providers chart-countries chart-asns; do
        check "rendered DOM has the $id chart" grep -q "<svg id=\"$id\"" "$T/dom.html"
    done
    check "rendered timeline has a line per host" grep -q '<polyline class="series"' "$T/dom.html"
    check "rendered DOM has the alert table with every alert" \
        test "$(grep -o '<tr id="alert-[0-9]*"' "$T/dom.html" | wc -l)" -eq "$N_ALERTS"
    # Console messages come as ...:CONSOLE(...)] or INFO:CONSOLE; CSP
    # refusals too.  (Root's D-Bus noise is no console message.)
    check "the console reports nothing" sh -c "! grep -Ei 'CONSOLE|Refused to|Content Security' '$T/chromium.log'"
    printf '<!DOCTYPE html><html><body><script>no_such_function()</script></body></html>' >"$T/bad.html"
    render "$T/bad.html" "$T/bad-dom.html" "$T/bad.log"
    check "control: a script error on another page does show on the console" grep -q 'CONSOLE.*no_such_function' "$T/bad.log"
else
    echo "FAIL - chromium is not installed (scripts/bootstrap installs it): the report is NOT rendered"
    FAIL=$((FAIL + 1))
fi

# ---- bounded memory: 90 days, 200,000 records ---------------------------------
"$PY" - "$T/big.json" <<'EOF'
import json, sys
t0 = 1767225600  # 2026-01-01
with open(sys.argv[1], "w") as f:
    for i in range(200000):
        ts = t0 + i * 39  # ~90 days
        day = __import__("time").strftime("%Y-%m-%dT%H:%M:%S", __import__("time").gmtime(ts))
        host = "10.%d.%d.%d" % (i % 7, i % 200, i % 250)
        rec = {"timestamp": day + ".000000+0000", "flow_id": i + 1, "event_type": "flow",
               "src_ip": host, "src_port": 40000, "dest_ip": "203.0.113.%d" % (i % 200),
               "dest_port": 443, "proto": "TCP", "egret_direction": "outbound",
               "ai": {"provider": "P%d" % (i % 300), "host": "api.example"},
               "dest_geo": {"country_iso": "US", "country": "United States", "asn": 64500 + i % 400, "as_org": "X"},
               "flow": {"bytes_toserver": 1000 + i, "bytes_toclient": 10, "start": day + ".000000+0000"}}
        f.write(json.dumps(rec, separators=(",", ":")) + "\n")
        if i % 100 == 0:
            f.write(json.dumps({"timestamp": day + ".000000+0000", "flow_id": i + 1, "event_type": "alert",
                                "src_ip": host, "egret_direction": "outbound",
                                "alert": {"signature_id": 1, "severity": 2, "signature": "s", "why": {"n": i}}}) + "\n")
EOF
/usr/bin/time -f '%M' -o "$T/rss" "$EGRET" report -o "$T/big.html" "$T/big.json" 2>"$T/err"
check "report of 200,000 records over 90 days: exit 0" test $? -eq 0
RSS=$(tail -1 "$T/rss")
check "... in bounded memory (max RSS ${RSS} kB < 32 MB; the input is $(($(stat -c %s "$T/big.json") / 1000000)) MB)" test "$RSS" -lt 32768
check "... buckets widened to cover 90 days" grep -Eq '<p class="note">[0-9]{5,} s per bucket' "$T/big.html"
check "... the alert table stops at 1000 and says how many more" grep -q '1000 further alerts not listed' "$T/big.html"
check "... the host table overflow is drawn as other hosts" grep -q 'other hosts' "$T/big.html"

# ---- bad input ------------------------------------------------------------------
"$EGRET" report -o "$T/x.html" "$T/no-such-file" 2>"$T/err"
check "a missing input: exit 1 naming it" sh -c "[ $? -eq 1 ] && grep -q no-such-file '$T/err'"
"$EGRET" report 2>"$T/err"
check "no input: exit 2 with usage" sh -c "[ $? -eq 2 ] && grep -q 'Usage: egret report' '$T/err'"
printf 'not json\n{"event_type":"alert","alert":{"severity":1,"signature":"<b>x</b>"}}\n' >"$T/mixed.json"
"$EGRET" report -o "$T/mixed.html" "$T/mixed.json" 2>"$T/err"
check "a file starting with text is treated as a capture and fails cleanly (exit 1)" test $? -eq 1
printf '{"event_type":"alert","alert":{"severity":1,"signature":"<b>x</b>"}}\nnot json\n' >"$T/mixed.json"
"$EGRET" report -o "$T/mixed.html" "$T/mixed.json" 2>"$T/err"
check "EVE with a bad line: exit 0, the line counted, markup escaped" \
    sh -c "[ $? -eq 0 ] && grep -q '1 input lines were not JSON' '$T/mixed.html' && grep -q '&lt;b&gt;x&lt;/b&gt;' '$T/mixed.html'"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
