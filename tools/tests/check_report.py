#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check a utsim --report file: the inline SVG parses as XML and holds the
timeline's parts (node rows with roles, client operation bars, a legend)."""
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def main(path, nodes):
    html = open(path, encoding="utf-8").read()
    if not html.startswith("<!DOCTYPE html>") or "</html>" not in html:
        sys.exit("not a complete HTML document")
    a, b = html.find("<svg "), html.find("</svg>")
    if a < 0 or b < a or html.count("<svg ") != 1:
        sys.exit("expected exactly one inline <svg>")
    root = ET.fromstring(html[a:b + len("</svg>")])
    if root.tag != NS + "svg":
        sys.exit("root element is %s" % root.tag)
    rects = root.findall(NS + "rect")
    classes = [r.get("class", "") for r in rects]
    roles = [c for c in classes if c.startswith("role ")]
    ops = [c for c in classes if c == "op"]
    labels = [t.text for t in root.findall(NS + "text")]
    for i in range(1, nodes + 1):
        if "node %d" % i not in labels:
            sys.exit("no row for node %d" % i)
    if not any(c == "role leader" for c in roles):
        sys.exit("no leader segment")
    if len(ops) < 10:
        sys.exit("only %d client operations drawn" % len(ops))
    for r in rects:
        if float(r.get("width", "0")) < 0:
            sys.exit("negative width")
    print("ok: %d role segments, %d operations, %d text labels" % (len(roles), len(ops), len(labels)))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
