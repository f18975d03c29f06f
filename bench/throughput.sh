#!/usr/bin/env bash
# Training throughput of 1 process x 1 thread, 1 process x all cores' threads, and N
# processes x 1 thread, measured alternately in one sitting; prints medians and the CPU.
# With OTHER (another build's hogwild_train, e.g. an older commit's), each run of ours is
# followed by the same run of OTHER, and the table gets its column and ours / OTHER.
# Usage: bench/throughput.sh [EPOCHS=2] [REPEAT=3] [OTHER]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-2}
repeat=${2:-3}
other=${3:-}
cores=$(nproc)
bins=(build/hogwild_train)
[ -n "$other" ] && bins+=("$other")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
layouts=("1 1" "1 $cores" "$cores 1")
for ((r = 1; r <= repeat; r++)); do
  for layout in "${layouts[@]}"; do
    read -r procs threads <<<"$layout"
    for b in "${!bins[@]}"; do
      # --data-dir: another checkout's binary looks for the data in its own tree.
      "${bins[$b]}" --config configs/mnist.toml --data-dir "$PWD/data/mnist" --epochs "$epochs" \
        --procs "$procs" --threads "$threads" --metrics-out "$tmp/$b.${procs}x${threads}.$r.json" >/dev/null
    done
  done
done
/usr/bin/python3 - "$tmp" "$repeat" "${#bins[@]}" "${layouts[@]}" <<'PY'
import json, statistics, sys
sys.path.insert(0, "bench")
from bench import cpu_description
tmp, repeat, nbins, layouts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
rates = {}
for b in range(nbins):
    for layout in layouts:
        procs, threads = layout.split()
        runs = [json.load(open(f"{tmp}/{b}.{procs}x{threads}.{r}.json")) for r in range(1, repeat + 1)]
        rates[b, layout] = statistics.median(run["throughput"]["samples_per_second"] for run in runs)
base = rates[0, layouts[0]]
print(f"{cpu_description()[0]}; medians of {repeat}, alternating")
if nbins == 1:
    print("| procs x threads | samples/s (median) | vs 1 x 1 |")
    print("|---|---|---|")
    for layout in layouts:
        procs, threads = layout.split()
        print(f"| {procs} x {threads} | {rates[0, layout]:,.0f} | {rates[0, layout] / base:.2f}x |")
else:
    print("| procs x threads | samples/s (median) | other build | ours / other |")
    print("|---|---|---|---|")
    for layout in layouts:
        procs, threads = layout.split()
        print(f"| {procs} x {threads} | {rates[0, layout]:,.0f} | {rates[1, layout]:,.0f} | "
              f"{rates[0, layout] / rates[1, layout]:.2f}x |")
PY
