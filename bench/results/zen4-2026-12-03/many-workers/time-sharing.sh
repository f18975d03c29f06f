#!/usr/bin/env bash
# Does time-sharing one core cost throughput? Eight copies of the step on one core at once
# against one copy timed and multiplied by eight (the same work), batch 32 and 128, bf16.
set -u
out=bench/results/zen4-2026-12-03/many-workers/time-sharing.txt
seconds() { python3 -c 'import time; print(time.monotonic())'; }
for round in 1 2 3; do
  for b in 32 128; do
    s=$(seconds); taskset -c 0 build/hogwild_step --batch $b --precision bf16 --steps 400 > /dev/null; e=$(seconds)
    echo "round $round batch $b one copy x 8: $(python3 -c "print(round(($e - $s) * 8, 1))") s" >> $out
    s=$(seconds)
    for i in 1 2 3 4 5 6 7 8; do taskset -c 0 build/hogwild_step --batch $b --precision bf16 --steps 400 > /dev/null & done
    wait; e=$(seconds)
    echo "round $round batch $b eight copies at once: $(python3 -c "print(round($e - $s, 1))") s" >> $out
  done
done
