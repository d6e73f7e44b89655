#!/usr/bin/python3
"""tests/testnet/check_captures.py -- replay every committed testnet capture
(pcaps/testnet-*.pcap) through egret and check its expectation file
(pcaps/testnet-*.expect.json) exactly.

    tests/testnet/check_captures.py --egret build/egret --root .

For each capture: run `egret -q -r PCAP --eve alert ARGS` (ARGS from the
expectation's egret_args, paths relative to --root), collect the alerts as
(signature_id, severity, src_ip, dest_ip, ai.provider, dest_geo.country_iso)
and compare the multiset with the expected list (alerts_match "exact": no
missing, no extra alert).  For must-not-alert captures also report any alert
at severity <= no_alerts_at_or_below_severity separately.  Prints one line
per capture and `N passed, N failed`; exit status 1 when anything failed.
"""
import argparse
import collections
import glob
import json
import os
import subprocess
import sys

FIELDS = ("signature_id", "severity", "src_ip", "dest_ip", "provider", "country_iso")


def alert_key(rec):
    a = rec.get("alert", {})
    return (a.get("signature_id"), a.get("severity"), rec.get("src_ip"), rec.get("dest_ip"),
            (rec.get("ai") or {}).get("provider"), (rec.get("dest_geo") or {}).get("country_iso"))


def fmt(k):
    return "sid=%s sev=%s %s -> %s provider=%s country=%s" % k


def check(egret, root, exp_path):
    exp = json.load(open(exp_path))
    pcap = exp_path[:-len(".expect.json")] + ".pcap"
    errors = []
    if not os.path.exists(pcap):
        return [f"capture {pcap} missing"], 0
    args = [os.path.join(root, a) if a.endswith(".lua") and not os.path.isabs(a) else a
            for a in exp.get("egret_args", [])]
    # The shipped test GeoIP/ASN databases, explicitly: a machine with real
    # GeoLite2 files in /usr/share/GeoIP would otherwise be used by default.
    geo = os.path.join(os.path.dirname(egret), "geo")
    if "--geoip-db" not in args and os.path.exists(os.path.join(geo, "GeoLite2-City-Test.mmdb")):
        args += ["--geoip-db", os.path.join(geo, "GeoLite2-City-Test.mmdb"),
                 "--asn-db", os.path.join(geo, "GeoLite2-ASN-Test.mmdb")]
    p = subprocess.run([egret, "-q", "-r", pcap, "--eve", "alert", *args],
                       capture_output=True, text=True, cwd=root)
    if p.returncode != 0:
        errors.append(f"egret exit status {p.returncode}: {p.stderr.strip()[:300]}")
    got = collections.Counter()
    for line in p.stdout.splitlines():
        rec = json.loads(line)
        if rec.get("event_type") == "alert":
            got[alert_key(rec)] += 1
    want = collections.Counter(tuple(a[f] for f in FIELDS) for a in exp["alerts"])
    limit = exp.get("no_alerts_at_or_below_severity")
    if limit is not None:
        for k, n in sorted(got.items(), key=str):
            if k[1] is not None and k[1] <= limit:
                errors.append(f"must-not-alert capture raised severity {k[1]}: {fmt(k)} (x{n})")
    if exp.get("alerts_match", "exact") == "exact":
        for k, n in sorted((want - got).items(), key=str):
            errors.append(f"missing: {fmt(k)}" + (f" (x{n})" if n > 1 else ""))
        for k, n in sorted((got - want).items(), key=str):
            errors.append(f"unexpected: {fmt(k)}" + (f" (x{n})" if n > 1 else ""))
    return errors, sum(got.values())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--egret", required=True)
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    ap.add_argument("names", nargs="*", help="scenario names (default: all)")
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    egret = os.path.abspath(a.egret)
    exps = sorted(glob.glob(os.path.join(root, "pcaps", "testnet-*.expect.json")))
    if a.names:
        exps = [e for e in exps if os.path.basename(e)[8:-12] in a.names]
    if not exps:
        print("no pcaps/testnet-*.expect.json found")
        print("0 passed, 1 failed")
        return 1
    passed = failed = 0
    for e in exps:
        name = os.path.basename(e)[:-12]
        errors, n = check(egret, root, e)
        if errors:
            failed += 1
            print(f"FAIL {name}")
            for err in errors:
                print(f"     {err}")
        else:
            passed += 1
            print(f"PASS {name} ({n} alerts as expected)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
