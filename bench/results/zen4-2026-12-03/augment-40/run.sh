#!/bin/bash
# --augment (configs/*-augment.toml: dropout 0.25) over 40 epochs instead of 30, against the
# 15-epoch fp32 default (the default when issue 22 set its bar of twice today's time), N = 2,
# seeds 1-3, both data sets, alternating; one JSON per run next to this file.
# Usage: [SEEDS="1 2 3"] [TAG=-x] run.sh BINARY [RUN...] (BINARY: a copy of build/hogwild_train;
# RUN: augment40, fp32, auto; default: augment40; TAG: appended to the files' names).
set -euo pipefail
binary=$1
shift
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(augment40)
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../../.."
for seed in ${SEEDS:-1 2 3}; do
  for data in mnist fashion-mnist; do
    for run in "${runs[@]}"; do
      case $run in
        augment40) flags=(--config configs/$data-augment.toml --epochs 40) ;;
        fp32) flags=(--config configs/$data.toml --precision fp32) ;;
        auto) flags=(--config configs/$data.toml) ;;
      esac
      out=$here/$data-$run-seed$seed${TAG:-}
      "$binary" "${flags[@]}" --seed $seed --progress off --metrics-out "$out.json" > "$out.log" 2>&1
      echo "$data $run seed $seed: $(grep -E '^test:' "$out.log") | $(grep -E '^time:' "$out.log")"
    done
  done
done
