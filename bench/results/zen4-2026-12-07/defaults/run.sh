#!/bin/bash
# README's accuracy and speed rows re-run with today's defaults (auto = bf16 on this CPU, the
# scaled recipe with its floor), one sitting: the sweep over N = 1..5 on both data sets (15
# epochs, medians of 3), ours against PyTorch's Hogwild (one epoch, medians of 3), processes
# against threads. Usage: run.sh BINARY (a copy of build/hogwild_train).
set -euo pipefail
binary=$1
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../../.."
lscpu > "$here/lscpu.txt"
bench=(/usr/bin/python3 bench/bench.py --binary "$binary")
for data in mnist fashion-mnist; do
  "${bench[@]}" sweep --config configs/$data.toml --procs "1 2 3 4 5" --epochs 15 --repeat 3 \
    --out "$here/sweep-$data" > "$here/sweep-$data.txt" 2>&1
done
"${bench[@]}" compare --config configs/mnist.toml --procs "1 2 3 4 5" --epochs 1 --repeat 3 \
  --out "$here/compare" > "$here/compare.txt" 2>&1
bench/throughput.sh 2 3 > "$here/throughput.txt" 2>&1
