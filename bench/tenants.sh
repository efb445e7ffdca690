#!/usr/bin/env bash
# bench/tenants.sh: what tenant isolation costs in dedup, and how fast a
# tenant is shredded, measured side by side in one run.
#
# A generated fleet (VMS VMs of SIZE, two days, fleetgen seed 11) is backed
# up into two encrypted repositories: "shared" (no tenants) and "tenants"
# (TENANTS tenants, VMs dealt round-robin). Day 0 in full, then
# `pds update --fraction FRACTION`, then day 1 with CBT bitmaps against the
# PDS. Prints, per repository: the PDS (chunks, coverage, chunks kept out by
# the two-tenant rule), the stored bytes after day 1, and the day-1 backup
# time; then `tenant shred` of one tenant (objects, bytes, seconds) and the
# stored bytes left.
# Environment: BENCH_WORK [/work/main/bench-work/tenants], BENCH_BUILD
# [build/release], VMS [8], SIZE [256MiB], TENANTS [4], FRACTION [0.05].
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${BENCH_WORK:-$ROOT/bench-work/tenants}
BUILD=${BENCH_BUILD:-$ROOT/build/release}
VMS=${VMS:-8}
SIZE=${SIZE:-256MiB}
TENANTS=${TENANTS:-4}
FRACTION=${FRACTION:-0.05}
V=$BUILD/src/cli/vcsnap
G=$BUILD/src/fleet/vcsnap-fleetgen
mkdir -p "$W"
f=$W/fleet
if [[ ! -s $f/manifest.json ]]; then
  "$G" generate --out "$f" --vms "$VMS" --days 2 --size "$SIZE" --seed 11 >/dev/null
fi
vms=$(cd "$f" && ls -d vm-* | sort)

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
secs() { local t0=$1; echo "$(date +%s.%N) - $t0" | bc; }

for mode in shared tenants; do
  r=$W/repo-$mode
  rm -rf "$r"
  k=(--repo "$r" --key-file "$W/key")
  "$V" "${k[@]}" init >/dev/null 2>&1
  : >"$W/day0.jobs"
  : >"$W/day1.jobs"
  i=0
  for vm in $vms; do
    t=""
    if [[ $mode == tenants ]]; then t="tenant=t$((i % TENANTS))"; fi
    echo "$vm $f/$vm/day-00.img $t" >>"$W/day0.jobs"
    echo "$vm $f/$vm/day-01.img $f/$vm/day-01.bitmap $t" >>"$W/day1.jobs"
    i=$((i + 1))
  done
  if [[ $mode == tenants ]]; then
    for ((t = 0; t < TENANTS; t++)); do "$V" "${k[@]}" tenant add --tenant "t$t" >/dev/null; done
  fi
  "$V" "${k[@]}" backup --jobs "$W/day0.jobs" --parallel 2 >/dev/null
  p=$("$V" "${k[@]}" pds update --fraction "$FRACTION" --json)
  t0=$(date +%s.%N)
  "$V" "${k[@]}" backup --jobs "$W/day1.jobs" --parallel 2 >/dev/null
  day1=$(secs "$t0")
  stored=$("$V" "${k[@]}" stats --json | json 'd["stored_bytes"]')
  printf '%-8s PDS %6s chunks (%s MiB), coverage %5.1f%%, kept out by the two-tenant rule %6s; stored after day 1 %8.1f MiB; day-1 backup %.2f s\n' \
    "$mode" "$(json 'd["k"]' <<<"$p")" "$(json 'round(d["bytes_copied"]/1048576,1)' <<<"$p")" \
    "$(json 'd["coverage"]*100' <<<"$p")" "$(json 'd["single_tenant_kept_out"]' <<<"$p")" \
    "$(echo "$stored / 1048576" | bc -l)" "$day1"
  if [[ $mode == tenants ]]; then
    t0=$(date +%s.%N)
    out=$("$V" "${k[@]}" tenant shred --tenant t0 --yes | tail -1)
    s=$(secs "$t0")
    left=$("$V" "${k[@]}" stats --json | json 'd["stored_bytes"]')
    "$V" "${k[@]}" check >/dev/null
    printf 'shred    %s (wall %.2f s); stored left %.1f MiB; check passes\n' \
      "$out" "$s" "$(echo "$left / 1048576" | bc -l)"
  fi
done
