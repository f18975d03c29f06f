#!/bin/bash
# The 15-epoch defaults (auto = bf16 here, and fp32) against --augment with --dropout 0.25 over
# 30 epochs, N = 2, seeds 1-3, both data sets, alternating; one JSON per run next to this file.
# Usage: run.sh BINARY [RUN...] (BINARY: a copy of build/hogwild_train, so the build may change
# meanwhile; RUN: auto, fp32, augment (--dropout 0.25), augment-p0.5 (the seed's dropout),
# p0.25 and p0 (15 epochs, no augmentation, --dropout 0.25 / 0); default: the first three).
set -euo pipefail
binary=$1
shift
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(auto fp32 augment)
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../../.."
for seed in 1 2 3; do
  for data in mnist fashion-mnist; do
    for run in "${runs[@]}"; do
      case $run in
        auto) flags=(--config configs/$data.toml) ;;
        fp32) flags=(--config configs/$data.toml --precision fp32) ;;
        augment) flags=(--config configs/$data-augment.toml --dropout 0.25) ;;
        augment-p0.5) flags=(--config configs/$data-augment.toml --dropout 0.5) ;;
        p0.25) flags=(--config configs/$data.toml --dropout 0.25) ;;
        p0) flags=(--config configs/$data.toml --dropout 0) ;;
      esac
      out=$here/$data-$run-seed$seed
      "$binary" "${flags[@]}" --seed $seed --progress off --metrics-out "$out.json" > "$out.log" 2>&1
      echo "$data $run seed $seed: $(grep -E '^test:' "$out.log") | $(grep -E '^time:' "$out.log")"
    done
  done
done
