#!/usr/bin/python3
"""The 40-epoch rows in docs/accuracy.md ("Forty epochs") from the JSON files here."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from runs import print_runs_by_data  # noqa: E402

RUNS = [("fp32", "default, `--precision fp32`, 15 epochs"), ("auto", "default (`auto` = bf16), 15 epochs"),
        ("augment40", "`--augment --dropout 0.25`, 40 epochs")]
print_runs_by_data(HERE, RUNS)
