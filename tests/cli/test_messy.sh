#!/usr/bin/env bash
# test_messy.sh -- detection on captures reshaped by ordinary tools, not
# made by egret's own generators (issue 13: "prove it on what you did not
# tune on").  Each starts from a test-network recording (real Linux TCP
# stacks, real ISNs, tcpdump) and checks egret's alerts and flows:
#
#  1. tcprewrite maps every client port of testnet-per-message.pcap (160
#     TLS connections, each closed with FIN) to one port, as a NAT or a busy
#     client reusing ports does: 160 flows, 159 ended by "tcp_reuse", no
#     flow's seq_bytes_toserver above its payload, and the same alerts as
#     the original (9000003/2, 9000005/3; merged, the ISN jumps read as a
#     20 GB upload and raised 9000002).
#  2. editcap deletes 800 packets (about 680 KB of a 3 MB upload) from the
#     middle of testnet-batch-export.pcap: the server's ACKs explain the
#     loss, so seq_bytes_toserver is still the whole upload and the alerts
#     are the original's.
#  3. mergecap -a appends testnet-browsing.pcap shifted one hour back
#     (editcap -t): time goes backwards in the file; egret reads it all,
#     exit 0, and still raises no alert at severity <= 2.
#
#   bash tests/cli/test_messy.sh EGRET_BINARY SCRATCH_DIR [REPO_ROOT]
set -u

EGRET=${1:?usage: test_messy.sh EGRET_BINARY SCRATCH_DIR [REPO_ROOT]}
SCRATCH=${2:?usage: test_messy.sh EGRET_BINARY SCRATCH_DIR [REPO_ROOT]}
ROOT=${3:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3

case $EGRET in /*) ;; *) EGRET=$PWD/$EGRET ;; esac
[ -x "$EGRET" ] || { echo "not executable: $EGRET" >&2; exit 2; }
for tool in tcprewrite editcap mergecap; do
    command -v $tool >/dev/null || { echo "FAIL - $tool not installed (scripts/bootstrap installs it)"; exit 1; }
done
mkdir -p "$SCRATCH" || exit 2
T=$(mktemp -d "$SCRATCH/messy.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
CONF=$ROOT/tests/testnet/egret-test.conf.lua
GEO=$(dirname "$EGRET")/geo
ARGS=(-q -c "$CONF" --eve flow,alert,stats)
[ -f "$GEO/GeoLite2-City-Test.mmdb" ] &&
    ARGS+=(--geoip-db "$GEO/GeoLite2-City-Test.mmdb" --asn-db "$GEO/GeoLite2-ASN-Test.mmdb")

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && echo "       $2"; }

# summary FILE -> one line: tcp_flows reuse_ends max(seq-payload toserver)
#                 max_seq_toserver alerts(sorted sid/sev) max_severity_le2
summary() {
    "$PY" - "$1" <<'EOF'
import json, sys
flows = reuse = 0
excess = maxseq = 0
alerts = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["event_type"] == "flow" and r["proto"] == "TCP":
        flows += 1
        f = r["flow"]
        reuse += f["reason"] == "tcp_reuse"
        excess = max(excess, f["seq_bytes_toserver"] - f["payload_bytes_toserver"])
        maxseq = max(maxseq, f["seq_bytes_toserver"])
    elif r["event_type"] == "alert":
        alerts.append("%d/%d" % (r["alert"]["signature_id"], r["alert"]["severity"]))
print(flows, reuse, excess, maxseq, ",".join(sorted(alerts)) or "-")
EOF
}

run() { # run PCAP OUT -> exit status
    "$EGRET" "${ARGS[@]}" -r "$1" >"$2" 2>"$T/err"
}

# 1. port reuse
PM=$ROOT/pcaps/testnet-per-message.pcap
if tcprewrite --portmap=1024-65535:40000 -i "$PM" -o "$T/reuse.pcap" 2>"$T/err"; then
    run "$PM" "$T/orig.json"
    run "$T/reuse.pcap" "$T/reuse.json"
    read -r of _ _ _ oal <<<"$(summary "$T/orig.json")"
    read -r flows reuse excess _ al <<<"$(summary "$T/reuse.json")"
    [ "$of" = 160 ] && [ "$flows" = 160 ] && ok "port reuse: 160 connections stay 160 flows" ||
        bad "port reuse: flows" "original $of, rewritten $flows (want 160 each)"
    [ "$reuse" = 159 ] && ok "port reuse: 159 flows end with reason tcp_reuse" ||
        bad "port reuse: tcp_reuse ends" "got $reuse, want 159"
    [ "$excess" = 0 ] && ok "port reuse: no flow credited beyond its payload" ||
        bad "port reuse: seq credit" "a flow's seq_bytes_toserver exceeds its payload by $excess"
    [ "$al" = "$oal" ] && [ "$al" = "9000003/2,9000005/3" ] && ok "port reuse: alerts as the original ($al)" ||
        bad "port reuse: alerts" "original $oal, rewritten $al (want 9000003/2,9000005/3)"
else
    bad "tcprewrite failed" "$(head -3 "$T/err")"
fi

# 2. capture loss in a bulk upload
BE=$ROOT/pcaps/testnet-batch-export.pcap
if editcap "$BE" "$T/loss.pcap" 400-1200 2>"$T/err"; then
    run "$BE" "$T/be.json"
    run "$T/loss.pcap" "$T/loss.json"
    read -r _ _ _ oseq oal <<<"$(summary "$T/be.json")"
    read -r _ _ _ lseq lal <<<"$(summary "$T/loss.json")"
    lpay=$("$PY" -c "import json,sys; print(max(json.loads(l)['flow']['payload_bytes_toserver'] for l in open(sys.argv[1]) if '\"event_type\":\"flow\"' in l))" "$T/loss.json")
    [ "$lpay" -lt $((oseq - 500000)) ] && ok "loss: the capture lost $((oseq - lpay)) bytes of the upload" ||
        bad "loss: editcap did not remove enough" "payload $lpay of $oseq"
    [ "$lseq" = "$oseq" ] && ok "loss: seq_bytes_toserver still the whole upload ($lseq)" ||
        bad "loss: seq credit" "original $oseq, with loss $lseq"
    [ "$lal" = "$oal" ] && [ -n "$lal" ] && [ "$lal" != - ] && ok "loss: alerts as the original ($lal)" ||
        bad "loss: alerts" "original $oal, with loss $lal"
else
    bad "editcap failed" "$(head -3 "$T/err")"
fi

# 3. time going backwards
BR=$ROOT/pcaps/testnet-browsing.pcap
if editcap -t -3600 "$BR" "$T/back.pcap" 2>"$T/err" &&
    mergecap -a -F pcap -w "$T/twice.pcap" "$BR" "$T/back.pcap" 2>"$T/err"; then
    run "$T/twice.pcap" "$T/twice.json"
    rc=$?
    read -r flows _ excess _ al <<<"$(summary "$T/twice.json")"
    [ $rc = 0 ] && ok "time backwards: exit 0" || bad "time backwards: exit $rc" "$(head -3 "$T/err")"
    single=$(summary <("$EGRET" "${ARGS[@]}" -r "$BR") | cut -d' ' -f1)
    [ "$flows" -ge "$single" ] && [ "$single" -gt 0 ] && ok "time backwards: $flows TCP flows (one pass: $single)" ||
        bad "time backwards: flows" "$flows for the doubled file, $single for one pass"
    case ",$al," in *"/1,"* | *"/2,"*) bad "time backwards: severity <= 2 alert" "$al" ;; *) ok "time backwards: no alert at severity <= 2" ;; esac
else
    bad "editcap/mergecap failed" "$(head -3 "$T/err")"
fi

echo "$PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
