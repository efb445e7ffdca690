#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is
# missing, builds the normal and the ASan/UBSan flavours, and runs every test
# of both with CTest. The last line is CTest's summary of the sanitizer run.
# With arguments, only those flavours: `scripts/test.sh tsan` builds and runs
# everything under ThreadSanitizer (by hand; about 12 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs="$(nproc)"
status=0
for flavour in ${*:-release asan}; do
  echo "=== build: $flavour"
  scripts/build.sh "$flavour"
  echo "=== test: $flavour"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  if ! ctest --test-dir "build/$flavour" --output-on-failure -j "$jobs"; then
    status=1
  fi
done
exit $status
