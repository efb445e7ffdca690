#!/usr/bin/env python3
"""The macro benchmark's results as a page: bench/report_html.py SUMMARY OUT.

SUMMARY is the results/summary.json that bench/report.py writes. The page
(self-contained: inline CSS and SVG, no script) has the machine, one row per
SPEC §3 target the run measured -- target, measured value, met or not -- and
the peers side by side as bars (median of the rounds, a dot per round).
Targets the run did not measure are left out, not shown as met.
"""
import html
import json
import sys

MIB64 = 64 * 1024 * 1024 / 1e6  # P7's 64 MiB, in MB


def fmt(x, digits=2):
    return f"{x:,.{digits}f}"


def targets(s):
    """(item, what, target text, measured text, met) for what `s` holds."""
    rows = []
    p34 = s.get("p3p4", {})
    v, restic, borg = (p34.get(t) for t in ("vcsnap", "restic", "borg"))
    if v and "full_MBps" in v:
        rows.append(("P3", "first full backup", "≥ 400 MB/s",
                     fmt(v["full_MBps"], 0) + " MB/s", v["full_MBps"] >= 400))
        for name, peer in (("restic", restic), ("Borg", borg)):
            if peer and "full_s" in peer:
                x = peer["full_s"] / v["full_s"]
                rows.append(("P3", f"full backup against {name}, same image",
                             "≥ 3×", fmt(x) + "×", x >= 3))
    if v and "incr_GBps" in v:
        internal = ""
        if v.get("incr_internal_s"):
            gbps = v["incr_GBps"] * v["incr_s"] / v["incr_internal_s"]
            internal = f" (internal time: {fmt(gbps)})"
        rows.append(("P4", "CBT incremental, logical, wall time", "≥ 10 GB/s",
                     fmt(v["incr_GBps"]) + " GB/s" + internal,
                     v["incr_GBps"] >= 10))
        if restic and "incr_s" in restic:
            x = restic["incr_s"] / v["incr_s"]
            rows.append(("P4", "incremental against restic", "≥ 25×",
                         fmt(x, 1) + "×", x >= 25))
    p5 = s.get("p5", {})
    if "median_GBps" in p5:
        rows.append(("P5", "10 VMs at once, per host (median of the days)",
                     "≥ 3 GB/s", fmt(p5["median_GBps"]) + " GB/s",
                     p5["median_GBps"] >= 3))
    p6 = s.get("p6", {})
    if "vcsnap" in p6:
        mbps = p6["vcsnap"]["tmpfs_MBps"]
        rows.append(("P6", "restore to tmpfs", "≥ 1 000 MB/s",
                     fmt(mbps, 0) + " MB/s", mbps >= 1000))
        if "restic" in p6:
            x = p6["restic"]["tmpfs_s"] / p6["vcsnap"]["tmpfs_s"]
            rows.append(("P6", "restore against restic", "≥ 5×",
                         fmt(x) + "×", x >= 5))
    if v:
        for key, what in (("full_rss_MB", "full backup"),
                          ("incr_rss_MB", "incremental")):
            if key in v:
                rows.append(("P7", f"peak RSS, one 4 GiB stream, {what}",
                             "≤ 64 MiB", fmt(v[key], 0) + " MB",
                             v[key] <= MIB64))
    tb = s.get("p7_per_tb", {})
    if "MB_per_TB" in tb:
        rows.append(("P7", "dedup memory per TB of raw snapshots "
                     f"({tb['snapshots_per_vm']} snapshots per VM)",
                     "≤ 12 MB/TB", fmt(tb["MB_per_TB"], 1) + " MB/TB",
                     tb["MB_per_TB"] <= 12))
    p8 = s.get("p8", {})
    for label, d in (("12 × 512 MiB", p8), ("11 × 4 GiB", p8.get("big", {}))):
        if d.get("forget_internal_s") and d.get("gc_internal_s"):
            x = d["gc_internal_s"] / d["forget_internal_s"]
            rows.append(("P8", f"forget against gc of the VM ({label})",
                         "≥ 100×", fmt(x, 1) + "×", x >= 100))
    leak = p8.get("leak") or []
    if leak:
        last = leak[-1]
        # Of the chunks the deletions freed: the stricter of the two bases
        # report.py prints (the live chunks are many more).
        share = last["leaked"] / last["deleted"] if last["deleted"] else 0.0
        rows.append(("P8", f"leak after {last['k']} deletions (of the freed)",
                     "≤ 0.2 %", fmt(100 * share, 3) + " %", share <= 0.002))
        rows.append(("P8", "leak after gc", "0", str(last["second"]),
                     last["second"] == 0))
    for name, d in s.get("p9", {}).items():
        if name.startswith("trained, pass 2") and name.endswith(" 0.02"):
            e = d["efficiency"]
            rows.append(("P9", "dedup efficiency, PDS of 2 %", "≥ 96 %",
                         fmt(100 * e) + " %", e >= 0.96))
    for repo, d in sorted(s.get("p10", {}).items()):
        rows.append(("P10", f"check --read-data, {repo} repository",
                     "≥ 1 000 MB/s", fmt(d["MBps"], 0) + " MB/s",
                     d["MBps"] >= 1000))
    return rows


def bars(title, unit, series):
    """An SVG bar chart: series = [(label, median, [rounds])]."""
    series = [x for x in series if x[1] is not None]
    if not series:
        return ""
    top = max([m for _, m, _ in series] +
              [r for _, _, rs in series for r in rs]) or 1.0
    width, left, bar_h, gap = 560, 90, 22, 10
    height = len(series) * (bar_h + gap) + gap
    out = [f'<figure><figcaption>{html.escape(title)}</figcaption>',
           f'<svg width="{width + 80}" height="{height}" role="img">']
    for i, (label, median, rounds) in enumerate(series):
        y = gap + i * (bar_h + gap)
        w = max(1.0, width * median / top)
        cls = "us" if label == "vcsnap" else "peer"
        out.append(f'<text x="0" y="{y + 16}">{html.escape(label)}</text>')
        out.append(f'<rect class="{cls}" x="{left}" y="{y}" width="{w:.1f}" '
                   f'height="{bar_h}"></rect>')
        for r in rounds:
            cx = left + width * r / top
            out.append(f'<circle cx="{cx:.1f}" cy="{y + bar_h / 2}" r="3">'
                       f'</circle>')
        out.append(f'<text x="{left + w + 6:.1f}" y="{y + 16}">'
                   f'{fmt(median)} {unit}</text>')
    out.append("</svg></figure>")
    return "\n".join(out)


def charts(s):
    p34, p6 = s.get("p3p4", {}), s.get("p6", {})
    tools = ("vcsnap", "restic", "borg")
    out = []
    out.append(bars("P3: first full backup of the 4 GiB image (seconds, lower "
                    "is better)", "s",
                    [(t, p34[t].get("full_s"), p34[t].get("full_walls", []))
                     for t in tools if t in p34]))
    out.append(bars("P4: CBT incremental of the same image (seconds)", "s",
                    [(t, p34[t].get("incr_s"), p34[t].get("incr_walls", []))
                     for t in tools if t in p34]))
    out.append(bars("P6: restore to tmpfs (seconds)", "s",
                    [(t, p6[t].get("tmpfs_s"), p6[t].get("walls", []))
                     for t in tools if t in p6]))
    return "\n".join(x for x in out if x)


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; max-width: 60em; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border-bottom: 1px solid #ddd; padding: 0.3em 0.8em; text-align: left; }
td.met { color: #176f2c; font-weight: bold; }
td.not { color: #a8201a; font-weight: bold; }
rect.us { fill: #2b6cb0; } rect.peer { fill: #a0aec0; }
circle { fill: #1a202c; } svg text { font-size: 12px; }
figure { margin: 1.5em 0; } figcaption { font-weight: bold; }
"""


def page(s):
    m = s.get("machine", {})
    rows = targets(s)
    met = sum(1 for r in rows if r[4])
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>vcsnap benchmark results</title>",
           f"<style>{STYLE}</style></head><body>",
           "<h1>vcsnap benchmark results</h1>",
           "<p>" + html.escape(
               f"{m.get('date', '?')}: {m.get('cpu', '?')}, "
               f"{m.get('cores', '?')} cores; {m.get('vcsnap', 'vcsnap')}, "
               f"restic {m.get('restic', '?')}, Borg {m.get('borg', '?')}. "
               "Medians of the rounds of bench/macro.sh; methods and the "
               "history in docs/benchmarks.md.") + "</p>",
           f"<h2>Targets (SPEC §3): {met} of {len(rows)} met</h2>",
           "<table><tr><th>item</th><th>what</th><th>target</th>"
           "<th>measured</th><th>verdict</th></tr>"]
    for item, what, target, measured, ok in rows:
        out.append("<tr>" + "".join(
            f"<td>{html.escape(c)}</td>" for c in (item, what, target,
                                                   measured)) +
            (f'<td class="met">met</td>' if ok else
             f'<td class="not">not met</td>') + "</tr>")
    out.append("</table>")
    out.append("<h2>Side by side</h2>")
    out.append(charts(s))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report_html.py SUMMARY.json OUT.html")
    with open(sys.argv[1]) as f:
        summary = json.load(f)
    with open(sys.argv[2], "w") as f:
        f.write(page(summary))
    print(f"wrote {sys.argv[2]}: {len(targets(summary))} targets")


if __name__ == "__main__":
    main()
