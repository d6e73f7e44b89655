#!/usr/bin/python3
"""ndpi_agreement.py -- does egret classify flows the way ndpiReader 4.2 does?

For every capture NAME in a directory that has NAME.ndpi42.out (the output of
Debian 12's `ndpiReader -q -t -i NAME -w NAME.ndpi42.out -v 2`), run
`egret -q --eve flow -r NAME`, match egret's EVE flow records to ndpiReader's
flow lines by unordered 5-tuple (protocol + both endpoints; VLAN breaks ties),
and compare the nDPI protocol string ("TLS.Google") and the hostname/SNI.

A flow only one side has counts as a disagreement.  Exit status 1 when the
overall agreement (protocol and hostname both agree) is below --min percent.

    /usr/bin/python3 tests/ndpi_agreement.py --egret build/egret [PCAPDIR]
    /usr/bin/python3 tests/ndpi_agreement.py --parse-only [PCAPDIR]

--parse-only checks the .ndpi42.out parser alone (no egret needed): parsed
flow count per file against an independent count of flow lines.
"""

import argparse
import ipaddress
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

OUT_SUFFIX = ".ndpi42.out"

# "\t1\tUDP 82.178.113.245:47255 <-> 82.178.158.181:53 [VLAN: 785][proto: 5.142/DNS.WhatsApp]..."
# IPv6 endpoints are bracketed: "[2a00:d40:1:3::d4c]:45931".  "->" marks a
# unidirectional flow.  The "JA3 Host Stats" table also has "\tN\t" rows but
# no endpoints pair, so it does not match.
FLOW_RE = re.compile(
    r"^\t(?P<id>\d+)\t(?P<l4>\S+) "
    r"(?P<src>\[[0-9A-Fa-f:.]+\]|[0-9.]+):(?P<sport>\d+) "
    r"(?P<dir><->|->) "
    r"(?P<dst>\[[0-9A-Fa-f:.]+\]|[0-9.]+):(?P<dport>\d+) "
    r"(?P<rest>.*)$"
)
PROTO_RE = re.compile(r"\[proto: (?:(?P<tunnel>[A-Za-z0-9_]+):)?(?P<ids>[\d.]+)/(?P<name>[^\]]+)\]")
VLAN_RE = re.compile(r"\[VLAN: (\d+)\]")
HOST_RE = re.compile(r"\[Hostname/SNI: ([^\]]*)\]")
CAT_RE = re.compile(r"\[cat: ([^/\]]+)/(\d+)\]")
CONF_RE = re.compile(r"\[Confidence: ([^\]]+)\]")
RISK_RE = re.compile(r"\[Risk: ((?:\*\* .*? \*\*)+)\]")

IPPROTO_NAMES = {1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP", 58: "ICMPV6", 132: "SCTP"}


def patch_ipv6(s):
    """ndpiReader's ndpi_patchIPv6Address(): ':0:' -> '::' (applied to both sides)."""
    out, i = [], 0
    while i < len(s):
        if s[i] == ":" and s[i + 1 : i + 3] == "0:":
            out.append("::")
            i += 3
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def norm_addr(a):
    a = a.strip()
    if a.startswith("[") and a.endswith("]"):
        a = a[1:-1]
    try:
        ip = ipaddress.ip_address(a)
    except ValueError:
        return a.lower()  # already patched by ndpiReader into a non-address
    if ip.version == 6:
        return patch_ipv6(ip.compressed)
    return str(ip)


def norm_l4(p):
    if p is None:
        return ""
    if isinstance(p, int) or (isinstance(p, str) and p.isdigit()):
        return IPPROTO_NAMES.get(int(p), str(p))
    p = str(p).upper()
    return "ICMPV6" if p in ("IPV6-ICMP", "ICMP6") else p


def flow_key(l4, a, ap, b, bp):
    ends = sorted([(norm_addr(a), int(ap or 0)), (norm_addr(b), int(bp or 0))])
    return (norm_l4(l4), ends[0], ends[1])


def fmt_key(k):
    def ep(e):
        return ("[%s]" % e[0] if ":" in e[0] else e[0]) + ":%d" % e[1]

    return "%s %s <-> %s" % (k[0], ep(k[1]), ep(k[2]))


# ==== ndpiReader output ====


def parse_ndpi_out(path):
    """Returns a list of flow dicts parsed from one .ndpi42.out file."""
    flows = []
    with open(path, encoding="utf-8", errors="replace") as fp:
        for line in fp:
            m = FLOW_RE.match(line.rstrip("\n"))
            if not m:
                continue
            rest = m.group("rest")
            pm = PROTO_RE.search(rest)
            if not pm:
                continue
            vm, hm, cm = VLAN_RE.search(rest), HOST_RE.search(rest), CAT_RE.search(rest)
            conf, risk = CONF_RE.search(rest), RISK_RE.search(rest)
            flows.append(
                {
                    "key": flow_key(m.group("l4"), m.group("src"), m.group("sport"),
                                    m.group("dst"), m.group("dport")),
                    "vlan": int(vm.group(1)) if vm else None,
                    "proto": pm.group("name"),
                    "proto_ids": pm.group("ids"),
                    "tunnel": pm.group("tunnel"),
                    "hostname": hm.group(1) if hm else "",
                    "category": cm.group(1) if cm else "",
                    "confidence": conf.group(1) if conf else "",
                    "risks": re.findall(r"\*\* (.*?) \*\*", risk.group(1)) if risk else [],
                    "bidirectional": m.group("dir") == "<->",
                    "line": line.rstrip("\n"),
                }
            )
    return flows


def count_flow_lines(path):
    """Independent count: lines of the per-flow listing (they all carry '[proto: ')."""
    n = 0
    with open(path, encoding="utf-8", errors="replace") as fp:
        for line in fp:
            if re.match(r"^\t\d+\t", line) and "[proto: " in line:
                n += 1
    return n


# ==== egret output ====


def parse_eve(text):
    """Returns flow dicts from egret's EVE JSON lines (event_type 'flow')."""
    flows = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("event_type", "flow") != "flow":
            continue
        if "src_ip" not in ev or "dest_ip" not in ev:
            continue
        nd = ev.get("ndpi") or {}
        vlan = ev.get("vlan")
        if isinstance(vlan, int):
            vlan = [vlan]
        flows.append(
            {
                "key": flow_key(ev.get("proto"), ev["src_ip"], ev.get("src_port", 0),
                                ev["dest_ip"], ev.get("dest_port", 0)),
                "vlan": vlan or [],
                "proto": nd.get("proto") or "Unknown",
                "hostname": nd.get("hostname") or "",
                "category": nd.get("category") or "",
            }
        )
    return flows


def run_egret(egret, capture, timeout):
    cmd = [egret, "-q", "--eve", "flow", "-r", capture]
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "%s: %s" % (" ".join(cmd), e)
    if r.returncode != 0:
        err = r.stderr.decode(errors="replace").strip().splitlines()
        return None, "%s: exit %d%s" % (" ".join(cmd), r.returncode,
                                         (": " + err[-1]) if err else "")
    return parse_eve(r.stdout.decode(errors="replace")), None


# ==== matching ====


def match(expected, got):
    """Pairs flows with the same key; VLAN equality first, then file order.
    Returns (pairs, only_expected, only_got)."""
    by_key = defaultdict(lambda: ([], []))
    for f in expected:
        by_key[f["key"]][0].append(f)
    for g in got:
        by_key[g["key"]][1].append(g)
    pairs, only_e, only_g = [], [], []
    for es, gs in by_key.values():
        gs = list(gs)
        rest_e = []
        for e in es:
            hit = next((g for g in gs if e["vlan"] is not None and e["vlan"] in g["vlan"]), None)
            if hit is not None:
                gs.remove(hit)
                pairs.append((e, hit))
            else:
                rest_e.append(e)
        for e in rest_e:
            if gs:
                pairs.append((e, gs.pop(0)))
            else:
                only_e.append(e)
        only_g.extend(gs)
    return pairs, only_e, only_g


class Tally:
    def __init__(self):
        self.total = self.matched = self.proto_ok = self.host_ok = self.both_ok = 0

    def add(self, other):
        for k in vars(self):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    @staticmethod
    def pct(n, d):
        return 100.0 * n / d if d else 100.0

    def line(self):
        return ("flows %d matched %d  proto %d/%d (%.1f%%)  hostname %d/%d (%.1f%%)  "
                "both %.2f%%" % (self.total, self.matched, self.proto_ok, self.total,
                                 self.pct(self.proto_ok, self.total), self.host_ok, self.total,
                                 self.pct(self.host_ok, self.total),
                                 self.pct(self.both_ok, self.total)))


def compare(expected, got, show, limit):
    t = Tally()
    pairs, only_e, only_g = match(expected, got)
    t.total = len(pairs) + len(only_e) + len(only_g)
    t.matched = len(pairs)
    shown = 0
    for e, g in pairs:
        p_ok = e["proto"] == g["proto"]
        h_ok = e["hostname"] == g["hostname"]
        t.proto_ok += p_ok
        t.host_ok += h_ok
        t.both_ok += p_ok and h_ok
        if not (p_ok and h_ok) and show and shown < limit:
            shown += 1
            print("    DIFF %s  expected %s host=%r  got %s host=%r" % (
                fmt_key(e["key"]), e["proto"], e["hostname"], g["proto"], g["hostname"]))
    for e in only_e:
        if show and shown < limit:
            shown += 1
            print("    MISSING %s  expected %s host=%r  (egret has no such flow)" % (
                fmt_key(e["key"]), e["proto"], e["hostname"]))
    for g in only_g:
        if show and shown < limit:
            shown += 1
            print("    EXTRA %s  got %s host=%r  (ndpiReader has no such flow)" % (
                fmt_key(g["key"]), g["proto"], g["hostname"]))
    return t


def find_outs(pcap_dir):
    outs = sorted(f for f in os.listdir(pcap_dir) if f.endswith(OUT_SUFFIX))
    return [(os.path.join(pcap_dir, f), os.path.join(pcap_dir, f[: -len(OUT_SUFFIX)]))
            for f in outs]


def default_pcap_dir():
    """$EGRET_SHARED_PCAPS, else ../shared/pcaps next to the repository
    (where tests/tests.cmake looks for it too)."""
    env = os.environ.get("EGRET_SHARED_PCAPS")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "shared", "pcaps"))


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pcap_dir", nargs="?", default=None,
                    help="directory of captures with *.ndpi42.out (default $EGRET_SHARED_PCAPS, "
                         "else ../shared/pcaps from the repository root)")
    ap.add_argument("--egret", default=os.path.join(here, "..", "build", "egret"),
                    help="egret binary (default build/egret)")
    ap.add_argument("--min", type=float, default=99.0,
                    help="minimum overall agreement percentage (default 99.0)")
    ap.add_argument("--parse-only", action="store_true",
                    help="only check the .ndpi42.out parser; egret is not run")
    ap.add_argument("--only", action="append", default=[],
                    help="restrict to captures whose name contains this (repeatable)")
    ap.add_argument("--max-diffs", type=int, default=40,
                    help="disagreements printed per capture (default 40)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per egret run")
    args = ap.parse_args(argv)

    pcap_dir = args.pcap_dir or default_pcap_dir()
    if not os.path.isdir(pcap_dir):
        print("ndpi_agreement: no capture directory %s" % pcap_dir, file=sys.stderr)
        return 2
    outs = find_outs(pcap_dir)
    if args.only:
        outs = [o for o in outs if any(s in os.path.basename(o[1]) for s in args.only)]
    if not outs:
        print("ndpi_agreement: no *%s files in %s" % (OUT_SUFFIX, pcap_dir), file=sys.stderr)
        return 2

    if args.parse_only:
        bad = total = 0
        for out, _cap in outs:
            flows = parse_ndpi_out(out)
            want = count_flow_lines(out)
            total += len(flows)
            ok = len(flows) == want
            bad += not ok
            print("%-40s parsed %4d flow lines %4d %s" % (os.path.basename(out), len(flows),
                                                         want, "ok" if ok else "MISMATCH"))
        print("total parsed flows: %d, files with mismatches: %d" % (total, bad))
        return 1 if bad else 0

    egret = os.path.abspath(args.egret)
    if not os.access(egret, os.X_OK):
        print("ndpi_agreement: egret binary %s not found" % egret, file=sys.stderr)
        return 2

    overall = Tally()
    errors = 0
    for out, cap in outs:
        name = os.path.basename(cap)
        expected = parse_ndpi_out(out)
        if not os.path.exists(cap):
            print("%s: capture missing, skipped" % name)
            continue
        got, err = run_egret(egret, cap, args.timeout)
        if err:
            errors += 1
            print("%s: ERROR %s" % (name, err))
            got = []
        t = compare(expected, got, True, args.max_diffs)
        overall.add(t)
        print("%-28s %s" % (name, t.line()))

    pct = Tally.pct(overall.both_ok, overall.total)
    print("OVERALL %s" % overall.line())
    print("agreement %.2f%% (min %.2f%%)%s" % (pct, args.min,
                                               ", %d egret run(s) failed" % errors if errors else ""))
    return 0 if pct >= args.min and not errors else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
