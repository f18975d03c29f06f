#!/usr/bin/env bash
# Is PyTorch's gap at large per-worker batches glibc's allocator? Trains PyTorch's Hogwild
# (threads per process) with glibc's defaults and with the heap settings hogwild_train makes
# through mallopt (MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ are glibc's environment
# spelling of them), alternating, and prints median samples/s.
# Usage: bench/pytorch_allocator.sh [EPOCHS=1] [REPEAT=2] ["N:BATCH ..."="1:256 2:128 3:85"]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-1}
repeat=${2:-2}
layouts=${3:-1:256 2:128 3:85}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((r = 1; r <= repeat; r++)); do
  for layout in $layouts; do
    n=${layout%%:*} b=${layout##*:}
    for heap in glibc kept; do
      env=()
      [ "$heap" = kept ] && env=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824)
      env "${env[@]}" /usr/bin/python3 bench/pytorch_hogwild.py --data-dir data/mnist --procs "$n" \
        --epochs "$epochs" --batch-size "$b" --lr 0.01 --metrics-out "$tmp/$heap-$n.$r.json" >/dev/null
    done
  done
done
/usr/bin/python3 - "$tmp" "$repeat" $layouts <<'PY'
import json, statistics, sys
tmp, repeat, layouts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print("| N | batch/worker | glibc defaults: samples/s | heap kept: samples/s | kept / defaults |")
print("|---|---|---|---|---|")
for layout in layouts:
    n, b = layout.split(":")
    rate = {h: statistics.median(json.load(open(f"{tmp}/{h}-{n}.{r}.json"))["throughput"]["samples_per_second"]
                                 for r in range(1, repeat + 1)) for h in ("glibc", "kept")}
    print(f"| {n} | {b} | {rate['glibc']:,.0f} | {rate['kept']:,.0f} | {rate['kept'] / rate['glibc']:.2f}x |")
PY
