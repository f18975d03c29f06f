#!/usr/bin/env bash
# Builds the IDX fuzzer with clang's libFuzzer (plus ASan and UBSan) and runs it for a
# bounded time. Usage: tests/fuzz/run.sh [SECONDS=60]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
out=build-fuzz
mkdir -p "$out/corpus"
clang++-14 -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Iinclude src/idx.cpp src/error.cpp tests/fuzz/fuzz_idx.cpp -lfmt -lz -o "$out/fuzz_idx"
# Seeds: a small valid image file and label file, and the head of the real ones.
printf '\x00\x00\x08\x03\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04' >"$out/corpus/images"
printf '\x00\x00\x08\x01\x00\x00\x00\x03\x01\x09\x00' >"$out/corpus/labels"
for f in data/mnist/train-images-idx3-ubyte data/mnist/train-labels-idx1-ubyte; do
  [ -f "$f" ] && head -c 2000 "$f" >"$out/corpus/$(basename "$f")"
done
"$out/fuzz_idx" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
  "$out/corpus" 2>&1 | tail -n 15
echo "fuzz_idx: ${seconds} s without a finding"
