#!/usr/bin/env bash
# Runs `make -f Makefile.bench quick` into a fresh folder and checks what it must produce,
# so the benchmark never rots. Usage: tests/bench_quick.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
make -f Makefile.bench quick BUILD="$build" OUT="$out"

fail() { echo "bench_quick: $*" >&2; exit 1; }
for f in sweep.csv speedup.png speedup.svg compare.csv compare.md; do
  [ -s "$out/$f" ] || fail "$f missing or empty"
done
head -1 "$out/sweep.csv" | grep -q '^procs,recipe,batch_per_worker,threads_per_proc,epochs,runs,train_seconds,samples_per_second,speedup,efficiency,test_accuracy,test_loss,peak_pss_mib,min_accuracy,max_accuracy,seconds_to_15,cpu$' \
  || fail "sweep.csv header: $(head -1 "$out/sweep.csv")"
[ "$(wc -l < "$out/sweep.csv")" -eq 3 ] || fail "sweep.csv should hold 2 rows"
[ "$(wc -l < "$out/compare.csv")" -eq 9 ] || fail "compare.csv should hold 4 rows per N"
grep -q 'pytorch, tuned' "$out/compare.csv" || fail "compare.csv lacks the tuned PyTorch row"
grep -q 'AVX\|SSE' "$out/compare.md" || fail "compare.md does not name the CPU's ISA"
# N = 1 has speedup 1 by definition; every accuracy is a percentage above chance.
awk -F, 'NR == 2 && $9 != "1.000" { exit 1 }' "$out/sweep.csv" || fail "speedup at N=1 is not 1"
awk -F, 'NR > 1 && !($11 > 10 && $11 <= 100) { exit 1 }' "$out/sweep.csv" || fail "accuracy out of range"
awk -F, 'NR > 1 && !($13 > 0) { exit 1 }' "$out/sweep.csv" || fail "peak memory missing"
# The smoke configuration (scaled recipe, batch 64) splits its batch: 64 at N=1, 32 at N=2.
awk -F, 'NR > 1 && !($2 == "scaled" && $3 == 64 / $1) { exit 1 }' "$out/sweep.csv" || fail "recipe columns"
# One epoch of the smoke configuration gives 35-40%: our runs reach 15% (chance is 10%), at a
# time within the training time.
awk -F, 'NR > 1 && !($16 > 0 && $16 <= $7 + 5) { exit 1 }' "$out/sweep.csv" || fail "seconds_to_15 in sweep.csv"
head -1 "$out/compare.csv" | grep -q ',seconds_to_15,cpu$' || fail "compare.csv lacks seconds_to_15 or cpu"
awk -F, '$2 == "hogwild_train" && !($10 > 0) { exit 1 }' "$out/compare.csv" || fail "seconds_to_15 in compare.csv"
grep -q 'time to 15% (s)' "$out/compare.md" || fail "compare.md lacks the time-to-accuracy column"
grep -q 'pytorch, threads per process' "$out/compare.md" || fail "compare.md lacks the PyTorch rows"
[ "$(head -c 4 "$out/speedup.png" | tail -c 3)" = PNG ] || fail "speedup.png is not a PNG"
grep -q '<svg' "$out/speedup.svg" || fail "speedup.svg is not an SVG"
echo "bench_quick: 1 passed, 0 failed"
