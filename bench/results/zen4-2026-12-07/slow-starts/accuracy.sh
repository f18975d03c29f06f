#!/bin/bash
# The 15-epoch defaults (MNIST, Fashion-MNIST, N = 2, auto) with the screen's He init against
# PyTorch's default init, seeds 1-3, alternating. Usage: accuracy.sh SCREEN_BINARY (a build
# with he_init_screen.patch). One JSON per run here.
set -euo pipefail
binary=$1
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../../.."
for seed in 1 2 3; do
  for data in mnist fashion-mnist; do
    for init in none he; do
      out=$here/$data-init-$init-seed$seed
      HOGWILD_SCREEN_INIT=$init "$binary" --config configs/$data.toml --seed $seed --progress off \
        --metrics-out "$out.json" > "$out.log" 2>&1
      echo "$data init $init seed $seed: $(grep -E '^test:' "$out.log") | $(grep -E '^time:' "$out.log")" | tee -a "$here/accuracy.txt"
    done
  done
done
