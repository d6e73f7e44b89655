#!/usr/bin/python3
"""tests/evasion/check.py -- ctest `evasion`: replays every capture of
pcaps/evasion/ (scripts/mkevasion) through egret with the shipped rules and
checks its NAME.expect.json: the upload is attributed (the http record's
ai.provider), inspected (content.messages), marked (http.anomalies,
hostname_alt) and raises exactly the expected alerts (signature, severity);
"stats_http", when given, names stats.http counters and their values.
A capture marked "known_gap" is an evasion egret does not defeat yet: it is
reported loudly as KNOWN GAP, and fails if it starts passing (so that the
expectation is updated).  Exit 1 on any failure.

    tests/evasion/check.py --egret build/egret --root .
"""
import argparse
import glob
import json
import os
import subprocess
import sys


def run(egret, root, pcap):
    p = subprocess.run([egret, "-q", "-r", pcap, "--eve", "http,alert,stats"],
                       capture_output=True, text=True, cwd=root)
    if p.returncode != 0:
        return None, None, None, "egret exit status %d: %s" % (p.returncode, p.stderr.strip()[:300])
    http, alerts, stats = [], [], {}
    for line in p.stdout.splitlines():
        r = json.loads(line)
        if r.get("event_type") == "http":
            http.append(r)
        elif r.get("event_type") == "alert":
            alerts.append((r["alert"]["signature_id"], r["alert"]["severity"]))
        elif r.get("event_type") == "stats":
            stats = r["stats"].get("http", {})  # the last one: the totals
    return http, sorted(alerts), stats, None


def check(egret, root, exp_path):
    exp = json.load(open(exp_path))
    pcap = exp_path[: -len(".expect.json")] + ".pcap"
    http, alerts, stats, err = run(egret, root, pcap)
    if err:
        return [err]
    errors = []
    req = next((h for h in http if h.get("http", {}).get("http_method") == "POST"), None)
    if req is None:
        errors.append("no http record of the POST")
    else:
        prov = (req.get("ai") or {}).get("provider")
        if prov != exp["attributed_provider"]:
            errors.append("attributed to %r, expected %r" % (prov, exp["attributed_provider"]))
        msgs = (req.get("content") or {}).get("messages", 0)
        if msgs != exp["messages"]:
            errors.append("%d messages inspected, expected %d" % (msgs, exp["messages"]))
        an = sorted(req["http"].get("anomalies") or [])
        if an != exp["anomalies"]:
            errors.append("anomalies %s, expected %s" % (an, exp["anomalies"]))
        if req["http"].get("hostname_alt") != exp.get("hostname_alt"):
            errors.append("hostname_alt %r, expected %r" % (req["http"].get("hostname_alt"),
                                                             exp.get("hostname_alt")))
    want = sorted((a["signature_id"], a["severity"]) for a in exp["alerts"])
    if not exp.get("known_gap") and alerts != want:
        errors.append("alerts %s, expected %s" % (alerts, want))
    for k, v in (exp.get("stats_http") or {}).items():
        if stats.get(k) != v:
            errors.append("stats.http.%s %r, expected %r" % (k, stats.get(k), v))
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--egret", required=True)
    ap.add_argument("--root", required=True)
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    egret = os.path.abspath(a.egret)
    exps = sorted(glob.glob(os.path.join(root, "pcaps", "evasion", "*.expect.json")))
    caps = sorted(glob.glob(os.path.join(root, "pcaps", "evasion", "*.pcap")))
    failed = 0
    if not exps:  # else the loops below check nothing and pass
        print("FAIL no expectation files in %s (scripts/mkevasion writes them)" %
              os.path.join(root, "pcaps", "evasion"))
        failed += 1
    for c in caps:
        if c[:-5] + ".expect.json" not in exps:
            print("FAIL %s: no expectation file" % os.path.basename(c))
            failed += 1
    for e in exps:
        name = os.path.basename(e)[: -len(".expect.json")]
        exp = json.load(open(e))
        errs = check(egret, root, e)
        if exp.get("known_gap"):
            if errs:
                print("KNOWN GAP %s: %s (%s)" % (name, "; ".join(errs), exp["known_gap"]))
            else:
                print("FAIL %s: passes now -- remove known_gap from its expectation" % name)
                failed += 1
        elif errs:
            print("FAIL %s: %s" % (name, "; ".join(errs)))
            failed += 1
        else:
            print("ok   %s" % name)
    print("%d captures, %d failed" % (len(exps), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
