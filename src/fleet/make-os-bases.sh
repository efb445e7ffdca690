#!/usr/bin/env bash
# Builds Debian minbase root trees (bookworm, trixie, bullseye) into a cache
# directory, for fleets whose OS families are real distributions:
#   src/fleet/make-os-bases.sh [--ext4] /var/cache/vcsnap-bases [SUITE...]
#   vcsnap-fleetgen generate --source /var/cache/vcsnap-bases --source-families ...
#   vcsnap-fleetgen generate --source /var/cache/vcsnap-bases/bookworm ...
# Needs root, debootstrap (apt-get install debootstrap; this script does not
# install it) and Debian's package mirror ($DEBIAN_MIRROR overrides it);
# about 1-2 minutes and 120 MB per suite (docs/fleet.md). Trees that exist
# are kept. apt caches and lists are removed (they are not OS content).
# --ext4 also writes CACHE/<suite>.ext4, a 2 GiB sparse ext4 image of the
# tree made with mke2fs -d (no mount) and checked with e2fsck, for work
# that needs a real file system (QEMU); the generator reads the trees.
# Optional: CI and the tests never call it (they use this machine's /usr).
set -euo pipefail
ext4=0
if [[ ${1:-} == --ext4 ]]; then
  ext4=1
  shift
fi
cache="${1:?usage: make-os-bases.sh [--ext4] CACHE_DIR [SUITE...]}"
shift
suites=("$@")
[[ ${#suites[@]} -eq 0 ]] && suites=(bookworm trixie bullseye)
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
die() {
  echo "make-os-bases: error: $*" >&2
  exit 1
}
[[ $(id -u) -eq 0 ]] || die "debootstrap needs root"
command -v debootstrap >/dev/null ||
  die "debootstrap is not installed (apt-get install debootstrap)"
if [[ $ext4 -eq 1 ]]; then
  command -v mke2fs >/dev/null || die "mke2fs is not installed (e2fsprogs)"
fi
# Unmounts whatever a killed debootstrap left mounted below $1 (proc, sys),
# so that rm -rf never walks into a live /proc or /sys.
unmount_below() {
  local m
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v p="$(realpath -m "$1")/" 'index($2, p) == 1 {print $2}' \
    /proc/mounts | sort -r)
}
mkdir -p "$cache"
for suite in "${suites[@]}"; do
  dir="$cache/$suite"
  if [[ -e "$dir/.complete" ]]; then
    echo "make-os-bases: $suite: already in $dir"
  else
    unmount_below "$dir.tmp"
    rm -rf "$dir.tmp"
    echo "make-os-bases: $suite: debootstrap into $dir"
    start=$SECONDS
    if ! debootstrap --variant=minbase "$suite" "$dir.tmp" "$mirror" \
      >"$cache/$suite.log" 2>&1; then
      unmount_below "$dir.tmp"
      tail -n 20 "$cache/$suite.log" >&2
      [[ -f "$dir.tmp/debootstrap/debootstrap.log" ]] &&
        tail -n 20 "$dir.tmp/debootstrap/debootstrap.log" >&2
      die "$suite: debootstrap failed (log: $cache/$suite.log)"
    fi
    unmount_below "$dir.tmp"
    rm -f "$cache/$suite.log"
    rm -rf "$dir.tmp/var/cache/apt/archives/"*.deb \
      "$dir.tmp/var/lib/apt/lists/"*
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
    touch "$dir/.complete"
    echo "make-os-bases: $suite: $((SECONDS - start)) s," \
      "$(du -sh "$dir" | cut -f1), $(find "$dir" -type f | wc -l) files"
  fi
  if [[ $ext4 -eq 1 && ! -e "$cache/$suite.ext4" ]]; then
    start=$SECONDS
    rm -f "$cache/$suite.ext4.tmp"
    mke2fs -q -t ext4 -d "$dir" -L "$suite" "$cache/$suite.ext4.tmp" 2G \
      >/dev/null
    if ! fsck=$(e2fsck -fn "$cache/$suite.ext4.tmp" 2>&1); then
      echo "$fsck" >&2
      die "$suite: e2fsck found errors in $cache/$suite.ext4.tmp"
    fi
    mv "$cache/$suite.ext4.tmp" "$cache/$suite.ext4"
    echo "make-os-bases: $suite: $cache/$suite.ext4 in $((SECONDS - start)) s," \
      "$(du -h "$cache/$suite.ext4" | cut -f1) allocated of 2 GiB"
  fi
done
echo "make-os-bases: done: $cache"
