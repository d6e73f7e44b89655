#!/usr/bin/python3
"""tests/tls/test_h2c_twin.py -- scripts/mkh2ctwin's clear-text twin of
pcaps/testnet-encrypted-chat is the same traffic as the decrypted original.

scripts/bench measures the cost of decryption as egret with keys on the TLS
capture against egret on this twin (the same HTTP/2 bytes as h2c with prior
knowledge); that is only meaningful if egret sees the same requests in both.
So: the twin is built in a temporary directory, egret runs on both, and the
http records (method, URL, host, status, lengths, the content summary with
its fingerprint) and the 9000007 alert's "why" (less "decrypted") must be
equal -- and present, so that an empty comparison cannot pass.

    test_h2c_twin.py --egret EGRET --root SRCDIR

Fails, saying so, when tshark (which decrypts for mkh2ctwin, and which
scripts/bootstrap installs) is missing."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HTTP_KEYS = ("hostname", "url", "http_method", "status", "length", "request_content_length",
             "request_body_length", "protocol", "http_user_agent", "http_content_type")


def eve(egret, root, cap, extra=()):
    out = subprocess.run([egret, "-q", "-r", cap, "--eve", "http,alert", "-o", "-", *extra],
                         cwd=root, check=True, capture_output=True, timeout=120).stdout
    return [json.loads(l) for l in out.decode().splitlines() if l.strip()]


def summary(recs):
    """(http records' compared fields, 9000007 alerts' why) of an EVE run."""
    http = [({k: r["http"].get(k) for k in HTTP_KEYS}, r.get("content"), r.get("app_proto"))
            for r in recs if r["event_type"] == "http"]
    why = []
    for r in recs:
        if r["event_type"] == "alert" and r["alert"]["signature_id"] == 9000007:
            w = dict(r["alert"]["why"])
            w.pop("decrypted", None)
            why.append((r["alert"]["severity"], w))
    return http, why


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--egret", required=True)
    ap.add_argument("--root", required=True)
    a = ap.parse_args()
    if not shutil.which("tshark"):
        print("FAIL: tshark not installed (scripts/mkh2ctwin decrypts with it; "
              "scripts/bootstrap installs it)", file=sys.stderr)
        return 1
    src = os.path.join(a.root, "pcaps", "testnet-encrypted-chat.pcap")
    keys = os.path.join(a.root, "pcaps", "testnet-encrypted-chat.keylog")
    with tempfile.TemporaryDirectory() as tmp:
        twin = os.path.join(tmp, "twin.pcap")
        subprocess.run([sys.executable, os.path.join(a.root, "scripts", "mkh2ctwin"), src, keys,
                        twin], check=True, timeout=300)
        # the server's SETTINGS before the client's preface, as in the TLS
        # original (RFC 9113 3.4 lets an h2c server speak first)
        sfirst = os.path.join(tmp, "twin-server-first.pcap")
        subprocess.run([sys.executable, os.path.join(a.root, "scripts", "mkh2ctwin"),
                        "--server-first", src, keys, sfirst], check=True, timeout=300)
        orig = eve(a.egret, a.root, src, ["--tls-keylog", keys])
        clear = eve(a.egret, a.root, twin)
        sf = eve(a.egret, a.root, sfirst, ["--eve", "http,alert,stats"])
    fail = 0

    def check(ok, what):
        nonlocal fail
        print("%s %s" % ("ok  " if ok else "FAIL", what), file=sys.stdout if ok else sys.stderr)
        fail |= not ok

    oh, ow = summary(orig)
    ch, cw = summary(clear)
    check(any(r["event_type"] == "http" and r["http"].get("decrypted") for r in orig),
          "the original's request was decrypted")
    check(not any(r["event_type"] == "http" and r["http"].get("decrypted") for r in clear),
          "the twin's request was not (clear text)")
    check(len(oh) == 1 and oh[0][1] and oh[0][1].get("fingerprint"),
          "one http record with a content fingerprint in the original (%d)" % len(oh))
    check(len(ow) == 1, "one 9000007 alert in the original (%d)" % len(ow))
    check(all(p == "http2" for _, _, p in oh + ch), "app_proto http2 in both")
    check(oh == ch, "same http records (%s)" % (", ".join(HTTP_KEYS + ("content",))))
    if oh != ch:
        print("original: %s\ntwin:     %s" % (json.dumps(oh), json.dumps(ch)), file=sys.stderr)
    check(ow == cw, "same 9000007 alert (severity, why less 'decrypted')")
    if ow != cw:
        print("original: %s\ntwin:     %s" % (json.dumps(ow), json.dumps(cw)), file=sys.stderr)
    sh, sw = summary(sf)
    check(sh == ch and sw == cw, "server speaking first: the same http record and alert")
    if sh != ch or sw != cw:
        print("client first: %s %s\nserver first: %s %s" %
              (json.dumps(ch), json.dumps(cw), json.dumps(sh), json.dumps(sw)), file=sys.stderr)
    st = [r["stats"]["http"] for r in sf if r["event_type"] == "stats"]
    check(bool(st) and st[-1].get("server_first_capped") == 0,
          "server speaking first: held, not capped (stats.http.server_first_capped 0)")
    if not fail:
        print("ok   twin of testnet-encrypted-chat: %d request(s), fingerprint %s..." %
              (len(oh), oh[0][1]["fingerprint"][:16]))
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
