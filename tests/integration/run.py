#!/usr/bin/python3
"""run.py -- egret's integration tests, in the style of suricata-verify.

Each case is a directory tests/integration/<case>/ holding case.json:

  {
    "pcap": "pcaps/x.pcap",            repo-relative; or a list (one -r each);
                                       or {"from": "pcaps/x.pcap", "snaplen": 60}
                                       / {"from": ..., "cut": -10} (see derive_pcap)
    "args": ["--eve", "flow,stats"],   extra egret arguments
    "exit_code": 0,                    int, list of ints, or null (any; default 0)
    "checks": [
      {"filter": {"count": 1, "match": {"event_type": "flow", "flow.pkts_toserver__gt": 3}}},
      {"stats": {"decoder.event.ipv4.trunc_pkt": 1}}
    ],
    "expected": "expected.jsonl",      optional full-output comparison ...
    "ignore": ["timestamp", "stats.uptime"],  ... ignoring these dotted paths
    "sort": false                      compare as sorted sets of records
  }

The runner executes `egret -q -r PCAP ARGS...` from the repo root, captures
stdout, and checks: every non-empty line is a JSON object (always), the exit
code, every entry of "checks", and "expected" if given.  A sanitizer report
on stderr fails the case whatever the checks say.

Match keys are dotted paths with [i] indexing ("tls.client_alpns[0]"),
optionally suffixed with an operator: __gt __gte __lt __lte __len
__contains __startswith __endswith __find, and two local ones: __ip (IP
address equality in any textual form) and __type ("int", "str", "list",
"dict", "bool", "float", "number").  "has-key" / "not-has-key" take a path
or a list of paths.  A filter without "count" needs at least one match.
A "stats" check applies the same matching to the "stats" object of the last
record whose event_type is "stats".

  tests/integration/run.py [--egret PATH] [--root REPO] [--update] [-v] [CASE...]

--update rewrites expected.jsonl of the selected cases that have "expected".
Ends with "N passed, N failed"; exit status 1 if anything failed.
"""

import argparse
import difflib
import ipaddress
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

OPS = ("gt", "gte", "lt", "lte", "len", "contains", "startswith", "endswith", "find", "ip",
       "type")
MISSING = object()
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:")

# ------------------------------------------------------------------ paths


def split_op(key):
    """'flow.bytes_toserver__gt' -> ('flow.bytes_toserver', 'gt')."""
    head, sep, op = key.rpartition("__")
    if sep and op in OPS:
        return head, op
    return key, None


def path_get(obj, path):
    """Dotted path with [i] indexing; MISSING when absent."""
    for part in path.split("."):
        m = re.fullmatch(r"([^\[\]]*)((?:\[-?\d+\])*)", part)
        if not m:
            return MISSING
        name, idx = m.group(1), m.group(2)
        if name:
            if not isinstance(obj, dict) or name not in obj:
                return MISSING
            obj = obj[name]
        for i in re.findall(r"\[(-?\d+)\]", idx):
            if not isinstance(obj, list):
                return MISSING
            i = int(i)
            if i >= len(obj) or i < -len(obj):
                return MISSING
            obj = obj[i]
    return obj


def path_del(obj, path):
    """Removes a dotted path (no indexing) if present."""
    parts = path.split(".")
    for p in parts[:-1]:
        if not isinstance(obj, dict) or p not in obj:
            return
        obj = obj[p]
    if isinstance(obj, dict):
        obj.pop(parts[-1], None)


# ------------------------------------------------------------------ matching

TYPES = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
         "float": lambda v: isinstance(v, float),
         "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
         "str": lambda v: isinstance(v, str), "list": lambda v: isinstance(v, list),
         "dict": lambda v: isinstance(v, dict), "bool": lambda v: isinstance(v, bool)}


def equal(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def compare(actual, op, want):
    """True when 'actual' satisfies 'op want'.  Never raises."""
    try:
        if op is None:
            return equal(actual, want)
        if op == "gt":
            return actual > want
        if op == "gte":
            return actual >= want
        if op == "lt":
            return actual < want
        if op == "lte":
            return actual <= want
        if op == "len":
            return len(actual) == want
        if op == "contains":
            return want in actual
        if op == "startswith":
            return actual.startswith(want)
        if op == "endswith":
            return actual.endswith(want)
        if op == "find":
            return actual.find(want) >= 0
        if op == "ip":
            return ipaddress.ip_address(actual) == ipaddress.ip_address(want)
        if op == "type":
            return TYPES[want](actual)
    except (TypeError, ValueError, AttributeError, KeyError):
        return False
    return False


def as_list(v):
    return v if isinstance(v, list) else [v]


def mismatches(record, match):
    """List of (key, expected, actual) that fail; empty when 'record' matches."""
    bad = []
    for key, want in match.items():
        if key in ("has-key", "not-has-key"):
            for p in as_list(want):
                present = path_get(record, p) is not MISSING
                if present != (key == "has-key"):
                    bad.append((key, p, "present" if present else "absent"))
            continue
        path, op = split_op(key)
        actual = path_get(record, path)
        if actual is MISSING or not compare(actual, op, want):
            bad.append((key, want, "<absent>" if actual is MISSING else actual))
    return bad


def short(v, n=90):
    s = json.dumps(v, sort_keys=True) if not isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[:n - 3] + "..."


# ------------------------------------------------------------------ checks


def check_filter(spec, records):
    match = spec.get("match", {})
    hits = [r for r in records if not mismatches(r, match)]
    count = spec.get("count")
    if count is None:
        if hits:
            return None
        why = "no record matches (need at least 1)"
    elif len(hits) == count:
        return None
    else:
        why = "count %d, want %d" % (len(hits), count)
    lines = ["filter %s: %s" % (short(match, 200), why)]
    if count is not None and len(hits) > count:
        for r in hits[:3]:
            lines.append("    extra match: %s" % short(r, 200))
        return lines
    # The closest records: same event_type if given, fewest failing keys.
    pool = records
    if "event_type" in match:
        pool = [r for r in records if r.get("event_type") == match["event_type"]] or records
    scored = sorted(((len(mismatches(r, match)), i) for i, r in enumerate(pool)
                     if mismatches(r, match)))
    for _, i in scored[:3]:
        r = pool[i]
        lines.append("    closest record #%d (%s):" % (records.index(r) + 1,
                                                     r.get("event_type", "?")))
        for key, want, got in mismatches(r, match):
            lines.append("      %-40s want %s  got %s" % (key, short(want), short(got)))
    if not records:
        lines.append("    (no output records)")
    return lines


def check_stats(spec, records):
    stats = [r for r in records if r.get("event_type") == "stats"]
    if not stats:
        return ["stats %s: no stats record in output" % short(spec, 200)]
    bad = mismatches(stats[-1].get("stats", {}), spec)
    if not bad:
        return None
    lines = ["stats check failed (last stats record):"]
    for key, want, got in bad:
        lines.append("      %-40s want %s  got %s" % (key, short(want), short(got)))
    return lines


def normalise(records, ignore):
    out = []
    for r in records:
        r = json.loads(json.dumps(r))
        for p in ignore:
            path_del(r, p)
        out.append(json.dumps(r, sort_keys=True))
    return out


def flatten(obj, prefix=""):
    """{"a": {"b": [1]}} -> {"a.b[0]": 1}."""
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, "%s.%s" % (prefix, k) if prefix else k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(flatten(v, "%s[%d]" % (prefix, i)))
        if not obj:
            out[prefix] = []
    else:
        out[prefix] = obj
    return out


def check_expected(path, records, ignore, sort=False):
    try:
        with open(path) as f:
            want = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as e:
        return ["expected: cannot read %s: %s" % (path, e)]
    a, b = normalise(want, ignore), normalise(records, ignore)
    if sort:
        a, b = sorted(a), sorted(b)
    if a == b:
        return None
    lines = ["expected: output differs from %s (%d expected, %d actual records):" %
             (os.path.basename(path), len(a), len(b))]
    if len(a) == len(b):
        shown = 0
        for i, (x, y) in enumerate(zip(a, b)):
            if x == y:
                continue
            fx, fy = flatten(json.loads(x)), flatten(json.loads(y))
            lines.append("    record #%d:" % (i + 1))
            for k in sorted(set(fx) | set(fy)):
                vx, vy = fx.get(k, MISSING), fy.get(k, MISSING)
                if vx is MISSING or vy is MISSING or not equal(vx, vy):
                    lines.append("      %-40s want %s  got %s" % (
                        k, "<absent>" if vx is MISSING else short(vx),
                        "<absent>" if vy is MISSING else short(vy)))
            shown += 1
            if shown == 5:
                lines.append("    ... (first 5 differing records shown)")
                break
        return lines
    diff = list(difflib.unified_diff(a, b, "expected", "actual", n=0, lineterm=""))
    lines += ["    " + d[:200] for d in diff[:40]]
    if len(diff) > 40:
        lines.append("    ... %d more diff lines" % (len(diff) - 40))
    return lines


# ------------------------------------------------------------------ pcaps


def derive_pcap(spec, root, tmpdir, n):
    """Builds a damaged variant of a committed capture at run time:
         {"from": P, "snaplen": N}  every record cut to N captured bytes
                                    (original length kept; header snaplen N)
         {"from": P, "cut": K}      the file truncated to K bytes (K < 0:
                                    drop the last -K bytes), i.e. a file
                                    that ends inside a record
       Classic pcap only (either byte order, us or ns)."""
    with open(os.path.join(root, spec["from"]), "rb") as f:
        data = f.read()
    if "snaplen" in spec:
        snap = int(spec["snaplen"])
        magic = data[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            e = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            e = ">"
        else:
            raise ValueError("%s: not a classic pcap" % spec["from"])
        hdr = bytearray(data[:24])
        struct.pack_into(e + "I", hdr, 16, snap)
        out = [bytes(hdr)]
        off = 24
        while off + 16 <= len(data):
            sec, frac, incl, orig = struct.unpack_from(e + "IIII", data, off)
            body = data[off + 16:off + 16 + incl][:snap]
            out.append(struct.pack(e + "IIII", sec, frac, len(body), orig) + body)
            off += 16 + incl
        data = b"".join(out)
    if "cut" in spec:
        data = data[:int(spec["cut"])]
    path = os.path.join(tmpdir, "derived-%d.pcap" % n)
    with open(path, "wb") as f:
        f.write(data)
    return path


def pcap_args(case, root, tmpdir):
    pcaps = case.get("pcap")
    if pcaps is None:
        return []
    args = []
    for n, p in enumerate(as_list(pcaps)):
        path = derive_pcap(p, root, tmpdir, n) if isinstance(p, dict) else os.path.join(root, p)
        args += ["-r", path]
    return args


# ------------------------------------------------------------------ runner


def run_case(name, casedir, opts):
    with open(os.path.join(casedir, "case.json")) as f:
        case = json.load(f)
    with tempfile.TemporaryDirectory(prefix="egret-it-") as tmp:
        cmd = [opts.egret, "-q"] + pcap_args(case, opts.root, tmp) + case.get("args", [])
        try:
            proc = subprocess.run(cmd, cwd=opts.root, capture_output=True, timeout=case.get(
                "timeout", 120))
        except (OSError, subprocess.TimeoutExpired) as e:
            return ["cannot run %s: %s" % (" ".join(cmd), e)], []
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    fails = []
    if opts.verbose:
        print("  $ %s" % " ".join(cmd))
    records = []
    for i, line in enumerate(out.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as e:
            fails.append(["lines_valid_json: line %d is not JSON (%s): %s" %
                          (i, e, short(line, 120))])
            continue
        if not isinstance(rec, dict):
            fails.append(["lines_valid_json: line %d is not a JSON object" % i])
            continue
        records.append(rec)
    if proc.returncode < 0:
        fails.append(["killed by signal %d" % -proc.returncode])
    else:
        want = case.get("exit_code", 0)
        if want is not None and proc.returncode not in as_list(want):
            fails.append(["exit code %d, want %s" % (proc.returncode, want)])
    if SANITIZER_RE.search(err):
        fails.append(["sanitizer report on stderr"])
    for chk in case.get("checks", []):
        if "filter" in chk:
            r = check_filter(chk["filter"], records)
        elif "stats" in chk:
            r = check_stats(chk["stats"], records)
        else:
            r = ["unknown check %s" % short(chk)]
        if r:
            fails.append(r)
    if "expected" in case:
        exp = os.path.join(casedir, case["expected"])
        if opts.update:
            with open(exp, "w") as f:
                for line in out.splitlines():
                    if line.strip():
                        f.write(line + "\n")
            print("  updated %s (%d records)" % (os.path.relpath(exp, opts.root), len(records)))
        else:
            r = check_expected(exp, records, case.get("ignore", []), case.get("sort", False))
            if r:
                fails.append(r)
    if fails and err.strip():
        tail = err.strip().splitlines()[-8:]
        fails.append(["stderr (last %d lines):" % len(tail)] + ["    " + t[:200] for t in tail])
    return fails, records


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="egret integration tests")
    ap.add_argument("--egret", help="egret binary (default ROOT/build/egret)")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(here)),
                    help="repository root (default: from this script's location)")
    ap.add_argument("--update", action="store_true",
                    help="rewrite expected.jsonl of the selected cases")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("cases", nargs="*")
    opts = ap.parse_args()
    opts.root = os.path.abspath(opts.root)
    opts.egret = os.path.abspath(opts.egret or os.path.join(opts.root, "build", "egret"))
    casesdir = os.path.join(opts.root, "tests", "integration")
    names = opts.cases or sorted(
        d for d in os.listdir(casesdir) if os.path.isfile(os.path.join(casesdir, d, "case.json")))
    passed = failed = 0
    for name in names:
        casedir = os.path.join(casesdir, name)
        if not os.path.isfile(os.path.join(casedir, "case.json")):
            print("FAIL %s: no such case" % name)
            failed += 1
            continue
        try:
            fails, _ = run_case(name, casedir, opts)
        except (OSError, ValueError, KeyError) as e:
            fails = [["case error: %s" % e]]
        if fails:
            failed += 1
            print("FAIL %s" % name)
            for f in fails:
                print("  - " + f[0])
                for line in f[1:]:
                    print("  " + line)
        else:
            passed += 1
            print("PASS %s" % name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
