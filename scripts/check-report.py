#!/usr/bin/env python3
"""Checks `vcsnap report` output against `vcsnap snapshots --json`.

Usage: check-report.py REPORT.json SNAPSHOTS.json [REPORT.html]
The JSON report must count the same VMs, snapshots and logical bytes as the
snapshot list; the HTML page must close every element it opens, name every
VM, and carry no <script>. Exits 1 with a message on the first difference.
"""
import html.parser
import json
import sys

VOID = {"meta", "br", "hr", "img", "input", "link", "line", "rect", "i"}


class Balance(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.text, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.errors.append("a <script> element")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1:]}>")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def fail(msg):
    print(f"check-report: {msg}")
    sys.exit(1)


def main():
    report = json.load(open(sys.argv[1]))
    snaps = json.load(open(sys.argv[2]))
    if report["snapshots"] != len(snaps):
        fail(f"{report['snapshots']} snapshots in the report, {len(snaps)} listed")
    logical = sum(s["logical_bytes"] for s in snaps)
    if report["logical_bytes"] != logical:
        fail(f"logical bytes {report['logical_bytes']} != {logical}")
    listed = sorted({s["vm"] for s in snaps})
    with_snaps = sorted(v["vm"] for v in report["vms"] if v["snapshots"] > 0)
    if listed != with_snaps:
        fail(f"VMs with snapshots {with_snaps} != {listed}")
    if report["problems"] != sum(f["severity"] == "problem"
                                 for f in report["findings"]):
        fail("problems do not match the findings")
    if len(sys.argv) > 3:
        p = Balance()
        p.feed(open(sys.argv[3]).read())
        p.close()
        if p.errors:
            fail(p.errors[0])
        if p.stack:
            fail(f"unclosed elements: {p.stack}")
        text = " ".join(p.text)
        for v in report["vms"]:
            if v["vm"] not in text:
                fail(f"VM {v['vm']} is not in the page")
    print(f"check-report: {len(report['vms'])} VMs, {len(snaps)} snapshots, "
          f"{len(report['findings'])} findings: consistent")


if __name__ == "__main__":
    main()
