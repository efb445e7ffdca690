#!/usr/bin/env bash
# Command-line behaviour of SPEC §2 for the commands that exist: exit codes,
# error lines, --repo before or after the subcommand, VCSNAP_REPO.
# Usage: cli-test.sh path/to/vcsnap [normal|asan]
# With "asan" (the sanitizer build) the `serve` section is left out and said
# so: nbdkit cannot load an ASan plugin without the runtime preloaded, and
# then hangs in libp11-kit's exit handler; serve_test covers the plugin under
# ASan instead.
set -uo pipefail
vcsnap="$1"
flavour="${2:-normal}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0

# expect CODE PATTERN -- command...: runs it, checks exit code and that
# stdout+stderr match PATTERN (grep -E).
expect() {
  local code="$1" pattern="$2"; shift 3
  local out rc
  out="$("$@" 2>&1)"; rc=$?
  if [[ $rc -ne $code ]] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: $* -> exit $rc (want $code), output:"; echo "$out" | sed 's/^/    /'
    echo "    (wanted /$pattern/)"
    fails=$((fails + 1))
  else
    pass=$((pass + 1))
  fi
}

r="$tmp/repo"
expect 0 "created vcsnap repository [0-9a-f]{32}" -- "$vcsnap" --repo "$r" init
expect 1 "^vcsnap: error: .*already a vcsnap repository" -- "$vcsnap" --repo "$r" init
expect 1 "^vcsnap: error: .*already a vcsnap repository" -- "$vcsnap" init --repo "$r"
# the config and its second copy (docs/format/ditto.md)
expect 0 "total +2 " -- "$vcsnap" --repo "$r" stats
expect 0 "total +2 " -- "$vcsnap" stats --repo "$r"
expect 0 '"compression":"zstd"' -- env VCSNAP_REPO="$r" "$vcsnap" stats --json
expect 1 "^vcsnap: error: .*not a vcsnap repository" -- "$vcsnap" --repo "$tmp/nothing" stats
mkdir -p "$tmp/emptydir"
expect 1 "^vcsnap: error: .*not a vcsnap repository" -- "$vcsnap" --repo "$tmp/emptydir" stats
expect 1 "^vcsnap: error: .*no repository given" -- env -u VCSNAP_REPO "$vcsnap" stats
echo "x" > "$tmp/emptydir/file"
expect 1 "^vcsnap: error: .*not empty" -- "$vcsnap" --repo "$tmp/emptydir" init
expect 2 "^vcsnap: error: " -- "$vcsnap" --repo "$tmp/r2" init --compression gzip
expect 2 "^vcsnap: error: .*segment size" -- "$vcsnap" --repo "$tmp/r2" init --segment-size 3MiB
expect 2 "^vcsnap: error: .*size" -- "$vcsnap" --repo "$tmp/r2" init --avg-chunk banana
expect 2 "^vcsnap: error: " -- "$vcsnap" --repo "$tmp/r2" init --no-such-flag
expect 2 "^vcsnap: error: " -- "$vcsnap" no-such-command
expect 2 "^vcsnap: error: " -- "$vcsnap"
[[ ! -e "$tmp/r2/config" ]] || { echo "FAIL: a refused init left a config"; fails=$((fails + 1)); }
expect 0 "lz4" -- "$vcsnap" --repo "$tmp/r3" init --compression lz4 --avg-chunk 8KiB --segment-size 4MiB --container-size 256MiB
expect 0 "blocks of at most 4.0 MiB" -- "$vcsnap" --repo "$tmp/r4" init --block-size 4MiB
expect 2 "^vcsnap: error: .*object size" -- "$vcsnap" --repo "$tmp/r5" init --block-size 256MiB
# backup / snapshots / restore on a small image of this machine's files
img="$tmp/d0.img"
find /usr/lib /usr/share -type f -size +20k 2>/dev/null | sort | head -60 | xargs cat 2>/dev/null | head -c 6000000 > "$img"
truncate -s 8M "$img"
expect 0 "snapshot 1 of web1 \(no parent\)" -- "$vcsnap" --repo "$r" backup --vm web1 --image "$img"
cp "$img" "$tmp/d1.img"
printf 'CHANGED' | dd of="$tmp/d1.img" bs=1 seek=3000000 conv=notrunc status=none
printf '\x02' > "$tmp/d1.bitmap"   # segment 1 (2-4 MiB) dirty
expect 0 '"parent":"1".*"snapshot":"2"' -- "$vcsnap" --repo "$r" backup --vm web1 --image "$tmp/d1.img" --bitmap "$tmp/d1.bitmap" --json
expect 0 '"level1":6291456' -- "$vcsnap" --repo "$r" backup --vm web1 --image "$tmp/d1.img" --bitmap "$tmp/d1.bitmap" --json
expect 0 '^\[.*"snapshot":"1".*"snapshot":"2".*"snapshot":"3"' -- "$vcsnap" --repo "$r" snapshots --vm web1 --json
expect 0 "web1 +2 +1 " -- "$vcsnap" --repo "$r" snapshots
expect 0 "restored snapshot 2 of web1" -- "$vcsnap" --repo "$r" restore --vm web1 --snapshot 2 --output "$tmp/out.img" --verify
cmp -s "$tmp/out.img" "$tmp/d1.img" && pass=$((pass + 1)) || { echo "FAIL: restored snapshot 2 differs"; fails=$((fails + 1)); }
expect 1 "^vcsnap: error: .*exists; use --force" -- "$vcsnap" --repo "$r" restore --vm web1 --snapshot 1 --output "$tmp/out.img"
expect 0 '"snapshot":"1"' -- "$vcsnap" --repo "$r" restore --vm web1 --snapshot 1 --output "$tmp/out.img" --force --json
cmp -s "$tmp/out.img" "$img" && pass=$((pass + 1)) || { echo "FAIL: restored snapshot 1 differs"; fails=$((fails + 1)); }
expect 1 "^vcsnap: error: .*no snapshot 9" -- "$vcsnap" --repo "$r" restore --vm web1 --snapshot 9 --output "$tmp/x.img"
expect 1 "^vcsnap: error: .*no snapshots" -- "$vcsnap" --repo "$r" restore --vm nobody --snapshot 1 --output "$tmp/x.img"
expect 2 "^vcsnap: error: .*VM name" -- "$vcsnap" --repo "$r" backup --vm ../etc --image "$img"
expect 2 "^vcsnap: error: .*needs --vm and --image" -- "$vcsnap" --repo "$r" backup --vm web1
expect 2 "^vcsnap: error: .*granularity" -- "$vcsnap" --repo "$r" backup --vm web1 --image "$img" --bitmap "$tmp/d1.bitmap" --bitmap-granularity 1000
expect 1 "^vcsnap: error: .*image .*nope" -- "$vcsnap" --repo "$r" backup --vm web1 --image "$tmp/nope"
head -c 100 /dev/zero > "$tmp/long.bitmap"
expect 1 "^vcsnap: error: .*another disk" -- "$vcsnap" --repo "$r" backup --vm web1 --image "$img" --bitmap "$tmp/long.bitmap"
printf 'web2 %s\nweb3 %s %s\n# comment\n' "$img" "$tmp/d1.img" "$tmp/d1.bitmap" > "$tmp/jobs"
expect 0 '^\[.*"vm":"web2".*"vm":"web3"' -- "$vcsnap" --repo "$r" backup --jobs "$tmp/jobs" --parallel 2 --json
expect 0 '"queued_seconds":.*"vm":"web2".*"queued_seconds":.*"vm":"web3"' -- "$vcsnap" --repo "$r" backup --jobs "$tmp/jobs" --parallel 2 --dedup-slots 1 --json
expect 2 "^vcsnap: error: .*--dedup-slots must be from 0 to 256" -- "$vcsnap" --repo "$r" backup --jobs "$tmp/jobs" --dedup-slots 300
expect 0 "web3" -- "$vcsnap" --repo "$r" snapshots
printf 'web4\n' > "$tmp/badjobs"
expect 2 "^vcsnap: error: .*line 1" -- "$vcsnap" --repo "$r" backup --jobs "$tmp/badjobs"
expect 1 "^vcsnap: error: .*not locked" -- "$vcsnap" --repo "$r" unlock --vm web1

# qcow2 through qemu-nbd, QEMU's persistent dirty bitmap as the CBT
q="$tmp/q.qcow2"
qemu-img convert -q -f raw -O qcow2 "$img" "$q"
qemu-img bitmap --add -g 64K "$q" cbt
expect 1 "^vcsnap: error: .*qcow2 header: give --format qcow2" -- "$vcsnap" --repo "$r" backup --vm q1 --image "$q"
expect 2 "^vcsnap: error: .*'vmdk' is not raw or qcow2" -- "$vcsnap" --repo "$r" backup --vm q1 --image "$q" --format vmdk
expect 0 '"source":"qcow2 \(qemu-nbd\)"' -- "$vcsnap" --repo "$r" backup --vm q1 --image "$q" --format qcow2 --json
qemu-io -f qcow2 -c 'write -P 0x5c 5000000 3000' "$q" >/dev/null
cp "$img" "$tmp/q1.img"
qemu-io -f raw -c 'write -P 0x5c 5000000 3000' "$tmp/q1.img" >/dev/null
expect 0 '"dirty":1,"total":4' -- "$vcsnap" --repo "$r" backup --vm q1 --image "$q" --format qcow2 --dirty-bitmap cbt --json
expect 0 "restored snapshot 2 of q1" -- "$vcsnap" --repo "$r" restore --vm q1 --snapshot 2 --output "$tmp/q1.out"
cmp -s "$tmp/q1.out" "$tmp/q1.img" && pass=$((pass + 1)) || { echo "FAIL: restored qcow2 snapshot differs"; fails=$((fails + 1)); }
qemu-img compare -q "$q" "$tmp/q1.out" && pass=$((pass + 1)) || { echo "FAIL: qemu-img compare of the qcow2 restore"; fails=$((fails + 1)); }
expect 0 "note: qemu-nbd could not export the dirty bitmap 'nope'" -- "$vcsnap" --repo "$r" backup --vm q1 --image "$q" --format qcow2 --dirty-bitmap nope
expect 2 "^vcsnap: error: .*exclude each other" -- "$vcsnap" --repo "$r" backup --vm q1 --image "$q" --dirty-bitmap cbt --bitmap "$tmp/d1.bitmap"
expect 1 "^vcsnap: error: .*needs a qcow2 image or an NBD URI" -- "$vcsnap" --repo "$r" backup --vm q1 --image "$img" --dirty-bitmap cbt
printf 'q2 %s format=qcow2 dirty-bitmap=cbt\nq3 %s format=raw\n' "$q" "$q" > "$tmp/qjobs"
expect 0 '"source":"qcow2 \(qemu-nbd\)".*"source":"raw"' -- "$vcsnap" --repo "$r" backup --jobs "$tmp/qjobs" --json
printf 'q4 %s format=vmdk\n' "$q" > "$tmp/qjobs"
expect 2 "^vcsnap: error: .*vmdk" -- "$vcsnap" --repo "$r" backup --jobs "$tmp/qjobs"
expect 1 "^vcsnap: error: .*nbd\+unix:///\?socket=$tmp/none" -- "$vcsnap" --repo "$r" backup --vm q1 --image "nbd+unix:///?socket=$tmp/none"

# popular data set, deletion, repair, check
expect 2 "^vcsnap: error: .*--fraction" -- "$vcsnap" --repo "$r" pds update --fraction 1.5
expect 2 "^vcsnap: error: .*--memory must be more than 0" -- "$vcsnap" --repo "$r" pds update --memory 0
expect 0 '"generation":1' -- "$vcsnap" --repo "$r" pds update --fraction 0.5 --json
expect 0 '"level3":[1-9]' -- "$vcsnap" --repo "$r" backup --vm web5 --image "$img" --json
expect 0 "retired generations: none .*referenced by live snapshots: 1;" -- "$vcsnap" --repo "$r" pds update --fraction 0.5
expect 0 "would retire generations: none" -- "$vcsnap" --repo "$r" pds retire --dry-run
expect 0 "checked 7 VMs, .* 0 problems" -- "$vcsnap" --repo "$r" check --read-data
# the same without the restart on huge pages, and with an operator's own
# glibc tunables (kept as they are: no restart either)
expect 0 "checked 7 VMs, .* 0 problems" -- env VCSNAP_HUGE_PAGES=0 "$vcsnap" --repo "$r" check --read-data
expect 0 "checked 7 VMs, .* 0 problems" -- env GLIBC_TUNABLES=glibc.malloc.arena_max=2 "$vcsnap" --repo "$r" check
expect 2 "^vcsnap: error: .*--snapshot ID or a --keep" -- "$vcsnap" --repo "$r" forget --vm web1
expect 0 "snapshot 1 of web2 is protected" -- "$vcsnap" --repo "$r" protect --vm web2 --snapshot 1
expect 1 "^vcsnap: error: .*protected" -- "$vcsnap" --repo "$r" forget --vm web2 --snapshot 1
expect 0 "would forget snapshots of web2: none" -- "$vcsnap" --repo "$r" forget --vm web2 --keep-last 0 --keep-daily 0 --keep-weekly 1 --dry-run
expect 0 "no longer protected" -- "$vcsnap" --repo "$r" protect --vm web2 --snapshot 1 --off
expect 0 "would forget snapshots of web1: 1 2" -- "$vcsnap" --repo "$r" forget --vm web1 --keep-last 1 --dry-run
expect 0 "forgot snapshots of web1: 1 2" -- "$vcsnap" --repo "$r" forget --vm web1 --keep-last 1
expect 1 "^vcsnap: error: .*no snapshot 1" -- "$vcsnap" --repo "$r" restore --vm web1 --snapshot 1 --output "$tmp/x.img"
expect 0 "restored snapshot 3 of web1" -- "$vcsnap" --repo "$r" restore --vm web1 --snapshot latest --output "$tmp/out3.img" --verify
cmp -s "$tmp/out3.img" "$tmp/d1.img" && pass=$((pass + 1)) || { echo "FAIL: snapshot 3 differs after forget"; fails=$((fails + 1)); }
expect 0 '"leaked_chunks":0' -- "$vcsnap" --repo "$r" gc --vm web1 --json
expect 0 "reclaimed" -- "$vcsnap" --repo "$r" compact --threshold 0
expect 2 "^vcsnap: error: .*threshold" -- "$vcsnap" --repo "$r" compact --threshold 2
expect 0 "web1 +1 snapshots" -- "$vcsnap" --repo "$r" stats
expect 0 "0 problems" -- "$vcsnap" --repo "$r" check --read-data
expect 0 "forgot snapshots of web5: 1" -- "$vcsnap" --repo "$r" forget --vm web5 --snapshot 1
expect 0 "would retire generations: 1 " -- "$vcsnap" --repo "$r" pds retire --dry-run
expect 0 '"retired":\[1\]' -- "$vcsnap" --repo "$r" pds retire --json
expect 0 "retired generations: none" -- "$vcsnap" --repo "$r" pds retire
expect 0 "0 problems" -- "$vcsnap" --repo "$r" check --read-data
# the operator's report: text, JSON and HTML agree with the snapshot list
checkreport="$(dirname "$0")/check-report.py"
report_matches() {  # report_matches [HTML]: the JSON report against `snapshots --json`
  "$vcsnap" --repo "$r" report --json > "$tmp/report.json" &&
    "$vcsnap" --repo "$r" snapshots --json > "$tmp/snaps.json" &&
    "$checkreport" "$tmp/report.json" "$tmp/snaps.json" "$@"
}
# (web5's only snapshot is forgotten: no snapshot left, its chunks deleted)
expect 0 "warning web5: has no snapshot" -- "$vcsnap" --repo "$r" report
expect 0 "-> vcsnap compact --vm web5" -- "$vcsnap" --repo "$r" report
expect 0 "wrote $tmp/report.html: 7 VMs, 2 need attention" -- "$vcsnap" --repo "$r" report --output "$tmp/report.html" --isolation --days 7
expect 0 "7 VMs, [0-9]+ snapshots, 2 findings: consistent" -- report_matches "$tmp/report.html"
expect 0 "N1 blocks" -- cat "$tmp/report.html"
[[ ! -e "$tmp/report.html.tmp" ]] && pass=$((pass + 1)) || { echo "FAIL: report left its temporary file"; fails=$((fails + 1)); }
expect 2 "^vcsnap: error: .*--stale-after must be" -- "$vcsnap" --repo "$r" report --stale-after 0
expect 2 "^vcsnap: error: .*--days must be 1 to 366" -- "$vcsnap" --repo "$r" report --days 0
expect 2 "^vcsnap: error: .*choose one" -- "$vcsnap" --repo "$r" report --json --output "$tmp/x.html"
expect 1 "^vcsnap: error: .*cannot write the report to $tmp/nodir/r.html: create $tmp/nodir/r.html.tmp" -- "$vcsnap" --repo "$r" report --output "$tmp/nodir/r.html"
# fault-isolation analysis
expect 0 "VC PDS +[0-9]+ " -- "$vcsnap" --repo "$r" isolation
expect 0 '"availability":\[\{"block":1\.0,"failed":1,.*"sharing":.*"vm":"web2","vm_blocks":[1-9]' -- "$vcsnap" --repo "$r" isolation --json
expect 0 '"failed":3.*"pds_replicas":3' -- "$vcsnap" --repo "$r" isolation --machines 3 --pds-replicas 3 --json
expect 0 " 10 +99.92579% " -- "$vcsnap" --repo "$r" isolation --failures 10
expect 1 "^vcsnap: error: .*default replicas \(3, PDS 5\) exceed --machines \(4\)" -- "$vcsnap" --repo "$r" isolation --machines 4
expect 2 "^vcsnap: error: .*cannot exceed --machines" -- "$vcsnap" --repo "$r" isolation --machines 4 --replicas 5
expect 0 "4 machines, 3 replicas per block \(default\), PDS 2 \(given\)" -- "$vcsnap" --repo "$r" isolation --machines 4 --pds-replicas 2
expect 2 "^vcsnap: error: .*--failures: 12 is more than --machines" -- "$vcsnap" --repo "$r" isolation --machines 10 --failures 2,12
expect 2 "^vcsnap: error: .*at least 1" -- "$vcsnap" --repo "$r" isolation --replicas 0
# serving a snapshot read-only over NBD (nbdkit and the plugin)
expect 2 "^vcsnap: error: .*--socket PATH, --port N or --run" -- "$vcsnap" --repo "$r" serve --vm web1 --snapshot latest
expect 2 "^vcsnap: error: .*--socket or --port, not both" -- "$vcsnap" --repo "$r" serve --vm web1 --snapshot 3 --socket "$tmp/x.sock" --port 10809
expect 1 "^vcsnap: error: .*no snapshot 9" -- "$vcsnap" --repo "$r" serve --vm web1 --snapshot 9 --socket "$tmp/x.sock"
if [[ "$flavour" == asan ]]; then
  echo "cli: serve section not run in the ASan build (see the header)"
else
  expect 0 "Images are identical" -- "$vcsnap" --repo "$r" serve --vm web1 --snapshot latest --run "qemu-img compare -f raw -F raw \"\$uri\" $tmp/d1.img"
  expect 0 "serving VM web1 snapshot 3" -- "$vcsnap" --repo "$r" serve --vm web1 --snapshot latest --run "qemu-img convert -O raw \"\$uri\" $tmp/served.img"
  cmp -s "$tmp/served.img" "$tmp/d1.img" && pass=$((pass + 1)) || { echo "FAIL: qemu-img convert of the served snapshot differs"; fails=$((fails + 1)); }
  "$vcsnap" --repo "$r" serve --vm web1 --snapshot 3 --socket "$tmp/s.sock" 2>"$tmp/serve.log" &
  spid=$!
  for _ in $(seq 100); do [[ -S "$tmp/s.sock" ]] && break; sleep 0.1; done
  sleep 0.5  # the plugin pins the snapshot once nbdkit has started
  expect 0 "virtual size: 8 MiB" -- qemu-img info "nbd+unix:///?socket=$tmp/s.sock"
  expect 1 "^vcsnap: error: .*snapshot 3 is pinned by 'serve'" -- "$vcsnap" --repo "$r" forget --vm web1 --snapshot 3 --dry-run
  expect 0 '"pinned":true.*"snapshot":"3"' -- "$vcsnap" --repo "$r" snapshots --vm web1 --json
  expect 0 "web1 +3 +2 .* pinned$" -- "$vcsnap" --repo "$r" snapshots --vm web1
  kill -TERM "$spid"; wait "$spid"
  expect 0 "serving VM web1 snapshot 3 \(8.0 MiB\) read-only at nbd\+unix:///\?socket=$tmp/s.sock" -- cat "$tmp/serve.log"
  expect 0 "VM web1 has no snapshot pins" -- "$vcsnap" --repo "$r" unlock --vm web1 --pins
  expect 0 '"pinned":false,"protected":false,"snapshot":"3"' -- "$vcsnap" --repo "$r" snapshots --vm web1 --json
  expect 0 "would forget snapshots of web1: 3" -- "$vcsnap" --repo "$r" forget --vm web1 --snapshot 3 --dry-run
fi

# damage one stored block: check names the place and exits 1
blk="$(find "$r/vm/web2/store" -type f -name 'b*' | head -1)"
printf 'XXXX' | dd of="$blk" bs=1 seek=200 conv=notrunc status=none
expect 1 "damaged: VM web2 snapshot 1 segment" -- "$vcsnap" --repo "$r" check --read-data
expect 1 "^vcsnap: error: .*VM web2 snapshot 1 segment" -- "$vcsnap" --repo "$r" restore --vm web2 --snapshot 1 --output "$tmp/bad.img"
[[ ! -e "$tmp/bad.img" ]] && pass=$((pass + 1)) || { echo "FAIL: a failed restore left an output file"; fails=$((fails + 1)); }

# a damaged PDS index costs the night's cross-VM dedup, not its backups
for part in "$r"/pds/index/*/p0; do printf 'XXXX' | dd of="$part" bs=1 seek=30 conv=notrunc status=none; done
expect 0 "warning: the PDS index is unreadable .*backing up without cross-VM dedup" -- "$vcsnap" --repo "$r" backup --vm web3 --image "$img"
expect 1 "damaged: PDS generation [0-9]+ index: " -- "$vcsnap" --repo "$r" check

# a lost catalog stops the VM's commands until `recover` rebuilds it
rm "$r/vm/web1/catalog"
expect 1 "^vcsnap: error: .*the catalog was lost; .vcsnap recover --vm web1" -- "$vcsnap" --repo "$r" snapshots --vm web1
expect 1 "^vcsnap: error: .*the catalog was lost" -- "$vcsnap" --repo "$r" backup --vm web1 --image "$tmp/d1.img"
expect 0 "PROBLEM web1: cannot be read: .*the catalog was lost" -- "$vcsnap" --repo "$r" report
expect 1 "^  web1: cannot be read: .*the catalog was lost" -- "$vcsnap" --repo "$r" stats
expect 1 "^  web3 +[0-9]+ snapshots" -- "$vcsnap" --repo "$r" stats
expect 1 '"problem":"[^"]*the catalog was lost' -- "$vcsnap" --repo "$r" stats --json
expect 0 "PROBLEM repository: the last check --read-data \(.*\) found [0-9]+ problems, first: " -- "$vcsnap" --repo "$r" report
expect 0 '"problems":3,' -- "$vcsnap" --repo "$r" report --json
expect 1 "damaged: VM web1: the catalog vm/web1/catalog is missing but 1 snapshot recipe\(s\) are stored \(vm/web1/snap/3\): the catalog was lost" -- "$vcsnap" --repo "$r" check --vm web1
expect 0 "would rebuild the catalog of VM web1 \(missing\): snapshots 3; next snapshot ID [5-9]" -- "$vcsnap" --repo "$r" recover --vm web1 --dry-run
expect 0 "rebuilt the catalog of VM web1 \(missing\): snapshots 3; next" -- "$vcsnap" --repo "$r" recover --vm web1
expect 0 "the catalog of VM web1 is intact" -- "$vcsnap" --repo "$r" recover --vm web1
expect 0 "restored snapshot 3 of web1" -- "$vcsnap" --repo "$r" restore --vm web1 --snapshot 3 --output "$tmp/rec3.img" --verify --force
cmp -s "$tmp/rec3.img" "$tmp/d1.img" && pass=$((pass + 1)) || { echo "FAIL: the recovered snapshot differs"; fails=$((fails + 1)); }
# a lost marker: the VM is still checked, and recover restores it
rm "$r/vms/web1"
expect 1 "damaged: VM web1: its marker vms/web1 is missing" -- "$vcsnap" --repo "$r" check
expect 0 "PROBLEM web1: its marker vms/web1 is missing" -- "$vcsnap" --repo "$r" report
expect 0 '"marker_restored":true' -- "$vcsnap" --repo "$r" recover --vm web1 --json
expect 0 "checked 1 VMs, 1 snapshots, .*: 0 problems" -- "$vcsnap" --repo "$r" check --vm web1 --read-data
expect 1 "^vcsnap: error: .*no objects to recover" -- "$vcsnap" --repo "$r" recover --vm nobody
expect 1 "^vcsnap: error: .*no VM named 'nobody'" -- "$vcsnap" --repo "$r" check --vm nobody
# a damaged container index: check names it once with its command, gc and
# compact of the other VMs go on, recover rebuilds it from the data blocks
idx="$(find "$r/vm/web1/store" -type f -name index | sort | head -1)"
printf 'XXXX' | dd of="$idx" bs=1 seek=40 conv=notrunc status=none
expect 1 "damaged: VM web1 store container [0-9a-f]{4} generation [0-9]+: index damaged .*: .vcsnap recover --vm web1. does it" -- "$vcsnap" --repo "$r" check --vm web1
expect 1 "^vcsnap: gc web1: .*index" -- "$vcsnap" --repo "$r" gc
expect 1 "^gc web3: [0-9]+ live chunks" -- "$vcsnap" --repo "$r" gc
expect 1 "^vcsnap: error: gc failed for 1 of [0-9]+ VMs \\(each named above; the others are done\\): VM web1: " -- "$vcsnap" --repo "$r" gc
expect 0 "index damaged .*would be rebuilt from the data blocks" -- "$vcsnap" --repo "$r" recover --vm web1 --dry-run
expect 0 "store of VM web1, container [0-9a-f]{4} generation [0-9]+: index damaged .*rebuilt from the data blocks: [1-9][0-9]* groups" -- "$vcsnap" --repo "$r" recover --vm web1
expect 0 "checked 1 VMs, 1 snapshots, .*: 0 problems" -- "$vcsnap" --repo "$r" check --vm web1 --read-data
expect 0 "gc web1: " -- "$vcsnap" --repo "$r" gc
# a damaged gc state is shown by stats, and forget/gc replace it
printf 'garbage' > "$r/vm/web1/gcstate"
expect 0 "the gc state is unreadable .*: no leak estimate; .vcsnap gc --vm web1. measures" -- "$vcsnap" --repo "$r" stats
expect 1 "damaged: VM web1: .*gcstate" -- "$vcsnap" --repo "$r" check --vm web1
expect 0 '"leaked_chunks":0' -- "$vcsnap" --repo "$r" gc --vm web1 --json
expect 0 "checked 1 VMs, .*: 0 problems" -- "$vcsnap" --repo "$r" check --vm web1
# the roots are kept twice: a damaged config opens from its copy ditto/config;
# check names it with its command, recover --roots rewrites it
printf 'XXXX' | dd of="$r/config" bs=1 seek=20 conv=notrunc status=none
expect 0 "web1" -- "$vcsnap" --repo "$r" stats
expect 1 "repository root config: .*; .vcsnap recover --roots. repairs it" -- "$vcsnap" --repo "$r" check
expect 1 "repository root config: .*; .vcsnap recover --roots. repairs it" -- "$vcsnap" --repo "$r" check --vm web1
expect 0 "^would repair root config: " -- "$vcsnap" --repo "$r" recover --roots --dry-run
expect 0 "^repaired root config: " -- "$vcsnap" --repo "$r" recover --roots
expect 0 "roots are intact" -- "$vcsnap" --repo "$r" recover --roots --vm web1
cmp -s "$r/config" "$r/ditto/config" && pass=$((pass + 1)) || { echo "FAIL: recover --roots did not rewrite the config"; fails=$((fails + 1)); }
expect 2 "give --vm V, --roots, or both" -- "$vcsnap" --repo "$r" recover
# a damaged deletion log: stats and report warn (the VM reads as usual),
# gc rewrites it
dl="$(find "$r/vm" -type f -name dlog | sort | head -1)"
dv="${dl#"$r/vm/"}"; dv="${dv%%/*}"
[[ -n "$dl" ]] && pass=$((pass + 1)) || { echo "FAIL: no deletion log to damage"; fails=$((fails + 1)); }
printf 'X' | dd of="$dl" bs=1 seek=$(( $(stat -c %s "$dl") - 3 )) conv=notrunc status=none
expect 0 "a deletion log is damaged .*: .vcsnap gc --vm $dv. rewrites it" -- "$vcsnap" --repo "$r" stats
expect 0 "warning $dv: a deletion log is damaged" -- "$vcsnap" --repo "$r" report
expect 0 "gc $dv: " -- "$vcsnap" --repo "$r" gc --vm "$dv"
[[ "$("$vcsnap" --repo "$r" stats 2>&1)" != *"deletion log is damaged"* ]] && pass=$((pass + 1)) || { echo "FAIL: gc left the deletion log damaged"; fails=$((fails + 1)); }

# encryption: a key file opens the repository; without it or with another
# one nothing does; no piece of the disk is stored in the clear
e="$tmp/enc"
expect 2 "^vcsnap: error: .*unknown --encryption" -- "$vcsnap" --repo "$e" init --encryption des
expect 1 "^vcsnap: error: .*--encryption aes-256-gcm needs --key-file" -- env -u VCSNAP_KEY_FILE "$vcsnap" --repo "$e" init --encryption aes-256-gcm
expect 0 "encryption +AES-256-GCM, key file .*key1" -- "$vcsnap" --repo "$e" --key-file "$tmp/key1" init
[[ "$(stat -c %a "$tmp/key1")" == 600 && "$(wc -c < "$tmp/key1")" == 65 ]] && pass=$((pass + 1)) || { echo "FAIL: the new key file is not 0600 with 64 hex digits"; fails=$((fails + 1)); }
expect 0 "snapshot 1 of web1" -- env VCSNAP_KEY_FILE="$tmp/key1" "$vcsnap" --repo "$e" backup --vm web1 --image "$img"
expect 0 "snapshot 2 of web1" -- "$vcsnap" --repo "$e" --key-file "$tmp/key1" backup --vm web1 --image "$tmp/d1.img" --bitmap "$tmp/d1.bitmap"
expect 1 "^vcsnap: error: .*the repository is encrypted: give its key file" -- env -u VCSNAP_KEY_FILE "$vcsnap" --repo "$e" snapshots
head -c 48 /dev/urandom > "$tmp/other.key"; chmod 600 "$tmp/other.key"
expect 1 "^vcsnap: error: .*key file .*other.key opens none of the 1 key slots" -- "$vcsnap" --repo "$e" --key-file "$tmp/other.key" snapshots
head -c 10 /dev/urandom > "$tmp/short.key"; chmod 600 "$tmp/short.key"
expect 1 "^vcsnap: error: .*needs at least 32" -- "$vcsnap" --repo "$e" --key-file "$tmp/short.key" snapshots
expect 0 "added key slot keys/[0-9a-f]{16}" -- "$vcsnap" --repo "$e" --key-file "$tmp/key1" key add --new-key-file "$tmp/key2"
[[ "$("$vcsnap" --repo "$e" --key-file "$tmp/key2" key list | grep -cE '^keys/[0-9a-f]{16}( \*)?$')" == 2 ]] && pass=$((pass + 1)) || { echo "FAIL: key list does not show 2 slots"; fails=$((fails + 1)); }
slot1="$("$vcsnap" --repo "$e" --key-file "$tmp/key1" key list | sed -n 's/^\(keys\/[0-9a-f]*\) \*$/\1/p')"
expect 1 "^vcsnap: error: .*the slot of the key in use" -- "$vcsnap" --repo "$e" --key-file "$tmp/key1" key remove --slot "$slot1"
expect 1 "^vcsnap: error: .*no key slot keys/0000" -- "$vcsnap" --repo "$e" --key-file "$tmp/key1" key remove --slot keys/0000000000000000
expect 0 "restored snapshot 2 of web1 .*every chunk verified" -- "$vcsnap" --repo "$e" --key-file "$tmp/key2" restore --vm web1 --snapshot 2 --output "$tmp/enc2.img" --verify
cmp -s "$tmp/enc2.img" "$tmp/d1.img" && pass=$((pass + 1)) || { echo "FAIL: the encrypted snapshot 2 restores differently"; fails=$((fails + 1)); }
expect 0 ": 0 problems" -- "$vcsnap" --repo "$e" --key-file "$tmp/key1" check --read-data
expect 0 '"encryption":"aes-256-gcm"' -- "$vcsnap" --repo "$e" --key-file "$tmp/key1" stats --json
expect 0 '"encryption":"none"' -- "$vcsnap" --repo "$r" stats --json
# revoke key1 with key2; then key1 opens nothing and key2 is the last slot
expect 0 "removed key slot $slot1" -- "$vcsnap" --repo "$e" --key-file "$tmp/key2" key remove --slot "$slot1"
expect 1 "^vcsnap: error: .*opens none of the 1 key slots" -- "$vcsnap" --repo "$e" --key-file "$tmp/key1" snapshots
expect 0 "web1 +2 +1 " -- "$vcsnap" --repo "$e" --key-file "$tmp/key2" snapshots
# 40 pieces of 32 bytes from the disk's data: none is stored in the clear
# (the same probe on the unencrypted repository finds them: the control)
probe_hits() {
  local repo="$1" hits=0 off piece
  find "$repo" -type f -exec cat {} + | od -An -tx1 -v | tr -d ' \n' > "$tmp/repo.hex"
  for off in $(seq 100000 131072 5500000); do
    piece="$(dd if="$img" bs=1 skip="$off" count=32 status=none | od -An -tx1 -v | tr -d ' \n')"
    [[ "$piece" =~ ^(00)+$ ]] && continue  # zeros are holes, not data
    if grep -q "$piece" "$tmp/repo.hex"; then hits=$((hits + 1)); fi
  done
  echo "$hits"
}
[[ "$(probe_hits "$e")" == 0 ]] && pass=$((pass + 1)) || { echo "FAIL: disk content found in the encrypted repository"; fails=$((fails + 1)); }
"$vcsnap" --repo "$tmp/plainctl" init --compression none >/dev/null && "$vcsnap" --repo "$tmp/plainctl" backup --vm web1 --image "$img" >/dev/null
[[ "$(probe_hits "$tmp/plainctl")" -gt 20 ]] && pass=$((pass + 1)) || { echo "FAIL: the plaintext probe finds nothing even unencrypted"; fails=$((fails + 1)); }
expect 1 "^vcsnap: error: .*--encryption none, but a key file is given" -- "$vcsnap" --repo "$tmp/enc3" --key-file "$tmp/key1" init --encryption none
expect 1 "^vcsnap: error: .*is not encrypted" -- "$vcsnap" --repo "$r" --key-file "$tmp/key1" key list
expect 1 "^vcsnap: error: .*already a vcsnap repository" -- "$vcsnap" --repo "$e" --key-file "$tmp/key9" init
[[ ! -e "$tmp/key9" ]] && pass=$((pass + 1)) || { echo "FAIL: a failed init left a new key file"; fails=$((fails + 1)); }
if [[ "$flavour" != asan ]]; then
  expect 0 "Images are identical" -- "$vcsnap" --repo "$e" --key-file "$tmp/key2" serve --vm web1 --snapshot 2 --run "qemu-img compare -f raw -F raw \"\$uri\" $tmp/d1.img"
fi

# tenants: a VM joins one at its first backup; shredding deletes the
# tenant's key and every object of its VMs, and nothing else
k2=(--repo "$e" --key-file "$tmp/key2")
expect 1 "^vcsnap: error: .*tenants need an encrypted repository" -- "$vcsnap" --repo "$r" tenant add --tenant acme
expect 0 "added tenant acme" -- "$vcsnap" "${k2[@]}" tenant add --tenant acme
expect 1 "^vcsnap: error: .*tenant acme exists" -- "$vcsnap" "${k2[@]}" tenant add --tenant acme
expect 1 "^vcsnap: error: .*bad tenant name" -- "$vcsnap" "${k2[@]}" tenant add --tenant ../x
expect 1 "^vcsnap: error: .*no tenant initech" -- "$vcsnap" "${k2[@]}" backup --vm t0 --image "$img" --tenant initech
expect 0 "snapshot 1 of t1" -- "$vcsnap" "${k2[@]}" backup --vm t1 --image "$img" --tenant acme
expect 0 "snapshot 2 of t1" -- "$vcsnap" "${k2[@]}" backup --vm t1 --image "$tmp/d1.img" --bitmap "$tmp/d1.bitmap"
expect 1 "^vcsnap: error: .*vm t1 belongs to tenant acme, not globex" -- "$vcsnap" "${k2[@]}" backup --vm t1 --image "$img" --tenant globex
expect 1 "^vcsnap: error: .*joins a tenant at its first backup" -- "$vcsnap" "${k2[@]}" backup --vm web1 --image "$img" --tenant acme
expect 0 "^acme: 1 VMs t1$" -- "$vcsnap" "${k2[@]}" tenant list
expect 0 "tenant acme" -- "$vcsnap" "${k2[@]}" stats
expect 0 "every chunk verified" -- "$vcsnap" "${k2[@]}" restore --vm t1 --snapshot 2 --output "$tmp/t1.img" --verify
cmp -s "$tmp/t1.img" "$tmp/d1.img" && pass=$((pass + 1)) || { echo "FAIL: the tenant's snapshot restores differently"; fails=$((fails + 1)); }
printf 'x' >> "$e/vm/t1/tenant"  # a damaged binding: check names it, recover --tenant repairs it
expect 1 "damaged: VM t1: .*tenant" -- "$vcsnap" "${k2[@]}" check
expect 0 "warning: VM t1: .*tenant" -- "$vcsnap" "${k2[@]}" tenant list
expect 0 "added tenant globex" -- "$vcsnap" "${k2[@]}" tenant add --tenant globex
expect 1 "^vcsnap: error: .*not its tenant" -- "$vcsnap" "${k2[@]}" recover --vm t1 --tenant globex
expect 0 "wrote the binding of VM t1 to tenant acme" -- "$vcsnap" "${k2[@]}" recover --vm t1 --tenant acme
expect 0 "^tenant acme in repository [0-9a-f]+, " -- "$vcsnap" "${k2[@]}" report --tenant acme
expect 0 '"tenant":"acme".*"vm":"t1"' -- "$vcsnap" "${k2[@]}" report --tenant acme --json
[[ "$("$vcsnap" "${k2[@]}" report --tenant acme --json)" != *web1* ]] && pass=$((pass + 1)) || { echo "FAIL: a tenant's report names another VM"; fails=$((fails + 1)); }
expect 1 "^vcsnap: error: .*no tenant initech" -- "$vcsnap" "${k2[@]}" report --tenant initech
expect 2 "^vcsnap: error: .*not with --tenant" -- "$vcsnap" "${k2[@]}" report --tenant acme --isolation
expect 0 ": 0 problems" -- "$vcsnap" "${k2[@]}" check
expect 0 "tenant isolation: chunks held by fewer than 2 tenants stay" -- "$vcsnap" "${k2[@]}" pds update --fraction 0.5
expect 2 "^vcsnap: error: .*cannot be undone: give --yes" -- "$vcsnap" "${k2[@]}" tenant shred --tenant acme
expect 0 "shredding would delete its key and [0-9]+ objects" -- "$vcsnap" "${k2[@]}" tenant shred --tenant acme --dry-run
expect 0 "tenant acme shredded: its key is deleted; 1 VMs" -- "$vcsnap" "${k2[@]}" tenant shred --tenant acme --yes
[[ ! -e "$e/tenants/acme" && ! -e "$e/ditto/tenants/acme" && -z "$(find "$e/vm/t1" -type f 2>/dev/null)" && ! -e "$e/vms/t1" ]] && pass=$((pass + 1)) || { echo "FAIL: objects of the shredded tenant are left"; fails=$((fails + 1)); }
expect 1 "^vcsnap: error: .*no tenant acme" -- "$vcsnap" "${k2[@]}" tenant shred --tenant acme --yes
expect 0 ": 0 problems" -- "$vcsnap" "${k2[@]}" check --read-data
expect 0 "every chunk verified" -- "$vcsnap" "${k2[@]}" restore --vm web1 --snapshot 2 --output "$tmp/enc2.img" --verify --force

expect 0 "Usage" -- "$vcsnap" --help
for sub in init stats report backup snapshots restore serve unlock forget protect gc compact check recover pds isolation key tenant; do
  expect 0 "Usage" -- "$vcsnap" "$sub" --help
done
expect 0 "vcsnap [0-9]" -- "$vcsnap" --version

echo "cli: $pass passed, $fails failed"
[[ $fails -eq 0 ]]
