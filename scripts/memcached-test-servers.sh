#!/usr/bin/env bash
# Throwaway memcached servers for vcsnap's tests and benchmarks.
#
#   scripts/memcached-test-servers.sh up DIR [N] [MEMORY_MB]   (default 2, 64)
#   scripts/memcached-test-servers.sh down DIR
#
# `up` starts N memcached servers on 127.0.0.1, on free ports picked at
# random, each with MEMORY_MB of cache, records their PIDs in DIR/pids and
# writes their location, "memcached://127.0.0.1:P1,127.0.0.1:P2", to
# DIR/location (and prints it). `down` stops exactly those processes (only
# while their command line still names their port) and removes DIR.
# Needs memcached (scripts/setup.sh installs it).
set -euo pipefail

die() { echo "memcached-test-servers: $*" >&2; exit 1; }

# PID $1 is still the memcached this script started on port $2?
ours() {
  [[ -r /proc/$1/cmdline ]] &&
    tr '\0' ' ' < "/proc/$1/cmdline" | grep -q "^memcached .*-p $2 "
}

down() {
  [[ -f $D/pids ]] || die "no $D/pids"
  local p port
  while read -r p port; do
    if ours "$p" "$port"; then kill -TERM "$p" 2>/dev/null || true; fi
  done < "$D/pids"
  while read -r p port; do
    for _ in $(seq 50); do ours "$p" "$port" || break; sleep 0.1; done
  done < "$D/pids"
  rm -rf "$D"
}

up() {
  local n=$1 mem=$2 i port loc=""
  command -v memcached >/dev/null || die "memcached not found; run scripts/setup.sh"
  if [[ -e $D/pids ]]; then down; fi
  mkdir -p "$D"
  : > "$D/pids"
  for ((i = 0; i < n; i++)); do
    for _ in $(seq 20); do
      port=$((30000 + RANDOM % 20000))
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break  # free
    done
    memcached -u root -l 127.0.0.1 -p "$port" -U 0 -m "$mem" -t 2 -c 1024 \
      > "$D/mc$i.log" 2>&1 &
    echo "$! $port" >> "$D/pids"
    for _ in $(seq 100); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
      sleep 0.05
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null ||
      die "memcached on port $port did not start; see $D/mc$i.log"
    loc+="${loc:+,}127.0.0.1:$port"
  done
  echo "memcached://$loc" > "$D/location"
  cat "$D/location"
}

[[ -n ${2:-} ]] || die "usage: $0 up DIR [N] [MEMORY_MB] | down DIR"
D=$(realpath -m "$2")
case ${1:-} in
  up)
    n=${3:-2}
    mem=${4:-64}
    [[ $n =~ ^[1-9]$ ]] || die "N must be 1..9"
    [[ $mem =~ ^[1-9][0-9]*$ ]] || die "MEMORY_MB must be a number"
    up "$n" "$mem"
    ;;
  down) down ;;
  *) die "usage: $0 up DIR [N] [MEMORY_MB] | down DIR" ;;
esac
