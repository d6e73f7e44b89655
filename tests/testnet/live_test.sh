#!/bin/bash
# tests/testnet/live_test.sh -- egret live (-i) on the test network.
#
#   tests/testnet/live_test.sh EGRET [REPO_ROOT]
#
# Brings the namespace network up (scripts/testnet up), runs egret live on the
# gateway's uplink (gw-up in egt-gw) with the testnet config, runs the
# keepalive-bulk scenario stretched to ~8 s with curl --limit-rate, and checks
# that the 9000001 (bulk) and 9000002 (aggregate) alerts for 10.2.0.20 ->
# 198.51.100.20 (Google, US) arrive while the upload is still running or at
# most MAX_LAG seconds after it ended (wall clock, as a tailing SIEM would
# see them).  Always tears the network down (trap).
#
# Needs root (network namespaces).  Without it the test says so and FAILS,
# unless EGRET_SKIP_LIVE=1 is set, then it exits 77 (ctest: skipped).
set -uo pipefail
EGRET=$(realpath "${1:?usage: live_test.sh EGRET [ROOT]}")
ROOT=$(realpath "${2:-$(dirname "$0")/../..}")
MAX_LAG=${MAX_LAG:-5}
TN="$ROOT/scripts/testnet"

cant() {
  echo "live_test: cannot run: $1" >&2
  if [ "${EGRET_SKIP_LIVE:-}" = 1 ]; then
    echo "live_test: SKIPPED (EGRET_SKIP_LIVE=1)"
    exit 77
  fi
  echo "live_test: FAIL (set EGRET_SKIP_LIVE=1 to skip on machines without namespaces)"
  exit 1
}

[ "$(id -u)" -eq 0 ] || cant "not root (network namespaces need CAP_SYS_ADMIN/CAP_NET_ADMIN)"
ip netns add egt-probe 2>/dev/null || cant "'ip netns add' failed"
ip netns del egt-probe
for t in nginx dnsmasq curl openssl ethtool tcpdump; do
  command -v "$t" >/dev/null || cant "$t not installed (scripts/bootstrap installs it)"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/egret-live.XXXXXX")
EGRET_PID=
cleanup() {
  [ -n "$EGRET_PID" ] && kill -INT "$EGRET_PID" 2>/dev/null && sleep 0.5 && kill -KILL "$EGRET_PID" 2>/dev/null
  "$TN" down >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

"$TN" up || { echo "live_test: FAIL: scripts/testnet up failed"; exit 1; }

EVE="$WORK/eve.json"
GEO="$(dirname "$EGRET")/geo"
GEOARGS=()
[ -f "$GEO/GeoLite2-City-Test.mmdb" ] &&
  GEOARGS=(--geoip-db "$GEO/GeoLite2-City-Test.mmdb" --asn-db "$GEO/GeoLite2-ASN-Test.mmdb")
ip netns exec egt-gw "$EGRET" -i gw-up -R "$ROOT/rules" -c "$ROOT/tests/testnet/egret-test.conf.lua" \
  "${GEOARGS[@]}" --eve alert,flow -o "$EVE" 2>"$WORK/egret.err" &
EGRET_PID=$!
# egret is ready once its capture is set up (with kernel fanout, after
# about 120 ms of it): it says so.
for _ in $(seq 100); do
  grep -q "listening on" "$WORK/egret.err" 2>/dev/null && break
  sleep 0.1
done
kill -0 "$EGRET_PID" 2>/dev/null || { cat "$WORK/egret.err"; echo "live_test: FAIL: egret did not start"; exit 1; }

# Traffic in the background; poll egret's output while it flows.
t_start=$(date +%s.%N)
"$TN" run keepalive-bulk --scale record --limit-rate 300K >"$WORK/scenario.out" 2>&1 &
SC=$!
t_end= t_bulk= t_aggr=
# Wait well past MAX_LAG so a late alert is measured (reported), not just missed.
deadline_after_end=${LIVE_WAIT:-75}
while :; do
  now=$(date +%s.%N)
  if [ -z "$t_bulk" ] && grep -q '"signature_id":9000001' "$EVE" 2>/dev/null; then t_bulk=$now; fi
  if [ -z "$t_aggr" ] && grep -q '"signature_id":9000002' "$EVE" 2>/dev/null; then t_aggr=$now; fi
  if [ -z "$t_end" ] && ! kill -0 "$SC" 2>/dev/null; then
    t_end=$now
    wait "$SC" || { cat "$WORK/scenario.out"; echo "live_test: FAIL: scenario failed"; exit 1; }
  fi
  [ -n "$t_end" ] && [ -n "$t_bulk" ] && [ -n "$t_aggr" ] && break
  if [ -n "$t_end" ] && awk -v n="$now" -v e="$t_end" -v d="$deadline_after_end" 'BEGIN{exit !(n-e>d)}'; then break; fi
  if awk -v n="$now" -v s="$t_start" 'BEGIN{exit !(n-s>120)}'; then echo "live_test: FAIL: scenario still running after 120 s"; exit 1; fi
  sleep 0.1
done

fail=0
report() { # name t_alert
  if [ -z "$2" ]; then
    echo "live_test: FAIL: no $1 alert within $deadline_after_end s after the traffic ended"
    fail=1
    return
  fi
  lag=$(awk -v a="$2" -v e="$t_end" 'BEGIN{printf "%.2f", a-e}')
  since=$(awk -v a="$2" -v s="$t_start" 'BEGIN{printf "%.2f", a-s}')
  echo "live_test: $1 alert ${since} s after the traffic started, ${lag} s relative to its end (negative: while it flowed)"
  if awk -v l="$lag" -v m="$MAX_LAG" 'BEGIN{exit !(l>m)}'; then
    echo "live_test: FAIL: $1 alert more than $MAX_LAG s after the traffic ended"
    fail=1
  fi
}
dur=$(awk -v e="$t_end" -v s="$t_start" 'BEGIN{printf "%.2f", e-s}')
echo "live_test: traffic ran ${dur} s"
report 9000001 "$t_bulk"
report 9000002 "$t_aggr"

# The alerts' content: client, server, provider, country.
/usr/bin/python3 - "$EVE" <<'PY' || fail=1
import json, sys
want = {9000001: 2, 9000002: 2}
seen = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("event_type") != "alert":
        continue
    a = r["alert"]
    k = (a["signature_id"], a["severity"], r["src_ip"], r["dest_ip"],
         (r.get("ai") or {}).get("provider"), (r.get("dest_geo") or {}).get("country_iso"))
    seen[k] = seen.get(k, 0) + 1
bad = 0
for sid, sev in want.items():
    k = (sid, sev, "10.2.0.20", "198.51.100.20", "Google", "US")
    if seen.get(k) != 1:
        print(f"live_test: FAIL: expected one {k}, got {seen.get(k, 0)}")
        bad = 1
for k, n in seen.items():
    if k[1] <= 2 and k[0] not in want:
        print(f"live_test: FAIL: unexpected severity-{k[1]} alert {k}")
        bad = 1
print("live_test: alerts seen:", sorted(seen))
sys.exit(bad)
PY

if [ $fail -ne 0 ]; then
  echo "--- egret stderr"; cat "$WORK/egret.err"
  echo "live_test: FAIL"
  exit 1
fi
echo "live_test: PASS"
