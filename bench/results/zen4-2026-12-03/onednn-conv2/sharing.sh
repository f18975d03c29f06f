#!/usr/bin/env bash
# Does sharing the parameters cost at 32 samples per worker? This change's build, 4 rounds:
# two independent hogwild_step processes (one per core, nothing shared) at batch 32 and 128,
# against hogwild_train --procs 2 (the segment shared) at 32 and 128 per worker, 3 epochs.
cd /work/main
for r in 1 2 3 4; do
  for b in 32 128; do
    steps=$(( b == 32 ? 600 : 150 ))
    s=0
    for core in 0 1; do
      taskset -c $core /tmp/hs_sgd --batch $b --precision bf16 --steps $steps > /tmp/step_$core.txt &
    done
    wait
    for core in 0 1; do s=$(( s + $(sed -n 's/.*: \([0-9]*\) samples\/s.*/\1/p' /tmp/step_$core.txt) )); done
    echo "round $r two hogwild_step batch $b: $s samples/s"
  done
  for b in 32 128; do
    echo "round $r hogwild_train --procs 2, $b per worker: $(/tmp/ht_sgd --config configs/mnist.toml --data-dir data/mnist --procs 2 --batch-size $((2 * b)) --epochs 3 --progress off | sed -n 's/.*(\([0-9]*\) samples\/s.*/\1/p') samples/s"
  done
done
