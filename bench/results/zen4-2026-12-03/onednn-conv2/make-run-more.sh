#!/usr/bin/env bash
# make run's config at --procs 2 and 16, alternating, five more rounds, the build as
# committed (1a6997c, /tmp/ht_head), nothing else running.
out=/work/main/bench/results/zen4-2026-12-03/onednn-conv2
cd /work/main
for round in 1 2 3 4 5; do for n in 2 16; do
  echo "head round $round procs $n $(/tmp/ht_head --config configs/mnist.toml --procs $n --progress off --metrics-out $out/head-n$n-$round.json | grep -E '^(test|time):' | tr '\n' ' ')"
done; done
