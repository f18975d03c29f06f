#!/usr/bin/env bash
# After run.sh, same sitting: the step's samples/s against its batch (one core, the new head),
# then `make run`'s MNIST run at --procs 2 and 16 (15 epochs, defaults), alternating.
set -u
out=bench/results/zen4-2026-12-03
for round in 1 2; do
  for p in fp32 bf16; do
    for b in 16 32 64 128; do
      echo "step round $round $p batch $b $(build/hogwild_step --batch $b --steps 300 --precision $p | grep -o '[0-9]* samples/s')" >> $out/after.txt
    done
  done
done
for round in 1 2 3; do
  for n in 2 16; do
    echo "make-run round $round procs $n $(build/hogwild_train --config configs/mnist.toml --procs $n --progress off --metrics-out $out/make-run-n$n-$round.json | grep -E '^(test|time):' | tr '\n' ' ')" >> $out/after.txt
  done
done
