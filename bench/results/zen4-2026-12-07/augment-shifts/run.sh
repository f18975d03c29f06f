#!/bin/bash
# --augment with shifts only (no flips since 4fbd10d) on Fashion-MNIST, N = 2, in one sitting:
# round r = seed r of the 15-epoch default (auto = bf16 here), --augment over 40 epochs
# (configs/fashion-mnist-augment.toml), the 15-epoch default in fp32, --augment over 30 epochs;
# three rounds, so every row has its median of 3 in accuracy and in time. One JSON and log per
# run next to this file. Usage: run.sh BINARY (a copy of build/hogwild_train).
set -euo pipefail
binary=$1
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../../.."
lscpu > "$here/lscpu.txt"
for seed in 1 2 3; do
  for run in auto augment40 fp32 augment30; do
    case $run in
      auto) flags=(--config configs/fashion-mnist.toml) ;;
      fp32) flags=(--config configs/fashion-mnist.toml --precision fp32) ;;
      augment40) flags=(--config configs/fashion-mnist-augment.toml) ;;
      augment30) flags=(--config configs/fashion-mnist-augment.toml --epochs 30) ;;
    esac
    out=$here/fashion-mnist-$run-seed$seed
    "$binary" "${flags[@]}" --seed $seed --progress off --metrics-out "$out.json" > "$out.log" 2>&1
    echo "fashion-mnist $run seed $seed: $(grep -E '^test:' "$out.log") | $(grep -E '^time:' "$out.log")" | tee -a "$here/results.txt"
  done
done
