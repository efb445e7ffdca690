#!/bin/bash
# Image sources side by side on the P3/P4 VM (vm-00, 4 GiB) of the fleet that
# `bench/macro.sh p4` generates:
#   full         day 0 as a raw file / the same bytes over NBD (qemu-nbd -f raw,
#                a unix socket) / as qcow2 read through qemu-nbd (vcsnap starts it)
#   incremental  day 1 as a raw file with the 64 KiB bitmap file / as a qcow2
#                overlay on day 0 whose persistent QEMU bitmap recorded the
#                same writes (--dirty-bitmap)
# Each run starts from a fresh repository (full) or a fresh copy of one with
# day 0 backed up (incremental), after a sync, with the inputs in the page
# cache; variants alternate.
#
#   bench/nbd_source.sh [ROUNDS]          (default 3)
#
# Environment as bench/macro.sh: BENCH_WORK [bench-work], BENCH_BUILD
# [build/bench]. Needs qemu-utils (scripts/setup.sh installs it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${BENCH_WORK:-$ROOT/bench-work}
BUILD=${BENCH_BUILD:-$ROOT/build/bench}
VCSNAP=$BUILD/src/cli/vcsnap
D=$W/data/p3/vm-00
ROUNDS=${1:-3}
[ -f "$D/day-01.bitmap" ] || { echo "no P3/P4 fleet in $W: run bench/macro.sh p4" >&2; exit 1; }
N=$W/nbd
Q0=$N/day-00.qcow2
Q1=$N/day-01.qcow2
if [ ! -f "$N/ready" ]; then
  rm -rf "$N" && mkdir -p "$N/granules"
  qemu-img convert -f raw -O qcow2 "$D/day-00.img" "$Q0"
  qemu-img create -q -f qcow2 -b "$Q0" -F qcow2 "$Q1"
  qemu-img bitmap --add -g 64K "$Q1" cbt
  # Write day 1's dirty granules into the overlay with qemu-io, so that the
  # overlay's bitmap records exactly the bitmap file's granules.
  python3 - "$D/day-01.bitmap" "$D/day-01.img" "$N/granules" >"$N/qemu-io.cmds" <<'PY'
import sys
bits = open(sys.argv[1], "rb").read()
img = open(sys.argv[2], "rb")
g = 64 << 10
dirty = [i for i in range(len(bits) * 8) if bits[i // 8] >> (i % 8) & 1]
runs = []
for i in dirty:
    if runs and runs[-1][1] == i:
        runs[-1][1] = i + 1
    else:
        runs.append([i, i + 1])
for n, (a, b) in enumerate(runs):
    img.seek(a * g)
    data = img.read((b - a) * g)
    path = f"{sys.argv[3]}/{n}"
    open(path, "wb").write(data)
    print(f"write -q -s {path} {a * g} {len(data)}")
PY
  args=()
  while read -r c; do args+=(-c "$c"); done <"$N/qemu-io.cmds"
  qemu-io -f qcow2 "${args[@]}" "$Q1"
  qemu-img compare -q "$Q1" "$D/day-01.img"
  rm -rf "$N/granules"
  touch "$N/ready"
fi
SOCK=$N/s
start_server() {
  rm -f "$SOCK"
  qemu-nbd --read-only --format=raw --persistent --socket="$SOCK" "$D/day-00.img" &
  SERVER=$!
  for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
}
report() {
  python3 - "$1" "$W/nbd.json" "$W/nbd.time" <<'PY'
import json, sys
j = json.load(open(sys.argv[2]))
wall, rss = open(sys.argv[3]).read().split()
p = j["phases"]
print(f"{sys.argv[1]:18} wall {float(wall):6.2f} s  dedup {p['dedup_seconds']:6.3f}  "
      f"commit {p['commit_seconds']:.3f}  rss {int(rss) // 1024:4} MB  "
      f"{j['image_size'] / float(wall) / 1e9:5.2f} GB/s  source {j['source']}  "
      f"dirty {j['segments']['dirty']}  new {j['bytes']['new']}  "
      f"zero {j['bytes']['zero']}  stored {j['stored_bytes']}  read {j.get('read_bytes', 0)}")
PY
}
timed() {  # timed NAME REPO backup-args...
  local name=$1 repo=$2
  shift 2
  sync
  /usr/bin/time -f "%e %M" -o "$W/nbd.time" "$VCSNAP" --repo "$repo" backup \
    --vm vm-00 "$@" --json >"$W/nbd.json"
  report "$name"
}
full() {
  rm -rf "$N/repo" && "$VCSNAP" --repo "$N/repo" init >/dev/null
  cat "$D/day-00.img" >/dev/null
  case $1 in
    raw) timed full_raw "$N/repo" --image "$D/day-00.img" ;;
    nbd) start_server
         timed full_nbd_raw "$N/repo" --image "nbd+unix:///?socket=$SOCK"
         kill "$SERVER"; wait "$SERVER" 2>/dev/null || true ;;
    qcow2) cat "$Q0" >/dev/null
           timed full_qcow2 "$N/repo" --image "$Q0" --format qcow2 ;;
  esac
}
rm -rf "$N/base" && "$VCSNAP" --repo "$N/base" init >/dev/null
"$VCSNAP" --repo "$N/base" backup --vm vm-00 --image "$D/day-00.img" >/dev/null
incr() {
  rm -rf "$N/repo" && cp -a "$N/base" "$N/repo"
  case $1 in
    raw) cat "$D/day-01.img" >/dev/null
         timed incr_raw_bitmap "$N/repo" --image "$D/day-01.img" \
           --bitmap "$D/day-01.bitmap" --bitmap-granularity 64KiB ;;
    qcow2) cat "$Q0" "$Q1" >/dev/null
           timed incr_qcow2_qemu "$N/repo" --image "$Q1" --format qcow2 --dirty-bitmap cbt ;;
  esac
}
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order="raw nbd qcow2"; else order="qcow2 nbd raw"; fi
  for v in $order; do full "$v"; done
done
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order="raw qcow2"; else order="qcow2 raw"; fi
  for v in $order; do incr "$v"; done
done
rm -rf "$N/repo" "$N/base" "$W/nbd.json" "$W/nbd.time"
