#!/usr/bin/env bash
# A checkpoint damaged after it was saved is never trained on or evaluated. Usage:
# tests/damaged_checkpoints.sh BUILD_DIR
#
# Trains the smoke config with --save-model, then makes 40 damaged copies of the file (seeded,
# so every run makes the same ones): a few bytes changed inside the records LibTorch reads
# (the tensors' bytes and the pickle that names them), or the file cut short. Each copy must be
# refused by `hogwild_train --resume`: exit 2, one line on stderr that names the file.
# `hogwild_eval --model` reads the parameters alone: it must refuse the copy too, or print what
# it prints for the undamaged file (the damage was in the momentum buffers or the run state).
# (A small change to a weight may print the same 4 digits: test_checkpoint checks
# load_parameters exactly.) LibTorch's reader checks none of these bytes itself: with the
# checkpoint's two checksum comparisons taken out, 30 of the 40 copies resumed without a word.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
"$build/hogwild_train" --config "$src/configs/smoke.toml" --save-model ck.pt --progress off \
  > train.log 2>&1 || { cat train.log; exit 1; }
exec python3 - "$build" "$src" <<'EOF'
import random, subprocess, sys, zipfile

build, src = sys.argv[1:3]
original = open("ck.pt", "rb").read()
# The byte ranges of the records' contents: the zip's own headers are not what this is about.
ranges = []
with zipfile.ZipFile("ck.pt") as z:
    for info in z.infolist():
        if info.compress_type != zipfile.ZIP_STORED or "/code/" in info.filename:
            continue  # TorchScript's source text: LibTorch's reader does not use it
        name_len, extra_len = int.from_bytes(original[info.header_offset + 26:info.header_offset + 28], "little"), \
            int.from_bytes(original[info.header_offset + 28:info.header_offset + 30], "little")
        start = info.header_offset + 30 + name_len + extra_len
        ranges.append((start, start + info.file_size))
sizes = [b - a for a, b in ranges]
evaluate = lambda path: subprocess.run(
    [f"{build}/hogwild_eval", "--model", path, "--test-limit", "100"],
    capture_output=True, text=True, timeout=120)
whole = evaluate("ck.pt")
assert whole.returncode == 0, whole.stderr
rng = random.Random(22)
failures = []
for trial in range(40):
    damaged = bytearray(original)
    if trial % 4 == 0:
        damaged = damaged[:rng.randrange(len(damaged))]
        how = f"cut to {len(damaged)} bytes"
    else:
        where = []
        for _ in range(trial % 4):
            a, b = rng.choices(ranges, weights=sizes)[0]
            i = rng.randrange(a, b)
            damaged[i] ^= 1 << rng.randrange(8)  # one bit: the least a disk or a copy changes
            where.append(i)
        how = f"bits changed at {where}"
    path = f"damaged-{trial}.pt"
    open(path, "wb").write(damaged)
    for tool in ("hogwild_train", "hogwild_eval"):
        if tool == "hogwild_train":
            p = subprocess.run([f"{build}/{tool}", "--config", f"{src}/configs/smoke.toml",
                                "--resume", path, "--save-model", f"out-{trial}.pt", "--progress",
                                "off"], capture_output=True, text=True, timeout=120)
        else:
            p = evaluate(path)
        lines = p.stderr.splitlines()
        refused = (p.returncode == 2 and len(lines) == 1
                   and lines[0].startswith(f"{tool}: error: {path}: "))
        # The first line names the model file; the rest is the evaluation.
        unharmed = (tool == "hogwild_eval" and p.returncode == 0
                    and p.stdout.splitlines()[1:] == whole.stdout.splitlines()[1:])
        verdict = "refused" if refused else "same" if unharmed else "TAKEN"
        print(f"{verdict:8} {tool:13} {how}: {lines[-1] if lines else ''}"[:200])
        if not (refused or unharmed):
            failures.append(f"{tool} on {path} ({how}) exited {p.returncode}: "
                            f"{(p.stderr or p.stdout).strip()[-300:]}")
for f in failures:
    print(f, file=sys.stderr)
sys.exit(1 if failures else 0)
EOF
