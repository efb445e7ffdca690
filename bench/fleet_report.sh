#!/usr/bin/env bash
# bench/fleet_report.sh: what `vcsnap report` costs on a repository of many
# VMs, and that the cost follows the number of VMs, not of snapshots.
#
# VMS VMs back up one 8 MiB image made of this machine's files (day 0 in
# full, then a PDS, then one dirty segment a day with a CBT bitmap). After
# day 1 (2 snapshots per VM) and after day DAYS-1 (DAYS snapshots per VM) it
# times `stats --json`, `report` (text; also with one reading thread instead
# of 8), `report --json`, `report --output`
# and `report --isolation --json`: wall seconds and peak RSS, best of 3.
# Environment: BENCH_WORK [/work/main/bench-work/report], BENCH_BUILD
# [build/release], VMS [200], DAYS [10], REPO [a local repository under
# BENCH_WORK; a rados:// location must name an empty namespace].
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${BENCH_WORK:-$ROOT/bench-work/report}
BUILD=${BENCH_BUILD:-$ROOT/build/release}
VMS=${VMS:-200}
DAYS=${DAYS:-10}
V=$BUILD/src/cli/vcsnap
r=${REPO:-$W/repo}
rm -rf "$W"
mkdir -p "$W"
img=$W/disk.img
# (head ends the pipe early: SIGPIPE upstream is expected)
(find /usr/lib /usr/share -type f -size +20k 2>/dev/null | sort | head -80 |
  xargs cat 2>/dev/null | head -c 6000000 >"$img") || true
truncate -s 8M "$img"
printf '\x02' >"$W/bitmap" # segment 1 (2-4 MiB) dirty
"$V" --repo "$r" init >/dev/null
: >"$W/day0.jobs"
: >"$W/dayn.jobs"
for ((i = 0; i < VMS; i++)); do
  printf 'vm%04d %s\n' "$i" "$img" >>"$W/day0.jobs"
  printf 'vm%04d %s %s\n' "$i" "$img" "$W/bitmap" >>"$W/dayn.jobs"
done

# best of 3: "seconds peak-RSS-MiB" of a command (output discarded)
measure() {
  local best="" rss=""
  for _ in 1 2 3; do
    /usr/bin/time -f '%e %M' -o "$W/time" "$@" >/dev/null
    read -r s k <"$W/time"
    if [[ -z $best ]] || (($(echo "$s < $best" | bc))); then best=$s; rss=$((k / 1024)); fi
  done
  echo "$best $rss"
}

report_costs() {
  local snaps objects
  snaps=$("$V" --repo "$r" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  objects=$("$V" --repo "$r" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["objects"])')
  echo "== $VMS VMs, $snaps snapshots, $objects objects"
  for what in "stats --json" "report --threads 1" "report" "report --json" "report --output $W/report.html" "report --isolation --json"; do
    # shellcheck disable=SC2086
    read -r s m < <(measure "$V" --repo "$r" $what)
    printf '  %-28s %6.2f s  %5d MiB peak RSS  %7.2f ms per VM\n' \
      "${what/$W\//}" "$s" "$m" "$(echo "$s * 1000 / $VMS" | bc -l)"
  done
}

t0=$(date +%s.%N)
"$V" --repo "$r" backup --jobs "$W/day0.jobs" --parallel 2 >/dev/null
"$V" --repo "$r" pds update --fraction 0.05 >/dev/null
for ((d = 1; d < DAYS; d++)); do
  printf 'day %02d' "$d" | dd of="$img" bs=1 seek=$((3000000 + d * 64)) conv=notrunc status=none
  "$V" --repo "$r" backup --jobs "$W/dayn.jobs" --parallel 2 >/dev/null
  if ((d == 1)); then report_costs; fi
done
echo "(backups took $(echo "$(date +%s.%N) - $t0" | bc) s)"
report_costs
"$V" --repo "$r" report >"$W/report.txt"
head -3 "$W/report.txt"
ls -l "$W/report.html" | awk '{ printf "HTML page: %d bytes\n", $5 }'
