#!/usr/bin/env bash
# test_synflood.sh -- flow-table memory bound under a SYN flood (issue 7).
#
# Usage: tests/perf/test_synflood.sh EGRET WORKDIR
#
# Generates (scripts/mksynflood, into WORKDIR, not committed) 200,000 SYNs from
# distinct sources to one server within 2 s of packet time, replays them with
# --max-flows 10000 --eve stats --stats-interval 1, and checks counters, not
# timings:
#   - final stats: flow.total == 200000, flow.evicted == total - max (190000);
#   - every stats record: flow.active <= 10000, and the interim one (t = 1 s,
#     table full) has flow.active == 10000 exactly (the final record comes
#     after the end-of-input flush, where active is 0);
#   - peak RSS (GNU time %M) below SYNFLOOD_MAX_RSS_KIB, default 204800
#     (200 MiB).  Measured on the bench branch (Release, nDPI 4.2): ~40 MiB
#     capped; the same flood uncapped (--max-flows 1000000) peaks at ~390 MiB,
#     so the bound is 5x the capped figure yet still catches a cap that leaks.
set -u

EGRET=${1:?usage: test_synflood.sh EGRET WORKDIR}
WORK=${2:?usage: test_synflood.sh EGRET WORKDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
COUNT=200000
MAX=10000
MAX_RSS_KIB=${SYNFLOOD_MAX_RSS_KIB:-204800}

fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$EGRET" ] || fail "egret binary '$EGRET' not executable"
[ -x /usr/bin/time ] || fail "GNU time (/usr/bin/time, Debian package 'time') is required"
mkdir -p "$WORK" || fail "cannot create $WORK"

FLOOD=$WORK/synflood.pcap
if [ ! -s "$FLOOD" ] || [ "$ROOT/scripts/mksynflood" -nt "$FLOOD" ]; then
    "$PY" "$ROOT/scripts/mksynflood" "$FLOOD.tmp" "$COUNT" && mv "$FLOOD.tmp" "$FLOOD" ||
        fail "mksynflood failed"
fi

STATS=$WORK/synflood-stats.json
TIMEF=$WORK/synflood.time
rm -f "$STATS" "$TIMEF"
/usr/bin/time -f '%e %M' -o "$TIMEF" "$EGRET" -q -r "$FLOOD" --max-flows "$MAX" \
    --eve stats --stats-interval 1 -o "$STATS"
rc=$?
[ $rc -eq 0 ] || fail "egret exited $rc"
read -r WALL RSS < <(tail -n 1 "$TIMEF")
[ -n "${RSS:-}" ] || fail "no GNU time output in $TIMEF"

"$PY" - "$STATS" "$COUNT" "$MAX" <<'EOF' || fail "flow counters (see above)"
import json, sys
path, count, cap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
recs = [json.loads(l) for l in open(path) if l.strip()]
stats = [r["stats"] for r in recs if r.get("event_type") == "stats"]
ok = True
def check(cond, msg):
    global ok
    print(("ok   " if cond else "FAIL ") + msg)
    ok = ok and cond
check(len(stats) >= 2, "%d stats records (interim + final)" % len(stats))
if stats:
    fin = stats[-1]["flow"]
    check(stats[-1]["capture"]["packets"] == count, "capture.packets %d == %d" % (stats[-1]["capture"]["packets"], count))
    check(fin["total"] == count, "flow.total %d == %d" % (fin["total"], count))
    check(fin["evicted"] == fin["total"] - cap, "flow.evicted %d == total - max (%d)" % (fin["evicted"], fin["total"] - cap))
    check(fin["evicted"] >= 190000, "flow.evicted %d >= 190000" % fin["evicted"])
    act = [s["flow"]["active"] for s in stats]
    check(max(act) <= cap, "flow.active <= %d in every record (%s)" % (cap, act))
    check(stats[0]["flow"]["active"] == cap, "interim flow.active %d == %d (table full)" % (stats[0]["flow"]["active"], cap))
sys.exit(0 if ok else 1)
EOF

# The per-host table (outbound totals for the summary) grows from 1,024
# slots to its cap of 65,536 (3/4 usable): with 1.0.0.0/1 as the home net,
# about half the flood's sources are internal hosts, each with one flow.
HOSTS=$WORK/synflood-hosts.json
"$EGRET" -q -r "$FLOOD" --home-net 1.0.0.0/1 --eve stats -o "$HOSTS" || fail "egret (hosts) failed"
"$PY" - "$FLOOD" "$HOSTS" <<'EOF' || fail "host table counters (see above)"
import json, struct, sys
data = open(sys.argv[1], "rb").read()
off, srcs = 24, set()
while off + 16 <= len(data):
    caplen = struct.unpack_from("<I", data, off + 8)[0]
    src = data[off + 16 + 14 + 12: off + 16 + 14 + 16]
    if src[0] < 128:
        srcs.add(src)
    off += 16 + caplen
want = min(len(srcs), 65536 * 3 // 4)
last = [json.loads(l) for l in open(sys.argv[2]) if l.strip()][-1]["stats"]["hosts"]
ok = last["tracked"] == want and last["capped"] == len(srcs) - want
print(("ok   " if ok else "FAIL ") + "hosts.tracked %d == %d, hosts.capped %d == %d" %
      (last["tracked"], want, last["capped"], len(srcs) - want))
sys.exit(0 if ok else 1)
EOF

echo "peak RSS ${RSS} KiB (bound ${MAX_RSS_KIB} KiB), wall ${WALL} s (informational)"
[ "$RSS" -le "$MAX_RSS_KIB" ] || fail "peak RSS ${RSS} KiB exceeds ${MAX_RSS_KIB} KiB"
echo "PASS synflood"
