#!/usr/bin/env bash
# Real process crashes on the real local backend: every command that writes
# (backup, forget, gc, compact, pds update) is killed with SIGKILL at several
# moments. After each kill, as an operator would: `unlock` the dead lease,
# then `check` must pass and the same command, run again, must succeed. At
# the end every snapshot restores byte-exact and `check --read-data` passes.
# The unit tests crash a simulated backend at every call; this one checks
# the same promises with temp files, renames and fsyncs of a real directory.
# Usage: kill-test.sh path/to/vcsnap path/to/vcsnap-fleetgen [normal|asan]
# The sanitizer flavour (every command ~5x slower) backs up three days instead
# of four, kills each backup at two moments instead of four and restores
# every other snapshot at the end; the normal flavour does it all.
set -uo pipefail
vcsnap="$1"
fleetgen="$2"
flavour="${3:-normal}"
tmp="$(mktemp -d)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fails=0
kills=0
r="$tmp/repo"
f="$tmp/fleet"

fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

# killed DELAY CMD...: runs CMD, sends SIGKILL after DELAY seconds unless it
# finished; counts the kills that landed.
killed() {
  local delay="$1"
  shift
  "$@" >"$tmp/out" 2>&1 &
  local pid=$!
  sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null
}

# After a kill: break the dead process's leases; the repository must check
# clean (a kill leaks at most, never damages).
recover() {
  local what="$1"
  "$vcsnap" --repo "$r" unlock --vm vm-00 >/dev/null 2>&1
  "$vcsnap" --repo "$r" unlock --vm vm-01 >/dev/null 2>&1
  "$vcsnap" --repo "$r" unlock --vm q0 >/dev/null 2>&1
  "$vcsnap" --repo "$r" unlock --pds >/dev/null 2>&1
  if ! "$vcsnap" --repo "$r" check >"$tmp/check" 2>&1; then
    fail "check after a killed $what:"
    sed 's/^/    /' "$tmp/check" | head -5
  fi
}

# run CMD...: must succeed.
run() {
  if ! "$@" >"$tmp/out" 2>&1; then
    fail "$*"
    sed 's/^/    /' "$tmp/out" | head -5
  fi
}

# newest VM: the newest snapshot ID of a VM (0: none).
newest() {
  "$vcsnap" --repo "$r" snapshots --vm "$1" 2>/dev/null |
    awk 'NR > 1 { id = $2 } END { print id + 0 }'
}
declare -A day_of  # "vm/id" -> the day whose image that snapshot holds

days=4
[[ "$flavour" == asan ]] && days=3
last="day-0$((days - 1)).img"
"$fleetgen" generate --out "$f" --vms 2 --days "$days" --size 96MiB --seed 5 \
  >/dev/null || { echo "FAIL: fleetgen"; exit 1; }
run "$vcsnap" --repo "$r" init
delays=(0.02 0.06 0.12 0.25)
[[ "$flavour" == asan ]] && delays=(0.02 0.12)
for day in $(seq 0 $((days - 1))); do
  for vm in vm-00 vm-01; do
    img="$f/$vm/day-0$day.img"
    bitmap=()
    [ "$day" -gt 0 ] && bitmap=(--bitmap "${img%.img}.bitmap")
    before=$(newest "$vm")
    for d in "${delays[@]}"; do
      killed "$d" "$vcsnap" --repo "$r" backup --vm "$vm" --image "$img" \
        "${bitmap[@]}"
      recover "backup of $vm day $day after ${d}s"
    done
    run "$vcsnap" --repo "$r" backup --vm "$vm" --image "$img" "${bitmap[@]}"
    # Killed attempts that committed made snapshots of the same image.
    for id in $(seq $((before + 1)) "$(newest "$vm")"); do
      day_of[$vm/$id]=$day
    done
  done
  if [ "$day" -eq 1 ]; then
    for d in "${delays[@]}"; do
      killed "$d" "$vcsnap" --repo "$r" pds update --fraction 0.5
      recover "pds update after ${d}s"
    done
    run "$vcsnap" --repo "$r" pds update --fraction 0.5
  fi
done
# A qcow2 image read through the qemu-nbd that vcsnap starts: a killed
# backup must not leave the server running (it would hold the image's lock).
q="$tmp/q0.qcow2"
qemu-img convert -f raw -O qcow2 "$f/vm-00/$last" "$q"
for d in "${delays[@]}"; do
  killed "$d" "$vcsnap" --repo "$r" backup --vm q0 --image "$q" --format qcow2
  recover "qcow2 backup after ${d}s"
  for _ in $(seq 50); do pgrep -f -- "$q" >/dev/null || break; sleep 0.1; done
  pgrep -f -- "$q" >/dev/null && fail "qemu-nbd outlived a backup killed after ${d}s"
done
run "$vcsnap" --repo "$r" backup --vm q0 --image "$q" --format qcow2
run "$vcsnap" --repo "$r" restore --vm q0 --snapshot latest --output "$tmp/q0.img" --verify
cmp -s "$tmp/q0.img" "$f/vm-00/$last" || fail "qcow2 backup after kills differs"
rm -f "$tmp/q0.img"
# Deletion: forget vm-00's day-0 snapshots and its second, gc, compact;
# each killed first.
day0=$(for k in "${!day_of[@]}"; do
  [[ $k == vm-00/* && ${day_of[$k]} == 0 ]] && echo "${k#vm-00/}"
done | sort -n | tr '\n' ' ')
for cmd in "forget --vm vm-00 --snapshot ${day0% }" \
  "forget --vm vm-00 --snapshot $(($(echo "$day0" | awk '{print $NF}') + 1))" \
  "gc --vm vm-00" "compact --vm vm-00 --threshold 0"; do
  for d in 0.005 0.02 0.05; do
    # shellcheck disable=SC2086
    killed "$d" "$vcsnap" --repo "$r" $cmd
    recover "$cmd after ${d}s"
  done
  # A killed forget may have committed: then the snapshot is already gone.
  # shellcheck disable=SC2086
  if ! "$vcsnap" --repo "$r" $cmd >"$tmp/out" 2>&1; then
    grep -q "no snapshot" "$tmp/out" || {
      fail "$cmd"
      sed 's/^/    /' "$tmp/out" | head -5
    }
  fi
done
# A killed restore leaves no output (only its .vcsnap-partial), and the
# rerun replaces the partial file.
latest=$(newest vm-01)
for d in 0.01 0.05 0.1; do
  rm -f "$tmp/killed.img"
  killed "$d" "$vcsnap" --repo "$r" restore --vm vm-01 --snapshot "$latest" \
    --output "$tmp/killed.img"
  if [ -e "$tmp/killed.img" ] &&
    ! cmp -s "$tmp/killed.img" "$f/vm-01/$last"; then
    fail "a restore killed after ${d}s left a wrong output file"
  fi
done
run "$vcsnap" --repo "$r" restore --vm vm-01 --snapshot "$latest" \
  --output "$tmp/killed.img" --force
cmp -s "$tmp/killed.img" "$f/vm-01/$last" ||
  fail "restore after killed restores differs"
# Every snapshot left restores byte-exact.
restored=0
every=1
[[ "$flavour" == asan ]] && every=2
for vm in vm-00 vm-01; do
  for id in $("$vcsnap" --repo "$r" snapshots --vm "$vm" |
    awk -v every="$every" 'NR > 1 && (NR - 2) % every == 0 { print $2 }'); do
    day=${day_of[$vm/$id]:-}
    [ -n "$day" ] || { fail "$vm snapshot $id: no day recorded"; continue; }
    out="$tmp/restored.img"
    run "$vcsnap" --repo "$r" restore --vm "$vm" --snapshot "$id" \
      --output "$out" --verify --force
    cmp -s "$out" "$f/$vm/day-0$day.img" ||
      fail "$vm snapshot $id differs from day $day"
    restored=$((restored + 1))
  done
done
run "$vcsnap" --repo "$r" check --read-data
echo "kill-test: $kills kills landed, $restored snapshots restored, $fails failures"
[ "$kills" -ge 10 ] || fail "only $kills kills landed: the commands were too fast"
[ "$fails" -eq 0 ]
