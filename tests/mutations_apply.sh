#!/usr/bin/env bash
# Every deliberate break in tests/mutations/ still applies to the code and names tests that
# exist, so tests/mutations/run.sh (an hour, run by hand) cannot rot unnoticed: a patch that no
# longer applies, or a "Must fail:" regex that matches no test, fails here. Usage:
# tests/mutations_apply.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
bad=0
count=0
for patch in tests/mutations/*.patch; do
  count=$((count + 1))
  if ! git apply --check "$patch" 2>/dev/null; then
    echo "$patch no longer applies: regenerate it against the current code" >&2
    git apply --check "$patch" 2>&1 | sed 's/^/  /' >&2 || true
    bad=1
    continue
  fi
  tests=$(sed -n 's/^Must fail: //p' "$patch")
  matched=$(cd "$build" && ctest -N -R "${tests:-^$}" | grep -c 'Test *#' || true)
  if [ -z "$tests" ] || [ "$matched" -eq 0 ]; then
    echo "$patch: its 'Must fail:' line ('$tests') matches no test in ctest -N" >&2
    bad=1
    continue
  fi
  echo "applies  $(basename "$patch"): $matched test(s) must fail"
done
[ "$count" -ge 20 ] || { echo "only $count patches in tests/mutations/" >&2; bad=1; }
exit $bad
