#!/usr/bin/env bash
# The README's "the trained model in PyTorch": a model saved by hogwild_train, loaded into
# the seed's Mnist module by examples/pytorch_load.py (Debian's python3-torch), must classify
# the first 1,000 test images exactly as hogwild_eval does; and the README's lines must be
# the example's. Usage: tests/pytorch_load.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "pytorch_load test: $*" >&2; exit 1; }

"$build/hogwild_train" --config configs/smoke.toml --progress off --save-model "$out/model.pt" >/dev/null
ours=$("$build/hogwild_eval" --model "$out/model.pt" --test-limit 1000 --threads 1)
theirs=$(/usr/bin/python3 examples/pytorch_load.py "$out/model.pt" data/mnist 1000)
echo "$ours"
echo "$theirs"
correct=$(sed -n 's/.*(\([0-9]*\) of 1000 images.*/\1/p' <<< "$ours")
[ -n "$correct" ] || fail "no count in hogwild_eval's output"
[ "$correct" -gt 200 ] || fail "the smoke model should beat chance by far (got $correct of 1000)"
grep -qx "pytorch: $correct of 1000 test images correct .*" <<< "$theirs" \
  || fail "PyTorch and hogwild_eval disagree: $correct vs '$theirs'"

# Every line of the README's snippet (the python block after the marker) is in the example.
snippet=$(awk '/<!-- examples\/pytorch_load.py -->/ {on = 1; next}
               on && /^```python/ {inside = 1; next}
               inside && /^```/ {exit}
               inside' README.md)
[ "$(wc -l <<< "$snippet")" -ge 4 ] || fail "README has no snippet after <!-- examples/pytorch_load.py -->"
while IFS= read -r line; do
  [ -z "$line" ] || grep -qF -- "$line" examples/pytorch_load.py || fail "README line not in the example: $line"
done <<< "$snippet"
echo "pytorch_load test: ok"
