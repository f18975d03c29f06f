#!/usr/bin/python3
"""The tables in docs/accuracy.md ("Dropout 0.25 by default") from the JSON files here."""
import json
import os
import statistics as st

HERE = os.path.dirname(os.path.abspath(__file__))
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
    files = [os.path.join(HERE, f"{data}-{run}-seed{s}.json") for s in (1, 2, 3)]
    if not all(os.path.exists(f) for f in files):
        continue
    acc, test_loss, train_loss, seconds, rate = [], [], [], [], []
    for f in files:
        d = json.load(open(f))
        acc.append(d["test"]["accuracy"])
        test_loss.append(d["test"]["loss"])
        seconds.append(d["timings"]["train_seconds"])
        rate.append(d["throughput"]["samples_per_second"])
        last = [e for e in d["epochs"] if e["epoch"] == max(e["epoch"] for e in d["epochs"])]
        train_loss.append(sum(e["loss"] * e["samples"] for e in last) / sum(e["samples"] for e in last))
    print(f"| {name} | {label} | {', '.join(f'{a:.2f}' for a in acc)} % | **{st.median(acc):.2f} %** | "
          f"{st.median(train_loss):.3f} / {st.median(test_loss):.3f} | {st.median(seconds):.1f} s | "
          f"{st.median(rate):,.0f} |")
