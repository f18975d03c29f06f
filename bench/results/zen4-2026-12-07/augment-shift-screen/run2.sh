#!/usr/bin/env bash
# MNIST --augment, 30 epochs, shift 2 (the committed default), seeds 1-3, same binary
cd /work/main
for seed in 1 2 3; do
  HOGWILD_SCREEN_SHIFT=2 /tmp/screen/hogwild_train --config configs/mnist-augment.toml --epochs 30 --seed $seed \
    --progress off --metrics-out /tmp/screen/s2-seed$seed.json > /tmp/screen/s2-seed$seed.log 2>&1
done
