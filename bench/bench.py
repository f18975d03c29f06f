#!/usr/bin/python3
"""The speedup study and the PyTorch comparison behind Makefile.bench.

  bench.py sweep   --procs "1 2 3 4 5" --epochs 15 --repeat 3 --config C --out DIR
  bench.py compare --procs "1 2"       --epochs 3  --repeat 1 --config C --out DIR
  bench.py plot    --out DIR            (redraws the graphs from DIR/sweep.csv)

Every run's metrics come from its own JSON file (hogwild_train --metrics-out, or
bench/pytorch_hogwild.py's); peak memory is the largest sum of PSS over the run's process
tree, sampled every 0.25 s (PSS counts pages shared copy-on-write once, unlike RSS). Any
failed run fails the whole target: no partial CSV is written.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def process_tree(root):
    """Pids of `root` and all its descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_measured(cmd, log_path):
    """Runs `cmd`; returns its peak PSS in MiB. Raises on a non-zero exit."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, sum(pss_kib(pid) for pid in process_tree(proc.pid)))
            time.sleep(0.25)
    if proc.returncode != 0:
        with open(log_path) as log:
            tail = log.read()[-2000:]
        raise SystemExit(f"bench: failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    return peak / 1024.0


def ours_cmd(args, procs, metrics, epochs):
    return [args.binary, "--config", args.config, "--procs", str(procs), "--epochs", str(epochs),
            "--threads", str(args.threads), "--metrics-out", metrics]


def theirs_cmd(args, procs, metrics, epochs, policy):
    s = settings_from_config(args)
    cmd = ["/usr/bin/python3", os.path.join(HERE, "pytorch_hogwild.py"), "--data-dir", s["data_dir"],
           "--procs", str(procs), "--epochs", str(epochs), "--batch-size", str(s["batch_size"]),
           "--lr", str(s["lr"]), "--momentum", str(s["momentum"]), "--seed", str(s["seed"]),
           "--thread-policy", policy, "--metrics-out", metrics]
    if s["train_limit"]:
        cmd += ["--train-limit", str(s["train_limit"])]
    if s["test_limit"]:
        cmd += ["--test-limit", str(s["test_limit"])]
    return cmd


def settings_from_config(args):
    """The effective settings of the config, as hogwild_train resolves them (so both sides agree)."""
    if not hasattr(args, "_settings"):
        out = subprocess.run([args.binary, "--config", args.config, "--print-config"], check=True,
                             stdout=subprocess.PIPE, cwd=ROOT, text=True).stdout
        args._settings = json.loads(out)
    return args._settings


def load(path):
    with open(path) as f:
        return json.load(f)


def median(values):
    return statistics.median(values)


def write_csv(path, header, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(tmp, path)


def print_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for row in [header] + rows:
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths)))


def sweep(args):
    procs_list = [int(p) for p in args.procs.split()]
    runs = {n: [] for n in procs_list}
    with tempfile.TemporaryDirectory() as tmp:
        # Rounds over all N, so slow spells of a shared machine spread over every point.
        for r in range(args.repeat):
            for n in procs_list:
                metrics = os.path.join(tmp, f"sweep-{n}-{r}.json")
                print(f"sweep: procs {n}, round {r + 1}/{args.repeat}", flush=True)
                peak = run_measured(ours_cmd(args, n, metrics, args.epochs),
                                    os.path.join(args.out, f"sweep-{n}-{r}.log"))
                doc = load(metrics)
                runs[n].append((doc, peak))
    base_n = min(procs_list)
    t_base = median(d["timings"]["train_seconds"] for d, _ in runs[base_n])
    header = ["procs", "threads_per_proc", "epochs", "runs", "train_seconds", "samples_per_second",
              "speedup", "efficiency", "test_accuracy", "test_loss", "peak_pss_mib"]
    rows = []
    for n in procs_list:
        docs = [d for d, _ in runs[n]]
        t = median(d["timings"]["train_seconds"] for d in docs)
        speedup = base_n * t_base / t
        rows.append([n, docs[0]["threads_per_worker"], args.epochs, len(docs), f"{t:.2f}",
                     f"{median(d['throughput']['samples_per_second'] for d in docs):.0f}",
                     f"{speedup:.3f}", f"{speedup / n:.3f}",
                     f"{median(d['test']['accuracy'] for d in docs):.2f}",
                     f"{median(d['test']['loss'] for d in docs):.4f}",
                     f"{median(p for _, p in runs[n]):.0f}"])
    csv_path = os.path.join(args.out, "sweep.csv")
    write_csv(csv_path, header, rows)
    print_table(header, rows)
    plot(csv_path, args.out)
    print(f"sweep: wrote {csv_path}, speedup.png and speedup.svg in {args.out}")


def plot(csv_path, out):
    cores = os.cpu_count()
    for terminal, name in [("pngcairo size 1100,450 font ',10'", "speedup.png"),
                           ("svg size 1100,450 dynamic font ',10'", "speedup.svg")]:
        subprocess.run(["gnuplot", "-e", f"csv='{csv_path}'; out='{os.path.join(out, name)}'; "
                        f"term=\"{terminal}\"; cores={cores}", os.path.join(HERE, "speedup.gp")],
                       check=True)


def compare(args):
    procs_list = [int(p) for p in args.procs.split()]
    impls = [("hogwild_train", None), ("pytorch, threads per process", "per-process"),
             ("pytorch, threads left alone", "default")]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in procs_list:
            for r in range(args.repeat):
                # Ours and theirs in turn, so both meet the same state of the machine.
                for i, (name, policy) in enumerate(impls):
                    metrics = os.path.join(tmp, f"compare-{n}-{i}-{r}.json")
                    print(f"compare: procs {n}, {name}, round {r + 1}/{args.repeat}", flush=True)
                    cmd = (ours_cmd(args, n, metrics, args.epochs) if policy is None
                           else theirs_cmd(args, n, metrics, args.epochs, policy))
                    run_measured(cmd, os.path.join(args.out, f"compare-{n}-{i}-{r}.log"))
                    results.setdefault((n, i), []).append(load(metrics))
    header = ["procs", "implementation", "threads_per_proc", "epochs", "runs", "train_seconds",
              "samples_per_second", "test_accuracy", "ours_over_this"]
    rows = []
    for n in procs_list:
        ours_rate = median(d["throughput"]["samples_per_second"] for d in results[(n, 0)])
        for i, (name, _) in enumerate(impls):
            docs = results[(n, i)]
            rate = median(d["throughput"]["samples_per_second"] for d in docs)
            rows.append([n, name, docs[0]["threads_per_worker"], args.epochs, len(docs),
                         f"{median(d['timings']['train_seconds'] for d in docs):.2f}",
                         f"{rate:.0f}", f"{median(d['test']['accuracy'] for d in docs):.2f}",
                         f"{ours_rate / rate:.2f}"])
    csv_path = os.path.join(args.out, "compare.csv")
    write_csv(csv_path, header, rows)
    md = ["| procs | implementation | threads/proc | training time (s) | samples/s | test accuracy | ours / this |",
          "|---|---|---|---|---|---|---|"]
    for row in rows:
        md.append(f"| {row[0]} | {row[1]} | {row[2]} | {row[5]} | {row[6]} | {row[7]}% | {row[8]}x |")
    md.append("")
    md.append(f"{args.epochs} epochs, config {args.config}, median of {args.repeat} run(s) per row, "
              f"ours and theirs alternating; {os.cpu_count()} cores.")
    with open(os.path.join(args.out, "compare.md.tmp"), "w") as f:
        f.write("\n".join(md) + "\n")
    os.replace(os.path.join(args.out, "compare.md.tmp"), os.path.join(args.out, "compare.md"))
    print_table(header, rows)
    print(f"compare: wrote {csv_path} and compare.md")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["sweep", "compare", "plot"])
    parser.add_argument("--procs", default="1 2 3 4 5")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--config", default="configs/mnist.toml")
    parser.add_argument("--out", default="bench/results")
    parser.add_argument("--threads", type=int, default=0,
                        help="hogwild_train --threads (0: cores / N)")
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "hogwild_train"))
    args = parser.parse_args()
    if args.repeat < 1 or args.epochs < 1 or args.threads < 0 or not args.procs.split():
        raise SystemExit("bench: --repeat and --epochs must be at least 1, --threads at least 0, "
                         "--procs not empty")
    os.makedirs(args.out, exist_ok=True)
    if args.target == "plot":  # redraw from an existing sweep.csv
        plot(os.path.join(args.out, "sweep.csv"), args.out)
    else:
        sweep(args) if args.target == "sweep" else compare(args)


if __name__ == "__main__":
    main()
