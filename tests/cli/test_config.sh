#!/usr/bin/env bash
# test_config.sh -- the configuration file: host settings applied as their
# options (the command line overrides them), rule keys checked against the
# rules that read them, errors with FILE:LINE and exit status 2, home_net
# honoured by the engine, GeoIP databases named explicitly.
#
#   bash tests/cli/test_config.sh EGRET_BINARY SCRATCH_DIR
#
# Prints "N passed, N failed"; exits non-zero on any failure.
set -u

EGRET=${1:?usage: test_config.sh EGRET_BINARY SCRATCH_DIR}
SCRATCH=${2:?usage: test_config.sh EGRET_BINARY SCRATCH_DIR}
PY=/usr/bin/python3
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PCAP=$SRC/pcaps/ai-upload.pcap

[ -f "$PCAP" ] || { echo "MISSING INPUT: $PCAP (the project's own capture)" >&2; exit 1; }
. "$SRC/tests/cli/lib.sh"
cli_setup config
# records FILE EXPR: EXPR over the EVE records of FILE (recs, alerts, flows, stats)
records() {
    "$PY" - "$1" "$2" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
alerts = [r for r in recs if r["event_type"] == "alert"]
flows = [r for r in recs if r["event_type"] == "flow"]
stats = [r for r in recs if r["event_type"] == "stats"]
sys.exit(0 if eval(sys.argv[2]) else 1)
EOF
}

# ---- host settings ---------------------------------------------------------
cat >"$T/good.lua" <<EOF
-- a sensor's configuration
return {
  outputs = { eve = { file = "$T/eve.json", types = { "alert", "flow", "stats" } } },
  capture = { workers = 2 },
  bulk_upload = { min_bytes = 1e6 },   -- a rule setting: 9000001 at 1 MB
}
EOF
run -c "$T/good.lua" -r "$PCAP"
check "settings: runs" rc_is 0
check "settings: outputs.eve.file receives the records" records "$T/eve.json" 'len(recs) > 0'
check "settings: outputs.eve.types adds stats records" records "$T/eve.json" 'len(stats) >= 1'
check "settings: capture.workers = 2 (the summary says 2 workers)" err_has "^  workers +2;"
check "settings: a rule setting in the same file applies (9000001 at 1 MB)" \
    records "$T/eve.json" 'any(a["alert"]["signature_id"] == 9000001 for a in alerts)'

run -c "$T/good.lua" -r "$PCAP" -q -o "$T/cli.json" --eve alert
check "override: -o and --eve on the command line win" \
    bash -c "[ $RC -eq 0 ] && [ -s '$T/cli.json' ] && ! grep -q '\"event_type\":\"flow\"' '$T/cli.json'"
run -c "$T/good.lua" -r "$PCAP" -q --set bulk_upload.min_bytes=2e9 -o "$T/set.json"
check "override: --set overrides a rule setting" \
    records "$T/set.json" 'not any(a["alert"]["signature_id"] == 9000001 for a in alerts)'

# home_net in the file is the engine's (no client of ai-upload.pcap is in
# 192.168.0.0/16: nothing is outbound, so no per-host notice)
cat >"$T/home.lua" <<EOF
return { home_net = { "192.168.0.0/16" }, outputs = { eve = { types = { "alert", "flow" } } } }
EOF
run -c "$T/home.lua" -r "$PCAP" -q -o "$T/home.json"
check "home_net: honoured by the engine (no internal client, no per-host notice)" \
    records "$T/home.json" 'len(flows) > 0 and not any(a["alert"]["signature_id"] == 9000005 for a in alerts)'
run -c "$T/home.lua" -r "$PCAP" -q -o "$T/home2.json" --home-net 10.0.0.0/8
check "home_net: --home-net overrides it" \
    records "$T/home2.json" 'any(a["alert"]["signature_id"] == 9000005 for a in alerts)'

# ---- errors: FILE:LINE and exit 2 -------------------------------------------
cat >"$T/typo.lua" <<'EOF'
return {
  bulk_upload = {
    min_bytes = 1e6,
    min_ratoi = 0.5,
  },
}
EOF
run -c "$T/typo.lua" -r "$PCAP" -q -o "$T/x.json"
check "typo in a rule key: exit 2" rc_is 2
check "typo in a rule key: FILE:LINE names it" err_has "typo\\.lua:4: unknown configuration key 'bulk_upload\\.min_ratoi'"
check "typo in a rule key: no records written" bash -c "[ ! -s '$T/x.json' ]"

printf 'return {\n  restricted_countries = 5,\n}\n' >"$T/type.lua"
run -c "$T/type.lua" -r "$PCAP" -q
check "wrong type of a rule key: exit 2" rc_is 2
check "wrong type of a rule key: FILE:LINE and the types" \
    err_has "type\\.lua:2: configuration key 'restricted_countries' is a number, expected a table"

printf 'return {\n  capture = {\n    wrokers = 2,\n  },\n}\n' >"$T/host.lua"
run -c "$T/host.lua" -r "$PCAP" -q
check "unknown host setting: exit 2" rc_is 2
check "unknown host setting: FILE:LINE" err_has "host\\.lua:3: capture\\.wrokers: unknown setting"

printf 'return {\n  capture = { workers = "many" },\n}\n' >"$T/hosttype.lua"
run -c "$T/hosttype.lua" -r "$PCAP" -q
check "bad host value: exit 2 with FILE:LINE and the option's check" \
    bash -c "[ $RC -eq 2 ] && grep -q 'hosttype.lua:2: capture.workers: --workers: expected 1-64' '$T/err'"

printf 'return {\n  outputs = { eve = { types = 3 } },\n}\n' >"$T/hostlist.lua"
run -c "$T/hostlist.lua" -r "$PCAP" -q
check "host value of the wrong type: exit 2" \
    bash -c "[ $RC -eq 2 ] && grep -q 'hostlist.lua:2: outputs.eve.types: expected a list of strings, got a number' '$T/err'"

run -r "$PCAP" -q --set capture.workers=0
check "--set with a bad host value: exit 2 naming --set" \
    bash -c "[ $RC -eq 2 ] && grep -q -- '--set capture.workers' '$T/err'"
run -r "$PCAP" -q --set bulk_upload.min_byte=5
check "--set with an unknown rule key: exit 2 naming --set" \
    bash -c "[ $RC -eq 2 ] && grep -q -- \"--set bulk_upload.min_byte: unknown configuration key\" '$T/err'"

printf 'return {\n  bulk_upload = { min_bytes = 1e6 \n}\n' >"$T/syntax.lua"
run -c "$T/syntax.lua" -r "$PCAP" -q
check "syntax error: exit 2 with FILE:LINE" bash -c "[ $RC -eq 2 ] && grep -q 'syntax.lua:[0-9]*:' '$T/err'"
run -c "$T/no-such.lua" -r "$PCAP" -q
check "missing -c file: exit 2 naming it" bash -c "[ $RC -eq 2 ] && grep -q 'no-such.lua' '$T/err'"
run -c "$T" -r "$PCAP" -q
check "-c naming a directory: exit 2" bash -c "[ $RC -eq 2 ] && grep -q 'not a regular file' '$T/err'"

run --check-rules -c "$T/typo.lua"
check "--check-rules reports configuration errors with FILE:LINE" \
    bash -c "[ $RC -ne 0 ] && grep -q 'typo.lua:4:' '$T/err' && grep -q '1 configuration error' '$T/err'"

# a rule's declared key (rule{ config = ... }) is valid; others are not
mkdir -p "$T/rules"
cat >"$T/rules/decl.lua" <<'EOF'
rule { id = 9100031, name = "declares a key it reads in hooks", severity = 3,
  config = { ["late.threshold"] = 10 },
  hooks = { "on_flow_end" },
  on_flow_end = function(flow) local t = egret.config("late.threshold", 10) end }
EOF
printf 'return {\n  late = { threshold = 20 },\n}\n' >"$T/decl.lua"
run -R "$T/rules" -c "$T/decl.lua" -r "$PCAP" -q -o /dev/null
check "declared rule key: accepted" rc_is 0
printf 'return {\n  late = { threshold = "high" },\n}\n' >"$T/decl2.lua"
run -R "$T/rules" -c "$T/decl2.lua" -r "$PCAP" -q -o /dev/null
check "declared rule key: its type is checked" \
    bash -c "[ $RC -eq 2 ] && grep -q \"decl2.lua:2: configuration key 'late.threshold' is a string, expected a number\" '$T/err'"

# ---- GeoIP named explicitly ------------------------------------------------
printf 'return { geo = { geoip_db = "%s/none.mmdb" } }\n' "$T" >"$T/geo.lua"
run -c "$T/geo.lua" -r "$PCAP" -q
check "geo.geoip_db that cannot be opened: exit 2 naming it" \
    bash -c "[ $RC -eq 2 ] && grep -q 'none.mmdb' '$T/err'"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
