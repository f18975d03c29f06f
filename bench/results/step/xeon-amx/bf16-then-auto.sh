#!/usr/bin/env bash
# bf16 vs auto (both bf16 on AMX) alternating, pinned to two CPUs; is auto slower, or the moment?
pk=$1 data=$2 out=$3
export LD_LIBRARY_PATH=$pk/lib
for cpus in 0,1 4,5; do
  for r in 1 2 3; do
    for mode in bf16 auto; do
      taskset -c $cpus $pk/bin/hogwild_train --config configs/mnist.toml --data-dir "$data" --epochs 2 --procs 2 --threads 1 \
        --precision $mode --progress off --metrics-out /tmp/a.json > /tmp/a.log 2>&1
      echo "$(date +%T) cpus $cpus $mode r$r $(grep -o 'training.*samples/s' /tmp/a.log) $(grep -o 'bf16 (.*)' /tmp/a.log)" | tee -a $out/auto.log
    done
  done
done
