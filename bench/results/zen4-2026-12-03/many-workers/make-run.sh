#!/usr/bin/env bash
# make run's config at --procs 2 and 16, alternating
cd /work/main
for round in 1 2 3; do for n in 2 16; do
  echo "round $round procs $n $(build/hogwild_train --config configs/mnist.toml --procs $n --progress off --metrics-out bench/results/zen4-2026-12-03/many-workers/n$n-$round.json | grep -E '^(test|time):' | tr '\n' ' ')" >> bench/results/zen4-2026-12-03/many-workers/out.txt
done; done
echo DONE >> bench/results/zen4-2026-12-03/many-workers/out.txt
