#!/usr/bin/python3
"""suricata_verify.py -- Suricata's own output checks, run on egret.

../shared/suricata/verify/checks.json holds 58 suricata-verify tests whose
checks are about the flow, dns, tls and http records a passive logger writes
(see ../shared/suricata/README.md); verify/pcaps/ their captures.  They are
read from there, never copied into the repository.

Each check is suricata-verify's "filter": how many records Suricata 8 writes
that match every field of "match" (dotted paths with [i] indexes, suffixes
__len, __contains, __startswith, __endswith).  egret runs on the capture with
--eve flow,dns,tls,http; a check passes when egret's count of matching
records equals Suricata's.  pcap_cnt (Suricata's packet counter) is ignored.

Prints each failing check's test, the passed/total count and the share;
exit 1 below --min percent (default 70), 77 when ../shared is missing.

  tests/suricata_verify.py --egret build/egret [--shared DIR] [--min 70] [-v]
"""

import argparse
import json
import os
import re
import subprocess
import sys

SKIP = 77
IGNORED = {"pcap_cnt"}
# the integration runner's dotted-path reader ([i] indexes): one reading of
# "a.b[0].c" for both
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "integration"))
from run import MISSING, path_get  # noqa: E402


def field_ok(rec, key, want):
    for op in ("__len", "__contains", "__startswith", "__endswith"):
        if key.endswith(op):
            v = path_get(rec, key[:-len(op)])
            if v is MISSING:
                return False
            if op == "__len":
                return hasattr(v, "__len__") and len(v) == want
            if op == "__contains":
                return isinstance(v, (list, str)) and want in v
            if op == "__startswith":
                return isinstance(v, str) and v.startswith(want)
            return isinstance(v, str) and v.endswith(want)
    v = path_get(rec, key)
    if v is MISSING:
        return False
    return v == want and type(v) is type(want) or (isinstance(v, (int, float)) and
                                                   not isinstance(v, bool) and v == want)


def matches(rec, match):
    for k, want in match.items():
        if k in IGNORED or k.split(".")[0] in IGNORED:
            continue
        if k == "not-has-key":
            for p in (want if isinstance(want, list) else [want]):
                if path_get(rec, p) is not MISSING:
                    return False
            continue
        if k == "has-key":
            for p in (want if isinstance(want, list) else [want]):
                if path_get(rec, p) is MISSING:
                    return False
            continue
        if not field_ok(rec, k, want):
            return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--egret", required=True)
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    ap.add_argument("--shared", default=None)
    ap.add_argument("--min", type=float, default=70.0)
    ap.add_argument("-v", "--verbose", action="store_true")
    o = ap.parse_args()
    root = os.path.abspath(o.root)
    vdir = os.path.join(o.shared or os.path.join(root, "..", "shared"), "suricata", "verify")
    checks_json = os.path.join(vdir, "checks.json")
    if not os.path.exists(checks_json):
        print("suricata_verify: SKIP: %s not found: Suricata's checks were NOT run" % checks_json,
              file=sys.stderr)
        return SKIP
    with open(checks_json) as f:
        tests = json.load(f)
    passed = total = 0
    tests_all_passed = 0
    for t in tests:
        pcap = os.path.join(vdir, "pcaps", t["file"])
        total += len(t["checks"])
        if not os.path.exists(pcap):
            print("FAIL %s: capture %s missing (%d checks)" % (t["test"], t["file"],
                                                             len(t["checks"])))
            continue
        p = subprocess.run([o.egret, "-q", "--no-rules", "--eve", "flow,dns,tls,http", "-r", pcap],
                           capture_output=True, timeout=120)
        if p.returncode < 0:
            print("FAIL %s: egret killed by signal %d" % (t["test"], -p.returncode))
            continue
        if re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:",
                     p.stderr.decode("utf-8", "replace")):
            print("FAIL %s: sanitizer report on stderr" % t["test"])
            continue
        recs = [json.loads(line) for line in p.stdout.decode("utf-8", "replace").splitlines()
                if line.strip()]
        ok_all = True
        for i, chk in enumerate(t["checks"]):
            n = sum(1 for r in recs if matches(r, chk["match"]))
            if n == chk["count"]:
                passed += 1
            else:
                ok_all = False
                if o.verbose:
                    print("FAIL %s check %d: %d records match, Suricata writes %d: %s" %
                          (t["test"], i, n, chk["count"], json.dumps(chk["match"])[:400]))
        tests_all_passed += ok_all
        if not ok_all and not o.verbose:
            print("FAIL %s" % t["test"])
    share = 100.0 * passed / total if total else 0.0
    print("suricata_verify: %d of %d checks pass (%.1f %%), %d of %d tests pass entirely; "
          "minimum %.0f %%" % (passed, total, share, tests_all_passed, len(tests), o.min))
    return 0 if share >= o.min else 1


if __name__ == "__main__":
    sys.exit(main())
