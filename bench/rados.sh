#!/bin/bash
# vcsnap on Ceph RADOS against the local backend, side by side in one run, on
# the P3 VM (vm-00, 4 GiB, 1.86 GiB allocated; day 1 with a CBT bitmap) that
# `bench/macro.sh p3` generates (this script generates it too if missing):
#   full      first backup of day 0 (all data new, compressed)   SPEC P3
#   incr      backup of day 1 with its bitmap                    SPEC P4
#   restore   restore of day 1 to tmpfs                          SPEC P6
#   check     check --read-data                                  SPEC P10
# The cluster is a throwaway one on this machine (scripts/ceph-test-cluster.sh:
# 1 monitor, NOSD OSDs, pools vcsnap-vm and vcsnap-pds of size 3 when
# NOSD >= 3), so the OSDs share the machine's cores with vcsnap and every
# byte is written NOSD-fold in memory: a pessimistic stand-in for a real
# cluster, useful for what the backend itself costs.
#
#   bench/rados.sh [ROUNDS] [NOSD] [memstore|bluestore]   (default 2 3 memstore)
#
# Each round uses a fresh repository of each kind (the pools are purged
# between rounds); the two kinds alternate. Every restore is compared with
# the image. Environment as bench/macro.sh: BENCH_WORK [bench-work],
# BENCH_BUILD [build/bench].
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${BENCH_WORK:-$ROOT/bench-work}
BUILD=${BENCH_BUILD:-$ROOT/build/bench}
ROUNDS=${1:-2}
NOSD=${2:-3}
STORE=${3:-memstore}
VCSNAP=$BUILD/src/cli/vcsnap
FLEETGEN=$BUILD/src/fleet/vcsnap-fleetgen
if [ ! -x "$VCSNAP" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" --parallel 2 --target vcsnap vcsnap-fleetgen >/dev/null
fi
D=$W/data/p3/vm-00
if [ ! -f "$D/day-01.img" ]; then
  "$FLEETGEN" generate --out "$W/data/p3" --vms 1 --days 2 --size 4GiB --seed 3 \
    --change-rate 0.0015 --scatter 0.004 --growth 0 --update-period 0 >/dev/null
fi
C=$W/ceph
OUT=/dev/shm/vcsnap-rados-bench
mkdir -p "$OUT"
"$ROOT/scripts/ceph-test-cluster.sh" up "$C" "$NOSD" "$STORE" >/dev/null
trap '"$ROOT/scripts/ceph-test-cluster.sh" down "$C" >/dev/null; rm -rf "$OUT" "$W/rados-local"' EXIT
CONF=$C/ceph.conf
size=$(stat -c %s "$D/day-00.img")
cat "$D/day-00.img" "$D/day-01.img" >/dev/null

# timed NAME ROUND KIND CMD...: runs CMD, prints "NAME KIND ROUND s GB/s".
timed() {
  local name=$1 round=$2 kind=$3
  shift 3
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v v="$name" -v k="$kind" -v r="$round" -v a="$t0" -v b="$t1" -v n="$size" \
    'BEGIN { printf "%-8s %-6s %d %7.2f %6.2f\n", v, k, r, b - a, n / (b - a) / 1e9 }'
}

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# cluster: 1 mon, $NOSD $STORE OSDs on this machine; pools:"
ceph -c "$CONF" osd pool ls detail | awk '/^pool/ { print "#  ", $3, $4, $5, $6, $7 }'
echo "# step   kind   round  seconds  GB/s(logical)"
for round in $(seq "$ROUNDS"); do
  for kind in local rados; do
    if [ $kind = local ]; then
      R=$W/rados-local
      rm -rf "$R"
      "$VCSNAP" --repo "$R" init >/dev/null
    else
      for p in vcsnap-vm vcsnap-pds; do
        rados -c "$CONF" purge "$p" --yes-i-really-really-mean-it >/dev/null
      done
      R="rados://vcsnap-vm/bench$round?conf=$CONF&pds_pool=vcsnap-pds"
      "$VCSNAP" --repo "$R" init >/dev/null
    fi
    sync
    timed full "$round" $kind "$VCSNAP" --repo "$R" backup --vm vm-00 --image "$D/day-00.img"
    timed incr "$round" $kind "$VCSNAP" --repo "$R" backup --vm vm-00 \
      --image "$D/day-01.img" --bitmap "$D/day-01.bitmap"
    rm -f "$OUT/out.img"
    timed restore "$round" $kind "$VCSNAP" --repo "$R" restore --vm vm-00 \
      --snapshot latest --output "$OUT/out.img"
    cmp -s "$OUT/out.img" "$D/day-01.img" || { echo "$kind restore differs" >&2; exit 1; }
    rm -f "$OUT/out.img"
    timed check "$round" $kind "$VCSNAP" --repo "$R" check --read-data
  done
done
ceph -c "$CONF" health | sed 's/^/# health at end: /'
