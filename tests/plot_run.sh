#!/usr/bin/env bash
# scripts/plot_run.sh end to end: two real runs (one with per-epoch evaluations, one
# without) drawn side by side, and the files it must refuse. Usage: tests/plot_run.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "plot_run test: $*" >&2; exit 1; }

common=(--config configs/smoke.toml --epochs 2 --test-limit 200 --progress off)
"$build/hogwild_train" "${common[@]}" --procs 1 --eval-every-epoch --metrics-out "$out/n1.json" >/dev/null
"$build/hogwild_train" "${common[@]}" --procs 2 --metrics-out "$out/n2_final_only.json" >/dev/null

scripts/plot_run.sh -o "$out/curves" -t "N = 1 and N = 2" "$out/n1.json" "$out/n2_final_only.json" \
  > "$out/stdout" || fail "plotting two runs failed"
grep -q "wrote $out/curves.png and $out/curves.svg (2 runs)" "$out/stdout" || fail "stdout: $(cat "$out/stdout")"
[ "$(head -c 4 "$out/curves.png" | od -An -c | tr -d ' ')" = '211PNG' ] || fail "curves.png is not a PNG"
for label in "n1 (1 procs, scaled)" "n2_final_only (2 procs, scaled)" "N = 1 and N = 2" \
             "test accuracy (%)" "training loss (train mode)" "seconds of training"; do
  grep -qF "$label" "$out/curves.svg" || fail "curves.svg lacks '$label'"
done

# Refused, with the file named, and nothing written.
expect_refusal() {  # expect_refusal WHAT FILE
  if scripts/plot_run.sh -o "$out/bad" "$2" 2> "$out/stderr"; then fail "$1 was plotted"; fi
  grep -qF "plot_run: $2" "$out/stderr" || fail "$1: stderr does not name the file: $(cat "$out/stderr")"
  [ ! -e "$out/bad.png" ] && [ ! -e "$out/bad.svg" ] || fail "$1 left an output file"
}
expect_refusal "a missing file" "$out/missing.json"
echo '{"epochs": []}' > "$out/other.json"
expect_refusal "JSON from something else" "$out/other.json"
echo 'not json' > "$out/text.json"
expect_refusal "a text file" "$out/text.json"
if scripts/plot_run.sh 2>/dev/null; then fail "no arguments: should print usage and fail"; fi
echo "plot_run test: ok"
