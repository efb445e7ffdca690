#!/usr/bin/env bash
# Configures and builds one flavour of vcsnap with CMake + Ninja.
#   scripts/build.sh release   -> build/release (RelWithDebInfo, -O3, -g1)
#   scripts/build.sh asan      -> build/asan    (Debug, ASan + UBSan)
#   scripts/build.sh tsan      -> build/tsan    (-O1, ThreadSanitizer; by hand,
#                                 not in CI: scripts/test.sh tsan)
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-release}"
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) args=(-DCMAKE_BUILD_TYPE=Debug -DVCSNAP_SANITIZE=ON -DVCSNAP_BUILD_BENCHMARKS=OFF) ;;
  # -O1: g++ 12 reports a false -Warray-bounds at -O3 under TSan.
  tsan) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g"
              -DVCSNAP_TSAN=ON -DVCSNAP_BUILD_BENCHMARKS=OFF) ;;
  *) echo "usage: $0 release|asan|tsan" >&2; exit 2 ;;
esac
cmake -S . -B "build/$flavour" -G Ninja "${args[@]}" >/dev/null
cmake --build "build/$flavour" --parallel "$(nproc)"
