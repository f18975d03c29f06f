#!/usr/bin/python3
"""The table in docs/accuracy.md ("Dropout 0.25 by default") from the JSON files here."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from runs import cells, row, samples_per_second, seed_files  # noqa: E402

RUNS = [("mnist", "auto", "MNIST", "default (`auto` = bf16 here), N = 2"),
        ("mnist", "fp32", "MNIST", "`--precision fp32`, N = 2"),
        ("fashion-mnist", "auto", "Fashion-MNIST", "default (`auto` = bf16 here), N = 2"),
        ("fashion-mnist", "fp32", "Fashion-MNIST", "`--precision fp32`, N = 2"),
        ("mnist", "procs16", "MNIST", "`--procs 16`"),
        ("mnist", "procs32", "MNIST", "`--procs 32`")]
print("| data | run (15 epochs) | test accuracy (seeds 1–3) | median | last epoch's training / test loss "
      "(median) | training time (median) | samples/s (median) |")
print("|---|---|---|---|---|---|---|")
for data, run, name, label in RUNS:
    files = seed_files(HERE, data, run)
    if files:
        print(row([name, label] + cells(files) + [samples_per_second(files)]))
