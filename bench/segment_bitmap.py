#!/usr/bin/env python3
"""segment_bitmap.py IN OUT: one bit per 2 MiB segment from a bitmap of
64 KiB granules (a segment is dirty when any of its 32 granules is)."""
import sys

fine = open(sys.argv[1], "rb").read()
per = (2 << 20) // 65536
bits = len(fine) * 8
out = bytearray((bits // per + 7) // 8)
for g in range(bits):
    if fine[g // 8] >> (g % 8) & 1:
        s = g // per
        out[s // 8] |= 1 << (s % 8)
open(sys.argv[2], "wb").write(out)
