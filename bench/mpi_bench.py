#!/usr/bin/python3
"""The MPI study behind `make -f Makefile.bench mpi`.

  mpi_bench.py --layouts "1x1 2x1 3x1" --sync epoch --configs "configs/mnist.toml" --epochs 15
               --repeat 1 --out DIR

Each layout KxN runs `mpirun -np K hogwild_train --procs N --sync SYNC` (on this machine, as
README's `make mpirun` does) REPEAT times, alternating layouts; every run's figures come from
its --metrics-out JSON (kept in DIR/NAME-runs/). Writes DIR/NAME.csv (medians; mpi_share is
the time in MPI over the epoch's wall time of the rank that waited least, the last to arrive,
so communication alone; mpi_share_waiting that of the rank that waited most, for slower ranks
too; medians over epochs) and DIR/NAME.png/.svg
(accuracy and time against K, next to the seed's own MPI results). A failed run fails it all.
"""
import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MPIRUN = ["mpirun", "--oversubscribe", "--bind-to", "none"]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def isa():
    flags = open("/proc/cpuinfo").read()
    if "amx_bf16" in flags:
        return "AMX"
    return "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "other"


def run(binary, ranks, procs, sync, config, epochs, extra, keep):
    """One job; its metrics JSON is kept at `keep`."""
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "m.json")
        command = MPIRUN + ["-np", str(ranks), binary, "--config", config, "--procs", str(procs),
                            "--sync", sync, "--epochs", str(epochs), "--metrics-out", metrics] + extra
        print("+", " ".join(command), flush=True)
        result = subprocess.run(command, env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL)
        if result.returncode != 0:
            sys.exit(f"mpi_bench: run failed with exit code {result.returncode}: {' '.join(command)}")
        with open(metrics) as f:
            text = f.read()
        os.makedirs(os.path.dirname(keep), exist_ok=True)
        with open(keep, "w") as f:
            f.write(text)
        return json.loads(text)


def shares(doc):
    """Median over epochs of the MPI share of the rank that waited least (the last to arrive:
    communication alone) and of the one that waited most (waiting for slower ranks too)."""
    least, most = [], []
    for e in doc["mpi"]["epochs"]:
        if e["wall_seconds"] > 0:
            least.append(min(e["mpi_seconds"]) / e["wall_seconds"])
            most.append(max(e["mpi_seconds"]) / e["wall_seconds"])
    return statistics.median(least), statistics.median(most)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", default=os.path.join(ROOT, "build/hogwild_train"))
    p.add_argument("--layouts", default="1x1 2x1 3x1 4x1 5x1")
    p.add_argument("--sync", default="epoch")
    p.add_argument("--configs", default="configs/mnist.toml")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    p.add_argument("--name", default="mpi")
    args, extra = p.parse_known_args()
    layouts = [tuple(int(x) for x in l.split("x")) for l in args.layouts.split()]
    runs = {}
    for i in range(args.repeat):
        for config in args.configs.split():
            for ranks, procs in layouts:
                keep = os.path.join(args.out, f"{args.name}-runs",
                                    f"{os.path.basename(config)[:-5]}-{ranks}x{procs}-{i + 1}.json")
                doc = run(args.binary, ranks, procs, args.sync, config, args.epochs, extra, keep)
                runs.setdefault((config, ranks, procs), []).append(doc)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{args.name}.csv")
    cpu = f"{cpu_model()} ({isa()}, {os.cpu_count()} cores)"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["cpu", "config", "recipe", "ranks", "procs", "sync", "epochs", "runs",
                    "test_accuracy", "accuracy_min", "accuracy_max", "train_seconds",
                    "samples_per_second", "mpi_share", "mpi_share_waiting", "averages",
                    "bytes_per_average"])
        for (config, ranks, procs), docs in runs.items():
            acc = [d["test"]["accuracy"] for d in docs]
            least = [shares(d)[0] for d in docs]
            most = [shares(d)[1] for d in docs]
            w.writerow([cpu, config, docs[0]["hyperparameters"]["recipe"], ranks, procs, args.sync,
                        args.epochs, len(docs), f"{statistics.median(acc):.2f}", f"{min(acc):.2f}",
                        f"{max(acc):.2f}",
                        f"{statistics.median(d['timings']['train_seconds'] for d in docs):.1f}",
                        f"{statistics.median(d['throughput']['samples_per_second'] for d in docs):.0f}",
                        f"{statistics.median(least):.4f}", f"{statistics.median(most):.4f}",
                        docs[0]["mpi"]["averages"],
                        docs[0]["mpi"]["bytes_per_average"]])
    print(f"mpi_bench: wrote {path}")
    subprocess.run(["gnuplot", "-e", f"dir='{args.out}'; name='{args.name}'", os.path.join(HERE, "mpi.gp")],
                   check=True)


if __name__ == "__main__":
    main()
