#!/usr/bin/env bash
# MNIST --augment 30 epochs, seeds 4-5, shift 1 and 2 alternating (after run3)
cd /work/main
while pgrep -f run3.sh > /dev/null; do sleep 5; done
for seed in 4 5; do
  for shift in 1 2; do
    HOGWILD_SCREEN_SHIFT=$shift /tmp/screen/hogwild_train --config configs/mnist-augment.toml --epochs 30 --seed $seed \
      --progress off --metrics-out /tmp/screen/s$shift-seed$seed.json > /tmp/screen/s$shift-seed$seed.log 2>&1
  done
done
