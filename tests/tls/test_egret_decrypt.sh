#!/usr/bin/env bash
# test_egret_decrypt.sh -- egret's decrypted requests against tshark's, on
# every capture of pcaps/tls/ (issue 15): `egret --tls-keylog` and
# `tshark -o tls.keylog_file:` must find the same requests (method, URI,
# host / :authority without its port; HTTP/1.1 and HTTP/2) and the same
# response statuses, except on the CBC capture, which egret leaves
# encrypted by design (then it must find none, and count the session as
# unsupported).  Also: the pcapng whose key log is in a Decryption Secrets
# Block is decrypted without the option, and a wrong key log decrypts
# nothing and counts the session as without keys.
#
#   bash tests/tls/test_egret_decrypt.sh EGRET_BINARY REPO_ROOT
set -u
EGRET=${1:?usage: test_egret_decrypt.sh EGRET_BINARY REPO_ROOT}
ROOT=${2:?usage: test_egret_decrypt.sh EGRET_BINARY REPO_ROOT}
PY=/usr/bin/python3
command -v tshark >/dev/null || { echo "FAIL - tshark not installed (scripts/bootstrap installs it)"; exit 1; }
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && echo "       $2"; }

egret_reqs() { # PCAP [egret args...] -> sorted "METHOD URI HOST" lines
    local pcap=$1
    shift
    "$EGRET" -q -r "$pcap" "$@" --eve http | "$PY" -c '
import json, re, sys
for l in sys.stdin:
    h = json.loads(l)["http"]
    print(h.get("http_method", ""), h.get("url", ""), re.sub(r":[0-9]+$", "", h.get("hostname", "")))' | sort
}

egret_statuses() { # PCAP [egret args...] -> sorted response statuses
    local pcap=$1
    shift
    "$EGRET" -q -r "$pcap" "$@" --eve http | "$PY" -c '
import json, sys
for l in sys.stdin:
    h = json.loads(l)["http"]
    if "status" in h:
        print(h["status"])' | sort
}

# host without its port (egret's hostname is Suricata's: the name only)
tshark_reqs() { # PCAP KEYLOG
    tshark -r "$1" -o "tls.keylog_file:$2" -d tcp.port==4433,tls \
        -Y 'http.request || (http2.type==1 && http2.header.name==":method")' -T fields \
        -e http.request.method -e http.request.uri -e http.host -e http2.headers.method \
        -e http2.headers.path -e http2.headers.authority \
        2>/dev/null | awk -F'\t' '{ m = $1 != "" ? $1 : $4; u = $2 != "" ? $2 : $5;
            h = $3 != "" ? $3 : $6; sub(/:[0-9]+$/, "", h); print m, u, h }' | sort
}

tshark_statuses() { # PCAP KEYLOG
    tshark -r "$1" -o "tls.keylog_file:$2" -d tcp.port==4433,tls \
        -Y 'http.response || (http2.type==1 && http2.header.name==":status")' -T fields \
        -e http.response.code -e http2.headers.status 2>/dev/null |
        tr '\t,' '\n\n' | grep -v '^$' | sort
}

stat_of() { # PCAP KEY [egret args...] -> the value of stats.tls_decrypt.KEY
    local pcap=$1 key=$2
    shift 2
    "$EGRET" -q -r "$pcap" "$@" --eve http,stats | "$PY" -c '
import json, sys
s = [r for r in map(json.loads, sys.stdin) if r["event_type"] == "stats"][-1]["stats"]
print(s.get("tls_decrypt", {}).get(sys.argv[1], "absent"))' "$key"
}

n=0
for pcap in "$ROOT"/pcaps/tls/*.pcap; do
    name=$(basename "$pcap" .pcap)
    keys=${pcap%.pcap}.keylog
    e=$(egret_reqs "$pcap" --tls-keylog "$keys")
    if [ "$name" = tls12-cbc ]; then
        u=$(stat_of "$pcap" sessions_unsupported --tls-keylog "$keys")
        [ -z "$e" ] && [ "$u" = 1 ] && ok "$name: CBC left encrypted, counted unsupported" ||
            bad "$name: CBC" "requests '$e', unsupported $u"
        continue
    fi
    t=$(tshark_reqs "$pcap" "$keys")
    n=$((n + 1))
    if [ -n "$e" ] && [ "$e" = "$t" ]; then
        ok "$name: $(echo "$e" | wc -l) request(s) as tshark decrypts them"
    else
        bad "$name: egret and tshark differ" "egret: $(echo $e) | tshark: $(echo $t)"
    fi
    es=$(egret_statuses "$pcap" --tls-keylog "$keys")
    ts=$(tshark_statuses "$pcap" "$keys")
    [ "$es" = "$ts" ] && ok "$name: response statuses as tshark's ($(echo $es))" ||
        bad "$name: statuses differ" "egret: $(echo $es) | tshark: $(echo $ts)"
done
[ $n -ge 10 ] && ok "compared $n captures" || bad "compared only $n captures (pcaps/tls missing?)"

dsb=$ROOT/pcaps/tls/tls13-aes128gcm-dsb.pcapng
e=$(egret_reqs "$dsb")
[ -n "$e" ] && [ "$e" = "$(egret_reqs "$ROOT/pcaps/tls/tls13-aes128gcm.pcap" --tls-keylog "$ROOT/pcaps/tls/tls13-aes128gcm.keylog")" ] &&
    ok "pcapng secrets block: decrypted without --tls-keylog" || bad "pcapng secrets block" "got '$e'"

wrong=$ROOT/pcaps/tls/tls13-chacha20.keylog
e=$(egret_reqs "$ROOT/pcaps/tls/tls13-aes128gcm.pcap" --tls-keylog "$wrong")
w=$(stat_of "$ROOT/pcaps/tls/tls13-aes128gcm.pcap" sessions_without_keys --tls-keylog "$wrong")
[ -z "$e" ] && [ "$w" = 1 ] && ok "another session's key log: nothing decrypted, counted without keys" ||
    bad "wrong key log" "requests '$e', without_keys $w"

e=$(egret_reqs "$ROOT/pcaps/tls/tls13-aes128gcm.pcap")
[ -z "$e" ] && ok "no key log: no request" || bad "no key log" "got '$e'"

echo "$PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
