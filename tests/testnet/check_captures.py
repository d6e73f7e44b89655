#!/usr/bin/python3
"""tests/testnet/check_captures.py -- replay every committed capture
(pcaps/*.pcap, *.pcapng: the test network's recordings and the synthetic
captures of scripts/mkpcaps) through egret and check its expectation file
(pcaps/NAME.expect.json) exactly.  A capture without an expectation file
fails: every capture states the alerts it must raise.

    tests/testnet/check_captures.py --egret build/egret --root .
    tests/testnet/check_captures.py --egret build/egret --shared ../shared/pcaps

--shared DIR replays every capture of DIR (the nDPI project's captures, with
the default configuration) and fails on any alert at severity <= 2: none of
them holds a bulk transfer of message content.

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


def check(egret, root, exp_path, pcap):
    exp = json.load(open(exp_path))
    errors = []
    args = [os.path.join(root, a) if a.endswith(".lua") and not os.path.isabs(a) else a
            for a in exp.get("egret_args", [])]
    # The shipped test GeoIP/ASN databases, explicitly: a machine with real
    # GeoLite2 files in /usr/share/GeoIP would otherwise be used by default.
    if "--geoip-db" not in args:
        args += geo_args(egret)
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


def geo_args(egret):
    geo = os.path.join(os.path.dirname(egret), "geo")
    if os.path.exists(os.path.join(geo, "GeoLite2-City-Test.mmdb")):
        return ["--geoip-db", os.path.join(geo, "GeoLite2-City-Test.mmdb"),
                "--asn-db", os.path.join(geo, "GeoLite2-ASN-Test.mmdb")]
    return []


def check_shared(egret, root, shared):
    """No alert at severity <= 2 on any capture of the shared directory."""
    if not os.path.isdir(shared):
        print(f"SKIP: {shared} does not exist -- the shared captures were NOT checked")
        return 77
    caps = sorted(f for f in glob.glob(os.path.join(shared, "*"))
                  if f.endswith((".pcap", ".pcapng", ".cap")))
    passed = failed = 0
    for pcap in caps:
        p = subprocess.run([egret, "-q", "-r", pcap, "--eve", "alert", *geo_args(egret)],
                           capture_output=True, text=True, cwd=root)
        bad = []
        n = 0
        for line in p.stdout.splitlines():
            rec = json.loads(line)
            if rec.get("event_type") != "alert":
                continue
            n += 1
            if rec["alert"]["severity"] <= 2:
                bad.append(fmt(alert_key(rec)))
        if p.returncode not in (0, 1) or bad:
            failed += 1
            print(f"FAIL {os.path.basename(pcap)} (exit {p.returncode})")
            for b in bad:
                print(f"     severity <= 2: {b}")
        else:
            passed += 1
            print(f"PASS {os.path.basename(pcap)} ({n} alerts, none at severity <= 2)")
    if passed + failed == 0:
        print(f"no captures in {shared}: nothing was compared")
        failed = 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--egret", required=True)
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    ap.add_argument("--shared", help="check a directory of captures for severity <= 2 alerts")
    ap.add_argument("names", nargs="*", help="capture names (default: all)")
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    egret = os.path.abspath(a.egret)
    if a.shared:
        return check_shared(egret, root, os.path.abspath(a.shared))
    exps = sorted(glob.glob(os.path.join(root, "pcaps", "*.expect.json")))
    caps = sorted(glob.glob(os.path.join(root, "pcaps", "*.pcap")) +
                  glob.glob(os.path.join(root, "pcaps", "*.pcapng")))
    stem = lambda path: os.path.splitext(os.path.basename(path))[0]  # noqa: E731
    if a.names:
        exps = [e for e in exps if os.path.basename(e)[:-12] in a.names]
        caps = [c for c in caps if stem(c) in a.names]
    passed = failed = 0
    # An expectation serves every capture with its name (x.pcap, x.pcapng).
    for e in exps:
        if not any(stem(c) == os.path.basename(e)[:-12] for c in caps):
            failed += 1
            print(f"FAIL {os.path.basename(e)}: no capture of that name")
    for c in caps:
        exp = os.path.join(os.path.dirname(c), stem(c) + ".expect.json")
        if not os.path.exists(exp):
            failed += 1
            print(f"FAIL {os.path.basename(c)}: no expectation file {stem(c)}.expect.json")
            continue
        errors, n = check(egret, root, exp, c)
        if errors:
            failed += 1
            print(f"FAIL {os.path.basename(c)}")
            for err in errors:
                print(f"     {err}")
        else:
            passed += 1
            print(f"PASS {os.path.basename(c)} ({n} alerts as expected)")
    if passed + failed == 0:
        print("no captures in pcaps/: nothing was compared")
        failed = 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
