#!/usr/bin/env bash
# make run's config (MNIST, 15 epochs, auto = bf16 here) at --procs 2 and 16, old build
# (main at 37f8858, /tmp/ht_old) and this change (/tmp/ht_sgd) alternating, three rounds.
out=/work/main/bench/results/zen4-2026-12-03/onednn-conv2
cd /work/main
for round in 1 2 3; do for tag in old sgd; do for n in 2 16; do
  echo "$tag round $round procs $n $(/tmp/ht_$tag --config configs/mnist.toml --data-dir data/mnist --procs $n --progress off --metrics-out $out/ab-$tag-n$n-$round.json | grep -E '^(test|time):' | tr '\n' ' ')"
done; done; done
