#!/usr/bin/env bash
# vcsnap while Ceph OSDs fail, on a cluster of its own (1 monitor, 3 memstore
# OSDs; pools of size 3, min_size 2):
#   1. one OSD down: backup and restore go on (2 replicas >= min_size);
#   2. two OSDs down: the placement groups are inactive; backup and restore
#      fail within bounded time with an error that says the storage timed
#      out -- no hang, no snapshot committed, no output file left;
#   3. both back (empty, as memstore OSDs restart, and backfilled from the
#      third): every snapshot restores byte-exact, check --read-data passes,
#      and the next backup works once the dead backup's lease is broken.
# Usage: rados-fault-test.sh path/to/vcsnap path/to/vcsnap-fleetgen
set -uo pipefail
vcsnap="$1"
fleetgen="$2"
here=$(cd "$(dirname "$0")" && pwd)
cluster="$here/ceph-test-cluster.sh"
tmp="$(mktemp -d)"
c="$tmp/ceph"
trap '"$cluster" down "$c" >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
# shellcheck source=test-lib.sh
source "$(dirname "$0")/test-lib.sh"

"$cluster" up "$c" 3 >/dev/null || { echo "FAIL: cluster did not start"; exit 1; }
conf="$c/ceph.conf"
"$fleetgen" generate --out "$tmp/fleet" --vms 1 --days 4 --size 32MiB --seed 7 \
  >/dev/null || { echo "FAIL: fleetgen"; exit 1; }
img() { echo "$tmp/fleet/vm-00/day-0$1.img"; }
# A short timeout keeps the failing steps short.
r="rados://vcsnap-vm/fault?conf=$conf&timeout=5"
expect 0 "created" "$vcsnap" --repo "$r&pds_pool=vcsnap-pds" init
expect 0 "snapshot 1 " "$vcsnap" --repo "$r" backup --vm vm-00 --image "$(img 0)"

# 1. One OSD down.
"$cluster" stop-osd "$c" 0
expect 0 "snapshot 2 " "$vcsnap" --repo "$r" backup --vm vm-00 --image "$(img 1)" \
  --bitmap "$tmp/fleet/vm-00/day-01.bitmap"
expect 0 "restored" "$vcsnap" --repo "$r" restore --vm vm-00 --snapshot 2 \
  --output "$tmp/r2.img"
checks=$((checks + 1))
cmp -s "$tmp/r2.img" "$(img 1)" || fail "restore with one OSD down differs"

# 2. Two OSDs down: bounded failure with a clear cause.
"$cluster" stop-osd "$c" 1
start=$(date +%s)
expect 1 "timed out .*health detail" timeout 300 "$vcsnap" --repo "$r" backup --vm vm-00 \
  --image "$(img 2)"
expect 1 "timed out .*health detail" timeout 300 "$vcsnap" --repo "$r" restore --vm vm-00 \
  --snapshot 2 --output "$tmp/r2b.img"
checks=$((checks + 1))
[[ ! -e $tmp/r2b.img ]] || fail "a failed restore left its output file"
took=$(($(date +%s) - start))
checks=$((checks + 1))
((took < 240)) || fail "failing with two OSDs down took ${took}s"

# 3. Both back; wait until the pools take writes again.
"$cluster" start-osd "$c" 0
"$cluster" start-osd "$c" 1
echo probe >"$tmp/probe"
for pool in vcsnap-vm vcsnap-pds; do
  timeout 180 bash -c "until rados -c $conf -p $pool put .probe $tmp/probe \
    >/dev/null 2>&1; do sleep 1; done" || fail "pool $pool did not recover"
done
expect 0 "2 snapshots|vm-00 +2 " "$vcsnap" --repo "$r" snapshots
expect 0 " 0 problems" "$vcsnap" --repo "$r" check --read-data
for s in 1 2; do
  expect 0 "restored" "$vcsnap" --repo "$r" restore --vm vm-00 --snapshot "$s" \
    --output "$tmp/r.img" --force
  checks=$((checks + 1))
  cmp -s "$tmp/r.img" "$(img $((s - 1)))" || fail "snapshot $s differs after recovery"
done
# The backup that failed in step 2 may have left its lease (its release
# timed out too): break it as an operator would, then back up again.
"$vcsnap" --repo "$r" unlock --vm vm-00 >/dev/null 2>&1
expect 0 "snapshot 3 " "$vcsnap" --repo "$r" backup --vm vm-00 --image "$(img 3)"
expect 0 " 0 problems" "$vcsnap" --repo "$r" check --read-data

echo "rados-fault-test: $checks checks, $fails failed"
[[ $fails -eq 0 ]]
