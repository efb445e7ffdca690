#!/usr/bin/env bash
# The main job on the embedded default (a local repository): installs what is
# missing, builds vcsnap, and exercises it on a fresh repository under
# ./demo (or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
vcsnap=build/release/src/cli/vcsnap
work="${1:-demo}"
rm -rf "$work"
mkdir -p "$work"
repo="$work/repo"
echo "=== vcsnap init"
"$vcsnap" --repo "$repo" init
echo "=== vcsnap stats"
"$vcsnap" --repo "$repo" stats
echo
echo "demo: repository created at $repo."
echo "demo: backup and restore arrive with the store, chunker and backup layers (see README: Status)."
