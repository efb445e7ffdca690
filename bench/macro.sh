#!/usr/bin/env bash
# bench/macro.sh: end-to-end benchmarks of vcsnap against SPEC §3 P3-P10,
# with restic and Borg measured side by side in the same run.
#
#   bench/macro.sh [SECTION...]      SECTION: setup p3 p4 p5 p6 p7 p8 p9 p10
#                                    pds pdsscale all report clean
#                                    (default: all)
#
# p3 also measures P4 (full, then incremental, of the same image, per tool);
# p6 restores the snapshots p3 made; p9 also measures P5 (its days 1-4 are
# 10 VMs backed up concurrently) and `pds update` times; p7 = pds_bench plus
# the RSS figures of p3/p9; p10 reads the repositories of p3 and p9; p8 also
# times forget against gc on one VM with 11 daily snapshots of 4 GiB.
# Results: $BENCH_WORK/results/*.json (raw), table on stdout (bench/report.py),
# and the same as a page, results/report.html (bench/report_html.py).
# Environment: BENCH_WORK [/work/main/bench-work], BENCH_BUILD [build/bench],
# REPEAT [3], PARALLEL (P5 streams) [10], KEEP=1 keeps the repositories,
# KEEP_DATA=1 the generated fleets (~12 GiB; regenerating takes ~2.5 min),
# P9_GEN_DAYS [5] the days of the P9 fleet.
# Installs restic, borgbackup and time with apt-get when they are missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${BENCH_WORK:-$ROOT/bench-work}
BUILD=${BENCH_BUILD:-$ROOT/build/bench}
REPEAT=${REPEAT:-3}
PARALLEL=${PARALLEL:-10}
VCSNAP=$BUILD/src/cli/vcsnap
FLEETGEN=$BUILD/src/fleet/vcsnap-fleetgen
PDSBENCH=$BUILD/src/pds/pds_bench
DATA=$W/data
RES=$W/results
REPOS=$W/repos
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$W/cache/restic
export BORG_BASE_DIR=$W/cache/borg BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

log() { echo "[$(date +%T)] $*" >&2; }

# timed NAME CMD...: runs CMD under /usr/bin/time -v; stdout to
# $RES/NAME.out; appends {"name","wall","rss_kb","load"} to $RES/runs.jsonl.
timed() {
  local name=$1
  shift
  local t0 t1
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$RES/$name.time" "$@" >"$RES/$name.out" 2>"$RES/$name.err" || {
    log "FAILED: $name: $*"
    tail -5 "$RES/$name.err" >&2
    return 1
  }
  t1=$(date +%s.%N)
  local rss
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$RES/$name.time")
  printf '{"name":"%s","wall":%.6f,"rss_kb":%s,"load":%s}\n' "$name" \
    "$(echo "$t1 - $t0" | bc)" "$rss" "$load" >>"$RES/runs.jsonl"
}

du_bytes() { du -sb "$1" | cut -f1; }
note() { echo "$1" >>"$RES/notes.jsonl"; }  # one JSON object per line

setup() {
  mkdir -p "$DATA" "$RES" "$REPOS" "$W/cache" "$W/stage" "$W/out"
  if ! command -v restic >/dev/null || ! command -v borg >/dev/null ||
    [ ! -x /usr/bin/time ]; then
    log "installing restic borgbackup time"
    apt-get install -y restic borgbackup time >/dev/null
  fi
  if [ ! -x "$VCSNAP" ] || [ ! -x "$FLEETGEN" ] || [ ! -x "$PDSBENCH" ]; then
    log "building $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD" --parallel 2 --target vcsnap vcsnap-fleetgen pds_bench
  fi
  {
    echo "{\"cpu\":\"$(lscpu | sed -n 's/^Model name: *//p')\",\"cores\":$(nproc),"
    echo "\"restic\":\"$(restic version | cut -d' ' -f2)\",\"borg\":\"$(borg --version | cut -d' ' -f2)\","
    echo "\"vcsnap\":\"$("$VCSNAP" --version)\",\"date\":\"$(date -u +%FT%TZ)\"}"
  } | tr -d '\n' >"$RES/machine.json"
}

# gen NAME ARGS...: generates a fleet once (kept across runs).
gen() {
  local name=$1
  shift
  if [ -f "$DATA/$name/manifest.json" ]; then return; fi
  rm -rf "${DATA:?}/$name"
  log "generating fleet $name: $*"
  timed "gen_$name" "$FLEETGEN" generate --out "$DATA/$name" "$@"
}

# ---- P3 + P4: full then CBT incremental of one image; vcsnap, restic, borg.
# Bitmaps at QEMU's 64 KiB granule. P4 runs the incremental twice from the
# same full backup: with that bitmap (sub-segment CBT, the product's path on
# QEMU) and with one bit per 2 MiB segment (derived by OR-ing 32 granules).
P3_ARGS=(--vms 1 --days 2 --size 4GiB --seed 3 --change-rate 0.0015
  --scatter 0.004 --growth 0 --update-period 0 --granularity 65536)
GRANULE=65536

p3() {
  gen p3 "${P3_ARGS[@]}"
  local img0=$DATA/p3/vm-00/day-00.img img1=$DATA/p3/vm-00/day-01.img
  local stage=$W/stage/disk.img
  # Every tool reads from the page cache: each image is read again just
  # before each timed backup (the others' runs may have evicted it). Each
  # incremental starts after a sync, so that no writeback of the previous
  # runs competes with its own writes and fsyncs.
  rm -f "$RES"/p3_*
  for r in $(seq 1 "$REPEAT"); do
    log "P3/P4 round $r: vcsnap"
    rm -rf "$REPOS/p3_vcsnap"
    "$VCSNAP" --repo "$REPOS/p3_vcsnap" init >/dev/null
    cat "$img0" >/dev/null
    timed "p3_vcsnap_full_$r" "$VCSNAP" --repo "$REPOS/p3_vcsnap" backup --vm vm-00 \
      --image "$img0" --bitmap "$DATA/p3/vm-00/day-00.bitmap" \
      --bitmap-granularity $GRANULE --json
    note "{\"name\":\"p3_vcsnap_repo_full_$r\",\"bytes\":$(du_bytes "$REPOS/p3_vcsnap")}"
    # The first timed incremental of a round ran up to 2x slower than the
    # second, whatever its bitmap (2026-11-22: 0.68-0.84 s against
    # 0.46-0.54 s; an untimed warm-up run before them did not change that,
    # and by hand it did not reproduce), so the two alternate their order.
    rm -rf "$REPOS/p4_segment"
    cp -a "$REPOS/p3_vcsnap" "$REPOS/p4_segment"
    sync
    python3 "$ROOT/bench/segment_bitmap.py" "$DATA/p3/vm-00/day-01.bitmap" \
      "$W/day-01.segment.bitmap"
    for variant in $( ((r % 2)) && echo "fine segment" || echo "segment fine"); do
      sync
      cat "$img1" >/dev/null
      if [ "$variant" = fine ]; then
        timed "p3_vcsnap_incr_$r" "$VCSNAP" --repo "$REPOS/p3_vcsnap" backup \
          --vm vm-00 --image "$img1" --bitmap "$DATA/p3/vm-00/day-01.bitmap" \
          --bitmap-granularity $GRANULE --json
        note "{\"name\":\"p3_vcsnap_repo_incr_$r\",\"bytes\":$(du_bytes "$REPOS/p3_vcsnap")}"
      else
        timed "p4_segment_incr_$r" "$VCSNAP" --repo "$REPOS/p4_segment" backup \
          --vm vm-00 --image "$img1" --bitmap "$W/day-01.segment.bitmap" --json
      fi
    done
    rm -rf "$REPOS/p4_segment"
    sync

    log "P3/P4 round $r: restic"
    rm -rf "$REPOS/p3_restic" "$RESTIC_CACHE_DIR"
    restic init --repository-version 2 --repo "$REPOS/p3_restic" >/dev/null
    ln -f "$img0" "$stage"
    cat "$img0" >/dev/null
    timed "p3_restic_full_$r" restic --repo "$REPOS/p3_restic" backup --host bench \
      --json "$stage"
    note "{\"name\":\"p3_restic_repo_full_$r\",\"bytes\":$(du_bytes "$REPOS/p3_restic")}"
    ln -f "$img1" "$stage"
    sync
    cat "$img1" >/dev/null
    timed "p3_restic_incr_$r" restic --repo "$REPOS/p3_restic" backup --host bench \
      --json "$stage"
    note "{\"name\":\"p3_restic_repo_incr_$r\",\"bytes\":$(du_bytes "$REPOS/p3_restic")}"

    log "P3/P4 round $r: borg"
    rm -rf "$REPOS/p3_borg" "$BORG_BASE_DIR"
    borg init -e none "$REPOS/p3_borg"
    ln -f "$img0" "$stage"
    cat "$img0" >/dev/null
    (cd "$W/stage" && timed "p3_borg_full_$r" borg create --compression zstd,1 \
      --json "$REPOS/p3_borg::day0" disk.img)
    note "{\"name\":\"p3_borg_repo_full_$r\",\"bytes\":$(du_bytes "$REPOS/p3_borg")}"
    ln -f "$img1" "$stage"
    sync
    cat "$img1" >/dev/null
    (cd "$W/stage" && timed "p3_borg_incr_$r" borg create --compression zstd,1 \
      --json "$REPOS/p3_borg::day1" disk.img)
    note "{\"name\":\"p3_borg_repo_incr_$r\",\"bytes\":$(du_bytes "$REPOS/p3_borg")}"
    rm -f "$stage"
  done
  note "{\"name\":\"p3_image\",\"bytes\":$(stat -c %s "$img0"),\"allocated\":$(($(stat -c %b "$img0") * 512))}"
}

# ---- P6: restore the day-1 snapshot with each tool. Rounds 1..REPEAT write
# to tmpfs (/dev/shm: the tools' speed), one more round to the work disk
# (the disk's write speed is measured beside it with dd ... conv=fsync).
p6() {
  [ -d "$REPOS/p3_borg" ] || p3
  local sha shm=/dev/shm/vcsnap-bench
  sha=$(python3 -c "import json;print(json.load(open('$DATA/p3/manifest.json'))['vms'][0]['days'][1]['sha256'])")
  rm -f "$RES"/p6_*
  for r in $(seq 1 "$REPEAT") disk; do
    local out=$shm
    [ "$r" = disk ] && out=$W/out
    rm -rf "$shm" "$W/out"
    mkdir -p "$out"
    log "P6 round $r ($out)"
    timed "p6_vcsnap_$r" "$VCSNAP" --repo "$REPOS/p3_vcsnap" restore --vm vm-00 \
      --snapshot latest --output "$out/vcsnap.img" --json
    if [ "$r" = 1 ]; then
      [ "$(sha256sum "$out/vcsnap.img" | cut -d' ' -f1)" = "$sha" ] ||
        { log "vcsnap restore differs from the image"; exit 1; }
    fi
    rm -f "$out/vcsnap.img"
    timed "p6_restic_$r" restic --repo "$REPOS/p3_restic" restore latest --host bench \
      --target "$out/restic"
    rm -rf "$out/restic"
    mkdir -p "$out/borg"
    (cd "$out/borg" && timed "p6_borg_$r" borg extract --sparse "$REPOS/p3_borg::day1")
    rm -rf "$out/borg"
  done
  rm -rf "$shm"
  sync
  timed p6_dd_disk dd if=/dev/zero of="$W/out/dd.img" bs=4M count=400 conv=fsync
  rm -f "$W/out/dd.img"
}

# ---- P9 (+P5): fleet of 10 VMs x 5 days (128 MiB), every VM backed up day
# by day with its bitmap, 10 VMs at a time (these runs are P5's data).
#  trained (the paper's setting, a PDS built from the fleet's popularity):
#    pass 1 backs up the whole fleet (= the no-PDS baseline), `pds update
#    --fraction F`, pass 2 backs up the whole fleet again as new VMs b-vm-NN
#    (no parent, no level 1/2 against pass 1: only inner-VM dedup and the
#    PDS); vcsnap unique = sum of pass 2's bytes.new.
#  online (bootstrapping a new cluster): one repository, PDS (F=0.02) built
#    after day P9_PDS_DAY, days continue; vcsnap unique = sum of bytes.new.
# efficiency = (logical - vcsnap unique) / (logical - exact unique), exact
# unique from `vcsnap-fleetgen truth` (SPEC P9, paper Fig. 12).
# P9_GEN_DAYS=10 (with its own BENCH_WORK) measures P7's memory per TB of
# raw snapshots at a longer retention.
P9_ARGS=(--vms 10 --days "${P9_GEN_DAYS:-5}" --size 128MiB --seed 9)
P9_PDS_DAY=${P9_PDS_DAY:-1}
jobs_file() { # day [prefix] -> jobs file
  local day f
  day=$(printf '%02d' "$1")
  f=$W/stage/jobs-${2:-}$day
  : >"$f"
  for vm in "$DATA"/p9/vm-*; do
    echo "${2:-}$(basename "$vm") $vm/day-$day.img $vm/day-$day.bitmap" >>"$f"
  done
  echo "$f"
}
p9_days() { # repo name-prefix vm-prefix [pds-day fraction]
  local d
  for d in $(seq 0 $((P9_DAYS - 1))); do
    log "P9 $2 day $d"
    # From the page cache, as every tool's reads in P3-P6 (P3/P6 evict these).
    cat "$DATA"/p9/vm-*/day-"$(printf '%02d' "$d")".img >/dev/null
    timed "$2_day$d" "$VCSNAP" --repo "$1" backup --jobs "$(jobs_file "$d" "$3")" \
      --parallel "$PARALLEL" --json
    if [ "$d" = "${4:-x}" ]; then
      timed "$2_pds" "$VCSNAP" --repo "$1" pds update --fraction "$5" --json
    fi
  done
}
p9() {
  gen p9 "${P9_ARGS[@]}"
  [ -f "$RES/p9_truth.out" ] ||
    timed p9_truth "$FLEETGEN" truth --fleet "$DATA/p9" --json
  rm -f "$RES"/p9_t0* "$RES"/p9_online*
  P9_DAYS=$(python3 -c "import json;print(len(json.load(open('$DATA/p9/manifest.json'))['vms'][0]['days']))")
  local repo
  for f in 0.01 0.02 0.04; do
    repo=$REPOS/p9_t$f
    rm -rf "$repo"
    "$VCSNAP" --repo "$repo" init >/dev/null
    p9_days "$repo" "p9_t${f}_pass1" ""
    timed "p9_t${f}_pds" "$VCSNAP" --repo "$repo" pds update --fraction "$f" --json
    p9_days "$repo" "p9_t${f}_pass2" "b-"
    note "{\"name\":\"p9_t${f}_repo\",\"bytes\":$(du_bytes "$repo")}"
    [ "${KEEP:-0}" = 1 ] || rm -rf "$repo"
  done
  repo=$REPOS/p9_online
  rm -rf "$repo"
  "$VCSNAP" --repo "$repo" init >/dev/null
  p9_days "$repo" p9_online "" "$P9_PDS_DAY" 0.02
  note "{\"name\":\"p9_online_repo\",\"bytes\":$(du_bytes "$repo")}"
}

# ---- P8: one VM x 12 days; forget oldest vs gc; leak after 1..10 deletions.
P8_ARGS=(--vms 1 --days 12 --size 512MiB --seed 8)
P8BIG_ARGS=(--vms 1 --days 11 --size 4GiB --seed 8)
p8() {
  gen p8 "${P8_ARGS[@]}"
  local base=$REPOS/p8_base
  rm -f "$RES"/p8_*
  rm -rf "$base"
  "$VCSNAP" --repo "$base" init >/dev/null
  for img in "$DATA"/p8/vm-00/day-*.img; do
    "$VCSNAP" --repo "$base" backup --vm vm-00 --image "$img" \
      --bitmap "${img%.img}.bitmap" --json >>"$RES/p8_backups.out"
  done
  "$VCSNAP" --repo "$base" snapshots --vm vm-00 --json >"$RES/p8_snapshots.json"
  mapfile -t snaps < <(python3 -c "import json;[print(s['snapshot']) for s in json.load(open('$RES/p8_snapshots.json'))]")
  # forget vs full mark-and-sweep of the same VM state, on fresh copies.
  for r in $(seq 1 "$REPEAT"); do
    log "P8 round $r"
    rm -rf "$REPOS/p8_a"
    cp -a "$base" "$REPOS/p8_a"
    sync  # the copy is written back before forget's fsyncs, not during them
    timed "p8_forget_$r" "$VCSNAP" --repo "$REPOS/p8_a" forget --vm vm-00 \
      --snapshot "${snaps[0]}" --json
    timed "p8_gc_$r" "$VCSNAP" --repo "$REPOS/p8_a" gc --vm vm-00 --json
  done
  # leak after k successive deletions (oldest first), each k on a copy.
  local kmax=$((${#snaps[@]} - 2))
  [ "$kmax" -le 10 ] || kmax=10
  rm -rf "$REPOS/p8_seq"
  cp -a "$base" "$REPOS/p8_seq"
  for k in $(seq 1 "$kmax"); do
    timed "p8_leak_forget_$k" "$VCSNAP" --repo "$REPOS/p8_seq" forget --vm vm-00 \
      --snapshot "${snaps[$((k - 1))]}" --json
    rm -rf "$REPOS/p8_k"
    cp -a "$REPOS/p8_seq" "$REPOS/p8_k"
    sync
    timed "p8_leak_gc_$k" "$VCSNAP" --repo "$REPOS/p8_k" gc --vm vm-00 --json
    timed "p8_leak_gc2_$k" "$VCSNAP" --repo "$REPOS/p8_k" gc --vm vm-00 --json
  done
  rm -rf "$REPOS/p8_k" "$REPOS/p8_a" "$REPOS/p8_seq"
  # a bigger VM: 11 daily snapshots of 4 GiB (each image is deleted once
  # backed up, to bound the disk; KEEP_DATA=1 keeps them, ~24 GiB).
  gen p8big "${P8BIG_ARGS[@]}"
  local big=$REPOS/p8big_base
  if [ ! -d "$big" ]; then
    "$VCSNAP" --repo "$big.tmp" init >/dev/null
    for img in "$DATA"/p8big/vm-00/day-*.img; do
      "$VCSNAP" --repo "$big.tmp" backup --vm vm-00 --image "$img" \
        --bitmap "${img%.img}.bitmap" --json >>"$RES/p8big_backups.out"
      [ "${KEEP_DATA:-0}" = 1 ] || rm -f "$img"
    done
    mv "$big.tmp" "$big"
  fi
  [ "${KEEP_DATA:-0}" = 1 ] || rm -rf "${DATA:?}/p8big"
  for r in $(seq 1 "$REPEAT"); do
    log "P8 big round $r"
    rm -rf "$REPOS/p8_a"
    cp -a "$big" "$REPOS/p8_a"
    sync
    timed "p8big_forget_$r" "$VCSNAP" --repo "$REPOS/p8_a" forget --vm vm-00 \
      --snapshot 1 --json
    timed "p8big_gc_$r" "$VCSNAP" --repo "$REPOS/p8_a" gc --vm vm-00 --json
  done
  rm -rf "$REPOS/p8_a"
  [ "${KEEP:-0}" = 1 ] || rm -rf "$big"
  [ "${KEEP:-0}" = 1 ] || rm -rf "$base"
}

# ---- P10: check --read-data on the P3 and P9 repositories.
p10() {
  [ -d "$REPOS/p3_vcsnap" ] || p3
  rm -f "$RES"/p10_*
  for r in $(seq 1 "$REPEAT"); do
    timed "p10_p3_$r" "$VCSNAP" --repo "$REPOS/p3_vcsnap" check --read-data --json
    if [ -d "$REPOS/p9_online" ]; then
      timed "p10_p9_$r" "$VCSNAP" --repo "$REPOS/p9_online" check --read-data --json
    fi
  done
  note "{\"name\":\"p10_p3_repo\",\"bytes\":$(du_bytes "$REPOS/p3_vcsnap")}"
  [ -d "$REPOS/p9_online" ] &&
    note "{\"name\":\"p10_p9_repo\",\"bytes\":$(du_bytes "$REPOS/p9_online")}"
  return 0
}

# ---- PDS index micro-benchmarks (P7's bytes per entry).
# ---- PDS at fleet scale: `pds update` time against the number of VMs, and
# level 3 of a new VM with the on-disk index (deferred batches) against the
# in-memory table, with a PDS of half the unique chunks.
PDSS_ARGS=(--vms 16 --days 2 --size 256MiB --seed 7)
pdsscale() {
  gen pdss "${PDSS_ARGS[@]}"
  rm -f "$RES"/pdss_*
  local n repo d f vm r mode
  for n in 4 8 16; do
    repo=$REPOS/pdss_$n
    rm -rf "$repo"
    "$VCSNAP" --repo "$repo" init >/dev/null
    for d in 00 01; do
      f=$W/stage/pdss-$n-$d
      : >"$f"
      for vm in $(find "$DATA/pdss" -maxdepth 1 -name 'vm-*' | sort | head -n "$n"); do
        echo "$(basename "$vm") $vm/day-$d.img $vm/day-$d.bitmap" >>"$f"
      done
      log "PDS scale: $n VMs, day $d"
      "$VCSNAP" --repo "$repo" backup --jobs "$f" --parallel 2 --json \
        >"$RES/pdss_${n}_backup_$d.out"
    done
    for r in $(seq 1 "$REPEAT"); do
      timed "pdss_${n}_update_$r" "$VCSNAP" --repo "$repo" pds update --fraction 0.02 --json
    done
    [ "$n" = 16 ] || rm -rf "$repo"
  done
  repo=$REPOS/pdss_16
  timed pdss_half "$VCSNAP" --repo "$repo" pds update --fraction 0.5 --json
  for r in $(seq 1 "$REPEAT"); do
    for mode in memory file; do
      log "PDS scale: probe backup, $mode index, round $r"
      timed "pdss_probe_${mode}_$r" "$VCSNAP" --repo "$repo" backup \
        --vm "probe-$mode-$r" --image "$DATA/pdss/vm-00/day-00.img" \
        --pds-index "$mode" --json
    done
  done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$repo"
}

pds() {
  "$PDSBENCH" --benchmark_repetitions="$REPEAT" --benchmark_report_aggregates_only=true \
    --benchmark_format=json >"$RES/pds_bench.json" 2>"$RES/pds_bench.err"
}

clean() {
  [ "${KEEP:-0}" = 1 ] && return
  rm -rf "$REPOS" "$W/out" "$W/stage" "$W/cache" /dev/shm/vcsnap-bench
  [ "${KEEP_DATA:-0}" = 1 ] || rm -rf "$DATA"  # the fleets (~12 GiB)
}

report() {
  python3 "$ROOT/bench/report.py" "$W"
  python3 "$ROOT/bench/report_html.py" "$RES/summary.json" "$RES/report.html"
}

main() {
  local sections=("$@")
  [ ${#sections[@]} -gt 0 ] || sections=(all)
  setup
  local t0=$SECONDS
  for s in "${sections[@]}"; do
    case $s in
    setup) ;;
    p3 | p4) p3 ;;
    p6) p6 ;;
    p5 | p9) p9 ;;
    p8) p8 ;;
    p10) p10 ;;
    p7 | pds) pds ;;
    pdsscale) pdsscale ;;
    report) ;;
    clean) KEEP=0 clean ;;
    all)
      : >"$RES/runs.jsonl"
      : >"$RES/notes.jsonl"
      p3
      p6
      p8
      p9
      p10
      pds
      pdsscale
      clean
      ;;
    *)
      echo "unknown section $s (setup p3 p4 p5 p6 p7 p8 p9 p10 pds all report clean)" >&2
      exit 2
      ;;
    esac
  done
  log "sections ${sections[*]} took $((SECONDS - t0)) s"
  report
}

main "$@"
