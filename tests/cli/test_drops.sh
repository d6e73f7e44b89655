#!/usr/bin/env bash
# test_drops.sh -- capture loss is reported, and reported the same way in
# the summary and the stats record: egret captures on one end of a veth
# pair in a namespace made here with a small ring (-B 1), is stopped
# (SIGSTOP) while tcpreplay sends a ~5 MB burst (two testnet captures)
# into the other end, so the kernel drops what the ring cannot hold; then
# it is resumed and stopped with SIGTERM.  Checks: drops > 0; the
# summary's percentage is drops / packets seen by the kernel; the hint
# (raise -B, add --workers) is printed; the final stats record carries the
# same counts and kernel_drop_pct.  Root needed (namespaces); without it
# the test fails, or exits 77 (ctest: skipped) when EGRET_SKIP_LIVE=1.
#
#   bash tests/cli/test_drops.sh EGRET_BINARY SCRATCH_DIR SOURCE_DIR
set -u
EGRET=$(realpath "$1") SCRATCH=$2 SRC=$3
PY=/usr/bin/python3
mkdir -p "$SCRATCH"
cant() {
    echo "test_drops: cannot run: $1" >&2
    [ "${EGRET_SKIP_LIVE:-}" = 1 ] && exit 77
    exit 1
}
[ "$(id -u)" -eq 0 ] || cant "not root"
command -v tcpreplay >/dev/null || cant "tcpreplay missing"
T=$(mktemp -d "$SCRATCH/drops.XXXXXX") || exit 2
ns=egt-drops-$$
ip netns add "$ns" 2>/dev/null || cant "'ip netns add' failed"
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$T"' EXIT
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link add name vsend type veth peer name vcap || cant "veth"
for d in vsend vcap; do ip -n "$ns" link set dev "$d" mtu 65535 up; done
mergecap -F pcap -w "$T/burst.pcap" "$SRC/pcaps/testnet-plaintext.pcap" "$SRC/pcaps/testnet-batch-export.pcap"

"$PY" - "$EGRET" "$ns" "$T" <<'EOF'
import json, os, re, signal, subprocess, sys, time
egret, ns, T = sys.argv[1:4]
p = subprocess.Popen(["ip", "netns", "exec", ns, egret, "-i", "vcap", "-B", "1", "--workers", "1",
                      "--eve", "flow,stats", "--stats-interval", "0", "--no-rules", "-o", T + "/eve.json"],
                     stderr=subprocess.PIPE, text=True)
first = p.stderr.readline()
while "listening on" not in first:
    if not first:
        sys.exit("egret did not start")
    first = p.stderr.readline()
os.kill(p.pid, signal.SIGSTOP)
subprocess.run(["ip", "netns", "exec", ns, "tcpreplay", "-q", "-i", "vsend", "--topspeed", T + "/burst.pcap"],
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.kill(p.pid, signal.SIGCONT)
time.sleep(1)  # it reads what the ring kept (no assertion on time)
p.send_signal(signal.SIGTERM)
err = p.communicate(timeout=60)[1]
open(T + "/err", "w").write(err)
fails = []
def check(name, ok):
    print(("ok   - " if ok else "FAIL - ") + name)
    if not ok:
        fails.append(name)
m = re.search(r"capture +(\d+) packets seen by the kernel, (\d+) dropped \(([0-9.]+) %\)", err)
check("summary: the capture line with a percentage", m is not None)
if not m:
    print(err)
    sys.exit(1)
seen, drops, pct = int(m.group(1)), int(m.group(2)), float(m.group(3))
check("a 1 MiB ring under a 5 MB burst drops packets (%d of %d)" % (drops, seen), drops > 0)
check("summary: %.2f %% is drops / packets seen" % pct, abs(pct - 100.0 * drops / seen) < 0.006)
check("summary: the hint above 0.1 % (raise -B, add --workers)",
      re.search(r"warning +capture loss above 0\.1 %: counts are lower bounds; raise -B .*add --workers", err) is not None)
stats = [json.loads(l) for l in open(T + "/eve.json") if '"event_type":"stats"' in l]
check("the final stats record is written on SIGTERM", len(stats) >= 1)
if stats:
    c = stats[-1]["stats"]["capture"]
    check("stats: kernel_packets and kernel_drops are the summary's (%s, %s)" % (c.get("kernel_packets"), c.get("kernel_drops")),
          c.get("kernel_packets") == seen and c.get("kernel_drops") == drops)
    check("stats: kernel_drop_pct = %s, the summary's %.2f" % (c.get("kernel_drop_pct"), pct),
          abs(c.get("kernel_drop_pct", -1) - pct) < 0.006)
pk = re.search(r"^ +packets +(\d+)", err, re.M)
check("processed + dropped = seen by the kernel (%s + %d vs %d)" % (pk and pk.group(1), drops, seen),
      pk is not None and int(pk.group(1)) + drops == seen)
sys.exit(1 if fails else 0)
EOF
