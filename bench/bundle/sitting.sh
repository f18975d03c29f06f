#!/usr/bin/env bash
# One sitting from a bundle (bench/bundle/pack.sh) on a machine with more cores: the CPU and
# oneDNN's ISA; on two CPUs of different cores, as on the development machines, the other build
# (bin/hogwild_train.base) against ours in fp32, bf16 and auto, alternating, REPEAT rounds; the
# step's profile in fp32 and bf16; a sweep of N processes x 1 thread over all cores.
# Logs and JSON go to /tmp/sitting, packed into LOGDIR/sitting.tgz; LOGDIR/sitting.log has the
# summary (samples/s and test accuracy per run).
# Usage: sitting.sh BUNDLE_PK_DIR DATA_DIR LOGDIR [REPEAT=3] [EPOCHS=2]
set -uo pipefail
pk=$1 data=$2 final=$3 repeat=${4:-3} epochs=${5:-2}
export LD_LIBRARY_PATH=$pk/lib
ours=$pk/bin/hogwild_train base=$pk/bin/hogwild_train.base step=$pk/bin/hogwild_step
out=/tmp/sitting log=$final/sitting.log
mkdir -p "$out" "$final"
save() { tar -czf "$final/sitting.tgz" -C "$out" .; }
say() { echo "$(date +%T) $*" | tee -a "$log"; }
{ lscpu; echo; grep -m1 '^flags' /proc/cpuinfo; ldd --version | head -1; } > "$out/cpu.txt" 2>&1
say "cpu:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(nproc) CPUs, amx_bf16: $(grep -c -m1 amx_bf16 /proc/cpuinfo)"
"$ours" --help > /dev/null || { say "hogwild_train does not start here"; exit 3; }
# Which oneDNN kernels the bf16 step's convolutions get (AMX shows as avx512_core_amx_bf16).
ONEDNN_VERBOSE=1 "$step" --data-dir "$data" --precision bf16 --steps 5 > "$out/onednn.txt" 2>&1
grep -m1 'info,cpu,isa' "$out/onednn.txt" | tee -a "$log"
grep 'exec,cpu,convolution' "$out/onednn.txt" | awk -F, '{print $5, $6}' | sort | uniq -c | tee -a "$log"
run() {  # tag binary cpus procs threads [flags...]
  local tag=$1 bin=$2 cpus=$3 procs=$4 threads=$5; shift 5
  taskset -c "$cpus" "$bin" --config "$pk/bin/mnist.toml" --data-dir "$data" --epochs "$epochs" \
    --procs "$procs" --threads "$threads" --metrics-out "$out/$tag.json" "$@" > "$out/$tag.log" 2>&1
  say "$tag rc=$? $(python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print(round(d['throughput']['samples_per_second']), d['test']['accuracy'])" "$out/$tag.json" 2>/dev/null)"
}
two=$(lscpu -p=CPU,CORE | grep -v '^#' | sort -t, -k2,2n -u | head -2 | cut -d, -f1 | paste -sd,)
say "2-core runs on CPUs $two"
for ((r = 1; r <= repeat; r++)); do
  run "base-2x1-r$r" "$base" "$two" 2 1
  for p in fp32 bf16 auto; do run "$p-2x1-r$r" "$ours" "$two" 2 1 --precision $p --progress off; done
done
save
for p in fp32 bf16; do
  taskset -c "${two%%,*}" "$step" --data-dir "$data" --precision $p --steps 100 --profile > "$out/profile-$p.txt" 2>&1
done
all=0-$(($(nproc) - 1))
for n in 1 2 4 8 12 16 32 64; do
  [ "$n" -le "$(nproc)" ] || continue
  for p in fp32 bf16; do run "sweep-$p-${n}x1" "$ours" "$all" "$n" 1 --precision $p --progress off; done
done
for p in fp32 bf16; do run "sweep-$p-1x$(nproc)" "$ours" "$all" 1 "$(nproc)" --precision $p --progress off; done
save
say "done"
