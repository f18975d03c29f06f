"""The medians of one run over seeds 1-3, from its JSON files (hogwild_train --metrics-out):
what each table.py in this day's directories prints a row of."""
import json
import os
import statistics as st


def seed_files(here, data, run):
    """The JSON files of `run` on `data` for seeds 1-3 in `here`; None unless all three exist."""
    files = [os.path.join(here, f"{data}-{run}-seed{s}.json") for s in (1, 2, 3)]
    return files if all(os.path.exists(f) for f in files) else None


def last_epoch_training_loss(doc):
    """The workers' running loss over the last epoch (dropout on), weighted by their samples."""
    last = [e for e in doc["epochs"] if e["epoch"] == max(e["epoch"] for e in doc["epochs"])]
    return sum(e["loss"] * e["samples"] for e in last) / sum(e["samples"] for e in last)


def cells(files):
    """Accuracies, their median, the training / test loss and the training time (medians)."""
    docs = [json.load(open(f)) for f in files]
    acc = [d["test"]["accuracy"] for d in docs]
    return [f"{', '.join(f'{a:.2f}' for a in acc)} %", f"**{st.median(acc):.2f} %**",
            f"{st.median(last_epoch_training_loss(d) for d in docs):.3f} / "
            f"{st.median(d['test']['loss'] for d in docs):.3f}",
            f"{st.median(d['timings']['train_seconds'] for d in docs):.1f} s"]


def samples_per_second(files):
    """The median samples/s of the runs."""
    return f"{st.median(json.load(open(f))['throughput']['samples_per_second'] for f in files):,.0f}"


def row(values):
    return "| " + " | ".join(values) + " |"


def print_runs_by_data(here, runs):
    """The table of `runs` ((run, label) pairs) on MNIST, then Fashion-MNIST; runs without
    three seeds' files left out."""
    print("| data | run | test accuracy (seeds 1–3) | median | last epoch's training / test loss "
          "(median) | training time (median) |")
    print("|---|---|---|---|---|---|")
    for data, name in [("mnist", "MNIST"), ("fashion-mnist", "Fashion-MNIST")]:
        for run, label in runs:
            files = seed_files(here, data, run)
            if files:
                print(row([name, label] + cells(files)))
