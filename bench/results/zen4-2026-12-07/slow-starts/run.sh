#!/bin/bash
# How often MNIST's first epoch stalls at the default recipe (N = 2, auto), and whether the
# seed or the race decides: the first epoch alone (--epochs 1 --lr-schedule constant, which is
# epoch 1 of a 15-epoch cosine run to within 1 % of its step) for seeds 1..S, twice over.
# Usage: run.sh BINARY [SEEDS=40] [EXTRA FLAGS...]; prints "pass seed loss" per run.
set -euo pipefail
binary=$1; seeds=${2:-40}; shift 2 || shift $#
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../../.."
for pass in 1 2; do
  for seed in $(seq 1 "$seeds"); do
    out=$(mktemp)
    "$binary" --config configs/mnist.toml --epochs 1 --lr-schedule constant --test-limit 1000 \
      --seed "$seed" --progress off --metrics-out "$out" "$@" > /dev/null 2>&1
    /usr/bin/python3 -c "
import json,sys
d=json.load(open('$out')); e=[x for x in d['epochs'] if x['epoch']==1]
print($pass, $seed, '%.3f' % (sum(x['loss']*x['samples'] for x in e)/sum(x['samples'] for x in e)))"
    rm -f "$out"
  done
done
