#!/usr/bin/env bash
# Command-line behaviour of SPEC §2 for the commands that exist: exit codes,
# error lines, --repo before or after the subcommand, VCSNAP_REPO.
# Usage: cli-test.sh path/to/vcsnap
set -uo pipefail
vcsnap="$1"
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
expect 0 "total +1 " -- "$vcsnap" --repo "$r" stats
expect 0 "total +1 " -- "$vcsnap" stats --repo "$r"
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
expect 0 "Usage" -- "$vcsnap" --help
for sub in init stats; do
  expect 0 "Usage" -- "$vcsnap" "$sub" --help
done
expect 0 "vcsnap [0-9]" -- "$vcsnap" --version

echo "cli: $pass passed, $fails failed"
[[ $fails -eq 0 ]]
