#!/usr/bin/env bash
# MNIST, make run's config (15 epochs, auto = bf16 here), N = 16 and 32, seeds 1-3, this change.
out=/work/main/bench/results/zen4-2026-12-03/onednn-conv2
cd /work/main
for n in 32 16; do for seed in 1 2 3; do
  echo "procs $n seed $seed $(/tmp/ht_sgd --config configs/mnist.toml --data-dir data/mnist --procs $n --seed $seed --progress off --metrics-out $out/acc-n$n-seed$seed.json | grep -E '^(test|time):' | tr '\n' ' ')"
done; done
