#!/bin/bash
# Serving a snapshot over NBD against restoring it, on the P3 VM (vm-00 day 0,
# 4 GiB, 1.86 GiB allocated) that `bench/macro.sh p3` generates (this script
# generates it too if it is missing):
#   restore   vcsnap restore to tmpfs (the baseline, SPEC P6)
#   serve     vcsnap serve --run 'qemu-img convert -O raw "$uri" tmpfs/out.img'
#             (qemu-img asks block status and skips the holes; 8 requests
#             in flight by default)
#   serve-seq the same with qemu-img convert -m 1 (one request at a time,
#             2 MiB each): a single sequential reader, as a booting guest
#   nbdcopy   vcsnap serve --run 'nbdcopy "$uri" null:' (libnbd-bin; four
#             connections, multi-conn), reading only, nothing written
# Each round restores or serves the same repository after a sync; the
# variants alternate; every output is compared with the image.
#
#   bench/serve.sh [ROUNDS]          (default 3)
#
# Environment as bench/macro.sh: BENCH_WORK [bench-work], BENCH_BUILD
# [build/bench]. Needs qemu-utils and nbdkit (scripts/setup.sh), and nbdcopy
# (apt install libnbd-bin).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${BENCH_WORK:-$ROOT/bench-work}
BUILD=${BENCH_BUILD:-$ROOT/build/bench}
VCSNAP=$BUILD/src/cli/vcsnap
FLEETGEN=$BUILD/src/fleet/vcsnap-fleetgen
D=$W/data/p3/vm-00
ROUNDS=${1:-3}
if [ ! -f "$D/day-00.img" ]; then
  "$FLEETGEN" generate --out "$W/data/p3" --vms 1 --days 2 --size 4GiB --seed 3 \
    --change-rate 0.0015 --scatter 0.004 --growth 0 --update-period 0 >/dev/null
fi
S=$W/serve
R=$S/repo
if [ ! -f "$S/ready" ]; then
  rm -rf "$S" && mkdir -p "$S"
  "$VCSNAP" --repo "$R" init >/dev/null
  "$VCSNAP" --repo "$R" backup --vm vm-00 --image "$D/day-00.img" >/dev/null
  touch "$S/ready"
fi
OUT=/dev/shm/vcsnap-serve-bench
mkdir -p "$OUT"
trap 'rm -rf "$OUT"' EXIT
cat "$D/day-00.img" >/dev/null
size=$(stat -c %s "$D/day-00.img")
echo "variant round seconds GB/s"
for round in $(seq "$ROUNDS"); do
  for v in restore serve serve-seq nbdcopy; do
    rm -f "$OUT/out.img"; sync
    t0=$(date +%s.%N)
    case $v in
      restore) "$VCSNAP" --repo "$R" restore --vm vm-00 --snapshot 1 \
                 --output "$OUT/out.img" >/dev/null ;;
      serve) "$VCSNAP" --repo "$R" serve --vm vm-00 --snapshot 1 \
               --run "qemu-img convert -O raw \"\$uri\" $OUT/out.img" 2>/dev/null ;;
      serve-seq) "$VCSNAP" --repo "$R" serve --vm vm-00 --snapshot 1 \
                   --run "qemu-img convert -m 1 -O raw \"\$uri\" $OUT/out.img" 2>/dev/null ;;
      nbdcopy) "$VCSNAP" --repo "$R" serve --vm vm-00 --snapshot 1 \
                 --run 'nbdcopy "$uri" null:' 2>/dev/null ;;
    esac
    t1=$(date +%s.%N)
    if [ "$v" != nbdcopy ]; then
      cmp -s "$OUT/out.img" "$D/day-00.img" || { echo "$v: output differs" >&2; exit 1; }
    fi
    awk -v v=$v -v r=$round -v a=$t0 -v b=$t1 -v n=$size \
      'BEGIN { printf "%s %d %.2f %.2f\n", v, r, b - a, n / (b - a) / 1e9 }'
  done
done
