#!/usr/bin/env bash
# Throwaway single-host Ceph cluster for vcsnap's RADOS tests and benchmarks.
#
#   scripts/ceph-test-cluster.sh up DIR [NOSD] [memstore|bluestore]
#   scripts/ceph-test-cluster.sh down DIR
#   scripts/ceph-test-cluster.sh stop-osd DIR N | start-osd DIR N
#
# `up` starts 1 monitor and NOSD OSDs (default 1, memstore) bound to
# 127.0.0.1 only, with cephx, no mgr and no systemd: every daemon runs in the
# foreground as a child of this script's shell, its PID recorded in DIR/pids,
# and every file it writes lives under DIR. It then creates the pools of the
# layout SPEC §1 asks for: `vcsnap-vm` (VM stores; size 3 when NOSD >= 3,
# else 1) and `vcsnap-pds` (the PDS; size min(5, NOSD)), plus `vcsnap-two`
# (size 2, for tests), each of $PGS placement groups (default 16), and
# waits until a client write to each succeeds. It prints the path of DIR/ceph.conf last.
# Clients use it as `rados://vcsnap-vm/NS?conf=DIR/ceph.conf&pds_pool=vcsnap-pds`.
#
# `up` on a DIR that still holds a cluster stops that one first. `down`
# signals only the PIDs this cluster recorded, and only while their
# command line still names DIR/ceph.conf (PIDs get reused), waits for them,
# then removes DIR (KEEP=1 keeps it, for the logs).
#
# `stop-osd` stops OSD N (SIGTERM, waits for it to exit); `start-osd` starts
# it again (a memstore OSD comes back empty and is backfilled by its peers).
#
# Needs ceph-mon, ceph-osd and ceph-common (scripts/setup.sh installs them).
# Recipe measured in ../shared/notes/ceph-memcached.md; start ~5 s, stop ~5 s.
set -euo pipefail

die() { echo "ceph-test-cluster: $*" >&2; exit 1; }

ours() {  # PID still belongs to this cluster?
  { tr '\0' ' ' < "/proc/$1/cmdline"; } 2>/dev/null | grep -q -- "$D/ceph.conf"
}

down() {
  [[ -f $D/pids ]] || die "no $D/pids: not a cluster started by this script"
  local live="" left p
  for p in $(cat "$D/pids"); do ours "$p" && live="$live $p"; done
  for p in $live; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 60); do
    left=""
    for p in $live; do ours "$p" && left="$left $p"; done
    [[ -z $left ]] && break
    sleep 0.5
  done
  for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$D"; fi
}

up() {
  local nosd=$1 store=$2
  for tool in ceph-mon ceph-osd ceph-authtool monmaptool ceph rados; do
    command -v "$tool" >/dev/null || die "$tool not found; run scripts/setup.sh"
  done
  if [[ -e $D/pids ]]; then  # left by an interrupted run: stop it first
    echo "ceph-test-cluster: stopping the cluster left in $D" >&2
    down
  fi
  mkdir -p "$D"/{run,log,crash,mon.a}
  local port=${CEPH_TEST_MON_PORT:-$((20000 + RANDOM % 20000))}
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  local vm_size=1 pds_size=$((nosd < 5 ? nosd : 5))
  ((nosd >= 3)) && vm_size=3
  cat > "$D/ceph.conf" <<EOF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$port,v1:127.0.0.1:$((port + 1))]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
public_network = 127.0.0.0/8
ms_bind_ipv4 = true
ms_bind_ipv6 = false
ms_bind_port_min = $((port + 10))
ms_bind_port_max = $((port + 400))
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
keyring = $D/keyring
run_dir = $D/run
crash_dir = $D/crash
admin_socket = $D/run/\$name.asok
pid_file = $D/run/\$name.pid
log_file = $D/log/\$name.log
mon_cluster_log_file = $D/log/cluster.log
log_to_file = true
err_to_stderr = false
mon_data = $D/\$name
osd_data = $D/\$name
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 16
osd_pool_default_pgp_num = 16
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_delete = true
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_warn_on_pool_no_app = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
auth_allow_insecure_global_id_reclaim = false
mon_data_avail_warn = 2
mon_data_avail_crit = 1
mon_max_pg_per_osd = 1000
mon_mgr_mkfs_grace = 86400
ms_async_op_threads = 2

[client]
admin_socket =
log_file =

[mon]
mon_osd_down_out_interval = 3600

[osd]
keyring = $D/\$name/keyring
osd_objectstore = $store
memstore_device_bytes = 4294967296
bluestore_block_create = true
bluestore_block_size = 8589934592
bluestore_fsck_on_mkfs = false
bluestore_cache_autotune = false
bluestore_cache_size = 67108864
osd_memory_target = 939524096
osd_op_num_shards = 1
osd_op_num_threads_per_shard = 2
osd_crush_update_on_start = true
EOF
  local C=(-c "$D/ceph.conf")
  : > "$D/pids"
  ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. \
    --cap mon 'allow *' >/dev/null
  ceph-authtool "$D/keyring" --gen-key -n client.admin --cap mon 'allow *' \
    --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" \
    --addv a "[v2:127.0.0.1:$port,v1:127.0.0.1:$((port + 1))]" \
    "$D/monmap" >/dev/null
  ceph-mon "${C[@]}" -i a --mkfs --monmap "$D/monmap" --keyring "$D/keyring"
  ceph-mon "${C[@]}" -i a -f > "$D/log/mon.a.out" 2>&1 &
  echo $! >> "$D/pids"
  timeout 60 bash -c "until ceph ${C[*]} --connect-timeout 5 mon stat \
    >/dev/null 2>&1; do sleep 0.3; done" || die "monitor did not answer; see $D/log"
  local i uuid key id
  for ((i = 0; i < nosd; i++)); do
    uuid=$(cat /proc/sys/kernel/random/uuid)
    key=$(ceph-authtool --gen-print-key)
    mkdir -p "$D/osd.$i"
    printf '[osd.%d]\n\tkey = %s\n' "$i" "$key" > "$D/osd.$i/keyring"
    id=$(echo "{\"cephx_secret\": \"$key\"}" | ceph "${C[@]}" osd new "$uuid" -i -)
    [[ $id == "$i" ]] || die "monitor gave OSD id $id, expected $i"
    ceph-osd "${C[@]}" -i "$i" --mkfs --osd-uuid "$uuid" \
      > "$D/log/osd.$i.mkfs" 2>&1 || die "osd.$i mkfs failed; see $D/log/osd.$i.mkfs"
    ceph-osd "${C[@]}" -i "$i" -f > "$D/log/osd.$i.out" 2>&1 &
    echo $! >> "$D/pids"
  done
  local pool size
  # vcsnap-two (size 2 when NOSD >= 2): a pool whose size differs from the
  # others, for the test of copies reported per pool.
  for pool in vcsnap-vm:$vm_size vcsnap-pds:$pds_size vcsnap-two:$((nosd < 2 ? 1 : 2)); do
    size=${pool#*:}
    pool=${pool%%:*}
    ceph "${C[@]}" osd pool create "$pool" "${PGS:-16}" "${PGS:-16}" replicated \
      >/dev/null 2>&1
    ceph "${C[@]}" osd pool set "$pool" size "$size" --yes-i-really-mean-it \
      >/dev/null 2>&1
    ceph "${C[@]}" osd pool set "$pool" min_size $(((size + 1) / 2)) >/dev/null 2>&1
    ceph "${C[@]}" osd pool application enable "$pool" vcsnap >/dev/null 2>&1
  done
  echo "probe" > "$D/probe"
  for pool in vcsnap-vm vcsnap-pds vcsnap-two; do
    timeout 120 bash -c "until rados ${C[*]} -p $pool put .probe $D/probe \
      >/dev/null 2>&1; do sleep 0.5; done" ||
      die "pool $pool did not accept a write within 120 s; see $D/log"
    rados "${C[@]}" -p "$pool" rm .probe
  done
  echo "$D/ceph.conf"
}

osd_pid() {  # PID of the running osd.$1 of this cluster, if any
  local p
  p=$(cat "$D/run/osd.$1.pid" 2>/dev/null) || return 1
  ours "$p" && echo "$p"
}

stop_osd() {
  local p
  p=$(osd_pid "$1") || die "osd.$1 is not running"
  kill -TERM "$p"
  for _ in $(seq 100); do ours "$p" || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}

start_osd() {
  [[ -d $D/osd.$1 ]] || die "no osd.$1 in $D"
  if osd_pid "$1" >/dev/null; then die "osd.$1 is already running"; fi
  ceph-osd -c "$D/ceph.conf" -i "$1" -f >> "$D/log/osd.$1.out" 2>&1 &
  echo $! >> "$D/pids"
}

cmd=${1:-}
[[ -n ${2:-} ]] || die "usage: $0 up DIR [NOSD] [memstore|bluestore] | down DIR"
D=$(realpath -m "$2")
case $cmd in
  up)
    nosd=${3:-1}
    [[ $nosd =~ ^[1-9][0-9]?$ ]] || die "NOSD must be 1..99, not '$nosd'"
    store=${4:-memstore}
    [[ $store == memstore || $store == bluestore ]] || die "unknown store '$store'"
    # A failed start leaves no daemons behind.
    trap 'rc=$?; if ((rc)); then KEEP=1 down >/dev/null 2>&1 || true; fi' EXIT
    up "$nosd" "$store"
    ;;
  down) down ;;
  stop-osd) [[ ${3:-} =~ ^[0-9]+$ ]] || die "stop-osd DIR N"; stop_osd "$3" ;;
  start-osd) [[ ${3:-} =~ ^[0-9]+$ ]] || die "start-osd DIR N"; start_osd "$3" ;;
  *) die "usage: $0 up DIR [NOSD] [memstore|bluestore] | down DIR" ;;
esac
