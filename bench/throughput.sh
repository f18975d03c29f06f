#!/usr/bin/env bash
# Training throughput of 1 process x 1 thread, 1 process x all cores' threads, and N
# processes x 1 thread, measured alternately in one sitting; prints medians.
# Usage: bench/throughput.sh [EPOCHS=2] [REPEAT=3]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-2}
repeat=${2:-3}
cores=$(nproc)
bin=build/hogwild_train
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
layouts=("1 1" "1 $cores" "$cores 1")
for ((r = 1; r <= repeat; r++)); do
  for layout in "${layouts[@]}"; do
    read -r procs threads <<<"$layout"
    "$bin" --config configs/mnist.toml --epochs "$epochs" --procs "$procs" --threads "$threads" \
      --metrics-out "$tmp/${procs}x${threads}.$r.json" >/dev/null
  done
done
/usr/bin/python3 - "$tmp" "$repeat" "${layouts[@]}" <<'PY'
import json, statistics, sys
tmp, repeat, layouts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rates = {}
for layout in layouts:
    procs, threads = layout.split()
    runs = [json.load(open(f"{tmp}/{procs}x{threads}.{r}.json")) for r in range(1, repeat + 1)]
    rates[layout] = statistics.median(run["throughput"]["samples_per_second"] for run in runs)
base = rates[layouts[0]]
print("| procs x threads | samples/s (median) | vs 1 x 1 |")
print("|---|---|---|")
for layout in layouts:
    procs, threads = layout.split()
    print(f"| {procs} x {threads} | {rates[layout]:,.0f} | {rates[layout] / base:.2f}x |")
PY
