#!/usr/bin/env bash
# Shows that the tests guard what they claim. Each patch here is a deliberate break of the
# code (its first line says which) and names the tests that must then fail ("Must fail:", a
# ctest regex). For each: apply it, rebuild, run those tests, expect a failure, restore.
#   tests/mutations/run.sh BUILD_DIR [PATCH...]      (all patches by default; ~1 min each)
# Not part of `make test`: it rebuilds the tree once per patch.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:?usage: tests/mutations/run.sh BUILD_DIR [PATCH...]}
shift
patches=("$@")
[ ${#patches[@]} -gt 0 ] || patches=(tests/mutations/*.patch)
if ! git diff --quiet -- src include; then
  echo "run.sh: src/ or include/ has uncommitted changes; commit or stash them first" >&2
  exit 2
fi
rebuild() { cmake --build "$build" -j "$(nproc)" --target hogwild_train hogwild_tests >/dev/null; }
applied=""
trap '[ -z "$applied" ] || git apply -R "$applied"' EXIT
missed=0
for patch in "${patches[@]}"; do
  tests=$(sed -n 's/^Must fail: //p' "$patch")
  git apply "$patch"
  applied=$patch
  rebuild
  log=$(mktemp)
  if (cd "$build" && ctest -R "$tests" --output-on-failure >"$log" 2>&1); then
    echo "NOT CAUGHT  $(basename "$patch"): every test matching '$tests' passed"
    missed=1
  else
    failed=$(grep -cE '^\s+[0-9]+ - ' "$log" || true)
    echo "caught      $(basename "$patch"): $failed test(s) failed"
    grep -E '^\s+[0-9]+ - ' "$log" | sed 's/^\s*/              /'
    grep -E 'ERROR: CHECK|FATAL ERROR|MESSAGE' "$log" | head -n 6 | sed 's/^.*tests\//              /' || true
  fi
  rm -f "$log"
  git apply -R "$patch"
  applied=""
done
rebuild
exit $missed
