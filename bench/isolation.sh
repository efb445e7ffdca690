#!/usr/bin/env bash
# Fault-isolation analysis of a generated fleet (docs/benchmarks/isolation.md).
# Generates VMS VMs x DAYS days of SIZE images, backs them up night by night
# with their CBT bitmaps into a repository of BLOCK-sized blocks (a PDS update
# after the first night and then every third night, as an operator would
# schedule it), then runs `vcsnap isolation` (text and JSON, timed).
#
# Usage: bench/isolation.sh VCSNAP FLEETGEN OUTDIR [VMS] [DAYS] [SIZE] [BLOCK] [FRACTION]
#   defaults: 10 VMs, 10 days, 256MiB, 1MiB blocks, PDS of 2 % of unique chunks
# OUTDIR gets the fleet, the repository and the results (isolation.txt,
# isolation.json, time.txt); the fleet's images are deleted at the end.
# REPO=LOCATION puts the repository elsewhere, e.g. on a test Ceph cluster:
#   PGS=128 scripts/ceph-test-cluster.sh up /tmp/ceph 3
#   REPO='rados://vcsnap-vm/iso?conf=/tmp/ceph/ceph.conf&pds_pool=vcsnap-pds' bench/isolation.sh ...
set -euo pipefail
vcsnap="$1"
fleetgen="$2"
out="$3"
vms="${4:-10}"
days="${5:-10}"
size="${6:-256MiB}"
block="${7:-1MiB}"
fraction="${8:-0.02}"
mkdir -p "$out"
fleet="$out/fleet"
repo="${REPO:-$out/repo}"
rm -rf "$fleet"
[[ -n "${REPO:-}" ]] || rm -rf "$repo"
echo "generating $vms VMs x $days days of $size"
"$fleetgen" generate --out "$fleet" --vms "$vms" --days "$days" --size "$size" \
  --seed 1 >/dev/null
"$vcsnap" --repo "$repo" init --block-size "$block" >/dev/null
for ((day = 0; day < days; day++)); do
  d=$(printf '%02d' "$day")
  for dir in "$fleet"/vm-*; do
    vm=$(basename "$dir")
    bitmap=()
    [[ $day -gt 0 ]] && bitmap=(--bitmap "$dir/day-$d.bitmap")
    "$vcsnap" --repo "$repo" backup --vm "$vm" --image "$dir/day-$d.img" \
      "${bitmap[@]}" >/dev/null
  done
  if (( day % 3 == 0 )); then
    "$vcsnap" --repo "$repo" pds update --fraction "$fraction" >/dev/null
  fi
  echo "night $day backed up"
done
rm -rf "$fleet"
/usr/bin/time -v "$vcsnap" --repo "$repo" isolation >"$out/isolation.txt" \
  2>"$out/time.txt"
"$vcsnap" --repo "$repo" isolation --json >"$out/isolation.json"
"$vcsnap" --repo "$repo" stats >"$out/stats.txt"
cat "$out/isolation.txt"
grep -E "Elapsed|Maximum resident" "$out/time.txt"
