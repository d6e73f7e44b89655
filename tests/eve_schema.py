#!/usr/bin/python3
"""eve_schema.py -- every EVE record egret writes for the repository's captures
must validate against Suricata's own EVE schema, extended in memory with
egret's additions (docs/eve-schema.json).

Suricata's schema (../shared/suricata/eve-schema.json, Suricata's etc/schema.json)
is read from where the shared captures live; it is never copied into the
repository.  When it is missing the test says so loudly and exits 77 (ctest's
SKIP_RETURN_CODE).

Combining: egret's schema has the same shape as Suricata's ("properties",
"$defs").  It may only ADD: a property that Suricata does not define, or a
$defs entry.  Where it names a property Suricata already defines, it may
only descend into that property's own "properties" to add members there;
any other keyword on such a property (a different type, additionalProperties
true, a looser enum...) is rejected before anything is validated, so nothing
of Suricata's is relaxed.

What runs: every capture under pcaps/ (with the arguments its .expect.json
names), every case of tests/integration (with its own arguments, --eve
widened to every record type), and one capture with --workers 2 (the merged
stats record).  Each with all record types and a short stats interval.

  tests/eve_schema.py --egret build/egret [--root REPO] [--shared DIR] [-v]
"""

import argparse
import copy
import hashlib
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

try:
    import jsonschema
except ImportError:
    print("eve_schema: SKIP: python3-jsonschema is not installed (scripts/bootstrap installs it)",
          file=sys.stderr)
    sys.exit(77)

ALL_TYPES = "alert,flow,stats,dns,tls,http"
SKIP = 77


class Relaxed(Exception):
    pass


def merge(base, add, path):
    """Adds egret's members to Suricata's node `base` (in place)."""
    for key, val in add.items():
        here = "%s.%s" % (path, key) if path else key
        if key == "properties":
            props = base.setdefault("properties", {})
            if base.get("type") not in (None, "object"):
                raise Relaxed("%s: properties added to a non-object" % here)
            for name, sub in val.items():
                if name in props:
                    merge(props[name], sub, "%s.%s" % (path, name) if path else name)
                else:
                    props[name] = copy.deepcopy(sub)
        elif key == "$defs":
            defs = base.setdefault("$defs", {})
            for name, sub in val.items():
                if name in defs:
                    raise Relaxed("$defs.%s: already defined by Suricata" % name)
                defs[name] = copy.deepcopy(sub)
        elif key in ("description", "$comment", "$schema", "title"):
            continue
        elif key in base and base[key] == val:
            continue
        else:
            raise Relaxed("%s: egret's schema would change Suricata's %r" % (here, key))


def combined_schema(suricata_path, egret_path):
    with open(suricata_path) as f:
        base = json.load(f)
    with open(egret_path) as f:
        add = json.load(f)
    merge(base, add, "")
    return base


def runs(root):
    """(label, argv-without-egret) for every capture and case."""
    out = []
    for p in sorted(glob.glob(os.path.join(root, "pcaps", "**", "*.pcap*"), recursive=True)):
        stem = p.rsplit(".", 1)[0]
        args = []
        if os.path.exists(stem + ".expect.json"):
            with open(stem + ".expect.json") as f:
                args = json.load(f).get("egret_args", [])
        out.append((os.path.relpath(p, root), ["-r", p] + args))
    # the sensor's name in Suricata's host field (--sensor-name, as with --eve-redis)
    if out:
        out.append((out[0][0] + " --sensor-name", out[0][1] + ["--sensor-name", "sensor-1"]))
    sys.path.insert(0, os.path.join(root, "tests", "integration"))
    import run as it  # the integration runner: pcap_args, derive_pcap
    out_cases = []
    for case_json in sorted(glob.glob(os.path.join(root, "tests", "integration", "*",
                                                   "case.json"))):
        with open(case_json) as f:
            case = json.load(f)
        args = list(case.get("args", []))
        if "--eve" in args:
            i = args.index("--eve")
            del args[i:i + 2]
        out_cases.append((os.path.basename(os.path.dirname(case_json)), case, args))
    return out, out_cases, it


# app_proto values Suricata writes (its app-layer parser names, "failed")
SURICATA_APP_PROTOS = {
    "failed", "http", "http1", "http2", "tls", "quic", "dns", "doh2", "ssh", "smtp", "imap", "pop3",
    "ftp", "ftp-data", "smb", "dcerpc", "dhcp", "ntp", "nfs", "snmp", "sip", "krb5", "ldap", "rdp",
    "rfb", "tftp", "mqtt", "modbus", "dnp3", "enip", "telnet", "pgsql", "mdns", "llmnr", "websocket",
    "ike", "bittorrent-dht"}
TLS_VERSIONS = {"SSLv2", "SSLv3", "TLSv1", "TLS 1.1", "TLS 1.2", "TLS 1.3", "UNDETERMINED"}
FLOW_TYPES = {"flow", "alert", "dns", "tls", "quic", "http"}


def conventions(rec, community_id=True):
    """What Suricata's schema cannot say but a Suricata pipeline relies on."""
    bad = []
    t = rec.get("event_type")
    if "app_proto" in rec and rec["app_proto"] not in SURICATA_APP_PROTOS:
        bad.append("app_proto %r is not a Suricata protocol name" % rec["app_proto"])
    if t == "alert" and rec.get("direction") not in ("to_server", "to_client"):
        bad.append("alert direction %r" % rec.get("direction"))
    if t != "alert" and "direction" in rec:
        bad.append("direction on a %s record" % t)
    for k in ("tls", "quic"):
        v = rec.get(k, {}).get("version") if isinstance(rec.get(k), dict) else None
        if k == "tls" and v is not None and v not in TLS_VERSIONS:
            bad.append("tls.version %r is not as Suricata writes it" % v)
    ja3 = rec.get("tls", {}).get("ja3", {}) if t == "tls" else {}
    if "string" in ja3 and hashlib.md5(ja3["string"].encode()).hexdigest() != ja3.get("hash"):
        bad.append("tls.ja3.hash is not the MD5 of tls.ja3.string")
    if t == "dns" and rec.get("dns", {}).get("version") != 3:
        bad.append("dns record not in version 3")
    if t in FLOW_TYPES:
        # every run here replays files: pcap_filename names the one being read
        want = ["ip_v", "egret_direction", "flow_id", "pcap_filename"] + (
            ["community_id"] if community_id else [])
        for k in want:
            if k not in rec:
                bad.append("%s record without %s" % (t, k))
    if t == "stats" and "alerts" in rec.get("stats", {}).get("detect", {}):
        bad.append("stats.detect.alerts (Suricata: detect.alert)")
    return bad


def validate(validator, label, text, failures, verbose):
    n = 0
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        rec = json.loads(line)
        n += 1
        errs = sorted(validator.iter_errors(rec), key=lambda e: list(e.absolute_path))
        for e in errs[:20]:
            where = ".".join(str(x) for x in e.absolute_path) or "(record)"
            failures.append("%s line %d (%s): %s: %s" %
                            (label, i, rec.get("event_type"), where, e.message[:300]))
        for b in conventions(rec):
            failures.append("%s line %d (%s): %s" % (label, i, rec.get("event_type"), b))
    if verbose:
        print("  %s: %d records" % (label, n))
    return n


def merged_stats(egret, root):
    """--workers 2: one stats record per interval, the counters merged (the
    last record's totals equal one engine's), each worker's inside it."""
    bad = []
    pcap = os.path.join(root, "pcaps", "testnet-drip.pcap")
    runs = {}
    for n in (1, 2):
        p = subprocess.run([egret, "-q", "-r", pcap, "--workers", str(n), "--eve", "stats",
                            "--stats-interval", "1"], capture_output=True, timeout=120)
        runs[n] = [json.loads(x) for x in p.stdout.decode().splitlines() if x.strip()]
    one, two = runs[1], runs[2]
    if not one or not two:  # else every comparison below compares nothing
        return ["workers-2: no stats records (one engine %d, two workers %d)" % (len(one), len(two))]
    stamps = [r["timestamp"] for r in two]
    if len(stamps) != len(set(stamps)):
        bad.append("workers-2: several stats records for one interval")
    if len(two) != len(one):
        bad.append("workers-2: %d stats records, one engine writes %d" % (len(two), len(one)))
    for r in two:
        th = r["stats"].get("threads", {})
        if sorted(th) != ["W#01", "W#02"]:
            bad.append("workers-2: stats.threads is %s" % sorted(th))
            break
        pk = sum(t["capture"]["packets"] for t in th.values())
        if pk != r["stats"]["capture"]["packets"]:
            bad.append("workers-2: merged capture.packets %d, the threads' sum %d" %
                       (r["stats"]["capture"]["packets"], pk))
            break
    for path in (("capture", "packets"), ("capture", "bytes"), ("flow", "total"),
                 ("decoder", "pkts")):
        a, b = one[-1]["stats"], two[-1]["stats"]
        for k in path:
            a, b = a[k], b[k]
        if a != b:
            bad.append("workers-2: last stats %s %d, one engine %d" % (".".join(path), b, a))
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--egret", required=True)
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    ap.add_argument("--shared", default=None, help="the shared directory (default ROOT/../shared)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--limit", type=int, default=200, help="problems printed")
    o = ap.parse_args()
    root = os.path.abspath(o.root)
    shared = o.shared or os.path.join(root, "..", "shared")
    sur = os.path.join(shared, "suricata", "eve-schema.json")
    if not os.path.exists(sur):
        print("eve_schema: SKIP: %s not found: Suricata's EVE schema is not in this checkout, "
              "so egret's records were NOT validated" % sur, file=sys.stderr)
        return SKIP
    # the combiner itself: a change to one of Suricata's properties is refused
    for bad in ({"properties": {"proto": {"type": "integer"}}},
                {"properties": {"flow": {"additionalProperties": True}}},
                {"properties": {"stats": {"properties": {"decoder": {"properties": {
                    "ipv4": {"type": "object"}}}}}}}):
        try:
            merge(json.load(open(sur)), bad, "")
            print("FAIL the schema combiner accepted a relaxation: %s" % json.dumps(bad))
            return 1
        except Relaxed:
            pass
    try:
        schema = combined_schema(sur, os.path.join(root, "docs", "eve-schema.json"))
    except Relaxed as e:
        print("FAIL docs/eve-schema.json relaxes Suricata's schema: %s" % e)
        return 1
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    failures = []
    records = 0
    types = {}
    common = ["-q", "--eve", ALL_TYPES, "--stats-interval", "1"]
    captures, cases, it = runs(root)
    with tempfile.TemporaryDirectory(prefix="egret-schema-") as tmp:
        jobs = [(label, argv) for label, argv in captures]
        for name, case, args in cases:
            jobs.append(("integration/" + name, it.pcap_args(case, root, tmp) + args))
        # merged stats with several workers
        jobs.append(("workers-2", ["-r", os.path.join(root, "pcaps", "testnet-browsing.pcap"),
                                   "--workers", "2"]))
        for label, argv in jobs:
            cmd = [o.egret] + common + argv
            p = subprocess.run(cmd, cwd=root, capture_output=True, timeout=300)
            if p.returncode < 0:
                failures.append("%s: killed by signal %d" % (label, -p.returncode))
                continue
            if re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:",
                         p.stderr.decode("utf-8", "replace")):
                failures.append("%s: sanitizer report on stderr" % label)
            text = p.stdout.decode("utf-8", "replace")
            before = len(failures)
            records += validate(validator, label, text, failures, o.verbose)
            for line in text.splitlines():
                if line.strip():
                    t = json.loads(line).get("event_type")
                    types[t] = types.get(t, 0) + 1
            if len(failures) > before and o.verbose:
                print("  $ " + " ".join(cmd))
    failures += merged_stats(o.egret, root)
    for t in ("alert", "flow", "stats", "dns", "tls", "http", "quic"):
        if not types.get(t):
            failures.append("no %s record was produced: that type went unvalidated" % t)
    for f in failures[:o.limit]:
        print("FAIL " + f)
    if len(failures) > o.limit:
        print("... %d more" % (len(failures) - o.limit))
    print("eve_schema: %d records validated (%s), %d runs, %d problems" %
          (records, ", ".join("%s %d" % kv for kv in sorted(types.items())), len(jobs),
           len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
