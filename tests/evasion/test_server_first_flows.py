#!/usr/bin/python3
"""tests/evasion/test_server_first_flows.py -- ctest evasion_server_first_flows:
the engine-wide bound of the server-first hold (engine.c EARLY_FLOWS, 4,096
flows holding a server's early bytes at once).

N connections each get a server banner before any client byte and stay
open, so every one of them holds its banner; past 4,096 the hold is refused
and counted (stats.http.server_first_capped = N - 4,096).  Then the last of
them, one of the refused ones, uploads a 60-message chat to api.openai.com:
it is still inspected (http record, 60 messages, 9000007), so a crowd of
talkative servers cannot blind the request side.  The capture is made here
with scripts/mkevasion's packet writer.

    test_server_first_flows.py --egret EGRET --root SRCDIR
"""
import argparse
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

HOLD_FLOWS = 4096  # engine.c EARLY_FLOWS
EXTRA = 4


def load_mkevasion(root):
    path = os.path.join(root, "scripts", "mkevasion")
    loader = importlib.machinery.SourceFileLoader("mkevasion", path)
    spec = importlib.util.spec_from_loader("mkevasion", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--egret", required=True)
    ap.add_argument("--root", required=True)
    a = ap.parse_args()
    mk = load_mkevasion(a.root)
    n = HOLD_FLOWS + EXTRA
    pkts, t = [], 0
    convs = []
    for i in range(n):  # every server speaks first, no client byte yet
        c = mk.Conv(20000 + i)
        c.handshake()
        c.pkt(False, "PA", b"220 ready\r\n", dt=300)
        convs.append(c)
        for _, fr in c.out:
            t += 10
            pkts.append((t, fr))
        c.out = []
    last = convs[-1]
    body = mk.chat_body()
    last.send(mk.head([mk.POST, mk.HOST, mk.CT], len(body)) + body)
    last.respond()
    last.close()
    for _, fr in last.out:
        t += 10
        pkts.append((t, fr))
    fail = 0

    def check(ok, what):
        nonlocal fail
        print("%s %s" % ("ok  " if ok else "FAIL", what))
        fail |= not ok

    with tempfile.TemporaryDirectory() as tmp:
        cap = os.path.join(tmp, "server-first-flows.pcap")
        mk.write_pcap(cap, pkts)
        p = subprocess.run([a.egret, "-q", "-r", cap, "--eve", "http,alert,stats", "-o", "-"],
                           cwd=a.root, capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "egret exit 0 (%d: %s)" % (p.returncode, p.stderr.strip()[-300:]))
    recs = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    stats = [r["stats"]["http"] for r in recs if r["event_type"] == "stats"]
    capped = stats[-1].get("server_first_capped") if stats else None
    check(capped == EXTRA, "%d flows held, the %d past them capped (server_first_capped %r)" %
          (HOLD_FLOWS, EXTRA, capped))
    http = [r for r in recs if r["event_type"] == "http" and r["http"].get("http_method") == "POST"]
    msgs = http[0].get("content", {}).get("messages") if http else None
    check(len(http) == 1 and msgs == mk.MESSAGES,
          "a capped flow's upload is still inspected (%d POST, %r messages)" % (len(http), msgs))
    sids = sorted(r["alert"]["signature_id"] for r in recs if r["event_type"] == "alert")
    check(9000007 in sids, "9000007 raised on it (%s)" % sids)
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
