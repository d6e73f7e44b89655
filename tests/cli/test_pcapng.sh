#!/usr/bin/env bash
# test_pcapng.sh -- egret's own savefile readers against captures written by
# tools other than egret's generator (Debian's editcap, mergecap, tshark,
# capinfos), so the readers are proven on files they were not tuned on.
#
#   bash tests/cli/test_pcapng.sh EGRET_BINARY SCRATCH_DIR SOURCE_DIR [SHARED_PCAPS]
#
# 1. Every capture in pcaps/ is rewritten as pcapng by editcap and by
#    tshark, and as a nanosecond pcap by editcap; egret's flow records
#    must be identical to those of the original (and with -f, --workers 2
#    and through a pipe on standard input).  Also each cut to 96 bytes per
#    packet (editcap -s) in pcap and pcapng form: identical to each other.
#    A file cut inside an oversize record: exit 1, the file and offset
#    named, the packets before it processed.
# 2. Several captures of different link types concatenated into one
#    pcapng by mergecap (one interface each, time going back at every
#    file): the same records as the files read one after another.
# 3. Every capture in SHARED_PCAPS (the nDPI project's; many are pcapng):
#    egret reads as many packets as capinfos counts, and a pcapng gives
#    the flows of editcap's classic pcap of it.  A missing directory is
#    reported loudly and that part is skipped.
set -u

EGRET=${1:?usage: test_pcapng.sh EGRET_BINARY SCRATCH_DIR SOURCE_DIR [SHARED_PCAPS]}
SCRATCH=${2:?usage: test_pcapng.sh EGRET_BINARY SCRATCH_DIR SOURCE_DIR [SHARED_PCAPS]}
SRC=${3:?usage: test_pcapng.sh EGRET_BINARY SCRATCH_DIR SOURCE_DIR [SHARED_PCAPS]}
SHARED=${4:-$SRC/../shared/pcaps}
PY=/usr/bin/python3

case $EGRET in /*) ;; *) EGRET=$PWD/$EGRET ;; esac
[ -x "$EGRET" ] || { echo "not executable: $EGRET" >&2; exit 2; }
for tool in editcap mergecap tshark capinfos; do
    command -v $tool >/dev/null || { echo "FAIL - $tool is not installed (scripts/bootstrap installs tshark)"; exit 1; }
done
mkdir -p "$SCRATCH" || exit 2
T=$(mktemp -d "$SCRATCH/pcapng.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && echo "       $2"; }

# flows OUT ARGS... : egret's flow records (sorted; each starts with its
# timestamp) for ARGS into OUT; a non-zero exit is a failure.
flows() {
    local out=$1
    shift
    # pcap_filename names the file, which differs between the variants compared
    "$EGRET" -q --no-rules --eve flow "$@" 2>"$out.err" | sed 's/,"pcap_filename":"[^"]*"//' |
        sort >"$out"
    local rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || { bad "egret $* exited $rc" "$(head -c 300 "$out.err")"; return 1; }
}

# same NAME A B : A and B hold the same records, and at least one.
same() {
    if [ ! -s "$2" ]; then
        bad "$1" "no flow records: nothing was compared"
    elif cmp -s "$2" "$3"; then
        ok "$1 ($(wc -l <"$2") flows)"
    else
        bad "$1" "$(diff "$2" "$3" | head -4 | cut -c1-300)"
    fi
}

# ---- 1. every project capture, rewritten by other tools ----
n_files=0
for f in "$SRC"/pcaps/*.pcap; do
    b=$(basename "$f" .pcap)
    n_files=$((n_files + 1))
    flows "$T/$b.ref" -r "$f" || { bad "$b: the original reads"; continue; }
    editcap -F pcapng "$f" "$T/$b.e.pcapng" 2>/dev/null || { bad "$b: editcap -F pcapng"; continue; }
    tshark -r "$f" -F pcapng -w "$T/$b.t.pcapng" 2>/dev/null || { bad "$b: tshark -F pcapng"; continue; }
    editcap -F nsecpcap "$f" "$T/$b.ns.pcap" 2>/dev/null || { bad "$b: editcap -F nsecpcap"; continue; }
    flows "$T/$b.e" -r "$T/$b.e.pcapng" && same "$b: editcap pcapng = pcap" "$T/$b.ref" "$T/$b.e"
    flows "$T/$b.t" -r "$T/$b.t.pcapng" && same "$b: tshark pcapng = pcap" "$T/$b.ref" "$T/$b.t"
    flows "$T/$b.ns" -r "$T/$b.ns.pcap" && same "$b: nanosecond pcap = pcap" "$T/$b.ref" "$T/$b.ns"
    flows "$T/$b.pipe" -r - < <(cat "$T/$b.e.pcapng") &&
        same "$b: pcapng through a pipe = pcap" "$T/$b.ref" "$T/$b.pipe"
    # a snaplen cut, written by editcap in both formats
    editcap -s 96 "$f" "$T/$b.s.pcap" 2>/dev/null && editcap -F pcapng -s 96 "$f" "$T/$b.s.pcapng" 2>/dev/null ||
        { bad "$b: editcap -s 96"; continue; }
    flows "$T/$b.sp" -r "$T/$b.s.pcap" && flows "$T/$b.sn" -r "$T/$b.s.pcapng" &&
        same "$b: cut to 96 bytes, pcapng = pcap" "$T/$b.sp" "$T/$b.sn"
done
[ "$n_files" -ge 20 ] && ok "$n_files project captures compared" || bad "only $n_files project captures found"

# -f and --workers 2 on a few, from the editcap pcapng
for b in http-host dns-answers tls-sni ai-sni-kinds snaplen-oversize; do
    flows "$T/$b.fr" -f "tcp or udp port 53" -r "$SRC/pcaps/$b.pcap" &&
        flows "$T/$b.fn" -f "tcp or udp port 53" -r "$T/$b.e.pcapng" &&
        same "$b: -f 'tcp or udp port 53', pcapng = pcap" "$T/$b.fr" "$T/$b.fn"
    flows "$T/$b.w" --workers 2 -r "$T/$b.e.pcapng" && same "$b: --workers 2 on pcapng = pcap" "$T/$b.ref" "$T/$b.w"
done

# the over-snaplen event survives the tools: editcap's pcapng keeps the
# 65549-byte records and the 65535 snaplen; once per file
ev() {
    "$EGRET" -q --no-rules --eve stats "$@" | "$PY" -c '
import json, sys
last = [json.loads(l) for l in sys.stdin if l.strip()][-1]
print(last["stats"]["decoder"]["event"]["pcap"]["record_over_snaplen"], last["stats"]["capture"]["packets"])'
}
got=$(ev -r "$T/snaplen-oversize.e.pcapng")
[ "$got" = "1 12" ] && ok "editcap's pcapng of snaplen-oversize: the event once, 12 packets" ||
    bad "editcap's pcapng of snaplen-oversize: event and packets" "got '$got', want '1 12'"
got=$(ev -r "$SRC/pcaps/snaplen-oversize.pcap" -r "$SRC/pcaps/snaplen-oversize.pcapng" -r "$SRC/pcaps/http-host.pcap")
[ "$got" = "2 39" ] && ok "the event once per file: two such files, one clean" ||
    bad "the event once per file" "got '$got', want '2 39'"
# with workers, worker 0 counts the file events (as it carries the capture
# counters); the workers' stats are merged into one record: once per file
got=$("$EGRET" -q --no-rules --workers 2 --eve stats -r "$SRC/pcaps/snaplen-oversize.pcapng" \
    -r "$SRC/pcaps/snaplen-oversize.pcap" | "$PY" -c '
import json, sys
rs = [json.loads(l)["stats"] for l in sys.stdin if l.strip()]
print(len(rs), sum(r["decoder"]["event"]["pcap"]["record_over_snaplen"] for r in rs))')
[ "$got" = "1 2" ] && ok "--workers 2: the event once per file, in the one merged stats record" ||
    bad "--workers 2: the event once per file" "got '$got', want '1 2' (records, events)"
editcap -F pcap "$SRC/pcaps/snaplen-oversize.pcapng" "$T/back.pcap" 2>/dev/null &&
    flows "$T/back" -r "$T/back.pcap" && same "snaplen-oversize.pcapng written back as pcap by editcap = pcap" "$T/snaplen-oversize.ref" "$T/back"

# a file that ends inside the second 65549-byte record: exit 1, the file and
# the record's offset named, the 4 packets before it processed
cutcheck() { # NAME FILE ARGS...
    local name=$1 file=$2
    shift 2
    "$EGRET" -q --no-rules --eve stats "$@" >"$T/cut.out" 2>"$T/cut.err"
    local rc=$? got
    got=$("$PY" -c '
import json, sys
print([json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]["stats"]["capture"]["packets"])' "$T/cut.out")
    if [ "$rc" -eq 1 ] && [ "$got" = 4 ] && grep -q "^egret: $file: .*offset 65[0-9]*" "$T/cut.err"; then
        ok "$name: exit 1, 4 packets kept, '$(cut -c1-90 "$T/cut.err")...'"
    else
        bad "$name: exit $rc, $got packets" "$(cat "$T/cut.err")"
    fi
}
head -c 100000 "$SRC/pcaps/snaplen-oversize.pcap" >"$T/cut.pcap"
head -c 100000 "$SRC/pcaps/snaplen-oversize.pcapng" >"$T/cut.pcapng"
cutcheck "pcap cut inside an oversize record (mapped)" "$T/cut.pcap" -r "$T/cut.pcap"
cutcheck "pcap cut inside an oversize record (pipe)" stdin -r - < <(cat "$T/cut.pcap")
cutcheck "pcapng cut inside an oversize record" "$T/cut.pcapng" -r "$T/cut.pcapng"

# ---- 2. link types mixed in one pcapng ----
mix=(decode-raw decode-sll2 http-host decode-null dns-answers)
args=()
for b in "${mix[@]}"; do args+=(-r "$SRC/pcaps/$b.pcap"); done
mergecap -a -F pcapng -w "$T/mixed.pcapng" $(for b in "${mix[@]}"; do echo "$SRC/pcaps/$b.pcap"; done) 2>/dev/null ||
    bad "mergecap -a -F pcapng"
idbs=$(tshark -r "$T/mixed.pcapng" -T fields -e frame.interface_id 2>/dev/null | sort -u | wc -l)
[ "$idbs" -eq ${#mix[@]} ] && ok "mergecap wrote ${#mix[@]} interfaces" || bad "mergecap wrote $idbs interfaces, want ${#mix[@]}"
flows "$T/mix.ref" "${args[@]}" && flows "$T/mix" -r "$T/mixed.pcapng" &&
    same "link types 101, 276, 1, 0 in one pcapng (time going back) = the files in turn" "$T/mix.ref" "$T/mix"
flows "$T/mix.w" --workers 2 -r "$T/mixed.pcapng" && same "the mixed pcapng with --workers 2" "$T/mix.ref" "$T/mix.w"

# ---- 3. the shared captures: packet counts ----
if [ -d "$SHARED" ]; then
    n=0
    for f in "$SHARED"/*.pcap "$SHARED"/*.pcapng; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        want=$(capinfos -M -c -T -r "$f" 2>/dev/null | cut -f2)
        got=$(ev -r "$f" | cut -d' ' -f2)
        [ -n "$want" ] && [ "$got" = "$want" ] && ok "$(basename "$f"): $got packets, as capinfos" ||
            bad "$(basename "$f"): egret read '$got' packets, capinfos counts '$want'"
        case $f in
        *.pcapng) # and its flows as those of editcap's classic pcap of it
            b=$(basename "$f" .pcapng)
            editcap -F pcap "$f" "$T/sh-$b.pcap" 2>/dev/null && flows "$T/sh-$b.ref" -r "$T/sh-$b.pcap" &&
                flows "$T/sh-$b" -r "$f" && same "$b.pcapng: flows as from editcap's pcap" "$T/sh-$b.ref" "$T/sh-$b"
            ;;
        esac
    done
    [ "$n" -ge 10 ] && ok "$n shared captures counted" || bad "only $n shared captures in $SHARED"
else
    echo "#############################################################"
    echo "# WARNING: $SHARED is missing: the shared captures (real pcapng"
    echo "# files) were NOT checked against capinfos' packet counts."
    echo "#############################################################"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
