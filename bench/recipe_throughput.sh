#!/usr/bin/env bash
# What the recipe costs in speed: training throughput of the seed's recipe and the scaled
# one (smaller per-worker batches as N grows) at each N, the two alternating in one sitting;
# prints medians. Usage: bench/recipe_throughput.sh [EPOCHS=2] [REPEAT=2] [PROCS="1 2 5"]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-2}
repeat=${2:-2}
procs_list=${3:-1 2 5}
bin=${BIN:-build/hogwild_train}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((r = 1; r <= repeat; r++)); do
  for n in $procs_list; do
    for recipe in seed scaled; do
      "$bin" --config configs/mnist.toml --epochs "$epochs" --procs "$n" --recipe "$recipe" \
        --metrics-out "$tmp/$recipe-$n.$r.json" >/dev/null
    done
  done
done
/usr/bin/python3 - "$tmp" "$repeat" $procs_list <<'PY'
import json, statistics, sys
tmp, repeat, procs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print("| N | seed: batch/worker | samples/s | scaled: batch/worker | samples/s | scaled / seed |")
print("|---|---|---|---|---|---|")
for n in procs:
    cells = []
    for recipe in ("seed", "scaled"):
        runs = [json.load(open(f"{tmp}/{recipe}-{n}.{r}.json")) for r in range(1, repeat + 1)]
        rate = statistics.median(run["throughput"]["samples_per_second"] for run in runs)
        cells.append((runs[0]["hyperparameters"]["batch_per_worker"], rate))
    (b0, r0), (b1, r1) = cells
    print(f"| {n} | {b0} | {r0:,.0f} | {b1} | {r1:,.0f} | {r1 / r0:.2f}x |")
PY
