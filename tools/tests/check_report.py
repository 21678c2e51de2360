#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check a utsim --report file by parsing it.

  check_report.py FILE NODES          one run's report
  check_report.py --sweep FILE SEEDS  a sweep's report (SEEDS rows)
  (--leaderless first: a scenario without leaders, e.g. echo)

Every inline SVG must parse as XML. A run's report holds the timeline (node
rows with roles, client operation bars, a legend), the completed operations
per second with the faults shaded on the same time axis, and the client
latency (p50 <= p99 <= max, and a histogram whose bins add up to the
completed operations). A sweep's report holds one row per seed, failing
seeds marked, then a run's report. Nothing is fetched from outside: no
scripts, no external references."""
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def fail(msg):
    sys.exit("check_report: " + msg)


def svgs(html):
    out = {}
    for m in re.finditer(r"<svg .*?</svg>", html, re.S):
        root = ET.fromstring(m.group(0))
        if root.tag != NS + "svg":
            fail("root element is %s" % root.tag)
        label = root.get("aria-label", "")
        if label in out:
            fail("two SVGs labelled %r" % label)
        out[label] = root
    return out


def self_contained(html):
    if not html.startswith("<!DOCTYPE html>") or not html.rstrip().endswith("</html>"):
        fail("not a complete HTML document")
    low = html.lower()
    if "<script" in low:
        fail("the report has a script")
    for attr in re.findall(r'(?:href|src)\s*=\s*"([^"]*)"', html):
        fail("external reference %r" % attr)
    if "url(" in low or "@import" in low:
        fail("the style fetches something")


def rect_classes(root):
    return [(r.get("class", ""), r) for r in root.iter(NS + "rect")]


LEADER = True


def check_run(html, nodes):
    parts = svgs(html)
    for need in ("timeline", "throughput", "latency histogram"):
        if need not in parts:
            fail("no %s SVG (have %s)" % (need, sorted(parts)))
    tl = parts["timeline"]
    classes = [c for c, _ in rect_classes(tl)]
    roles = [c for c in classes if c.startswith("role ")]
    ops = [c for c in classes if c == "op"]
    labels = [t.text for t in tl.iter(NS + "text")]
    for i in range(1, nodes + 1):
        if "node %d" % i not in labels:
            fail("no row for node %d" % i)
    if LEADER and not any(c == "role leader" for c in roles):
        fail("no leader segment")
    if len(roles) < nodes:
        fail("only %d role segments for %d nodes" % (len(roles), nodes))
    if len(ops) < 10:
        fail("only %d client operations drawn" % len(ops))
    for root in parts.values():
        for _, r in rect_classes(root):
            if float(r.get("width", "0")) < 0 or float(r.get("height", "0")) < 0:
                fail("negative size")
    # Throughput: one bar per second with completions, faults shaded over
    # the timeline's time axis (same x of the same ms).
    tp = parts["throughput"]
    bars = [r for c, r in rect_classes(tp) if c == "tput"]
    if not bars:
        fail("no throughput bars")
    shaded = [r for c, r in rect_classes(tp) if c.startswith("fault ")]
    tl_faults = [r for c, r in rect_classes(tl) if c in ("partition", "crash")]
    if tl_faults and not shaded:
        fail("faults on the timeline but none shaded on the throughput chart")
    if tl.get("width") != tp.get("width"):
        fail("the throughput chart is not on the timeline's time axis")
    ops_ok = sum(int(re.search(r": (\d+) ok", r.find(NS + "title").text).group(1)) for r in bars)
    # Latency: the table and the histogram agree.
    m = re.search(r'<table class="latency">.*?<td>(\d+)</td><td class="p50">(\d+) ms</td>'
                  r'<td class="p99">(\d+) ms</td><td class="max">(\d+) ms</td>', html, re.S)
    if not m:
        fail("no latency table")
    n, p50, p99, mx = map(int, m.groups())
    if not (p50 <= p99 <= mx):
        fail("latency p50 %d, p99 %d, max %d out of order" % (p50, p99, mx))
    bins = [r for c, r in rect_classes(parts["latency histogram"]) if c == "bin"]
    total = sum(int(re.search(r": (\d+) ops", r.find(NS + "title").text).group(1)) for r in bins)
    if total != n or n == 0:
        fail("histogram holds %d ops, the table %d" % (total, n))
    if ops_ok > n:
        fail("%d ok completions charted, %d completed" % (ops_ok, n))
    return len(roles), len(ops), len(bars), n


def main(argv):
    global LEADER
    if argv[1] == "--leaderless":
        LEADER = False
        argv = argv[1:]
    sweep = argv[1] == "--sweep"
    path, count = (argv[2], int(argv[3])) if sweep else (argv[1], int(argv[2]))
    html = open(path, encoding="utf-8").read()
    self_contained(html)
    if not sweep:
        roles, ops, bars, n = check_run(html, count)
        print("ok: %d role segments, %d operation bars, %d seconds charted, %d completed ops"
              % (roles, ops, bars, n))
        return
    rows = re.findall(r'<tr class="(pass|fail)"><td>(\d+)</td><td class="l">([^<]*)</td>', html)
    if len(rows) != count:
        fail("%d seed rows, expected %d" % (len(rows), count))
    seeds = [int(s) for _, s, _ in rows]
    if seeds != sorted(seeds) or len(set(seeds)) != count:
        fail("seed rows out of order")
    for cls, seed, verdict in rows:
        if (cls == "pass") != (verdict == "ok"):
            fail("seed %s: row marked %s with verdict %r" % (seed, cls, verdict))
    strip = svgs(html).get("seeds")
    if strip is None:
        fail("no per-seed strip")
    marks = [c for c, _ in rect_classes(strip) if c.startswith("seed ")]
    if marks != ["seed " + c for c, _, _ in rows]:
        fail("the strip does not match the rows")
    fails = sum(1 for c, _, _ in rows if c == "fail")
    m = re.search(r"<b>(\d+) of (\d+) seeds failed.</b>", html)
    if not m or int(m.group(1)) != fails or int(m.group(2)) != count:
        fail("the verdict line does not count the failing rows")
    # The detailed run that follows.
    nodes = int(re.search(r"<h1>utsim sweep: .*?, (\d+) nodes", html).group(1))
    check_run(html, nodes)
    print("ok: %d seeds, %d failing" % (count, fails))


if __name__ == "__main__":
    main(sys.argv)
