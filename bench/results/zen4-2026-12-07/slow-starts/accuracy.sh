#!/bin/bash
# The 15-epoch defaults (MNIST, Fashion-MNIST, N = 2, auto) with each init of INITS (default
# "none he": PyTorch's and He's, alternating; "gain1" needs the build of
# gain_init_screen.patch), seeds 1-3. Usage: [INITS=...] accuracy.sh SCREEN_BINARY (a build
# with he_init_screen.patch or gain_init_screen.patch). One JSON per run here.
set -euo pipefail
binary=$1
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../../.."
for seed in 1 2 3; do
  for data in mnist fashion-mnist; do
    for init in ${INITS:-none he}; do
      out=$here/$data-init-$init-seed$seed
      HOGWILD_SCREEN_INIT=$init "$binary" --config configs/$data.toml --seed $seed --progress off \
        --metrics-out "$out.json" > "$out.log" 2>&1
      echo "$data init $init seed $seed: $(grep -E '^test:' "$out.log") | $(grep -E '^time:' "$out.log")" | tee -a "$here/accuracy.txt"
    done
  done
done
