#!/usr/bin/env python3
"""Summarizes bench/macro.sh results: bench/report.py WORKDIR.

Reads WORKDIR/results/{runs.jsonl,notes.jsonl,*.out,*.json}, prints one table
per SPEC §3 item (medians over rounds) and writes results/summary.json.
Missing sections are skipped.
"""
import glob
import json
import os
import statistics
import sys

W = sys.argv[1] if len(sys.argv) > 1 else "/work/main/bench-work"
R = os.path.join(W, "results")
G = 1e9
M = 1e6


def jsonl(name):
    out = {}
    path = os.path.join(R, name)
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line:
                # bc prints ".49" for 0.49 (older runs of macro.sh)
                j = json.loads(line.replace(':.', ':0.'))
                out[j["name"]] = j  # the last run of a name wins
    return out


RUNS = jsonl("runs.jsonl")
NOTES = jsonl("notes.jsonl")
SUMMARY = {}


def out_json(name):
    path = os.path.join(R, name + ".out")
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None


def rounds(prefix):
    """Runs named prefix_<n>, n numeric, in order."""
    rs = [v for k, v in RUNS.items()
          if k.startswith(prefix + "_") and k[len(prefix) + 1:].isdigit()]
    return sorted(rs, key=lambda v: int(v["name"].rsplit("_", 1)[1]))


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def row(*cols):
    print("  " + " | ".join(str(c) for c in cols))


def p3p4():
    img = NOTES.get("p3_image")
    if not img or not rounds("p3_vcsnap_full"):
        return
    size = img["bytes"]
    print(f"\nP3 first full backup / P4 CBT incremental: one {size / 2**30:.0f} GiB image "
          f"({img['allocated'] / 2**30:.2f} GiB allocated), medians of "
          f"{len(rounds('p3_vcsnap_full'))} rounds")
    row("tool", "full s", "full MB/s", "full RSS MB", "repo MB",
        "incr s", "incr GB/s logical", "incr RSS MB", "repo after incr MB")
    res = {}
    for tool in ("vcsnap", "restic", "borg"):
        f = rounds(f"p3_{tool}_full")
        i = rounds(f"p3_{tool}_incr")
        if not f or not i:
            continue
        fw = med([x["wall"] for x in f])
        iw = med([x["wall"] for x in i])
        rf = med([NOTES[f"p3_{tool}_repo_full_{n}"]["bytes"]
                  for n in range(1, len(f) + 1)
                  if f"p3_{tool}_repo_full_{n}" in NOTES])
        ri = med([NOTES[f"p3_{tool}_repo_incr_{n}"]["bytes"]
                  for n in range(1, len(i) + 1)
                  if f"p3_{tool}_repo_incr_{n}" in NOTES])
        res[tool] = dict(full_s=fw, full_MBps=size / fw / M,
                         full_rss_MB=max(x["rss_kb"] for x in f) / 1e3,
                         repo_full_MB=rf / M, incr_s=iw,
                         incr_GBps=size / iw / G,
                         incr_rss_MB=max(x["rss_kb"] for x in i) / 1e3,
                         repo_incr_MB=ri / M,
                         full_walls=[x["wall"] for x in f],
                         incr_walls=[x["wall"] for x in i],
                         loads=[x["load"] for x in f + i])
        v = res[tool]
        row(tool, f"{fw:.2f}", f"{v['full_MBps']:.0f}", f"{v['full_rss_MB']:.0f}",
            f"{rf / M:.0f}", f"{iw:.2f}", f"{v['incr_GBps']:.2f}",
            f"{v['incr_rss_MB']:.0f}", f"{ri / M:.0f}")
    v = res.get("vcsnap")
    if v:
        js = [out_json(x["name"]) for x in rounds("p3_vcsnap_incr")]
        js = [j for j in js if j]
        if js:
            v["incr_internal_s"] = med([j["seconds"] for j in js])
            v["incr_dirty_segments"] = js[0]["segments"]["dirty"]
            v["incr_total_segments"] = js[0]["segments"]["total"]
            v["incr_phases"] = js[0]["phases"]
            v["incr_bytes_reused"] = js[0].get("sub_segment", {}).get("bytes_reused", 0)
            print(f"  vcsnap incremental: {v['incr_dirty_segments']}/{v['incr_total_segments']} "
                  f"segments dirty; internal seconds {v['incr_internal_s']:.3f} "
                  f"({size / v['incr_internal_s'] / G:.2f} GB/s); "
                  f"{v['incr_bytes_reused'] / M:.0f} MB of dirty segments unhashed")
        seg = rounds("p4_segment_incr")
        if seg:
            sw = med([x["wall"] for x in seg])
            v["incr_segment_bitmap_s"] = sw
            v["incr_segment_bitmap_GBps"] = size / sw / G
            print(f"  vcsnap incremental with one bit per segment: {sw:.2f} s "
                  f"({size / sw / G:.2f} GB/s), RSS "
                  f"{max(x['rss_kb'] for x in seg) / 1e3:.0f} MB")
        for peer in ("restic", "borg"):
            if peer in res:
                print(f"  speed-up vs {peer}: full {res[peer]['full_s'] / v['full_s']:.2f}x, "
                      f"incremental {res[peer]['incr_s'] / v['incr_s']:.1f}x")
                v[f"full_x_{peer}"] = res[peer]["full_s"] / v["full_s"]
                v[f"incr_x_{peer}"] = res[peer]["incr_s"] / v["incr_s"]
    SUMMARY["p3p4"] = res


def p6():
    img = NOTES.get("p3_image")
    if not img or not rounds("p6_vcsnap"):
        return
    size = img["bytes"]
    print(f"\nP6 restore of the day-1 snapshot ({size / 2**30:.0f} GiB image): "
          f"to tmpfs, medians of {len(rounds('p6_vcsnap'))} rounds; and one round to disk")
    row("tool", "tmpfs s", "tmpfs MB/s logical", "disk s", "disk MB/s logical", "RSS MB")
    res = {}
    for tool in ("vcsnap", "restic", "borg"):
        t = rounds(f"p6_{tool}")
        d = RUNS.get(f"p6_{tool}_disk")
        if not t:
            continue
        w = med([x["wall"] for x in t])
        res[tool] = dict(tmpfs_s=w, tmpfs_MBps=size / w / M,
                         walls=[x["wall"] for x in t],
                         rss_MB=max(x["rss_kb"] for x in t) / 1e3)
        if d:
            res[tool].update(disk_s=d["wall"], disk_MBps=size / d["wall"] / M)
        row(tool, f"{w:.2f}", f"{size / w / M:.0f}",
            f"{d['wall']:.2f}" if d else "-",
            f"{size / d['wall'] / M:.0f}" if d else "-", f"{res[tool]['rss_MB']:.0f}")
    j = out_json("p6_vcsnap_1")
    if j:
        print(f"  vcsnap wrote {j['bytes_written'] / M:.0f} MB of non-zero data "
              f"({j['bytes_written'] / res['vcsnap']['tmpfs_s'] / M:.0f} MB/s of data to tmpfs)")
    dd = RUNS.get("p6_dd_disk")
    if dd:
        print(f"  disk limit: dd 1.68 GB with fsync took {dd['wall']:.2f} s "
              f"({1677721600 / dd['wall'] / M:.0f} MB/s)")
        res["dd_MBps"] = 1677721600 / dd["wall"] / M
    for peer in ("restic", "borg"):
        if peer in res and "vcsnap" in res:
            print(f"  speed-up vs {peer} (tmpfs): "
                  f"{res[peer]['tmpfs_s'] / res['vcsnap']['tmpfs_s']:.2f}x")
    SUMMARY["p6"] = res


def sum_days(prefix):
    """Sums the jobs outputs of prefix_day<N>; returns (new, level3, logical, runs)."""
    days = sorted([k for k in RUNS if k.startswith(prefix + "_day")],
                  key=lambda k: int(k.rsplit("day", 1)[1]))
    new = l3 = lg = 0
    runs = []
    for d in days:
        arr = out_json(d) or []
        for b in arr:
            if "error" in b:
                raise RuntimeError(f"{d}: {b['error']}")
            new += b["bytes"]["new"]
            l3 += b["bytes"]["level3"]
            lg += b["logical_bytes"]
        runs.append(dict(name=d, wall=RUNS[d]["wall"], rss_kb=RUNS[d]["rss_kb"],
                         load=RUNS[d]["load"],
                         logical=sum(b["logical_bytes"] for b in arr),
                         new=sum(b["bytes"]["new"] for b in arr),
                         dirty=sum(b["segments"]["dirty"] for b in arr) /
                         max(1, sum(b["segments"]["total"] for b in arr))))
    return new, l3, lg, runs


def days_of(truth):
    """Snapshots per VM of a generated fleet (its truth)."""
    return truth["snapshots"] // truth["vms"]


def p9():
    truth = out_json("p9_truth")
    if not truth:
        return
    logical = truth["logical_bytes"]
    unique = truth["bytes"]["unique"]
    print(f"\nP9 dedup efficiency: fleet {truth['vms']} VMs x "
          f"{days_of(truth)} days, logical {logical / G:.3f} GB, "
          f"exact unique {unique / G:.3f} GB (exact global dedup "
          f"{truth['share']['exact_global_dedup'] * 100:.2f} %); "
          f"efficiency = (logical - vcsnap new) / (logical - exact unique)")
    row("method", "F", "vcsnap new GB", "level3 GB", "PDS copied GB", "PDS k",
        "efficiency", "eff. counting the PDS copy", "pds update s")
    res = {}
    p5 = []

    def one(label, f, prefix, pds_name):
        new, l3, lg, runs = sum_days(prefix)
        if not runs:
            return None
        pds = out_json(pds_name) or {}
        copied = pds.get("bytes_copied", 0)
        eff = (logical - new) / (logical - unique)
        eff2 = (logical - new - copied) / (logical - unique)
        pds_s = RUNS.get(pds_name, {}).get("wall")
        row(label, f, f"{new / G:.4f}", f"{l3 / G:.4f}", f"{copied / G:.4f}",
            pds.get("k", "-"), f"{eff * 100:.2f} %", f"{eff2 * 100:.2f} %",
            f"{pds_s:.2f}" if pds_s else "-")
        res[f"{label} {f}"] = dict(new=new, level3=l3, logical_backups=lg,
                                   pds_copied=copied, efficiency=eff,
                                   efficiency_with_pds_copy=eff2,
                                   pds_update_s=pds_s, pds=pds)
        return runs

    first = True
    for f in ("0.01", "0.02", "0.04"):
        runs = one("trained, pass 1 (no PDS)", "-", f"p9_t{f}_pass1", "none") \
            if first else sum_days(f"p9_t{f}_pass1")[3]
        first = False
        p5 += [x for x in (runs or []) if not x["name"].endswith("day0")]
        one("trained, pass 2", f, f"p9_t{f}_pass2", f"p9_t{f}_pds")
    runs = one("online (PDS after day %s)" % os.environ.get("P9_PDS_DAY", "1"),
               "0.02", "p9_online", "p9_online_pds")
    p5 += [x for x in (runs or []) if not x["name"].endswith("day0")]
    SUMMARY["p9"] = res
    if p5:
        gbps = [x["logical"] / x["wall"] / G for x in p5]
        print(f"\nP5 one host, 10 VMs concurrently (P9 days 1-4, pass 1 and online runs): "
              f"median {med(gbps):.2f} GB/s logical (min {min(gbps):.2f}, max {max(gbps):.2f}, "
              f"{len(p5)} runs), dirty share median {med([x['dirty'] for x in p5]) * 100:.1f} %, "
              f"process peak RSS median {med([x['rss_kb'] for x in p5]) / 1e3:.0f} MB, "
              f"load median {med([x['load'] for x in p5]):.1f}")
        d0 = [v for k, v in RUNS.items()
              if (k.startswith("p9_t") or k.startswith("p9_online")) and k.endswith("_day0")]
        if d0:
            print(f"  day 0 (all new, 10 VMs x 128 MiB): median "
                  f"{med([logical / days_of(truth) / x['wall'] / G for x in d0]):.2f} GB/s logical, "
                  f"RSS median {med([x['rss_kb'] for x in d0]) / 1e3:.0f} MB")
        SUMMARY["p5"] = dict(runs=p5, median_GBps=med(gbps))


def p8():
    fs = rounds("p8_forget")
    if not fs:
        return
    gs = rounds("p8_gc")
    fw = med([x["wall"] for x in fs])
    gw = med([x["wall"] for x in gs])
    fj = [out_json(x["name"]) for x in fs]
    gj = [out_json(x["name"]) for x in gs]
    f_int = med([j["seconds"] for j in fj if j])
    g_int = med([(j[0] if isinstance(j, list) else j)["seconds"] for j in gj if j])
    print(f"\nP8 deletion (one VM, 12 daily snapshots of 512 MiB): medians of {len(fs)} rounds")
    print(f"  forget oldest: {fw:.3f} s wall ({f_int:.3f} s internal, "
          f"{fj[0].get('candidate_chunks')} candidates, "
          f"{fj[0].get('dropped_lists', 0)} dropped lists); gc --vm: "
          f"{gw:.3f} s wall ({g_int:.3f} s internal); ratio {gw / fw:.1f}x wall, "
          f"{g_int / f_int:.1f}x internal")
    res = dict(forget_s=fw, gc_s=gw, forget_internal_s=f_int, gc_internal_s=g_int,
               ratio_wall=gw / fw, ratio_internal=g_int / f_int, leak=[])
    deleted = 0
    row("k deletions", "chunks deleted (cum.)", "leaked (gc)", "leak / garbage",
        "leak / live", "second gc leaked")
    k = 1
    while RUNS.get(f"p8_leak_forget_{k}"):
        fjk = out_json(f"p8_leak_forget_{k}")
        gk = out_json(f"p8_leak_gc_{k}")
        g2 = out_json(f"p8_leak_gc2_{k}")
        gk = gk[0] if isinstance(gk, list) else gk
        g2 = g2[0] if isinstance(g2, list) else g2
        deleted += fjk["chunks_deleted"]
        leaked = gk["leaked_chunks"]
        live = gk["live_chunks"]
        res["leak"].append(dict(k=k, deleted=deleted, leaked=leaked, live=live,
                                second=g2["leaked_chunks"]))
        row(k, deleted, leaked, f"{leaked / max(1, deleted + leaked) * 100:.3f} %",
            f"{leaked / max(1, live) * 100:.3f} %", g2["leaked_chunks"])
        k += 1
    bf = rounds("p8big_forget")
    bg = rounds("p8big_gc")
    if bf and bg:
        fw, gw = med([x["wall"] for x in bf]), med([x["wall"] for x in bg])
        fi = med([out_json(x["name"])["seconds"] for x in bf])
        gi = med([out_json(x["name"])[0]["seconds"] for x in bg])
        live = out_json(bg[0]["name"])[0]["live_chunks"]
        cand = out_json(bf[0]["name"]).get("candidate_chunks")
        print(f"  bigger VM (11 daily snapshots of 4 GiB, {live} live chunks after, "
              f"{cand} candidates): forget {fw:.3f} s wall ({fi:.3f} internal), gc --vm "
              f"{gw:.3f} s wall ({gi:.3f} internal): ratio {gw / fw:.1f}x wall, "
              f"{gi / fi:.1f}x internal")
        res["big"] = dict(forget_s=fw, gc_s=gw, forget_internal_s=fi,
                          gc_internal_s=gi, live=live)
    SUMMARY["p8"] = res


def p10():
    res = {}
    for which in ("p3", "p9"):
        rs = rounds(f"p10_{which}")
        if not rs:
            continue
        js = [out_json(x["name"]) for x in rs]
        br = med([j["bytes_read"] for j in js if j])
        w = med([x["wall"] for x in rs])
        repo = NOTES.get(f"p10_{which}_repo", {}).get("bytes", 0)
        res[which] = dict(wall=w, bytes_read=br, MBps=br / w / M, repo=repo,
                          problems=[j["problems"] for j in js if j])
        print(f"\nP10 check --read-data on the {which} repository ({repo / M:.0f} MB on disk): "
              f"median {w:.2f} s, {br / M:.0f} MB read, {br / w / M:.0f} MB/s, "
              f"problems {res[which]['problems']}")
    SUMMARY["p10"] = res


def pds():
    path = os.path.join(R, "pds_bench.json")
    if not os.path.exists(path):
        return
    b = json.load(open(path))
    print("\nPDS index (pds_bench, medians)")
    res = {}
    for x in b["benchmarks"]:
        if x.get("aggregate_name") != "median":
            continue
        ips = x.get("items_per_second", 0)
        res[x["run_name"]] = dict(items_per_second=ips,
                                  bytes_per_entry=x.get("bytes_per_entry"))
        bpe = x.get("bytes_per_entry")
        print(f"  {x['run_name']}: {ips / 1e6:.1f} M lookups/s"
              + (f", {bpe:.1f} B/entry" if bpe else ""))
    SUMMARY["pds"] = res


def p7_per_tb():
    """P7's dedup memory per TB of raw snapshots. The PDS index is the only
    dedup state that grows with the data (a stream's working state is
    bounded): the index of the trained F = 2 % run of P9 (k entries at the
    bytes per entry pds_bench measured) over the fleet's logical bytes."""
    truth = out_json("p9_truth")
    pds = out_json("p9_t0.02_pds")
    bpe = [v["bytes_per_entry"] for v in SUMMARY.get("pds", {}).values()
           if v.get("bytes_per_entry")]
    if not truth or not pds:
        return
    if not bpe:
        print("\nP7 per TB: needs the pds section's bytes per entry")
        return
    entry = max(bpe)
    mb_tb = pds["k"] * entry / truth["logical_bytes"] * 1e6
    print(f"\nP7 dedup memory per TB of raw snapshots: PDS k = {pds['k']} x "
          f"{entry:.1f} B / {truth['logical_bytes'] / G:.2f} GB "
          f"({truth['vms']} VMs x {days_of(truth)} snapshots) = {mb_tb:.1f} MB/TB")
    SUMMARY["p7_per_tb"] = dict(k=pds["k"], bytes_per_entry=entry,
                                logical_bytes=truth["logical_bytes"],
                                snapshots_per_vm=days_of(truth), MB_per_TB=mb_tb)


def pdsscale():
    res = {}
    print("\nPDS at fleet scale (pds update --fraction 0.02; medians)")
    for n in (4, 8, 16):
        rs = rounds(f"pdss_{n}_update")
        if not rs:
            continue
        js = [out_json(x["name"]) for x in rs]
        w = med([x["wall"] for x in rs])
        upd = med([j["seconds"] for j in js])
        ret = med([j["retire"]["seconds"] for j in js])
        uniq = js[0]["unique_fingerprints"]
        res[n] = dict(wall=w, update_s=upd, retire_s=ret, unique=uniq,
                      rss_kb=med([x["rss_kb"] for x in rs]))
        print(f"  {n:2d} VMs: {uniq} unique fingerprints, update {upd:.2f} s + "
              f"retire {ret:.2f} s, wall {w:.2f} s, RSS {res[n]['rss_kb'] / 1024:.0f} MB")
    half = out_json("pdss_half")
    if half:
        print(f"  probe PDS: k = {half['k']} entries ({half['k'] * 44 / 2**20:.1f} MiB in memory)")
    for mode in ("memory", "file"):
        rs = rounds(f"pdss_probe_{mode}")
        if not rs:
            continue
        js = [out_json(x["name"]) for x in rs]
        b = js[0].get("level3_batches", {})
        look = b.get("lookups", 0)
        ls = med([j.get("level3_batches", {}).get("lookup_seconds", 0) for j in js])
        res[f"probe_{mode}"] = dict(
            wall=med([x["wall"] for x in rs]), rss_kb=med([x["rss_kb"] for x in rs]),
            level3=js[0]["bytes"]["level3"], new=js[0]["bytes"]["new"],
            lookups=look, lookup_s=ls)
        p = res[f"probe_{mode}"]
        print(f"  new VM, {mode} index: wall {p['wall']:.2f} s, RSS {p['rss_kb'] / 1024:.0f} MB, "
              f"level 3 {p['level3'] / 2**20:.1f} MiB, new {p['new'] / 2**20:.1f} MiB"
              + (f", {look} lookups in {ls:.3f} s = {look / ls / 1e6:.2f} M/s" if ls else ""))
    SUMMARY["pdsscale"] = res


def main():
    m = os.path.join(R, "machine.json")
    if os.path.exists(m):
        SUMMARY["machine"] = json.load(open(m))
        print("machine:", SUMMARY["machine"])
    for f in (p3p4, p6, p9, p8, p10, pds, p7_per_tb, pdsscale):
        try:
            f()
        except Exception as e:  # a partial run still reports the rest
            print(f"  ({f.__name__}: incomplete results: {e!r})")
    json.dump(SUMMARY, open(os.path.join(R, "summary.json"), "w"), indent=1)


main()
