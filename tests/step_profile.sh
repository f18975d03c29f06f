#!/usr/bin/env bash
# `make -f Makefile.bench profile` end to end: both files, each naming the CPU, the step's
# phases, the operators and the convolutions' share; and hogwild_step's refusals.
# Usage: tests/step_profile.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "step_profile test: $*" >&2; exit 1; }

make -f Makefile.bench --no-print-directory profile BUILD="$build" OUT="$out" PROFILE_BATCH=32 > "$out/stdout"
for p in fp32 bf16; do
  f="$out/profile-$p.txt"
  [ -s "$f" ] || fail "$f missing or empty"
  grep -q "^cpu: .* (\(AVX\|SSE\).*AMX), [0-9]* cores$" "$f" || fail "$p: no cpu line"
  grep -q "^step: batch 32, 1 thread, $p (" "$f" || fail "$p: no step line"
  for phase in "step 1: batch and dropout mask" "step 2: forward and loss" "step 3: backward"; do
    grep -q "^  $phase " "$f" || fail "$p: phase '$phase' missing"
  done
  grep -q "^  hogwild::convolution_backward " "$f" || fail "$p: no convolution backward operator"
  # Our operators are listed even when small: the SGD update is never in "the rest".
  grep -q "^  hogwild::sgd_update " "$f" || fail "$p: no hogwild::sgd_update operator"
  share=$(sed -n 's/^convolutions, forward and backward: \([0-9.]*\) % of the step$/\1/p' "$f")
  awk -v s="$share" 'BEGIN { exit !(s > 10 && s < 100) }' || fail "$p: convolution share '$share'"
  # The phases are the whole step: their shares add up to 100 %.
  awk '/^phase/ {on = 1; next} on && /^$/ {exit} on {sum += $(NF - 2)} END {exit !(sum > 99 && sum < 101)}' "$f" \
    || fail "$p: phase shares do not add up to 100 %"
done
if "$build/hogwild_step" --profile --threads 2 --steps 5 2> "$out/err"; then fail "--profile --threads 2 accepted"; fi
grep -q "add --threads 1" "$out/err" || fail "refusal: $(cat "$out/err")"
if "$build/hogwild_step" --precision fp16 2> "$out/err"; then fail "--precision fp16 accepted"; fi
# --data-dir is where the data is read from (a bundle on another machine has no source tree).
if "$build/hogwild_step" --data-dir "$out/nowhere" --steps 5 2> "$out/err"; then fail "--data-dir nowhere accepted"; fi
grep -q "$out/nowhere" "$out/err" || fail "--data-dir refusal does not name the directory: $(cat "$out/err")"
mkdir "$out/copy" && cp data/mnist/train-* "$out/copy/"
"$build/hogwild_step" --data-dir "$out/copy" --steps 5 --batch 8 > "$out/stdout" || fail "--data-dir copy: $(cat "$out/stdout")"
echo "step_profile test: ok"
