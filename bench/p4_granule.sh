#!/bin/bash
# P4 with a 64 KiB-granule bitmap against one bit per segment, isolated:
# every run starts from a fresh copy of the same repository (day 0 backed up
# in full), after a sync, with the image in the page cache; the two bitmaps
# alternate. Needs the P3/P4 fleet that `bench/macro.sh p4` generates.
#
#   bench/p4_granule.sh [ROUNDS]          (default 5)
#
# Environment as bench/macro.sh: BENCH_WORK [bench-work], BENCH_BUILD
# [build/bench]. Prints one line per run: variant, wall and internal
# seconds, phases, peak RSS, logical GB/s, bytes not hashed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${BENCH_WORK:-$ROOT/bench-work}
BUILD=${BENCH_BUILD:-$ROOT/build/bench}
VCSNAP=$BUILD/src/cli/vcsnap
D=$W/data/p3/vm-00
ROUNDS=${1:-5}
[ -f "$D/day-01.bitmap" ] || { echo "no P3/P4 fleet in $W: run bench/macro.sh p4" >&2; exit 1; }
BASE=$W/repos/p4g_base
RUN=$W/repos/p4g_run
SEG=$W/p4g_segment.bitmap
python3 "$ROOT/bench/segment_bitmap.py" "$D/day-01.bitmap" "$SEG"
rm -rf "$BASE" "$RUN"
"$VCSNAP" --repo "$BASE" init >/dev/null
"$VCSNAP" --repo "$BASE" backup --vm vm-00 --image "$D/day-00.img" >/dev/null
run() {
  rm -rf "$RUN"
  cp -a "$BASE" "$RUN"
  sync
  cat "$D/day-01.img" >/dev/null
  local args=(--bitmap "$SEG")
  [ "$1" = fine ] && args=(--bitmap "$D/day-01.bitmap" --bitmap-granularity 64KiB)
  /usr/bin/time -f "%e %M" -o "$W/p4g.time" "$VCSNAP" --repo "$RUN" backup \
    --vm vm-00 --image "$D/day-01.img" "${args[@]}" --json >"$W/p4g.json"
  python3 - "$1" "$W/p4g.json" "$W/p4g.time" <<'PY'
import json, sys
j = json.load(open(sys.argv[2]))
wall, rss = open(sys.argv[3]).read().split()
p = j["phases"]
print(f"{sys.argv[1]:8} wall {float(wall):.2f} s  internal {j['seconds']:.3f} s  "
      f"dedup {p['dedup_seconds']:.3f}  commit {p['commit_seconds']:.3f}  "
      f"rss {int(rss) // 1024} MB  {j['image_size'] / float(wall) / 1e9:.2f} GB/s  "
      f"unhashed {j['sub_segment']['bytes_reused']}  new {j['bytes']['new']}")
PY
}
for r in $(seq 1 "$ROUNDS"); do
  run segment
  run fine
done
rm -rf "$BASE" "$RUN" "$W/p4g.json" "$W/p4g.time"
