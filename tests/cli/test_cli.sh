#!/usr/bin/env bash
# test_cli.sh -- black-box tests of the egret command line.
#
#   bash tests/cli/test_cli.sh EGRET_BINARY SCRATCH_DIR
#
# Covers option handling and exit codes (0 ok, 1 input error, 2 usage),
# input kinds (file, pcapng, directory, stdin), broken inputs (missing,
# empty, non-pcap, truncated), -o, -f, write errors and, when the machine
# allows it, a short live capture on loopback.  Small pcaps are generated
# here with Debian's python3 + scapy.  Checks rely only on the ABI
# contract: the summary's packet count (egret_counters.packets), a final
# stats record on flush, and every stdout/-o line being a JSON object.
set -u

EGRET=${1:?usage: test_cli.sh EGRET_BINARY SCRATCH_DIR}
SCRATCH=${2:?usage: test_cli.sh EGRET_BINARY SCRATCH_DIR}
PY=/usr/bin/python3

case $EGRET in /*) ;; *) EGRET=$PWD/$EGRET ;; esac
[ -x "$EGRET" ] || { echo "not executable: $EGRET" >&2; exit 2; }
mkdir -p "$SCRATCH" || exit 2
T=$(mktemp -d "$SCRATCH/cli.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && echo "       $2"; [ -f "$T/err" ] && sed 's/^/       | /' "$T/err" | head -20; }

# run ARGS... : runs egret with stdout -> $T/out, stderr -> $T/err; sets RC.
run() {
    "$EGRET" "$@" >"$T/out" 2>"$T/err"
    RC=$?
}

# check NAME CONDITION-COMMAND... : one test case.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name" "failed: $*"; fi
}

rc_is() { [ "$RC" -eq "$1" ]; }
err_has() { grep -q -- "$1" "$T/err"; }
err_lacks() { ! grep -q -- "$1" "$T/err"; }
out_empty() { [ ! -s "$T/out" ]; }
err_empty() { [ ! -s "$T/err" ]; }
# packets N : the summary reports N packets.
packets() { grep -Eq "^ +packets +$1( |$)" "$T/err"; }
# json_lines FILE [nonempty] : every line is one JSON object.
json_lines() {
    "$PY" - "$1" "${2:-}" <<'EOF'
import json, sys
path, need = sys.argv[1], sys.argv[2]
n = 0
with open(path, "rb") as f:
    for i, line in enumerate(f, 1):
        if not line.endswith(b"\n"):
            sys.exit("line %d: no trailing newline" % i)
        obj = json.loads(line)
        if not isinstance(obj, dict):
            sys.exit("line %d: not an object" % i)
        n += 1
if need and n == 0:
    sys.exit("no records")
EOF
}

# ---- fixtures ---------------------------------------------------------
"$PY" - "$T" <<'EOF' || { echo "cannot generate pcaps (scapy?)" >&2; exit 2; }
import sys
from scapy.all import Ether, IP, UDP, TCP, DNS, DNSQR, Raw, wrpcap, wrpcapng
from scapy.utils import PcapWriter
d = sys.argv[1]
t0 = 1700000000.0
def udp(i):
    p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="10.0.0.1", dst="192.0.2.53") / \
        UDP(sport=40000, dport=53) / DNS(rd=1, qd=DNSQR(qname="example.com"))
    p.time = t0 + i
    return p
def tcp(i, flags):
    p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="10.0.0.1", dst="192.0.2.80") / \
        TCP(sport=40001, dport=443, flags=flags, seq=1000 + i) / Raw(b"x" * 40 * i)
    p.time = t0 + 10 + i
    return p
wrpcap(d + "/good3.pcap", [udp(i) for i in range(3)])
wrpcap(d + "/good2.pcap", [tcp(0, "S"), tcp(1, "PA")])
wrpcapng(d + "/good4.pcapng", [udp(i) for i in range(4)])
w = PcapWriter(d + "/nano2.pcap", nano=True)
for i in range(2):
    w.write(udp(i))
w.close()
EOF

printf '' >"$T/empty.pcap"
printf 'this is not a capture file\nat all\n' >"$T/text.pcap"
# cut the last record of good3.pcap in half
size=$(stat -c %s "$T/good3.pcap")
head -c $((size - 20)) "$T/good3.pcap" >"$T/trunc.pcap"

mkdir -p "$T/dir/sub"
cp "$T/good3.pcap" "$T/dir/a.pcap"
cp "$T/text.pcap" "$T/dir/b.pcap"
cp "$T/good2.pcap" "$T/dir/c.pcap"
cp "$T/text.pcap" "$T/dir/.hidden.pcap"
cp "$T/good3.pcap" "$T/dir/sub/nested.pcap"

# ---- options ----------------------------------------------------------
run --help
check "--help exits 0" rc_is 0
check "--help prints usage on stdout" grep -q "Usage: egret" "$T/out"
check "--help documents exit codes" grep -q "Exit status" "$T/out"
check "--help writes nothing on stderr" err_empty

run --version
check "--version exits 0" rc_is 0
check "--version names egret" grep -Eq "^egret [0-9]+\.[0-9]+\.[0-9]+" "$T/out"
check "--version names libpcap" grep -q "libpcap" "$T/out"

run --no-such-flag -r "$T/good3.pcap"
check "bad flag exits 2" rc_is 2
check "bad flag: usage on stderr" err_has "Usage: egret"
check "bad flag: nothing on stdout" out_empty

run -Z
check "bad short flag exits 2" rc_is 2

run
check "no input exits 2" rc_is 2
check "no input: usage on stderr" err_has "Usage: egret"

run -r "$T/good3.pcap" -i lo
check "-r with -i exits 2" rc_is 2

run -r
check "-r without argument exits 2" rc_is 2

# an interface that does not exist is an input error, with 1 or 2 workers;
# with 2, no talk of falling back from kernel fanout (it is not fanout's fault)
for w in 1 2; do
  run -i egret-nosuch0 --workers $w -o "$T/nosuch.json"
  check "-i missing interface, $w workers: exit 1" rc_is 1
  check "-i missing interface, $w workers: says so" err_has "egret-nosuch0: No such device"
  check "-i missing interface, $w workers: no fallback warning" err_lacks "share one capture"
done

run -r "$T/good3.pcap" --eve alert,bogus
check "--eve bogus exits 2" rc_is 2
check "--eve bogus names the type" err_has "bogus"

run -r "$T/good3.pcap" --max-flows abc
check "--max-flows abc exits 2" rc_is 2

run -r "$T/good3.pcap" --stats-interval -1
check "--stats-interval -1 exits 2" rc_is 2

run -r "$T/good3.pcap" extra-argument
check "stray argument exits 2" rc_is 2

run -r "$T/good3.pcap" --home-net notacidr
check "--home-net garbage exits 2" rc_is 2

# ---- good inputs ------------------------------------------------------
run -r "$T/good3.pcap" --eve flow,stats
check "good pcap exits 0" rc_is 0
check "good pcap: 3 packets" packets 3
check "good pcap: stdout is JSON lines with records" json_lines "$T/out" nonempty

run -r "$T/good3.pcap" -r "$T/good2.pcap"
check "two -r inputs exit 0" rc_is 0
check "two -r inputs: 5 packets" packets 5
check "two -r inputs: stdout is JSON lines" json_lines "$T/out"

run -r "$T/good4.pcapng"
check "pcapng exits 0" rc_is 0
check "pcapng: 4 packets" packets 4

run -r "$T/nano2.pcap"
check "nanosecond pcap exits 0" rc_is 0
check "nanosecond pcap: 2 packets" packets 2

"$EGRET" -r - --eve flow,stats <"$T/good3.pcap" >"$T/out" 2>"$T/err"
RC=$?
check "stdin exits 0" rc_is 0
check "stdin: 3 packets" packets 3
check "stdin: JSON lines with records" json_lines "$T/out" nonempty
# stats.uptime is wall-clock time, which differs between two runs
sed 's/"uptime":[0-9]*/"uptime":0/' "$T/out" >"$T/stdin-file.json"
# standard input from a file is mapped only when the capture starts at
# the file's offset 0: past another capture (nano2.pcap, whose header a
# mapping from offset 0 would take) libpcap reads it
cat "$T/nano2.pcap" "$T/good3.pcap" >"$T/prefixed.bin"
skip=$(stat -c %s "$T/nano2.pcap")
(dd bs="$skip" count=1 of=/dev/null status=none; "$EGRET" -r - --eve flow,stats >"$T/out" 2>"$T/err") \
    <"$T/prefixed.bin"
RC=$?
check "stdin past a prefix exits 0" rc_is 0
check "stdin past a prefix: 3 packets" packets 3
sed -i 's/"uptime":[0-9]*/"uptime":0/' "$T/out"
check "stdin past a prefix: the same records as from the start" cmp -s "$T/out" "$T/stdin-file.json"

run -r "$T/good3.pcap" -o "$T/eve.json" --eve flow,stats
check "-o exits 0" rc_is 0
check "-o: nothing on stdout" out_empty
check "-o: file is JSON lines with records" json_lines "$T/eve.json" nonempty

run -r "$T/good3.pcap" -o - --eve stats
check "-o - writes stdout" json_lines "$T/out" nonempty

run -q -r "$T/good3.pcap"
check "-q exits 0" rc_is 0
check "-q: stderr silent" err_empty

# ---- filters ----------------------------------------------------------
run -r "$T/good3.pcap" -r "$T/good2.pcap" -f "host 198.51.100.99"
check "filter dropping everything exits 0" rc_is 0
check "filter dropping everything: 0 packets" packets 0
check "filter dropping everything: JSON lines" json_lines "$T/out"

run -r "$T/good3.pcap" -r "$T/good2.pcap" -f "tcp"
check "filter 'tcp' keeps the 2 TCP packets" packets 2

run -r "$T/good3.pcap" -f "this is not bpf ((("
check "bad BPF exits 2" rc_is 2
check "bad BPF: message mentions the filter" err_has "filter"
check "bad BPF: nothing on stdout" out_empty

# ---- broken inputs ----------------------------------------------------
run -r "$T/nonexistent.pcap"
check "missing file exits 1" rc_is 1
check "missing file: error names the file" err_has "nonexistent.pcap"
check "missing file: stdout is JSON lines" json_lines "$T/out"

run -r "$T/empty.pcap"
check "empty file exits 1" rc_is 1
check "empty file: error names the file" err_has "empty.pcap"
check "empty file: stdout is JSON lines" json_lines "$T/out"

run -r "$T/text.pcap"
check "non-pcap file exits 1" rc_is 1
check "non-pcap file: error names the file" err_has "text.pcap:"
check "non-pcap file: stdout is JSON lines" json_lines "$T/out"

run -r "$T/trunc.pcap" --eve flow,stats
check "truncated pcap exits 1" rc_is 1
check "truncated pcap: error names the file" err_has "trunc.pcap:"
check "truncated pcap: says truncated" err_has "truncated"
check "truncated pcap: packets before the cut are processed" packets 2
check "truncated pcap: stdout is JSON lines with records" json_lines "$T/out" nonempty

run -r "$T/text.pcap" -r "$T/good3.pcap"
check "bad file then good file exits 1" rc_is 1
check "bad file then good file: good file processed" packets 3

run -r "$T/dir" --eve flow,stats
check "directory with a bad file exits 1" rc_is 1
check "directory: the bad file is named" err_has "b.pcap:"
check "directory: good files processed, hidden and nested skipped" packets 5
check "directory: hidden file not read" bash -c "! grep -q hidden '$T/err'"
check "directory: stdout is JSON lines with records" json_lines "$T/out" nonempty

mkdir -p "$T/gooddir"
cp "$T/good2.pcap" "$T/good3.pcap" "$T/gooddir/"
run -r "$T/gooddir/" -r "$T/good4.pcapng"
check "directory + file exits 0" rc_is 0
check "directory + file: 9 packets" packets 9

# ---- output errors ----------------------------------------------------
if [ -w /dev/full ]; then
    run -r "$T/good3.pcap" --eve flow,stats -o /dev/full
    check "write error (disk full) exits 1" rc_is 1
    check "write error is reported" err_has "write error"
fi

run -r "$T/good3.pcap" -o "$T/no/such/dir/eve.json"
check "unopenable output exits 1" rc_is 1

# ---- AI attribution and GeoIP -----------------------------------------
# Uses the committed capture pcaps/ai-sni-kinds.pcap (see pcaps/README.md)
# and the test GeoIP databases the build writes next to the binary.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
AIPCAP=$ROOT/pcaps/ai-sni-kinds.pcap
GEODIR=$(dirname "$EGRET")/geo
# records EXPR : a Python expression over 'recs' (the JSON records of
# $T/out) that must be true, e.g. 'all("dest_geo" not in r for r in recs)'.
records() {
    "$PY" - "$T/out" "$1" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
flows = [r for r in recs if r.get("event_type") == "flow"]
def flow(port):
    return [r for r in flows if r.get("src_port") == port][0]
stats = [r["stats"] for r in recs if r.get("event_type") == "stats"]
sys.exit(0 if eval(sys.argv[2]) else 1)
EOF
}
# warnings N : exactly N lines on stderr mention "warning".
warnings() { [ "$(grep -ci warning "$T/err")" -eq "$1" ]; }
printf 'provider\tkind\tpattern\tsource\nCorp LLM Gateway\tgateway\tllm.corp-gw.example\tlocal\n' \
    >"$T/local_ai.tsv"
printf 'provider\tkind\tpattern\tsource\nGood\tapi\tgood.example\tlocal\nBad\tnotakind\tbad.example\tlocal\n' \
    >"$T/bad_kind.tsv"
printf '# comment\n\nOnly\tapi\n' >"$T/bad_cols.tsv"
printf 'provider\tkind\tcidr\tsource\nCorp\tgateway\t203.0.113.192/26\tlocal\nCorp\tgateway\t203.0.113.1/24\ttypo\n' \
    >"$T/bad_range.tsv"
printf 'provider\tkind\tcidr\tsource\nCorp Range\tgateway\t203.0.113.192/26\tlocal\n' >"$T/range_ai.tsv"
"$PY" -c 'import random, sys; open(sys.argv[1], "wb").write(random.Random(7).randbytes(20000))' \
    "$T/corrupt.mmdb"

if [ -f "$AIPCAP" ]; then
    run -r "$AIPCAP" --eve flow,stats
    check "geo: default test db gives dest_geo with city and ASN" \
        records 'flow(51100)["dest_geo"] == {"country_iso": "US", "country": "United States", "city": "San Francisco", "asn": 64500, "as_org": "OpenAI-Test"}'
    check "geo: falling back to the bundled test db is one loud warning" \
        bash -c "[ \$(grep -c warning '$T/err') -eq 1 ] && grep -q 'bundled TEST GeoIP' '$T/err'"
    check "geo: ... and every stats record says so" \
        records 'len(stats) >= 1 and all(s["geo"].get("test_databases") is True for s in stats)'

    for db in "$T/no-such-geo.mmdb" "$T/corrupt.mmdb"; do
        what=missing
        [ -e "$db" ] && what=corrupt
        # named explicitly: the operator expects it, so it is a configuration error
        run -r "$AIPCAP" --eve flow,stats --geoip-db "$db"
        check "geo: $what --geoip-db exits 2" rc_is 2
        check "geo: $what --geoip-db: the error names the file" err_has "GeoIP: .*$(basename "$db")"
        check "geo: $what --geoip-db: nothing is written" bash -c "[ ! -s '$T/out' ]"
    done

    if [ -f "$GEODIR/GeoLite2-City-Test.mmdb" ]; then
        run -r "$AIPCAP" --eve flow --geoip-db "$GEODIR/GeoLite2-City-Test.mmdb" \
            --asn-db "$T/corrupt.mmdb"
        check "geo: corrupt --asn-db exits 2" rc_is 2
        check "geo: corrupt --asn-db: the error names it" err_has "GeoIP: .*corrupt\.mmdb"

        run -r "$AIPCAP" --eve flow,stats --geoip-db "$GEODIR/GeoLite2-Country-Test.mmdb"
        check "geo: Country-layout db exits 0 without warnings" \
            bash -c "[ $RC -eq 0 ] && ! grep -qi warning '$T/err'"
        check "geo: Country-layout db gives country but no city (and no ASN db)" \
            records 'flow(51104)["dest_geo"] == {"country_iso": "DE", "country": "Germany"}'
        check "geo: Country-layout db: stats name its type and build_epoch" \
            records 'stats[-1]["geo"]["geoip_db"]["type"] == "GeoLite2-Country" and stats[-1]["geo"]["geoip_db"]["build_epoch"] == 1735689600 and "asn_db" not in stats[-1]["geo"]'

        run -r "$AIPCAP" --eve flow --geoip-db "$GEODIR/GeoLite2-Country-Test.mmdb" \
            --asn-db "$GEODIR/GeoLite2-ASN-Test.mmdb"
        check "geo: Country + ASN dbs give country and ASN, no city" \
            records 'flow(51106)["dest_geo"] == {"country_iso": "FR", "country": "France", "asn": 64501, "as_org": "Mistral-Test"}'
    else
        echo "skip - geo: $GEODIR/GeoLite2-City-Test.mmdb not built"
    fi

    run -r "$AIPCAP" --eve flow,stats --no-geo
    check "--no-geo exits 0 without warnings" bash -c "[ $RC -eq 0 ] && ! grep -qi warning '$T/err'"
    check "--no-geo: no dest_geo, attribution unchanged" \
        records 'len(flows) == 8 and all("dest_geo" not in r for r in recs) and flow(51108)["ai"]["kind"] == "cloud"'

    run -r "$AIPCAP" --eve flow --ai-catalog "$T/local_ai.tsv"
    check "--ai-catalog (valid) exits 0" rc_is 0
    check "--ai-catalog adds llm.corp-gw.example as a gateway" \
        records 'flow(51112)["ai"] == {"provider": "Corp LLM Gateway", "kind": "gateway", "host": "llm.corp-gw.example", "method": "sni", "confidence": "high"}'
    check "--ai-catalog keeps the shipped entries" \
        records 'flow(51106)["ai"]["provider"] == "OpenRouter"'
    run -r "$AIPCAP" --eve flow
    check "without --ai-catalog llm.corp-gw.example is not attributed" \
        records '"ai" not in flow(51112)'

    run -r "$AIPCAP" --eve flow --ai-catalog "$T/range_ai.tsv"
    check "--ai-catalog range file attributes by ip_range" \
        records 'flow(51112)["ai"] == {"provider": "Corp Range", "kind": "gateway", "host": "203.0.113.192/26", "method": "ip_range", "confidence": "medium"}'

    run -r "$AIPCAP" --ai-catalog "$T/bad_kind.tsv"
    check "--ai-catalog unknown kind exits 2" rc_is 2
    check "--ai-catalog unknown kind: error is FILE:LINE: message" err_has "bad_kind.tsv:3: "
    check "--ai-catalog unknown kind: nothing on stdout" out_empty

    run -r "$AIPCAP" --ai-catalog "$T/bad_cols.tsv"
    check "--ai-catalog short row exits 2" rc_is 2
    check "--ai-catalog short row: error is FILE:LINE: message" err_has "bad_cols.tsv:3: "

    run -r "$AIPCAP" --ai-catalog "$T/bad_range.tsv"
    check "--ai-catalog range with host bits exits 2" rc_is 2
    check "--ai-catalog range with host bits: error names FILE:3" err_has "bad_range.tsv:3: "

    run -r "$AIPCAP" --ai-catalog "$T/no-such-catalog.tsv"
    check "--ai-catalog missing file exits 2" rc_is 2
    check "--ai-catalog missing file: error names it" err_has "no-such-catalog.tsv"
else
    echo "skip - AI/geo: $AIPCAP not found"
fi

# ---- live capture (root and loopback only) ----------------------------
live_ok=0
if [ "$(id -u)" -eq 0 ] && [ -d /sys/class/net/lo ]; then
    # a port of this run's own: two suites (release, ASan) or two checkouts
    # on one host must not count each other's packets
    LPORT=$((20000 + $$ % 30000))
    "$EGRET" -i lo -f "udp port $LPORT" --eve stats --stats-interval 1 -o "$T/live.json" \
        2>"$T/err" &
    pid=$!
    sleep 1.5
    if kill -0 "$pid" 2>/dev/null; then
        live_ok=1
        "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(b"egret-cli-test", ("127.0.0.1", int(sys.argv[1])))
    time.sleep(0.05)
' "$LPORT"
        sleep 2.5
        kill -INT "$pid"
        wait "$pid"
        RC=$?
        check "live: SIGINT stops cleanly with exit 0" rc_is 0
        check "live: 5 filtered packets" packets 5
        check "live: capture counters in the summary" err_has "packets seen by the kernel, [0-9]* dropped ([0-9.]* %)"
        check "live: output is JSON lines with stats records" json_lines "$T/live.json" nonempty
        # idle time is advanced by the 1 s timer: a periodic record + the final one
        check "live: periodic stats while idle" [ "$(wc -l <"$T/live.json")" -ge 2 ]
    else
        wait "$pid"
    fi
fi
[ "$live_ok" -eq 1 ] || echo "skip - live capture (needs root and lo)"

# cli/ndpi_alloc.c: the executable exports nDPI's two allocation wrappers,
# so libndpi binds its own calls to them (without them, worker engines
# contend on nDPI's global byte counter).
dynsyms() { nm -D --defined-only "$EGRET" | awk '{print $3}' | grep -qx "$1"; }
check "the executable exports ndpi_malloc (libndpi binds to it)" dynsyms ndpi_malloc
check "the executable exports ndpi_calloc (libndpi binds to it)" dynsyms ndpi_calloc

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
