#!/usr/bin/env bash
# make run's config (MNIST, 15 epochs, auto = bf16 here) at --procs 2 and 16, alternating,
# three rounds, with the build given (default: /tmp/ht_sgd, this change).
bin=${1:-/tmp/ht_sgd}; tag=${2:-sgd}
out=/work/main/bench/results/zen4-2026-12-03/onednn-conv2
cd /work/main
for round in 1 2 3; do for n in 2 16; do
  echo "$tag round $round procs $n $($bin --config configs/mnist.toml --data-dir data/mnist --procs $n --progress off --metrics-out $out/$tag-n$n-$round.json | grep -E '^(test|time):' | tr '\n' ' ')"
done; done
