#!/usr/bin/python3
"""The 40-epoch rows in docs/accuracy.md ("Forty epochs") from the JSON files here."""
import json
import os
import statistics as st

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = [("fp32", "default, `--precision fp32`, 15 epochs"), ("auto", "default (`auto` = bf16), 15 epochs"),
        ("augment40", "`--augment --dropout 0.25`, 40 epochs")]
print("| data | run | test accuracy (seeds 1–3) | median | last epoch's training / test loss (median) "
      "| training time (median) |")
print("|---|---|---|---|---|---|")
for data, name in [("mnist", "MNIST"), ("fashion-mnist", "Fashion-MNIST")]:
    for run, label in RUNS:
        files = [os.path.join(HERE, f"{data}-{run}-seed{s}.json") for s in (1, 2, 3)]
        if not all(os.path.exists(f) for f in files):
            continue
        acc, test_loss, train_loss, seconds = [], [], [], []
        for f in files:
            d = json.load(open(f))
            acc.append(d["test"]["accuracy"])
            test_loss.append(d["test"]["loss"])
            seconds.append(d["timings"]["train_seconds"])
            last = [e for e in d["epochs"] if e["epoch"] == max(e["epoch"] for e in d["epochs"])]
            train_loss.append(sum(e["loss"] * e["samples"] for e in last) / sum(e["samples"] for e in last))
        print(f"| {name} | {label} | {', '.join(f'{a:.2f}' for a in acc)} % | **{st.median(acc):.2f} %** | "
              f"{st.median(train_loss):.3f} / {st.median(test_loss):.3f} | {st.median(seconds):.1f} s |")
