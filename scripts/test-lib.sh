# Shared helpers of the end-to-end test scripts (sourced, not run). The
# sourcing script sets $tmp (a private directory) first; it reports
# "$checks checks, $fails failed" at the end and exits non-zero on failures.
fails=0
checks=0

fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

# run CMD...: must succeed.
run() {
  checks=$((checks + 1))
  if ! "$@" >"$tmp/out" 2>&1; then
    fail "$*"
    sed 's/^/    /' "$tmp/out" | head -5
  fi
}

# expect RC REGEX CMD...: exit code RC and REGEX somewhere in the output.
expect() {
  local want="$1" re="$2"
  shift 2
  checks=$((checks + 1))
  "$@" >"$tmp/out" 2>&1
  local rc=$?
  if [[ $rc != "$want" ]] || ! grep -Eq -- "$re" "$tmp/out"; then
    fail "$* -> rc $rc (want $want, /$re/)"
    sed 's/^/    /' "$tmp/out" | head -5
  fi
}
