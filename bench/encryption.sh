#!/usr/bin/env bash
# bench/encryption.sh: what encryption costs, measured side by side in one run.
#
# One image of this machine's own files (IMAGE_MB MiB, default 1024) is
# backed up in full (P3), then incrementally with a CBT bitmap of ~3 % dirty
# segments (P4), restored (P6) and verified with check --read-data (P10),
# into an unencrypted and an encrypted repository, alternating, REPEAT times
# (default 3). Prints best-of-REPEAT seconds and MB/s per step and the
# encrypted/plain ratio, then the kernels of crypto_bench.
# Environment: BENCH_WORK [/work/main/bench-work/encryption],
# BENCH_BUILD [build/release], IMAGE_MB [1024], REPEAT [3], RESTORE_DIR
# [/dev/shm when it exists: restores then measure vcsnap, not the disk].
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${BENCH_WORK:-$ROOT/bench-work/encryption}
BUILD=${BENCH_BUILD:-$ROOT/build/release}
IMAGE_MB=${IMAGE_MB:-1024}
REPEAT=${REPEAT:-3}
V=$BUILD/src/cli/vcsnap
OUT=${RESTORE_DIR:-$([[ -d /dev/shm ]] && echo /dev/shm || echo "$W")}/vcsnap-enc-bench.img
mkdir -p "$W"
trap 'rm -f "$OUT"' EXIT
img=$W/disk.img

if [[ ! -s $img || $(stat -c %s "$img") -ne $((IMAGE_MB << 20)) ]]; then
  echo "making a ${IMAGE_MB} MiB image of /usr files" >&2
  find /usr -type f -size +16k 2>/dev/null | sort | xargs cat 2>/dev/null |
    head -c $((IMAGE_MB << 20)) >"$img" || true
  truncate -s $((IMAGE_MB << 20)) "$img"
fi
# Day 2: 3 % of the 2 MiB segments rewritten in their middle, and the bitmap.
python3 - "$img" "$W/day2.img" "$W/day2.bitmap" <<'EOF'
import os, random, shutil, sys
src, dst, bm = sys.argv[1:4]
shutil.copyfile(src, dst)
seg = 2 << 20
segs = os.path.getsize(src) // seg
rng = random.Random(7)
dirty = sorted(rng.sample(range(segs), max(1, segs * 3 // 100)))
bits = bytearray((segs + 7) // 8)
with open(dst, 'r+b') as f:
    for s in dirty:
        f.seek(s * seg + seg // 2)
        f.write(rng.randbytes(64 << 10))
        bits[s // 8] |= 1 << (s % 8)
open(bm, 'wb').write(bits)
EOF

declare -A best
run() {  # run KIND STEP CMD...: time CMD, keep the best
  local kind=$1 step=$2
  shift 2
  local t0 t1 s
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  s=$(echo "$t1 - $t0" | bc)
  local k="$kind/$step"
  if [[ -z ${best[$k]:-} ]] || (($(echo "$s < ${best[$k]}" | bc))); then
    best[$k]=$s
  fi
}

for ((i = 1; i <= REPEAT; i++)); do
  for kind in plain encrypted; do
    repo=$W/repo-$kind
    rm -rf "$repo" "$OUT"
    if [[ $kind == encrypted ]]; then
      export VCSNAP_KEY_FILE=$W/bench.key
    else
      unset VCSNAP_KEY_FILE
    fi
    "$V" --repo "$repo" init >/dev/null 2>&1
    run $kind p3_full "$V" --repo "$repo" backup --vm vm1 --image "$img"
    run $kind p4_incremental "$V" --repo "$repo" backup --vm vm1 \
      --image "$W/day2.img" --bitmap "$W/day2.bitmap"
    run $kind p6_restore "$V" --repo "$repo" restore --vm vm1 --snapshot 2 \
      --output "$OUT" --force
    cmp -s "$OUT" "$W/day2.img" || { echo "restore differs ($kind)" >&2; exit 1; }
    run $kind p10_check "$V" --repo "$repo" check --read-data
    echo "round $i $kind: stored $(du -sb "$repo" | cut -f1) bytes" >&2
  done
done
unset VCSNAP_KEY_FILE

mb=$IMAGE_MB
printf '%-16s %12s %12s %12s %12s %8s\n' step "plain s" "plain MB/s" "enc s" "enc MB/s" "enc/plain"
for step in p3_full p4_incremental p6_restore p10_check; do
  p=${best[plain/$step]}
  e=${best[encrypted/$step]}
  printf '%-16s %12.3f %12.0f %12.3f %12.0f %8.2f\n' "$step" "$p" \
    "$(echo "$mb * 1.048576 / $p" | bc -l)" "$e" \
    "$(echo "$mb * 1.048576 / $e" | bc -l)" "$(echo "$p / $e" | bc -l)"
done
echo "(MB/s of logical image; check --read-data reads the stored chunks)"
if [[ -x $BUILD/src/chunk/crypto_bench ]]; then
  "$BUILD/src/chunk/crypto_bench" --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true 2>/dev/null | grep -E "median|Benchmark"
fi
