#!/bin/bash
# test_live_latekey.sh EGRET SRCDIR SCRATCH -- live capture (-i) with a key
# log that clients write while egret runs (issue 15): keys that arrive
# after a session's first records, in a file that is appended to, then
# rotated (renamed away, a new file at its path), then truncated and
# written again.  egret starts with an empty key log (a sensor started
# before its clients).
#
# One engine (--workers 1: one stats record at the end to check).  Three
# TLS 1.3 sessions (pcaps/tls/tls13-aes128gcm.pcap, each with its own
# client random: scripts/mktlsbench --unique-randoms) are sent on a veth
# pair in a network namespace the test makes.  For each, the packets up to
# the client's request go first; only then, after egret's key-log poll has
# run at least once without them, do its keys reach the file; then the
# rest of the session.  Checks: each session's request comes out decrypted
# (method, path, host as in the .request file), the records were held and
# decrypted late (stats.tls_decrypt.late_keys), no authentication failure
# and no session without keys, the key log's lines counted, SIGHUP
# reported, no key material in the output.
#
# Needs root (network namespaces).  Without it the test FAILS, unless
# EGRET_SKIP_LIVE=1 is set: then it exits 77 (ctest: skipped).
set -u
egret=$(realpath "$1") src=$(realpath "$2") scratch=$3
mkdir -p "$scratch"
scratch=$(realpath "$scratch")
cant() {
  echo "test_live_latekey: cannot run: $1" >&2
  [ "${EGRET_SKIP_LIVE:-}" = 1 ] && exit 77
  exit 1
}
[ "$(id -u)" -eq 0 ] || cant "not root"
ns=egret-tlk-$$ # not egt-: scripts/testnet down removes every egt-* namespace
ip netns add "$ns" 2>/dev/null || cant "'ip netns add' failed"
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
}
trap cleanup EXIT
ip -n "$ns" link add v0 type veth peer name v1 || cant "no veth pair"
ip -n "$ns" link set v0 up && ip -n "$ns" link set v1 up

cap=$scratch/three.pcap keys=$scratch/three.keylog
"$src/scripts/mktlsbench" --unique-randoms "$src/pcaps/tls/tls13-aes128gcm.pcap" \
  "$src/pcaps/tls/tls13-aes128gcm.keylog" 3 "$cap" || exit 1
kl=$scratch/keylog.txt out=$scratch/out.json err=$scratch/err.txt
rm -f "$kl" "$kl.1" "$out"
: > "$kl"

# send COPY PART: frames of copy COPY (client port 20000+COPY) on v0;
# PART "head" = up to and including the client's first application data
# record (the request), "tail" = the rest.
send() {
  ip netns exec "$ns" python3 - "$cap" "$1" "$2" <<'EOF'
import socket, struct, sys, time
cap, copy, part = sys.argv[1], int(sys.argv[2]), sys.argv[3]
port = 20000 + copy
frames = []
with open(cap, "rb") as f:
    f.read(24)
    while True:
        h = f.read(16)
        if len(h) < 16:
            break
        n = struct.unpack("<IIII", h)[2]
        d = f.read(n)
        t = 14 + (d[14] & 0x0F) * 4
        sp, dp = struct.unpack("!HH", d[t:t + 4])
        if port in (sp, dp):
            frames.append((sp == port, d[t + (d[t + 12] >> 4) * 4:], d))
# the head ends with the client's first frame that opens with an
# application data record: the request's first record (its Finished came
# in a frame opening with ChangeCipherSpec)
cut = None
for i, (from_client, pl, _) in enumerate(frames):
    if from_client and pl[:1] == b"\x17":
        cut = i + 1
        break
if cut is None:
    sys.exit("no request record in copy %d" % copy)
sel = frames[:cut] if part == "head" else frames[cut:]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("v0", 0))
for _, _, d in sel:
    s.send(d)
    time.sleep(0.002)
EOF
}

# add COPY: appends copy COPY's key-log lines to the key log
add() {
  python3 - "$keys" "$1" >> "$kl" <<'EOF'
import sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
per = len(lines) // 3
sys.stdout.write("".join(lines[int(sys.argv[2]) * per:(int(sys.argv[2]) + 1) * per]))
EOF
}

ip netns exec "$ns" "$egret" -i v1 --workers 1 --tls-keylog "$kl" --eve http,stats --stats-interval 1 \
  -o "$out" 2> "$err" &
pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$err" 2>/dev/null && break
  sleep 0.05
done
poll=1.6 # egret polls its key logs at least once a second

# 1: appended late
send 0 head
sleep $poll
add 0
sleep $poll
send 0 tail
# 2: rotated (renamed away, a new file at the path) after the first records
send 1 head
sleep $poll
mv "$kl" "$kl.1"
add 1
sleep $poll
send 1 tail
# 3: truncated, then written again
send 2 head
sleep $poll
: > "$kl"
sleep $poll
add 2
sleep $poll
send 2 tail
kill -HUP "$pid"
sleep $poll
kill -INT "$pid"
wait "$pid"
rc=$?
pid=

python3 - "$out" "$err" "$keys" "$src/pcaps/tls/tls13-aes128gcm.request" "$rc" <<'EOF'
import json, re, sys
out, err, keys, reqf, rc = sys.argv[1:6]
fails = []
if rc != "0":
    fails.append("exit status %s after SIGINT" % rc)
recs = [json.loads(l) for l in open(out)]
req = open(reqf, "rb").read().split(b"\r\n")
method, path = req[0].decode().split(" ")[:2]
host = [l[5:].strip().decode() for l in req if l.lower().startswith(b"host:")][0]
http = [r for r in recs if r.get("event_type") == "http"]
ports = sorted(r["src_port"] for r in http)
if ports != [20000, 20001, 20002]:
    fails.append("decrypted requests from client ports %s, want 20000-20002" % ports)
for r in http:
    h = r["http"]
    got = (h.get("http_method"), h.get("url"), h.get("hostname"), h.get("decrypted"))
    if got != (method, path, host.split(":")[0], True):
        fails.append("port %s: %s, want %s" % (r["src_port"], got, (method, path, host, True)))
st = [r["stats"] for r in recs if r.get("event_type") == "stats"]
td = st[-1]["tls_decrypt"] if st else {}
want = {"sessions_with_keys": 3, "sessions_without_keys": 0, "auth_failures": 0,
        "hold_cap_hits": 0}
for k, v in want.items():
    if td.get(k) != v:
        fails.append("stats.tls_decrypt.%s = %s, want %s" % (k, td.get(k), v))
if td.get("late_keys", 0) < 3:
    fails.append("stats.tls_decrypt.late_keys = %s, want >= 3 (every session waited)" % td.get("late_keys"))
# 5 labelled lines per session; the SIGHUP re-read counts copy 2's again
if td.get("keylog_lines", 0) < 15 or td.get("keylog_malformed") != 0:
    fails.append("key log lines %s, malformed %s" % (td.get("keylog_lines"), td.get("keylog_malformed")))
text = open(err).read()
if not re.search(r"reload(ed| requested) \(SIGHUP\)", text):
    fails.append("the SIGHUP is not reported")
# no secret in the output or on stderr
blob = open(out).read() + text
for l in open(keys):
    f = l.split()
    if len(f) == 3 and f[2] in blob:
        fails.append("a secret of the key log appears in the output")
        break
for f in fails:
    print("FAIL:", f, file=sys.stderr)
if fails:
    print(text[-2000:], file=sys.stderr)
    sys.exit(1)
print("test_live_latekey: 3 sessions decrypted with late keys (appended, rotated, truncated); late_keys %d" % td["late_keys"])
EOF
