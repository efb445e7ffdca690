#!/usr/bin/env python3
"""Tests of bench/report_html.py on made-up summaries (CTest: bench_report_html).

Verdicts at and around each threshold, sections a run did not measure left
out, and a page that closes every element, carries no script and shows the
numbers.
"""
import importlib.util
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


report_html = load("report_html", os.path.join(HERE, "report_html.py"))
check_report = load("check_report",
                    os.path.join(HERE, "..", "scripts", "check-report.py"))


def summary():
    return {
        "machine": {"cpu": "Test CPU", "cores": 2, "date": "2026-12-07"},
        "p3p4": {
            "vcsnap": {"full_s": 4.0, "full_MBps": 1000.0, "full_walls": [4.0],
                       "incr_s": 0.5, "incr_GBps": 8.0, "incr_internal_s": 0.4,
                       "incr_walls": [0.5, 0.6], "full_rss_MB": 70.0,
                       "incr_rss_MB": 60.0},
            "restic": {"full_s": 12.0, "incr_s": 10.0, "full_walls": [12.0],
                       "incr_walls": [10.0]},
            "borg": {"full_s": 11.9, "incr_s": 7.0},
        },
        "p6": {"vcsnap": {"tmpfs_s": 2.0, "tmpfs_MBps": 2100.0, "walls": [2.0]},
               "restic": {"tmpfs_s": 10.0, "walls": [9.0, 11.0]}},
        "p8": {"forget_internal_s": 0.01, "gc_internal_s": 1.0,
               "leak": [{"k": 10, "deleted": 1000, "leaked": 3, "live": 9e5,
                         "second": 0}]},
        "p10": {"p3": {"MBps": 999.0}, "p9": {"MBps": 1000.0}},
    }


def verdicts(s):
    return {(r[0], r[1]): r[4] for r in report_html.targets(s)}


class Targets(unittest.TestCase):
    def test_thresholds(self):
        v = verdicts(summary())
        self.assertTrue(v[("P3", "first full backup")])
        self.assertTrue(v[("P3", "full backup against restic, same image")])
        self.assertFalse(v[("P3", "full backup against Borg, same image")])
        self.assertFalse(v[("P4", "CBT incremental, logical, wall time")])
        self.assertFalse(v[("P4", "incremental against restic")])  # 20x
        self.assertTrue(v[("P6", "restore to tmpfs")])
        self.assertTrue(v[("P6", "restore against restic")])  # exactly 5x
        self.assertFalse(v[("P7", "peak RSS, one 4 GiB stream, full backup")])
        self.assertTrue(v[("P7", "peak RSS, one 4 GiB stream, incremental")])
        self.assertTrue(v[("P8", "forget against gc of the VM (12 × 512 MiB)")])
        self.assertFalse(v[("P8", "leak after 10 deletions (of the freed)")])
        self.assertTrue(v[("P8", "leak after gc")])
        self.assertFalse(v[("P10", "check --read-data, p3 repository")])
        self.assertTrue(v[("P10", "check --read-data, p9 repository")])

    def test_memory_per_tb(self):
        s = summary()
        key = ("P7", "dedup memory per TB of raw snapshots (10 snapshots per VM)")
        for mb, met in ((12.0, True), (12.05, False), (3.0, True)):
            s["p7_per_tb"] = {"MB_per_TB": mb, "snapshots_per_vm": 10}
            self.assertEqual(verdicts(s)[key], met, mb)

    def test_unmeasured_sections_are_left_out(self):
        s = summary()
        del s["p6"], s["p8"]
        items = {r[0] for r in report_html.targets(s)}
        self.assertEqual(items, {"P3", "P4", "P7", "P10"})
        self.assertEqual(report_html.targets({}), [])


class Page(unittest.TestCase):
    def parse(self, text):
        p = check_report.Balance()
        p.feed(text)
        p.close()
        self.assertEqual(p.errors, [])
        self.assertEqual(p.stack, [])
        return " ".join(p.text)

    def test_page_is_closed_and_shows_the_numbers(self):
        text = self.parse(report_html.page(summary()))
        self.assertIn("Test CPU", text)
        met = sum(1 for r in report_html.targets(summary()) if r[4])
        self.assertIn(f"{met} of {len(report_html.targets(summary()))} met",
                      text)
        for shown in ("1,000 MB/s", "8.00 GB/s (internal time: 10.00)",
                      "3.00×", "0.300 %", "12.00 s"):
            self.assertIn(shown, text)

    def test_an_empty_summary_still_makes_a_page(self):
        text = self.parse(report_html.page({}))
        self.assertIn("0 of 0 met", text)


if __name__ == "__main__":
    unittest.main()
