#!/usr/bin/env bash
# Where the extra time of 32 samples per worker goes: CPU samples (perf, cpu-clock at 2 kHz;
# this VM has no hardware counters) of --procs 2 at 32 and at 128 per worker, by library.
set -u
out=bench/results/zen4-2026-12-03/many-workers/where-time-goes.txt
for round in 1 2; do
  for batch in 64 256; do
    perf record -q -e cpu-clock -F 2000 -o /tmp/where.data -- build/hogwild_train \
      --config configs/mnist.toml --procs 2 --batch-size $batch --epochs 2 --progress off > /tmp/where.out 2>&1
    {
      echo "round $round --batch-size $batch ($((batch / 2)) per worker): $(grep '^time' /tmp/where.out)"
      echo "  samples: $(perf report -i /tmp/where.data --stdio --sort dso 2>/dev/null | grep -m1 '^# Samples')"
      # JIT code (oneDNN's kernels) is listed per thread: summed into one line.
      perf report -i /tmp/where.data --stdio --no-children --sort dso -g none 2>/dev/null |
        grep '%' | sed 's/\[JIT\] tid [0-9]*/[JIT]/' |
        awk '{s[$2]+=$1} END {for (k in s) printf "  %6.2f%%  %s\n", s[k], k}' | sort -rn | head -8
    } >> $out
  done
done
rm -f /tmp/where.data /tmp/where.out
