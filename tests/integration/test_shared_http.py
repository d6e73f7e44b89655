#!/usr/bin/python3
"""test_shared_http.py -- clear-text HTTP inspection on the nDPI project's captures.

Runs `egret -q -r FILE --eve http,alert,flow,stats` on three real captures from
../shared/pcaps (not copied into this repository; ctest registers this only
when the directory exists):

  ipp.pcap           CUPS printing: IPP over HTTP POST /ipp/, one ~227 KB upload
  http_auth.pcap     one GET answered 401 (Basic auth), 17 KB response
  WebattackRCE.pcap  Nikto scan: 797 GET requests with attack payloads, no response

Checks: exit 0, no stderr sanitizer report, every line valid JSON, no alert at
severity <= 2 (none of these is AI traffic), http records present and shaped
as the capture says, request counts against tshark (`-Y http.request`; egret
must find >= 99 %), and stats.http / stats.reassembly consistent with the
records.  Prints the numbers, then "N passed, N failed"; exit 1 on a failure.

  tests/integration/test_shared_http.py --egret build/egret [PCAP_DIR]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:")


class Run:
    """One egret run on one capture, parsed."""

    def __init__(self, egret, pcap):
        p = subprocess.run([egret, "-q", "-r", pcap, "--eve", "http,alert,flow,stats"],
                           capture_output=True, text=True, timeout=300)
        self.rc, self.stderr = p.returncode, p.stderr
        self.bad_lines, self.recs = [], []
        for n, line in enumerate(p.stdout.splitlines(), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                if not isinstance(r, dict):
                    raise ValueError("not an object")
                self.recs.append(r)
            except ValueError as ex:
                self.bad_lines.append((n, str(ex)))
        self.http = [r for r in self.recs if r.get("event_type") == "http"]
        self.alerts = [r for r in self.recs if r.get("event_type") == "alert"]
        self.flows = [r for r in self.recs if r.get("event_type") == "flow"]
        stats = [r for r in self.recs if r.get("event_type") == "stats"]
        self.stats = stats[-1]["stats"] if stats else {}


def tshark_requests(pcap):
    """(number of HTTP requests, their Content-Length values) per tshark, or None."""
    if not shutil.which("tshark"):
        return None
    p = subprocess.run(["tshark", "-r", pcap, "-Y", "http.request", "-T", "fields",
                        "-e", "http.content_length_header"],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return None
    lines = p.stdout.splitlines()
    lens = [int(v) for v in lines if v.strip().isdigit()]
    return len(lines), lens


def tshark_count(pcap, display_filter):
    """Packets matching display_filter per tshark, or None."""
    if not shutil.which("tshark"):
        return None
    p = subprocess.run(["tshark", "-r", pcap, "-Y", display_filter, "-T", "fields",
                        "-e", "frame.number"], capture_output=True, text=True, timeout=300)
    return len(p.stdout.splitlines()) if p.returncode == 0 else None


class Suite:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""))


def common(s, tag, run):
    """Checks every capture gets."""
    s.check(f"{tag}: exit 0", run.rc == 0, f"exit {run.rc}")
    s.check(f"{tag}: no sanitizer report", not SANITIZER_RE.search(run.stderr),
            run.stderr[-300:])
    s.check(f"{tag}: every line is a JSON object", not run.bad_lines and run.recs,
            str(run.bad_lines[:3]))
    high = [(a["alert"]["signature_id"], a["alert"]["severity"]) for a in run.alerts
            if a.get("alert", {}).get("severity", 3) <= 2]
    s.check(f"{tag}: no alert at severity <= 2", not high, str(high[:5]))
    s.check(f"{tag}: http records present", len(run.http) > 0)
    s.check(f"{tag}: http records carry the flow header and app_proto http",
            all(r.get("app_proto") == "http" and r.get("proto") == "TCP" and "flow_id" in r
                and isinstance(r.get("http"), dict) for r in run.http))
    flow_ids = {r["flow_id"] for r in run.flows}
    s.check(f"{tag}: every http record's flow_id has a flow record",
            all(r["flow_id"] in flow_ids for r in run.http))
    # stats.http consistent with the records
    h, ra = run.stats.get("http"), run.stats.get("reassembly")
    s.check(f"{tag}: stats.http and stats.reassembly present", isinstance(h, dict)
            and isinstance(ra, dict), str(list(run.stats.keys())))
    if not isinstance(h, dict) or not isinstance(ra, dict):
        return
    with_status = sum(1 for r in run.http if "status" in r["http"])
    with_content = sum(1 for r in run.http if "content" in r)
    http_flows = len({r["flow_id"] for r in run.http})
    print(f"  {tag}: records http={len(run.http)} (with status {with_status}, with content "
          f"{with_content}, flows {http_flows}); stats.http={json.dumps(h)}")
    s.check(f"{tag}: stats.http.requests == http records", h.get("requests") == len(run.http),
            f"{h.get('requests')} vs {len(run.http)}")
    s.check(f"{tag}: stats.http.responses == records with a status",
            h.get("responses") == with_status, f"{h.get('responses')} vs {with_status}")
    s.check(f"{tag}: stats.http.bodies_inspected == records with content",
            h.get("bodies_inspected") == with_content,
            f"{h.get('bodies_inspected')} vs {with_content}")
    s.check(f"{tag}: stats.http.flows >= flows with http records, <= flow records",
            http_flows <= h.get("flows", -1) <= len(run.flows),
            f"{h.get('flows')} vs {http_flows}..{len(run.flows)}")
    s.check(f"{tag}: reassembly released, no memcap drops",
            ra.get("memuse") == 0 and ra.get("memcap_drops") == 0, json.dumps(ra))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--egret", default="build/egret")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("pcaps", nargs="?",
                    default=os.path.join(here, "..", "..", "..", "shared", "pcaps"))
    a = ap.parse_args()
    s = Suite()
    path = lambda n: os.path.join(a.pcaps, n)  # noqa: E731
    for n in ("ipp.pcap", "http_auth.pcap", "WebattackRCE.pcap"):
        if not os.path.exists(path(n)):
            print(f"FAIL {n}: not found in {a.pcaps}")
            s.failed += 1
    if s.failed:
        print(f"{s.passed} passed, {s.failed} failed")
        return 1

    # ---- ipp.pcap: IPP print jobs over HTTP POST
    run = Run(a.egret, path("ipp.pcap"))
    common(s, "ipp", run)
    posts = [r for r in run.http if r["http"].get("http_method") == "POST"]
    s.check("ipp: 2+ POST /ipp/ records", len(posts) >= 2
            and all(r["http"].get("url") == "/ipp/" for r in posts), str(len(posts)))
    ts = tshark_requests(path("ipp.pcap"))
    want = max(ts[1]) if ts and ts[1] else 227309
    big = [r for r in posts if r["http"].get("request_body_length") == want]
    s.check(f"ipp: the {want}-byte upload is one record with request_body_length == "
            "request_content_length", len(big) == 1
            and big[0]["http"].get("request_content_length") == want
            and big[0].get("content", {}).get("bytes") == want,
            str([r["http"].get("request_body_length") for r in posts]))
    s.check("ipp: binary IPP is no message content", all(
        r.get("content", {}).get("messages", 0) == 0 and r.get("content", {}).get("shape")
        in (None, "unknown", "binary") for r in run.http),
        str([r.get("content", {}).get("shape") for r in run.http]))
    s.check("ipp: every POST answered 200", all(r["http"].get("status") == 200 for r in posts))
    if ts:
        s.check("ipp: as many requests as tshark", len(run.http) == ts[0],
                f"egret {len(run.http)} vs tshark {ts[0]}")

    # ---- http_auth.pcap: one GET, 401
    run = Run(a.egret, path("http_auth.pcap"))
    common(s, "http_auth", run)
    s.check("http_auth: one GET /password-ok.php -> 401 on browserspy.dk",
            len(run.http) == 1 and run.http[0]["http"].get("http_method") == "GET"
            and run.http[0]["http"].get("url") == "/password-ok.php"
            and run.http[0]["http"].get("hostname") == "browserspy.dk"
            and run.http[0]["http"].get("status") == 401,
            json.dumps([r["http"] for r in run.http])[:300])
    s.check("http_auth: the 401 page length > 10000 and no body content on a GET",
            len(run.http) == 1 and run.http[0]["http"].get("length", 0) > 10000
            and run.http[0]["http"].get("request_body_length") == 0
            and "content" not in run.http[0], json.dumps(run.http[:1])[:300])

    # ---- WebattackRCE.pcap: 797 attack GETs (Nikto), never answered
    run = Run(a.egret, path("WebattackRCE.pcap"))
    common(s, "WebattackRCE", run)
    ts = tshark_requests(path("WebattackRCE.pcap"))
    if ts is None:
        s.check("WebattackRCE: tshark available for the request count", False)
    else:
        pct = 100.0 * len(run.http) / ts[0] if ts[0] else 0.0
        print(f"  WebattackRCE: egret http records {len(run.http)}, tshark http.request "
              f"{ts[0]} ({pct:.2f} %)")
        s.check("WebattackRCE: http records >= 99 % of tshark's requests",
                ts[0] > 0 and len(run.http) * 100 >= 99 * ts[0],
                f"{len(run.http)} of {ts[0]}")
        s.check("WebattackRCE: not more records than tshark's requests", len(run.http) <= ts[0])
    s.check("WebattackRCE: no response seen -> no status, length 0", all(
        "status" not in r["http"] and r["http"].get("length") == 0 for r in run.http))
    s.check("WebattackRCE: every record has a method and a url", all(
        r["http"].get("http_method") and r["http"].get("url") for r in run.http))
    # Nikto's "internal IP" probes are HTTP/1.0 without Host: hostname is absent there only
    hosts = tshark_count(path("WebattackRCE.pcap"), "http.request && http.host")
    named = sum(1 for r in run.http if r["http"].get("hostname"))
    if hosts is not None:
        print(f"  WebattackRCE: records with hostname {named}, tshark requests with Host {hosts}")
        s.check("WebattackRCE: hostname on >= 99 % of the requests that have a Host header",
                named <= hosts and named * 100 >= 99 * hosts, f"{named} of {hosts}")

    print(f"{s.passed} passed, {s.failed} failed")
    return 1 if s.failed else 0


if __name__ == "__main__":
    sys.exit(main())
