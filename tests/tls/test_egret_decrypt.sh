#!/usr/bin/env bash
# test_egret_decrypt.sh -- egret's decrypted requests against tshark's, on
# every capture of pcaps/tls/ (issue 15): `egret --tls-keylog` and
# `tshark -o tls.keylog_file:` must find the same requests (method, URI,
# host / :authority without its port; HTTP/1.1 and HTTP/2) and the same
# response statuses, except on the CBC capture, which egret leaves
# encrypted by design (then it must find none, and count the session as
# unsupported), and the same request body sizes.  The browser capture
# (headless Chromium) is also checked for what the product must report:
# attribution, the content summary's counts, rule 9000007.  Also: the
# pcapng whose key log is in a Decryption Secrets Block is decrypted
# without the option, and a wrong key log decrypts nothing and counts the
# session as without keys.
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

# One line per http record egret writes: the Python expression EXPR over
# the record's "http" object h (None: no line), sorted.
egret_http() { # PCAP EXPR [egret args...]
    local pcap=$1 expr=$2
    shift 2
    "$EGRET" -q -r "$pcap" "$@" --eve http | "$PY" -c '
import json, re, sys
for l in sys.stdin:
    h = json.loads(l)["http"]
    v = eval(sys.argv[1])
    if v is not None:
        print(" ".join(map(str, v)) if isinstance(v, tuple) else v)' "$expr" | sort
}

egret_reqs() { # PCAP [egret args...] -> sorted "METHOD URI HOST" lines
    local pcap=$1
    shift
    egret_http "$pcap" '(h.get("http_method", ""), h.get("url", ""),
                        re.sub(r":[0-9]+$", "", h.get("hostname", "")))' "$@"
}

egret_statuses() { # PCAP [egret args...] -> sorted response statuses
    local pcap=$1
    shift
    egret_http "$pcap" 'h.get("status")' "$@"
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

egret_bodies() { # PCAP [egret args...] -> sorted "METHOD URI BODY_BYTES" lines
    local pcap=$1
    shift
    egret_http "$pcap" '(h.get("http_method", ""), h.get("url", ""),
                        h.get("request_body_length", 0))' "$@"
}

# Request body sizes as tshark decrypts them.  HTTP/1.x: the length of
# http.file_data.  HTTP/2: per TCP connection and stream, the client's
# HEADERS (:method, :path) and the sum of its DATA frames' payloads (frame
# length less padding), read frame by frame from tshark's JSON (a packet
# can hold several frames and several records).
tshark_bodies() { # PCAP KEYLOG
    local kl=tls.keylog_file:$2
    { tshark -r "$1" -o "$kl" -d tcp.port==4433,tls -Y http.request -T fields \
        -e http.request.method -e http.request.uri -e http.file_data 2>/dev/null |
        "$PY" -c '
import sys
for l in sys.stdin:
    f = l.rstrip("\n").split("\t")
    print(f[0], f[1], len(f[2].encode()) if len(f) > 2 else 0)'
      tshark -r "$1" -o "$kl" -d tcp.port==4433,tls -Y 'http2 && tcp.dstport==4433' -T json \
        -J "tcp http2" --no-duplicate-keys 2>/dev/null | "$PY" -c '
import json, sys
def aslist(v):
    return v if isinstance(v, list) else [v]
reqs = {}
for pkt in json.load(sys.stdin):
    ly = pkt["_source"]["layers"]
    conn = ly["tcp"]["tcp.stream"]
    for h2 in aslist(ly.get("http2", [])):
        for fr in aslist(h2.get("http2.stream", [])):
            if not isinstance(fr, dict) or "http2.type" not in fr:
                continue  # the connection preface
            sid, typ = fr["http2.streamid"], fr["http2.type"]
            r = reqs.setdefault((conn, sid), {"m": "", "p": "", "n": 0})
            if typ == "1":
                for hd in aslist(fr.get("http2.header", [])):
                    if hd.get("http2.header.name") == ":method":
                        r["m"] = hd.get("http2.header.value", "")
                    elif hd.get("http2.header.name") == ":path":
                        r["p"] = hd.get("http2.header.value", "")
            elif typ == "0":
                n = int(fr["http2.length"])
                if fr.get("http2.flags_tree", {}).get("http2.flags.padded") == "1":
                    n -= int(fr.get("http2.pad_length", 0)) + 1
                r["n"] += n
for r in reqs.values():
    if r["m"]:
        print(r["m"], r["p"], r["n"])'
    } | sort
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
    eb=$(egret_bodies "$pcap" --tls-keylog "$keys")
    tb=$(tshark_bodies "$pcap" "$keys")
    [ -n "$eb" ] && [ "$eb" = "$tb" ] && ok "$name: request body sizes as tshark's" ||
        bad "$name: body sizes differ" "egret: $(echo $eb) | tshark: $(echo $tb)"
    es=$(egret_statuses "$pcap" --tls-keylog "$keys")
    ts=$(tshark_statuses "$pcap" "$keys")
    [ "$es" = "$ts" ] && ok "$name: response statuses as tshark's ($(echo $es))" ||
        bad "$name: statuses differ" "egret: $(echo $es) | tshark: $(echo $ts)"
done
[ $n -ge 10 ] && ok "compared $n captures" || bad "compared only $n captures (pcaps/tls missing?)"

# The browser capture (pcaps/tls/README.md): what the product must get out
# of it.  The expected counts come from the committed .request (the page's
# two bodies, as sent), not from egret.
cr=$ROOT/pcaps/tls/tls13-chromium-h2
out=$("$EGRET" -q -r "$cr.pcap" --tls-keylog "$cr.keylog" --eve http,tls,flow,alert,stats)
echo "$out" | "$PY" -c '
import json, re, sys
raw = open(sys.argv[1] + ".request").read()
dec = json.JSONDecoder()
big, at = dec.raw_decode(raw)
small, _ = dec.raw_decode(raw, at)
pasted = [l for l in big["messages"][-1]["content"].split("\n") if re.match(r"[A-Z][a-z]+: ", l)]
want = {"msgs": len(big["messages"]), "pasted": len(pasted),
        "senders": len({l.split(":")[0] for l in pasted}), "small": len(small["messages"]),
        "big_len": len(raw[:at].encode()), "small_len": len(raw[at:].encode())}
recs = [json.loads(l) for l in sys.stdin]
def of(t):
    return [r for r in recs if r["event_type"] == t]
fails = []
def check(what, cond):
    print(("ok   - " if cond else "FAIL - ") + "tls13-chromium-h2: " + what)
    if not cond:
        fails.append(what)
http = of("http")
check("the page holds 52 chat messages, 40 pasted lines from 4 senders (%(msgs)d, %(pasted)d, %(senders)d)" % want,
      (want["msgs"], want["pasted"], want["senders"]) == (52, 40, 4))
check("3 http records, all app_proto http2, HTTP/2, decrypted",
      len(http) == 3 and all(r["app_proto"] == "http2" and r["http"].get("protocol") == "HTTP/2"
                             and r["http"].get("decrypted") is True for r in http))
check("every request is for :authority api.openai.com, attributed to OpenAI",
      all(r["http"].get("hostname") == "api.openai.com" and r.get("ai", {}).get("provider") == "OpenAI"
          for r in http))
posts = sorted((r for r in http if r["http"].get("http_method") == "POST"),
               key=lambda r: -r["http"]["request_body_length"])
check("two POSTs to /v1/chat/completions of %(big_len)d and %(small_len)d body bytes, status 200" % want,
      [(r["http"]["url"], r["http"]["request_body_length"], r["http"].get("status")) for r in posts]
      == [("/v1/chat/completions", want["big_len"], 200), ("/v1/chat/completions", want["small_len"], 200)])
c = posts[0].get("content", {}) if posts else {}
check("the large POST: openai_chat, messages %s (page: %d), embedded %s from %s senders (page: %d, %d)"
      % (c.get("messages"), want["msgs"], c.get("embedded_messages"), c.get("embedded_senders"),
         want["pasted"], want["senders"]),
      c.get("shape") == "openai_chat" and c.get("messages") == want["msgs"]
      and c.get("embedded_messages") == want["pasted"] and c.get("embedded_senders") == want["senders"]
      and c.get("bytes") == want["big_len"] and not c.get("gaps"))
c2 = posts[1].get("content", {}) if len(posts) > 1 else {}
check("the follow-up POST: messages %s (page: %d)" % (c2.get("messages"), want["small"]),
      c2.get("shape") == "openai_chat" and c2.get("messages") == want["small"])
get = [r for r in http if r["http"].get("http_method") == "GET"]
check("the page load: GET /chat.html 200, no content summary",
      [(r["http"]["url"], r["http"].get("status"), "content" in r) for r in get] == [("/chat.html", 200, False)])
al = [r for r in of("alert") if r["alert"]["signature_id"] == 9000007]
w = al[0]["alert"]["why"] if len(al) == 1 else {}
check("one 9000007 alert: messages_in_request, OpenAI, decrypted, HTTP/2, %s + %s messages"
      % (w.get("messages"), w.get("embedded_messages")),
      len(al) == 1 and w.get("reason") == "messages_in_request" and w.get("provider") == "OpenAI"
      and w.get("decrypted") is True and w.get("protocol") == "HTTP/2"
      and w.get("messages") == want["msgs"] and w.get("messages_total") == want["msgs"] + want["pasted"]
      and w.get("body_bytes") == want["big_len"] and w.get("uri") == "/v1/chat/completions")
fl = sorted(of("flow"), key=lambda r: r["flow"]["start"])
check("two TLS connections: the first decrypted, the second (idle, reset) with no request",
      len(fl) == 2 and all(r["app_proto"] == "tls" for r in fl)
      and fl[0]["tls"].get("decrypted") is True
      and {r["flow_id"] for r in http} == {fl[0]["flow_id"]})
check("both ClientHellos: SNI api.openai.com, ALPN h2 offered",
      len(of("tls")) == 2 and all(r["tls"].get("sni") == "api.openai.com"
                                  and "h2" in r["tls"].get("client_alpns", []) for r in of("tls")))
st = of("stats")[-1]["stats"]["tls_decrypt"]
check("stats: both sessions with keys, no authentication failure, no gap",
      st["sessions_with_keys"] == 2 and st["auth_failures"] == 0 and st["gaps"] == 0
      and st["sessions_without_keys"] == 0)
sys.exit(1 if fails else 0)' "$cr" && ok "tls13-chromium-h2: the browser's upload, as the product must see it" ||
    bad "tls13-chromium-h2: see the FAIL lines above"
a=$("$EGRET" -q -r "$cr.pcap" --eve http,alert | "$PY" -c '
import json, sys
r = [json.loads(l) for l in sys.stdin]
print(sum(x["event_type"] == "http" for x in r), sum(x["event_type"] == "alert" and x["alert"]["signature_id"] == 9000007 for x in r))')
[ "$a" = "0 0" ] && ok "tls13-chromium-h2 without its key log: no request, no content alert" ||
    bad "tls13-chromium-h2 without keys" "http records, 9000007 alerts: $a"

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
