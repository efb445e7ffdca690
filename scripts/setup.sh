#!/usr/bin/env bash
# Installs what vcsnap needs to build and test on Debian 12 (as root, or with
# sudo available). Idempotent: packages already present are not touched, and
# apt is not called at all when nothing is missing.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libzstd-dev liblz4-dev libxxhash-dev
  libcli11-dev nlohmann-json3-dev
  libnbd-dev qemu-utils nbdkit nbdkit-plugin-dev
  librados-dev libradospp-dev ceph-mon ceph-osd ceph-common
  memcached libmemcached-dev
  e2fsprogs jq bc
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
