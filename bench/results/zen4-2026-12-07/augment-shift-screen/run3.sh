#!/usr/bin/env bash
# Fashion-MNIST --augment (no flips), 30 epochs, shift 1 and 2 alternating, seeds 1-3, same binary
cd /work/main
while pgrep -f run2.sh > /dev/null; do sleep 5; done
for seed in 1 2 3; do
  for shift in 1 2; do
    HOGWILD_SCREEN_SHIFT=$shift /tmp/screen/hogwild_train --config configs/fashion-mnist-augment.toml --epochs 30 --seed $seed \
      --progress off --metrics-out /tmp/screen/f$shift-seed$seed.json > /tmp/screen/f$shift-seed$seed.log 2>&1
  done
done
