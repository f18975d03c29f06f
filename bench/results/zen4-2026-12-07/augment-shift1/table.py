#!/usr/bin/python3
"""The table of docs/accuracy.md, "One pixel over thirty epochs", from the JSON files here
(run.sh), and the time of each augmented run against the default of its own round."""
import json
import os
import statistics as st
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "zen4-2026-12-03"))
from runs import print_runs_by_data  # noqa: E402

print_runs_by_data(HERE, [("auto", "default, 15 epochs (`auto` = bf16)"),
                          ("augment", "`--augment` (shift 1), 30 epochs")])


def seconds(data, run, seed):
    with open(os.path.join(HERE, f"{data}-{run}-seed{seed}.json")) as f:
        return json.load(f)["timings"]["train_seconds"]


print()
for data in ("mnist", "fashion-mnist"):
    ratios = [seconds(data, "augment", s) / seconds(data, "auto", s) for s in (1, 2, 3)]
    print(f"{data}: augmented / default time within each round: median {st.median(ratios):.2f}x "
          f"({min(ratios):.2f}-{max(ratios):.2f})")
