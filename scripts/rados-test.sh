#!/usr/bin/env bash
# The whole product on a Ceph cluster, with several agents at once: one
# repository in RADOS (VM stores in pool vcsnap-vm, the PDS in vcsnap-pds),
# three `vcsnap backup` processes writing different VMs concurrently for
# three days, a second agent refused while one holds a VM, a concurrent
# `pds update`, the PDS index shared in memcached, then restore byte-exact,
# check --read-data, forget, gc, compact, serve over NBD, and the errors an
# operator meets with a wrong location.
# Usage: rados-test.sh path/to/vcsnap path/to/vcsnap-fleetgen CEPH_CONF \
#          MEMCACHED_DIR [normal|asan]
# CEPH_CONF: a cluster from scripts/ceph-test-cluster.sh (CTest's `ceph`
# fixture provides one); MEMCACHED_DIR: servers from
# scripts/memcached-test-servers.sh (the `memcached` fixture). The serve part runs only in the normal build (see
# cli-test.sh for why).
set -uo pipefail
vcsnap="$1"
fleetgen="$2"
conf="$3"
mc_dir="$4"
flavour="${5:-normal}"
tmp="$(mktemp -d)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
[[ -r $conf ]] || { echo "FAIL: no Ceph conf at $conf"; exit 1; }
mc=$(cat "$mc_dir/location" 2>/dev/null) || { echo "FAIL: no memcached location in $mc_dir"; exit 1; }
ns="rt$$x$RANDOM"
r="rados://vcsnap-vm/$ns?conf=$conf&timeout=30"
f="$tmp/fleet"
# shellcheck source=test-lib.sh
source "$(dirname "$0")/test-lib.sh"

"$fleetgen" generate --out "$f" --vms 4 --days 3 --size 48MiB --seed 11 \
  >/dev/null || { echo "FAIL: fleetgen"; exit 1; }
expect 0 "created vcsnap repository" "$vcsnap" --repo "$r&pds_pool=vcsnap-pds" init
expect 1 "keeps its PDS in pool 'vcsnap-pds', not 'vcsnap-vm'" \
  "$vcsnap" --repo "$r&pds_pool=vcsnap-vm" snapshots
expect 1 "no vcsnap repository in rados:vcsnap-vm/none-$ns.*vcsnap init" \
  "$vcsnap" --repo "rados://vcsnap-vm/none-$ns?conf=$conf" snapshots
expect 1 "RADOS pool 'no-such-pool' does not exist" \
  "$vcsnap" --repo "rados://no-such-pool?conf=$conf" snapshots
expect 2 "--repo: .*unknown key 'colour'" "$vcsnap" --repo "$r&colour=blue" snapshots
expect 1 "no PDS published yet" "$vcsnap" --repo "$r" pds load --memcached "$mc"

# Three agents, one VM each, at the same time; vm-03 is backed up by the
# first agent after its own VM (a host with two VMs).
for day in 0 1 2; do
  pids=()
  for vm in vm-00 vm-01 vm-02; do
    img="$f/$vm/day-0$day.img"
    bitmap=()
    [[ $day -gt 0 ]] && bitmap=(--bitmap "${img%.img}.bitmap")
    (
      "$vcsnap" --repo "$r" backup --vm "$vm" --image "$img" "${bitmap[@]}" \
        --pds-index "$mc" --json \
        >"$tmp/$vm.$day.json" 2>"$tmp/$vm.$day.err" &&
        if [[ $vm == vm-00 ]]; then
          "$vcsnap" --repo "$r" backup --vm vm-03 --image "$f/vm-03/day-0$day.img" \
            >"$tmp/vm-03.$day.json" 2>"$tmp/vm-03.$day.err"
        fi
    ) &
    pids+=($!)
  done
  # While they run, the PDS is recomputed from day 1 on (it takes its own
  # lease; backups read whichever generation is published).
  if [[ $day -ge 1 ]]; then
    run "$vcsnap" --repo "$r" pds update --fraction 0.05 --memcached "$mc"
  fi
  for i in "${!pids[@]}"; do
    checks=$((checks + 1))
    wait "${pids[$i]}" || {
      fail "agent $i day $day"
      cat "$tmp"/vm-0*."$day".err | head -5
    }
  done
done
expect 0 "vm-03 +3 " "$vcsnap" --repo "$r" snapshots

# Two agents on one VM: the second is refused while the first holds it.
# The first reads its image through nbdkit's delay filter, so it holds the
# VM's lease for a few seconds.
nbdkit -U - --filter=delay file "$f/vm-01/day-02.img" rdelay=150ms \
  --run "'$vcsnap' --repo '$r' backup --vm vm-01 --image \$uri" \
  >"$tmp/slow.out" 2>&1 &
slow=$!
for _ in $(seq 500); do
  rados -c "$conf" -p vcsnap-vm --namespace "$ns" stat vm/vm-01/lease \
    >/dev/null 2>&1 && break
  sleep 0.01
done
expect 1 "vm-01.*is locked by" \
  "$vcsnap" --repo "$r" backup --vm vm-01 --image "$f/vm-01/day-02.img"
checks=$((checks + 1))
wait "$slow" || fail "the first agent's backup of vm-01 failed: $(head -3 "$tmp/slow.out")"

# The shared index answers as the repository's own: two new VMs from the
# same image, one through memcached, one through the file index (both look
# level 3 up in deferred batches), find the same bytes at level 3. An unreachable memcached falls back to the file
# index and says so.
lvl3() { jq -r '.bytes.level3' "$1"; }
expect 0 "loaded PDS generation [0-9]+ \([0-9]+ entries\) into $mc" \
  "$vcsnap" --repo "$r" pds load --memcached "$mc"
"$vcsnap" --repo "$r" backup --vm m-mc --image "$f/vm-03/day-02.img" \
  --pds-index "$mc" --json >"$tmp/m-mc.json" 2>"$tmp/m-mc.err"
"$vcsnap" --repo "$r" backup --vm m-mem --image "$f/vm-03/day-02.img" \
  --pds-index file --json >"$tmp/m-mem.json" 2>&1
checks=$((checks + 1))
if [[ $(lvl3 "$tmp/m-mc.json") != "$(lvl3 "$tmp/m-mem.json")" ]] ||
  [[ $(lvl3 "$tmp/m-mc.json") -le 0 ]] || [[ -s $tmp/m-mc.err ]]; then
  fail "level 3 through memcached $(lvl3 "$tmp/m-mc.json") vs file index $(lvl3 "$tmp/m-mem.json") ($(head -2 "$tmp/m-mc.err"))"
fi
expect 0 "not loaded into memcached 127.0.0.1:9|memcached 127.0.0.1:9.*file index" \
  "$vcsnap" --repo "$r" backup --vm m-dead --image "$f/vm-03/day-02.img" \
  --pds-index memcached://127.0.0.1:9
expect 2 "--pds-index" "$vcsnap" --repo "$r" backup --vm m-bad \
  --image "$f/vm-03/day-02.img" --pds-index memcached://nohost

# Where the objects went: chunk stores in vcsnap-vm, the PDS in vcsnap-pds.
rados -c "$conf" -p vcsnap-pds --namespace "$ns" ls >"$tmp/pds.ls" 2>&1
checks=$((checks + 1))
grep -q "^pds/" "$tmp/pds.ls" || fail "no pds/ objects in pool vcsnap-pds"
rados -c "$conf" -p vcsnap-vm --namespace "$ns" ls >"$tmp/vm.ls" 2>&1
checks=$((checks + 1))
if grep -q "^pds/" "$tmp/vm.ls" || ! grep -q "^vm/vm-00/store/" "$tmp/vm.ls"; then
  fail "pool vcsnap-vm holds pds/ objects or no VM store"
fi

# Every VM's last snapshot restores byte-exact.
for vm in vm-00 vm-01 vm-02 vm-03; do
  run "$vcsnap" --repo "$r" restore --vm "$vm" --snapshot latest \
    --output "$tmp/$vm.out" --verify
  checks=$((checks + 1))
  cmp -s "$tmp/$vm.out" "$f/$vm/day-02.img" || fail "$vm restore differs"
  rm -f "$tmp/$vm.out"
done
expect 0 " 0 problems" "$vcsnap" --repo "$r" check --read-data
# Fault isolation: the replicas come from the pools' sizes (both 3 here),
# and the VMs' blocks are read from RADOS.
expect 0 '"pds_replicas":3,"pds_replicas_from":"pool size","placement_groups":true,"replicas":3,"replicas_from":"pool size".*"vm":"vm-00","vm_blocks":[1-9],"vm_pgs":[1-9]' \
  "$vcsnap" --repo "$r" isolation --machines 3 --failures 1,2,3 --json
expect 0 "forgot" "$vcsnap" --repo "$r" forget --vm vm-00 --keep-last 1
expect 0 "." "$vcsnap" --repo "$r" gc --vm vm-00
expect 0 "." "$vcsnap" --repo "$r" compact --threshold 0
expect 0 " 0 problems" "$vcsnap" --repo "$r" check --read-data
run "$vcsnap" --repo "$r" restore --vm vm-00 --snapshot latest --output "$tmp/a.out"
checks=$((checks + 1))
cmp -s "$tmp/a.out" "$f/vm-00/day-02.img" || fail "vm-00 after forget/gc/compact differs"
rm -f "$tmp/a.out"

if [[ $flavour == normal ]]; then
  expect 0 "" "$vcsnap" --repo "$r" serve --vm vm-02 --snapshot latest \
    --run "qemu-img compare -f raw -F raw \$uri $f/vm-02/day-02.img"
else
  echo "rados-test: serve left out in the $flavour build (see cli-test.sh)"
fi

echo "rados-test: $checks checks, $fails failed"
[[ $fails -eq 0 ]]
