#!/usr/bin/env bash
# The installed layout works: `cmake --install` into a staging root, then the
# installed vcsnap (and nothing from the build tree) finds the modules it
# loads in lib/vcsnap/ -- the RADOS backend on a rados:// location, the NBD
# sources for a qcow2 image, and the nbdkit plugin for `serve` -- backs up a
# qcow2 image and serves a snapshot byte-exact. A copy of
# the program without its modules must fail to find them (the check can
# fail). Usage: install-test.sh BUILD_DIR [normal|asan]
# With "asan" the serve part is left out and said so (as in cli-test.sh:
# nbdkit cannot load an ASan plugin without the runtime preloaded).
set -uo pipefail
build="$1"
flavour="${2:-normal}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
unset VCSNAP_RADOS_MODULE VCSNAP_NBD_MODULE VCSNAP_NBDKIT_PLUGIN VCSNAP_REPO
fails=0
pass=0
check() {  # check DESCRIPTION -- command...: passes when the command does
  local what="$1"; shift 2
  if "$@"; then pass=$((pass + 1)); else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

root="$tmp/root"
if ! DESTDIR="$root" cmake --install "$build" --prefix /usr >"$tmp/install.log" 2>&1; then
  echo "FAIL: cmake --install"; cat "$tmp/install.log"; exit 1
fi
bin="$root/usr/bin/vcsnap"
for f in usr/bin/vcsnap usr/bin/vcsnap-fleetgen usr/lib/vcsnap/vcsnap-rados.so \
         usr/lib/vcsnap/vcsnap-nbd.so \
         usr/lib/vcsnap/nbdkit-vcsnap-plugin.so usr/share/doc/vcsnap/README.md \
         usr/share/doc/vcsnap/format/envelope.md; do
  check "$f installed" -- test -s "$root/$f"
done
check "installed vcsnap --version" -- grep -qE '^vcsnap [0-9]' <<<"$("$bin" --version 2>&1)"

# A rados:// location loads the backend module from ../lib/vcsnap: its own
# error (the Ceph configuration) proves it answered.
rados="rados://nopool?conf=$tmp/no-such-ceph.conf"
out="$("$bin" --repo "$rados" snapshots 2>&1)"
check "installed vcsnap loads lib/vcsnap/vcsnap-rados.so (got: $out)" -- \
  grep -q "cannot read the Ceph configuration" <<<"$out"
mkdir "$tmp/alone" && cp "$bin" "$tmp/alone/vcsnap"
out="$("$tmp/alone/vcsnap" --repo "$rados" snapshots 2>&1)"
check "a vcsnap without its modules names where it looked (got: $out)" -- \
  grep -q "vcsnap-rados.so was not found (looked at $tmp/alone/vcsnap-rados.so" <<<"$out"

# A qcow2 image is read through lib/vcsnap/vcsnap-nbd.so (and qemu-nbd).
q="$tmp/q"
head -c 3149824 "$bin" >"$tmp/q.img"
qemu-img convert -q -f raw -O qcow2 "$tmp/q.img" "$tmp/q.qcow2"
check "init (qcow2)" -- "$bin" --repo "$q" init >/dev/null
out="$("$bin" --repo "$q" backup --vm q --image "$tmp/q.qcow2" --format qcow2 --json 2>&1)"
check "installed vcsnap loads lib/vcsnap/vcsnap-nbd.so (got: $out)" -- \
  grep -q '"source":"qcow2 (qemu-nbd)"' <<<"$out"
check "restore of the qcow2 backup" -- \
  "$bin" --repo "$q" restore --vm q --snapshot latest --output "$tmp/q.out" >/dev/null
check "the restored qcow2 disk is the image" -- cmp -s "$tmp/q.out" "$tmp/q.img"
out="$("$tmp/alone/vcsnap" --repo "$q" backup --vm q --image "$tmp/q.qcow2" --format qcow2 2>&1)"
check "a qcow2 backup without the NBD module names where it looked (got: $out)" -- \
  grep -q "vcsnap-nbd.so was not found (looked at $tmp/alone/vcsnap-nbd.so" <<<"$out"

if [[ "$flavour" == asan ]]; then
  echo "install: serve part not run in the ASan build (see the header)"
else
  r="$tmp/repo"
  head -c 3149824 "$bin" >"$tmp/d.img"  # whole sectors: qemu-img rounds up
  check "init" -- "$bin" --repo "$r" init >/dev/null
  check "backup" -- "$bin" --repo "$r" backup --vm v --image "$tmp/d.img" >/dev/null
  check "serve finds lib/vcsnap/nbdkit-vcsnap-plugin.so" -- \
    "$bin" --repo "$r" serve --vm v --snapshot latest \
    --run "qemu-img convert -f raw -O raw \"\$uri\" $tmp/served.img" 2>/dev/null
  check "the served snapshot is the image" -- cmp -s "$tmp/served.img" "$tmp/d.img"
  out="$("$tmp/alone/vcsnap" --repo "$r" serve --vm v --snapshot latest --run true 2>&1)"
  check "serve without the plugin names where it looked (got: $out)" -- \
    grep -q "nbdkit-vcsnap-plugin.so was not found" <<<"$out"
fi

echo "install: $pass passed, $fails failed"
[[ $fails -eq 0 ]]
