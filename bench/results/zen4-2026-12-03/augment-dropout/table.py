#!/usr/bin/python3
"""The table in docs/accuracy.md ("Less dropout in its place") from the JSON files here."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from runs import print_runs_by_data  # noqa: E402

RUNS = [("auto", "default (`auto` = bf16 here), 15 epochs"), ("fp32", "`--precision fp32`, 15 epochs"),
        ("p0.25", "`--dropout 0.25`, 15 epochs"), ("p0", "`--dropout 0`, 15 epochs"),
        ("augment-p0.5", "`--augment`, dropout 0.5, 30 epochs"),
        ("augment", "`--augment --dropout 0.25`, 30 epochs")]
print_runs_by_data(HERE, RUNS)
