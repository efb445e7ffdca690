#!/usr/bin/env bash
# The main job on the embedded default (a local repository), from a fresh
# Debian 12 machine: installs what is missing, builds vcsnap, generates a
# small VM fleet from this machine's own files (4 VMs x 4 days x 256 MiB),
# backs every VM up day by day with its CBT bitmap (the PDS is recomputed
# after each day; a cloud would do it weekly), restores every snapshot of the
# last day and one of the first and compares them byte for byte, runs check
# --read-data, prints a per-level dedup and speed table, backs one disk
# up again as a qcow2 image through qemu-nbd with QEMU's dirty bitmap as the
# CBT, and ends with the operator's report (text, and an HTML page). Work
# directory: ./demo (or $1). Sizes: VMS, DAYS, SIZE environment variables.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release >/dev/null
bin="$PWD/build/release/src"
vcsnap="$bin/cli/vcsnap"
fleetgen="$bin/fleet/vcsnap-fleetgen"
work="${1:-demo}"
vms="${VMS:-4}" days="${DAYS:-4}" size="${SIZE:-256MiB}"
rm -rf "$work"
mkdir -p "$work"
fleet="$work/fleet" repo="$work/repo"

echo "=== generating a fleet: $vms VMs x $days days x $size"
"$fleetgen" generate --out "$fleet" --vms "$vms" --days "$days" --size "$size" --seed 1 >/dev/null
echo "=== vcsnap init"
"$vcsnap" --repo "$repo" init
results="$work/results.jsonl"
: > "$results"
for ((d = 0; d < days; d++)); do
  day=$(printf 'day-%02d' "$d")
  jobs="$work/jobs-$day"
  : > "$jobs"
  for dir in "$fleet"/vm-*; do
    vm="$(basename "$dir")"
    if [[ $d -eq 0 ]]; then
      echo "$vm $dir/$day.img" >> "$jobs"
    else
      echo "$vm $dir/$day.img $dir/$day.bitmap" >> "$jobs"
    fi
  done
  start=$(date +%s.%N)
  "$vcsnap" --repo "$repo" backup --jobs "$jobs" --parallel 2 --json > "$work/$day.json"
  end=$(date +%s.%N)
  jq -c --arg day "$d" --arg wall "$(echo "$end - $start" | bc)" \
    '.[] | . + {day: ($day|tonumber), wall: ($wall|tonumber)}' "$work/$day.json" >> "$results"
  echo "=== day $d: backed up $vms VMs in $(printf '%.2f' "$(echo "$end - $start" | bc)") s"
  if [[ $d -lt $((days - 1)) ]]; then
    echo "=== vcsnap pds update --fraction 0.02"
    "$vcsnap" --repo "$repo" pds update --fraction 0.02 | sed 's/^/  /'
  fi
done

echo "=== restoring and comparing"
last=$(printf 'day-%02d' $((days - 1)))
for dir in "$fleet"/vm-*; do
  vm="$(basename "$dir")"
  "$vcsnap" --repo "$repo" restore --vm "$vm" --snapshot latest --output "$work/restored.img" --force >/dev/null
  cmp "$work/restored.img" "$dir/$last.img"
  "$vcsnap" --repo "$repo" restore --vm "$vm" --snapshot 1 --output "$work/restored.img" --force --verify >/dev/null
  cmp "$work/restored.img" "$dir/day-00.img"
  echo "  $vm: snapshot 1 and snapshot $days restore byte-exact"
done
rm -f "$work/restored.img"
echo "=== vcsnap check --read-data"
"$vcsnap" --repo "$repo" check --read-data

echo
echo "=== per-day dedup (share of logical bytes) and speed"
jq -rs '
  group_by(.day)[] |
  { day: .[0].day, logical: (map(.logical_bytes) | add),
    l1: (map(.bytes.level1) | add), l2: (map(.bytes.level2) | add),
    l3: (map(.bytes.level3) | add), zero: (map(.bytes.zero) | add),
    new: (map(.bytes.new) | add), stored: (map(.stored_bytes) | add),
    wall: .[0].wall } |
  [ .day, (.logical / 1048576 | floor),
    (100 * .l1 / .logical | . * 10 | round / 10),
    (100 * .l2 / .logical | . * 10 | round / 10),
    (100 * .l3 / .logical | . * 10 | round / 10),
    (100 * .zero / .logical | . * 10 | round / 10),
    (100 * .new / .logical | . * 100 | round / 100),
    (.stored / 1048576 * 10 | round / 10),
    (.logical / .wall / 1048576 | round) ] | @tsv' "$results" |
  awk 'BEGIN { printf "%4s %10s %7s %7s %7s %7s %7s %10s %10s\n", "day", "logical MiB", "lvl1%", "lvl2%", "lvl3%", "zero%", "new%", "stored MiB", "MiB/s" }
       { printf "%4s %10s %7s %7s %7s %7s %7s %10s %10s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'

# The same disk as a qcow2 image read through qemu-nbd, with QEMU's own
# persistent dirty bitmap as the CBT (what a hypervisor host has).
echo "=== qcow2 through qemu-nbd with QEMU's dirty bitmap"
q="$work/qcow-vm.qcow2"
rm -f "$q"
qemu-img convert -f raw -O qcow2 "$fleet/vm-00/day-00.img" "$q"
qemu-img bitmap --add -g 64K "$q" cbt
"$vcsnap" --repo "$repo" backup --vm qcow-vm --image "$q" --format qcow2 --json |
  jq -r '"  snapshot \(.snapshot): \(.logical_bytes) bytes read from \(.source), \(.stored_bytes) stored"'
qemu-io -f qcow2 -c 'write -P 0x5a 10M 200k' -c 'write -P 0xa5 100M 4k' "$q" >/dev/null  # the guest writes
"$vcsnap" --repo "$repo" backup --vm qcow-vm --image "$q" --format qcow2 --dirty-bitmap cbt --json |
  jq -r '"  snapshot \(.snapshot): \(.segments.dirty) of \(.segments.total) segments dirty in the bitmap, \(.sub_segment.bytes_reused) bytes of them not hashed"'
"$vcsnap" --repo "$repo" restore --vm qcow-vm --snapshot latest --output "$work/restored.img" --force --verify >/dev/null
qemu-img compare -q "$q" "$work/restored.img"
echo "  qemu-img compare: the restore equals the qcow2 disk"
rm -f "$work/restored.img"

# The same snapshot served read-only over NBD (nbdkit + the vcsnap plugin),
# without a restore: what a VM booting from its backup would read.
echo "=== serving the snapshot over NBD"
"$vcsnap" --repo "$repo" serve --vm qcow-vm --snapshot latest \
  --run "qemu-img compare -q \"\$uri\" $q && qemu-img map -f raw --output=json \"\$uri\" > $work/map.json" 2>/dev/null
jq -r '"  qemu-img compare: the export equals the qcow2 disk; \(map(select(.data)) | length) data extents, \(map(select(.data | not) | .length) | add) bytes of holes"' "$work/map.json"

echo
echo "=== vcsnap report (also written as $work/report.html)"
"$vcsnap" --repo "$repo" report
"$vcsnap" --repo "$repo" report --isolation --output "$work/report.html"
du -sh "$fleet" "$repo" | awk '{ printf "  %s  %s\n", $1, $2 }'
echo "demo: done (work directory $work)"
