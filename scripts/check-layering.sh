#!/usr/bin/env bash
# Fails when a file in src/<layer>/ includes a header of a layer above it.
# The order is the architecture (docs/design.md); keep it in sync with the
# add_subdirectory() order in CMakeLists.txt. Test files (*_test.cc, *_test.h,
# *_conformance.*) may also include testing/.
set -euo pipefail
src="${1:-$(dirname "$0")/../src}"
layers=(util format backend repo source chunk store fleet recipe pds backup gc analysis report serve cli)
rank() {
  local i
  for i in "${!layers[@]}"; do
    [[ "${layers[$i]}" == "$1" ]] && { echo "$i"; return; }
  done
  echo -1
}
bad=0
while IFS= read -r -d '' file; do
  rel="${file#"$src"/}"
  layer="${rel%%/*}"
  [[ "$layer" == "testing" ]] && continue
  mine=$(rank "$layer")
  if [[ "$mine" -lt 0 ]]; then
    echo "layering: $rel is in an unknown layer '$layer'"; bad=1; continue
  fi
  while IFS= read -r inc; do
    dep="${inc%%/*}"
    if [[ "$dep" == "testing" ]]; then
      case "$rel" in *_test.cc|*_test.h|*_conformance.*|*_bench.cc) continue ;; esac
      echo "layering: $rel (production code) includes testing/"; bad=1; continue
    fi
    theirs=$(rank "$dep")
    if [[ "$theirs" -lt 0 || "$theirs" -gt "$mine" ]]; then
      echo "layering: $rel ($layer) includes \"$inc\" ($dep is not below $layer)"
      bad=1
    fi
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(find "$src" \( -name '*.h' -o -name '*.cc' \) -print0)
if [[ $bad -ne 0 ]]; then exit 1; fi
echo "layering: OK (${layers[*]})"
