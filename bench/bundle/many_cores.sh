#!/usr/bin/env bash
# Issue 22's many-core study, one short sitting on a lent machine (about 5 minutes on 16 CPUs),
# from a bundle (pack.sh). Two parts, both fp32 and bf16:
# 1. The sweep: hogwild_train --procs N --threads 1 (MNIST, the default recipe, EPOCHS epochs)
#    for N = 1, 2, 4, 8, 12, 16 (up to the CPUs there are), ROUNDS rounds with N alternating;
#    medians of the whole run's samples/s and of the last epoch's (the workers' rates summed:
#    no start-up in it), and the speed-up over N = 1.
# 2. What limits it: the step alone (hogwild_step: one process, its own parameters) at the
#    batch a worker gets at that N (the recipe: 256 / N, never under 32), once alone and as N
#    copies at once. N copies / (N x one alone) is what the machine gives up (clock, memory
#    bandwidth, shared caches); the sweep's last epoch / N copies is what sharing the
#    parameters costs (their cache lines written by every worker, the updates).
# 3. The first lever, in the same rounds: the largest N at twice the recipe's batch per worker
#    (--batch-size 2 x batch x N: 64 a worker at N = 16), against the recipe's own. If the
#    step's fixed cost is what limits, this is faster; its accuracy cost at N = 16 is known
#    from 2 cores (docs/accuracy.md, "A floor of 64").
# Usage: many_cores.sh BUNDLE_DIR DATA_DIR OUT [ROUNDS=3] [EPOCHS=2]
# Writes OUT/summary.txt (also printed), a JSON and log per run, OUT/cpu.txt.
# On the lent machine (the device tool; its working tree is this checkout): here
#   echo /.bundle/ >> .git/info/exclude; make build
#   bench/bundle/pack.sh .bundle/hw.tar.xz build/hogwild_train
# then one run, carry [".bundle"], timeout_s 540:
#   mkdir -p /tmp/b && tar -xJf .bundle/hw.tar.xz -C /tmp/b && bench/bundle/many_cores.sh
#   /tmp/b/pk /tmp/b/data/mnist /tmp/mc; cp /tmp/mc/summary.txt /tmp/mc/cpu.txt $OUT/;
#   tar -czf $OUT/many-cores.tgz -C /tmp/mc .
set -uo pipefail
pk=$1 data=$2 out=$3 rounds=${4:-3} epochs=${5:-2}
export LD_LIBRARY_PATH=$pk/lib
train=$pk/bin/hogwild_train step=$pk/bin/hogwild_step
mkdir -p "$out"
cpus=$(nproc)
{ lscpu; grep -m1 '^flags' /proc/cpuinfo; } > "$out/cpu.txt" 2>&1
procs=()
for n in 1 2 4 8 12 16; do [ "$n" -le "$cpus" ] && procs+=("$n"); done
batch_of() { local b=$(((256 + $1 / 2) / $1)); echo $((b < 32 ? 32 : b)); }
for ((r = 1; r <= rounds; r++)); do
  for p in fp32 bf16; do
    for n in "${procs[@]}"; do
      tag=train-$p-n$n-r$r
      "$train" --config "$pk/bin/mnist.toml" --data-dir "$data" --epochs "$epochs" --procs "$n" \
        --threads 1 --precision "$p" --progress off --metrics-out "$out/$tag.json" \
        > "$out/$tag.log" 2>&1 || echo "$tag failed: $(tail -1 "$out/$tag.log")"
    done
    n=${procs[-1]} tag=train-$p-n${procs[-1]}-twice-r$r
    "$train" --config "$pk/bin/mnist.toml" --data-dir "$data" --epochs "$epochs" --procs "$n" \
      --threads 1 --precision "$p" --batch-size $((2 * $(batch_of "$n") * n)) --progress off \
      --metrics-out "$out/$tag.json" > "$out/$tag.log" 2>&1 ||
      echo "$tag failed: $(tail -1 "$out/$tag.log")"
  done
done
for p in fp32 bf16; do
  for n in "${procs[@]}"; do
    b=$(batch_of "$n") steps=$((25600 / b))
    "$step" --data-dir "$data" --precision "$p" --batch "$b" --steps "$steps" \
      > "$out/step-$p-b$b-alone.log" 2>&1
    for ((i = 0; i < n; i++)); do
      "$step" --data-dir "$data" --precision "$p" --batch "$b" --steps "$steps" \
        > "$out/step-$p-n$n-copy$i.log" 2>&1 &
    done
    wait
  done
done
/usr/bin/env python3 - "$out" "$rounds" "${procs[@]}" <<'PY' | tee "$out/summary.txt"
import glob, json, os, re, statistics as st, sys
out, rounds, procs = sys.argv[1], int(sys.argv[2]), [int(n) for n in sys.argv[3:]]
def step_rate(path):
    m = os.path.exists(path) and re.search(r"step: .*: (\d+) samples/s", open(path).read())
    return float(m.group(1)) if m else float("nan")
def runs(p, n, variant=""):
    whole, last, batch = [], [], 0  # 0: no run of this N left a JSON
    for r in range(1, rounds + 1):
        try: d = json.load(open(f"{out}/train-{p}-n{n}{variant}-r{r}.json"))
        except (OSError, ValueError): continue
        whole.append(d["throughput"]["samples_per_second"])
        batch = d["hyperparameters"]["batch_per_worker"]  # the recipe's, as batch_of() above
        final = max(e["epoch"] for e in d["epochs"])
        last.append(sum(e["samples_per_second"] for e in d["epochs"] if e["epoch"] == final))
    nan = float("nan")
    return (st.median(whole) if whole else nan, st.median(last) if last else nan, batch)
cpu = open(out + "/cpu.txt").read()
field = lambda name: (cpu.split(name + ":")[1].splitlines()[0].strip() if name + ":" in cpu
                      else "?")
print(f"cpu: {field('Model name')}, {os.cpu_count()} CPUs, {field('Thread(s) per core')} "
      f"thread(s) per core; medians of {rounds}")
for p in ("fp32", "bf16"):
    one_whole, one_last, _ = runs(p, 1)
    print(f"\n{p}: N | samples/s whole run (x N=1) | last epoch (x N=1) | batch | step alone | "
          f"N copies at once (x N alone) | last epoch / N copies")
    for n in procs:
        whole, last, b = runs(p, n)
        alone = step_rate(f"{out}/step-{p}-b{b}-alone.log")
        copies = sum(step_rate(f) for f in glob.glob(f"{out}/step-{p}-n{n}-copy*.log"))
        print(f"{p}: {n:2d} | {whole:8,.0f} ({whole / one_whole:5.2f}x) | {last:8,.0f} "
              f"({last / one_last:5.2f}x) | {b:3d} | {alone:7,.0f} | {copies:8,.0f} "
              f"({copies / (n * alone):4.2f}) | {last / copies:4.2f}")
    n = procs[-1]
    whole, last, b = runs(p, n, "-twice")
    own_whole, own_last, _ = runs(p, n)
    print(f"{p}: {n:2d} at {b} a worker | {whole:8,.0f} ({whole / one_whole:5.2f}x) | {last:8,.0f} "
          f"({last / one_last:5.2f}x) | {last / own_last:4.2f}x the recipe's {n} in the last epoch")
PY
