#!/usr/bin/env bash
# Issue 22's measurements of 2026-12-03 (AMD EPYC family 25 model 17, Zen 4, 2 cores), as run
# from the repository root after `make build`: --precision fp32 against auto (= bf16 here),
# 15 epochs (configs/<data>.toml), seeds 1-3, alternating; then --procs 16 / 32 and the
# speed of --procs 16 against 2. One line per run in runs.txt, the metrics JSON beside it.
set -u
out=bench/results/zen4-2026-12-03
train=build/hogwild_train
line() {  # tag, then the run's own output
  echo "$1 $(grep -E '^(test|time):' | tr '\n' ' ')" >> $out/runs.txt
}
run() {  # tag args...; a run whose JSON exists is not run again (the script resumes)
  local tag=$1; shift
  [ -e $out/$tag.json ] && return
  $train --progress off --metrics-out $out/$tag.json "$@" 2>&1 | line "$tag"
}
for n in 2 5; do
  for seed in 1 2 3; do
    for data in mnist fashion-mnist; do
      for p in fp32 auto; do
        run n$n-$data-$p-$seed --config configs/$data.toml --procs $n --seed $seed --precision $p
      done
    done
  done
done
# N = 1 on one core each: the fp32 and auto runs of a seed side by side (accuracy only;
# --threads 1 makes each run repeat itself bit for bit).
for seed in 1 2 3; do
  for data in mnist fashion-mnist; do
    run n1-$data-fp32-$seed --config configs/$data.toml --procs 1 --threads 1 --seed $seed --precision fp32 &
    run n1-$data-auto-$seed --config configs/$data.toml --procs 1 --threads 1 --seed $seed --precision auto
    wait
  done
done
for seed in 1 2 3; do
  for n in 16 32; do run n$n-mnist-auto-$seed --config configs/mnist.toml --procs $n --seed $seed; done
done
for round in 1 2 3; do
  for n in 2 16; do run speed-n$n-$round --config configs/mnist.toml --procs $n --epochs 3; done
done
echo done >> $out/runs.txt
