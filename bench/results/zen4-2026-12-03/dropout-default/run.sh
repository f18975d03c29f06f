#!/bin/bash
# The defaults with --dropout 0.25 as the default: `make run`'s MNIST and Fashion-MNIST
# (N = 2, 15 epochs, auto = bf16 here) against --precision fp32, then MNIST at N = 16 and 32,
# seeds 1-3, alternating; one JSON per run next to this file.
# Usage: run.sh BINARY (a copy of build/hogwild_train, so the build may change meanwhile).
set -euo pipefail
binary=$1
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../../.."
run() {  # NAME FLAGS...
  local name=$1
  shift
  local out=$here/$name
  "$binary" "$@" --progress off --metrics-out "$out.json" > "$out.log" 2>&1
  echo "$name: $(grep -E '^test:' "$out.log") | $(grep -E '^time:' "$out.log")"
}
for seed in 1 2 3; do
  for data in mnist fashion-mnist; do
    run $data-auto-seed$seed --config configs/$data.toml --seed $seed
    run $data-fp32-seed$seed --config configs/$data.toml --seed $seed --precision fp32
  done
done
for seed in 1 2 3; do
  for procs in 16 32; do
    run mnist-procs$procs-seed$seed --config configs/mnist.toml --seed $seed --procs $procs
  done
done
