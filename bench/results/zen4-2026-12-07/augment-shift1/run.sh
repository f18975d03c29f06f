#!/bin/bash
# --augment at its new default shift (--augment-shift 1) over 30 epochs (configs/*-augment.toml)
# against the 15-epoch default (auto = bf16 here), N = 2, in one sitting: round r = seed r of
# MNIST default, MNIST augmented, Fashion-MNIST default, Fashion-MNIST augmented; three rounds,
# so every row has its median of 3 in accuracy and in time. One JSON and log per run next to
# this file. Usage: run.sh BINARY (a copy of build/hogwild_train).
set -euo pipefail
binary=$1
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../../.."
lscpu > "$here/lscpu.txt"
for seed in 1 2 3; do
  for data in mnist fashion-mnist; do
    for run in auto augment; do
      case $run in
        auto) flags=(--config configs/$data.toml) ;;
        augment) flags=(--config configs/$data-augment.toml) ;;
      esac
      out=$here/$data-$run-seed$seed
      "$binary" "${flags[@]}" --seed $seed --progress off --metrics-out "$out.json" > "$out.log" 2>&1
      echo "$data $run seed $seed: $(grep -E '^test:' "$out.log") | $(grep -E '^time:' "$out.log")" | tee -a "$here/results.txt"
    done
  done
done
