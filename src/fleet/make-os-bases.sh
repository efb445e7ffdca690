#!/usr/bin/env bash
# Builds Debian minbase root trees (bookworm, trixie, bullseye) into a cache
# directory, for fleets whose OS families are real distributions:
#   src/fleet/make-os-bases.sh /var/cache/vcsnap-bases
#   vcsnap-fleetgen generate --source /var/cache/vcsnap-bases ...
# Needs root, debootstrap (apt-get install debootstrap) and Debian's package
# mirror; about 40 s and 200 MB per suite. Trees that exist are kept.
# apt caches and lists are removed (they are not OS content). Optional: CI
# and the tests never call it (they use this machine's /usr).
set -euo pipefail
cache="${1:?usage: make-os-bases.sh CACHE_DIR [SUITE...]}"
shift
suites=("$@")
[[ ${#suites[@]} -eq 0 ]] && suites=(bookworm trixie bullseye)
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$cache"
for suite in "${suites[@]}"; do
  dir="$cache/$suite"
  if [[ -e "$dir/.complete" ]]; then
    echo "make-os-bases: $suite: already in $dir"
    continue
  fi
  rm -rf "$dir.tmp"
  echo "make-os-bases: $suite: debootstrap into $dir"
  debootstrap --variant=minbase "$suite" "$dir.tmp" "$mirror" >/dev/null
  rm -rf "$dir.tmp/var/cache/apt/archives/"*.deb "$dir.tmp/var/lib/apt/lists/"*
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  touch "$dir/.complete"
done
echo "make-os-bases: done: $cache"
