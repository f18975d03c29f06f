#!/usr/bin/env bash
# MNIST --augment, 30 epochs, shift 1 (HOGWILD_SCREEN_SHIFT), seeds 1-3; then shift 2 seed 1 as a check
cd /work/main
for seed in 1 2 3; do
  HOGWILD_SCREEN_SHIFT=1 /tmp/screen/hogwild_train --config configs/mnist-augment.toml --epochs 30 --seed $seed \
    --progress off --metrics-out /tmp/screen/s1-seed$seed.json > /tmp/screen/s1-seed$seed.log 2>&1
done
