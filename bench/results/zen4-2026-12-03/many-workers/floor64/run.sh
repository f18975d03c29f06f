#!/usr/bin/env bash
# floor 64: accuracy at N = 16, 32 (seeds 1-3), 5 (seeds 1-3); speed N=2 vs N=16 alternating (seed 1, 15 epochs)
cd /work/main
B=/tmp/hogwild_train_floor64
o=bench/results/zen4-2026-12-03/many-workers/floor64
for round in 1 2 3; do for n in 2 16; do
  echo "speed round $round procs $n $($B --config configs/mnist.toml --procs $n --progress off --metrics-out $o/speed-n$n-$round.json | grep -E '^(test|time):' | tr '\n' ' ')" >> $o/out.txt
done; done
for s in 2 3; do for n in 16 32 5; do
  echo "acc seed $s procs $n $($B --config configs/mnist.toml --procs $n --seed $s --progress off --metrics-out $o/n$n-seed$s.json | grep -E '^(test|time):' | tr '\n' ' ')" >> $o/out.txt
done; done
for n in 32 5; do
  echo "acc seed 1 procs $n $($B --config configs/mnist.toml --procs $n --seed 1 --progress off --metrics-out $o/n$n-seed1.json | grep -E '^(test|time):' | tr '\n' ' ')" >> $o/out.txt
done
echo DONE >> $o/out.txt
