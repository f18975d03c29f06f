#!/usr/bin/env bash
# hogwild_step (bf16, one core) for three builds, alternating, three rounds:
# old = main at 37f8858, conv = the second convolution on oneDNN directly,
# sgd = conv + the SGD update as one loop per parameter. Binaries copied to /tmp.
for r in 1 2 3; do
  for p in bf16; do
    for b in 1 32 128; do
      steps=$(( b == 1 ? 1000 : (b == 32 ? 400 : 100) ))
      for v in old new sgd; do
        echo "round $r $p batch $b $v $(/tmp/hs_$v --batch $b --precision $p --steps $steps --data-dir /work/main/data/mnist | grep -o '[0-9]* samples/s')"
      done
    done
  done
done
