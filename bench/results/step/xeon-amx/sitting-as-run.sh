#!/usr/bin/env bash
# One sitting on a bare machine from a bundle (pack.sh): the CPU, oneDNN's ISA, the 2-core
# comparison against c1f9fd5 (fp32 and bf16, alternating, medians of REPEAT), the step's profile,
# and a procs sweep over all cores. Writes JSON and logs under OUT.
# Usage: sitting.sh BUNDLE_DIR DATA_DIR OUT [REPEAT=3] [EPOCHS=2]
set -uo pipefail
pk=$1 data=$2 out=$3 repeat=${4:-3} epochs=${5:-2}
export LD_LIBRARY_PATH=$pk/lib
ours=$pk/bin/hogwild_train base=$pk/bin/hogwild_train.c1f9fd5 step=$pk/bin/hogwild_step
final=$out; out=/tmp/sitting; mkdir -p "$out"
log=$final/sitting.log
save() { tar -czf "$final/sitting.tgz" -C "$out" .; }
say() { echo "$(date +%T) $*" | tee -a "$log"; }
{ lscpu; echo; grep -m1 '^flags' /proc/cpuinfo; ldd --version | head -1; nproc; } > "$out/cpu.txt" 2>&1
say "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) cores $(nproc) amx: $(grep -c -m1 amx_bf16 /proc/cpuinfo)"
"$ours" --help > /dev/null || { say "FAIL: hogwild_train does not start"; exit 3; }
ONEDNN_VERBOSE=1 "$step" --precision bf16 --steps 5 2>&1 | grep -m2 -i 'isa\|info,cpu' | tee -a "$log"
ONEDNN_VERBOSE=1 "$step" --precision bf16 --steps 5 2>&1 | grep 'exec,cpu,convolution' | awk -F, '{print $5, $6}' | sort | uniq -c | tee -a "$log"
run() {  # tag binary cpus procs threads [extra...]
  local tag=$1 bin=$2 cpus=$3 procs=$4 threads=$5; shift 5
  taskset -c "$cpus" "$bin" --config configs/mnist.toml --data-dir "$data" --epochs "$epochs" \
    --procs "$procs" --threads "$threads" --metrics-out "$out/$tag.json" "$@" > "$out/$tag.log" 2>&1
  say "$tag rc=$? $(/usr/bin/env python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(round(d['throughput']['samples_per_second']), d['test']['accuracy'])" "$out/$tag.json" 2>/dev/null)"
}
# Two CPUs on different physical cores, as on the 2-core development machines.
two=$(lscpu -p=CPU,CORE | grep -v '^#' | sort -t, -k2,2n -u | head -2 | cut -d, -f1 | paste -sd,)
say "2-core runs on CPUs $two"
for ((r = 1; r <= repeat; r++)); do
  run "base-2x1-r$r" "$base" "$two" 2 1
  run "fp32-2x1-r$r" "$ours" "$two" 2 1 --precision fp32 --progress off
  run "bf16-2x1-r$r" "$ours" "$two" 2 1 --precision bf16 --progress off
done
run "auto-2x1" "$ours" "$two" 2 1 --precision auto --progress off
save
grep -h 'precision\|model:' "$out/auto-2x1.log" | tee -a "$log"
taskset -c "${two%%,*}" "$step" --precision fp32 --steps 100 --profile > "$out/profile-fp32.txt" 2>&1
taskset -c "${two%%,*}" "$step" --precision bf16 --steps 100 --profile > "$out/profile-bf16.txt" 2>&1
say "profiles done"
all=0-$(($(nproc) - 1))
for p in 1 2 4 8 12 16; do
  [ "$p" -le "$(nproc)" ] || continue
  run "sweep-fp32-${p}x1" "$ours" "$all" "$p" 1 --precision fp32 --progress off
  run "sweep-bf16-${p}x1" "$ours" "$all" "$p" 1 --precision bf16 --progress off
done
run "sweep-fp32-1x$(nproc)" "$ours" "$all" 1 "$(nproc)" --precision fp32 --progress off
run "sweep-bf16-1x$(nproc)" "$ours" "$all" 1 "$(nproc)" --precision bf16 --progress off
save
say "done"
