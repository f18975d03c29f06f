#!/usr/bin/python3
"""The tables of docs/accuracy.md, "Shifts without flips", from the JSON files here: the screen
(screen/) against the flips of 2026-12-03 (../../zen4-2026-12-03/augment-40/), then the sitting
(run.sh)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EARLIER = os.path.join(HERE, "..", "..", "zen4-2026-12-03")
sys.path.insert(0, EARLIER)
from runs import cells, row, samples_per_second, seed_files  # noqa: E402

HEADER = ("| run (Fashion-MNIST, N = 2, dropout 0.25) | test accuracy | median | last epoch's "
          "training / test loss (median) |")

# The screen's times are left out: builds ran beside some of its runs.
print("The screen:\n")
print(HEADER + "\n|---|---|---|---|")
flips = seed_files(os.path.join(EARLIER, "augment-40"), "fashion-mnist", "augment40")
print(row(["shifts ±2 and flips, 40 epochs (2026-12-03, seeds 1–3)"] + cells(flips)[:3]))
screen = os.path.join(HERE, "screen")
for run, label in [("shift2-e40", "shifts ±2, no flips, 40 epochs (seeds 1–3)"),
                   ("shift1-flips-e40", "shifts ±1 and flips, 40 epochs (seed 1)"),
                   ("shift1-e40", "shifts ±1, no flips, 40 epochs (seed 1)"),
                   ("shift2-e30", "shifts ±2, no flips, 30 epochs (seeds 1–3)")]:
    files = seed_files(screen, "fashion-mnist", run)
    files = files or [os.path.join(screen, f"fashion-mnist-{run}-seed1.json")]
    print(row([label] + cells(files)[:3]))

print("\nThe sitting (run.sh: rounds of seed 1, 2, 3, the four runs alternating):\n")
print(HEADER + " training time (median) | samples/s (median) |\n|---|---|---|---|---|---|")
for run, label in [("auto", "default, 15 epochs (`auto` = bf16)"),
                   ("fp32", "default, 15 epochs, `--precision fp32`"),
                   ("augment30", "`--augment`, 30 epochs"),
                   ("augment40", "`--augment`, 40 epochs (`configs/fashion-mnist-augment.toml`)")]:
    files = seed_files(HERE, "fashion-mnist", run)
    if files:
        print(row([label] + cells(files) + [samples_per_second(files)]))
