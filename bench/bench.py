#!/usr/bin/python3
"""The speedup study and the PyTorch comparison behind Makefile.bench.

  bench.py sweep   --procs "1 2 3 4 5" --epochs 15 --repeat 3 --config C --out DIR
  bench.py compare --procs "1 2"       --epochs 3  --repeat 1 --config C --out DIR
  bench.py accuracy --procs "1 2 3 4 5" --seeds "1 2 3" --recipes "scaled seed" --target 98
                   --config C --out DIR  (each recipe at every N; every seed at the largest
                   N, the first elsewhere)
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


def run_measured(cmd, log_path, env=None):
    """Runs `cmd`; returns its peak PSS in MiB. Raises on a non-zero exit."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                env=None if env is None else {**os.environ, **env})
        peak = 0
        while proc.poll() is None:
            peak = max(peak, sum(pss_kib(pid) for pid in process_tree(proc.pid)))
            time.sleep(0.25)
    if proc.returncode != 0:
        with open(log_path) as log:
            tail = log.read()[-2000:]
        raise SystemExit(f"bench: failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    return peak / 1024.0


def recipe_flags(args):
    return ["--recipe", args.recipe] if args.recipe else []


def target_flags(args, stop):
    """Evaluate every epoch when a target is set; stop at it only if `stop`."""
    if not args.target:
        return []
    return ["--target-accuracy", str(args.target)] if stop else ["--eval-every-epoch"]


def ours_cmd(args, procs, metrics, epochs, stop_at_target=False, extra=()):
    return ([args.binary, "--config", args.config, "--procs", str(procs), "--epochs", str(epochs),
             "--threads", str(args.threads), "--metrics-out", metrics] + recipe_flags(args) +
            target_flags(args, stop_at_target) + list(extra))


def cpu_description():
    """The CPU's model name and what it offers the step ("AMD EPYC (AVX-512, AVX512-BF16, no AMX)")."""
    model, flags = "unknown CPU", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    if "avx512_bf16" in flags:
        isa += ", AVX512-BF16"
    isa += ", AMX" if "amx_tile" in flags and "amx_bf16" in flags else ", no AMX"
    # hogwild_train's --precision auto: bf16 where the CPU has native bf16 dot products.
    return f"{model} ({isa})", "avx512_bf16" in flags or "amx_bf16" in flags


# "PyTorch, tuned": glibc keeps large tensors in the heap, as hogwild_train does itself
# (mallopt); without it every step page-faults its activations in anew.
TUNED_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


def theirs_cmd(args, procs, metrics, epochs, policy, stop_at_target=False):
    s = settings_from_config(args, procs)
    h = s["hyperparameters"]  # the same per-worker batch, lr and momentum as ours at this N
    cmd = ["/usr/bin/python3", os.path.join(HERE, "pytorch_hogwild.py"), "--data-dir", s["data_dir"],
           "--procs", str(procs), "--epochs", str(epochs), "--batch-size", str(h["batch_per_worker"]),
           "--lr", str(h["lr_per_worker"]), "--lr-schedule", h["lr_schedule"],
           "--momentum", str(h["momentum"]), "--seed", str(s["seed"]), "--dropout", str(s["dropout"]),
           "--thread-policy", "per-process" if policy == "tuned" else policy,
           "--metrics-out", metrics] + target_flags(args, stop_at_target)
    if policy == "tuned":
        # bf16 where hogwild_train uses it: asked for, or auto on a CPU with AVX512-BF16 or AMX.
        bf16 = s.get("precision") == "bf16" or (s.get("precision") == "auto" and cpu_description()[1])
        cmd += ["--tuned"] + (["--bf16"] if bf16 else [])
    if s["train_limit"]:
        cmd += ["--train-limit", str(s["train_limit"])]
    if s["test_limit"]:
        cmd += ["--test-limit", str(s["test_limit"])]
    return cmd


def settings_from_config(args, procs):
    """The effective settings at `procs`, as hogwild_train resolves them (so both sides agree)."""
    out = subprocess.run([args.binary, "--config", args.config, "--procs", str(procs),
                          "--print-config"] + recipe_flags(args), check=True,
                         stdout=subprocess.PIPE, cwd=ROOT, text=True).stdout
    return json.loads(out)


def time_to_target(doc, target):
    """Seconds into training of the first evaluation at or above `target`; '' if none."""
    for e in doc.get("evaluations", []):
        if e["accuracy"] >= target:
            return e["seconds"]
    return None


def median_or_blank(values, fmt="{:.1f}"):
    """Median of the runs that reached the target, blank unless most of them did."""
    reached = [v for v in values if v is not None]
    return fmt.format(median(reached)) if reached and 2 * len(reached) > len(values) else ""


def load(path):
    with open(path) as f:
        return json.load(f)


def median(values):
    return statistics.median(values)


def write_csv(path, header, rows):
    """Every row names the CPU it was measured on: a figure holds only for that CPU."""
    cpu = cpu_description()[0]
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(list(header) + ["cpu"])
        writer.writerows(list(row) + [cpu] for row in rows)
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
    header = ["procs", "recipe", "batch_per_worker", "threads_per_proc", "epochs", "runs",
              "train_seconds", "samples_per_second", "speedup", "efficiency", "test_accuracy",
              "test_loss", "peak_pss_mib", "min_accuracy", "max_accuracy",
              f"seconds_to_{args.target:g}" if args.target else "seconds_to_target"]
    rows = []
    for n in procs_list:
        docs = [d for d, _ in runs[n]]
        t = median(d["timings"]["train_seconds"] for d in docs)
        speedup = base_n * t_base / t
        h = docs[0]["hyperparameters"]
        accuracies = [d["test"]["accuracy"] for d in docs]
        rows.append([n, h["recipe"], h["batch_per_worker"], docs[0]["threads_per_worker"],
                     args.epochs, len(docs), f"{t:.2f}",
                     f"{median(d['throughput']['samples_per_second'] for d in docs):.0f}",
                     f"{speedup:.3f}", f"{speedup / n:.3f}",
                     f"{median(d['test']['accuracy'] for d in docs):.2f}",
                     f"{median(d['test']['loss'] for d in docs):.4f}",
                     f"{median(p for _, p in runs[n]):.0f}",
                     f"{min(accuracies):.2f}", f"{max(accuracies):.2f}",
                     median_or_blank([time_to_target(d, args.target) for d in docs])
                     if args.target else ""])
    csv_path = os.path.join(args.out, "sweep.csv")
    write_csv(csv_path, header, rows)
    print_table(header, rows)
    plot(csv_path, args.out)
    print(f"sweep: wrote {csv_path}, speedup.png and speedup.svg in {args.out}")


def accuracy(args):
    """Test accuracy against N for each recipe in --recipes, from the same config."""
    procs_list = [int(p) for p in args.procs.split()]
    seeds = [int(x) for x in args.seeds.split()]
    name = os.path.splitext(os.path.basename(args.config))[0]
    args.recipe = ""  # each recipe by its own flag
    header = ["recipe", "procs", "batch_per_worker", "lr_per_worker", "lr_schedule", "seed",
              "epochs", "test_accuracy", "train_seconds", "samples_per_second",
              f"seconds_to_{args.target:g}" if args.target else "seconds_to_target"]
    for recipe in args.recipes.split():
        rows = []
        # The runs' JSONs stay, for scripts/plot_run.sh and anyone who wants a closer look.
        runs_dir = os.path.join(args.out, f"accuracy-{name}-{recipe}-runs")
        os.makedirs(runs_dir, exist_ok=True)
        curves = []  # the first seed at each N
        for n in procs_list:
            for seed in (seeds if n == max(procs_list) else seeds[:1]):
                metrics = os.path.join(runs_dir, f"N{n}-seed{seed}.json")
                if seed == seeds[0]:
                    curves.append(metrics)
                print(f"accuracy: {name}, recipe {recipe}, procs {n}, seed {seed}", flush=True)
                cmd = ours_cmd(args, n, metrics, args.epochs,
                               extra=["--recipe", recipe, "--seed", str(seed), "--eval-every-epoch"])
                run_measured(cmd, os.path.join(args.out, f"accuracy-{name}-{recipe}-{n}-{seed}.log"))
                d = load(metrics)
                h = d["hyperparameters"]
                tta = time_to_target(d, args.target) if args.target else None
                rows.append([recipe, n, h["batch_per_worker"], f"{h['lr_per_worker']:.6g}",
                             h["lr_schedule"], seed, args.epochs, f"{d['test']['accuracy']:.2f}",
                             f"{d['timings']['train_seconds']:.1f}",
                             f"{d['throughput']['samples_per_second']:.0f}",
                             "" if tta is None else f"{tta:.1f}"])
        csv_path = os.path.join(args.out, f"accuracy-{name}-{recipe}.csv")
        write_csv(csv_path, header, rows)
        print_table(header, rows)
        prefix = os.path.join(args.out, f"accuracy-{name}-{recipe}-curves")
        subprocess.run([os.path.join(ROOT, "scripts", "plot_run.sh"), "-o", prefix, "-t",
                        f"{name}, recipe {recipe}, seed {seeds[0]}: learning curves at each N"] + curves,
                       check=True)
        print(f"accuracy: wrote {csv_path}, {prefix}.png/.svg and the runs' JSON in {runs_dir}")


def plot(csv_path, out):
    cores = os.cpu_count()
    with open(csv_path) as f:
        # Sweeps older than the min/max columns still plot, without the bars.
        spread = int("min_accuracy" in f.readline().strip().split(","))
    for terminal, name in [("pngcairo size 1100,450 font ',10'", "speedup.png"),
                           ("svg size 1100,450 dynamic font ',10'", "speedup.svg")]:
        subprocess.run(["gnuplot", "-e", f"csv='{csv_path}'; out='{os.path.join(out, name)}'; "
                        f"term=\"{terminal}\"; cores={cores}; spread={spread}",
                        os.path.join(HERE, "speedup.gp")],
                       check=True)


def compare(args):
    procs_list = [int(p) for p in args.procs.split()]
    impls = [("hogwild_train", None), ("pytorch, threads per process", "per-process"),
             ("pytorch, threads left alone", "default"), ("pytorch, tuned", "tuned")]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in procs_list:
            for r in range(args.repeat):
                # Ours and theirs in turn, so both meet the same state of the machine.
                for i, (name, policy) in enumerate(impls):
                    metrics = os.path.join(tmp, f"compare-{n}-{i}-{r}.json")
                    print(f"compare: procs {n}, {name}, round {r + 1}/{args.repeat}", flush=True)
                    cmd = (ours_cmd(args, n, metrics, args.epochs, stop_at_target=True)
                           if policy is None else
                           theirs_cmd(args, n, metrics, args.epochs, policy, stop_at_target=True))
                    run_measured(cmd, os.path.join(args.out, f"compare-{n}-{i}-{r}.log"),
                                 env=TUNED_ENV if policy == "tuned" else None)
                    results.setdefault((n, i), []).append(load(metrics))
    target_column = f"seconds_to_{args.target:g}" if args.target else "seconds_to_target"
    header = ["procs", "implementation", "threads_per_proc", "epochs", "runs", "train_seconds",
              "samples_per_second", "test_accuracy", "ours_over_this", target_column]
    rows = []
    for n in procs_list:
        ours_rate = median(d["throughput"]["samples_per_second"] for d in results[(n, 0)])
        for i, (name, _) in enumerate(impls):
            docs = results[(n, i)]
            rate = median(d["throughput"]["samples_per_second"] for d in docs)
            rows.append([n, name, docs[0]["threads_per_worker"], args.epochs, len(docs),
                         f"{median(d['timings']['train_seconds'] for d in docs):.2f}",
                         f"{rate:.0f}", f"{median(d['test']['accuracy'] for d in docs):.2f}",
                         f"{ours_rate / rate:.2f}",
                         median_or_blank([d["target"]["time_to_accuracy_seconds"] for d in docs])
                         if args.target else ""])
    csv_path = os.path.join(args.out, "compare.csv")
    write_csv(csv_path, header, rows)
    md = ["| procs | implementation | threads/proc | training time (s) | samples/s | test accuracy | ours / this | "
          f"time to {args.target:g}% (s) |" if args.target else "| procs | implementation | threads/proc | "
          "training time (s) | samples/s | test accuracy | ours / this |",
          "|---|---|---|---|---|---|---|---|" if args.target else "|---|---|---|---|---|---|---|"]
    for row in rows:
        cells = [row[0], row[1], row[2], row[5], row[6], f"{row[7]}%", f"{row[8]}x"]
        if args.target:
            cells.append(row[9] or "not reached")
        md.append("| " + " | ".join(str(c) for c in cells) + " |")
    md.append("")
    md.append(f"Up to {args.epochs} epochs{f', stopping at {args.target:g}% test accuracy' if args.target else ''}, "
              f"config {args.config}{f' --recipe {args.recipe}' if args.recipe else ''}, median of "
              f"{args.repeat} run(s) per row, ours and theirs alternating; {cpu_description()[0]}, "
              f"{os.cpu_count()} cores. \"pytorch, tuned\": channels-last, max-pool before ReLU, "
              f"glibc's malloc variables{', bf16 autocast' if cpu_description()[1] else ''}.")
    with open(os.path.join(args.out, "compare.md.tmp"), "w") as f:
        f.write("\n".join(md) + "\n")
    os.replace(os.path.join(args.out, "compare.md.tmp"), os.path.join(args.out, "compare.md"))
    print_table(header, rows)
    print(f"compare: wrote {csv_path} and compare.md")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["sweep", "compare", "accuracy", "plot"])
    parser.add_argument("--seeds", default="1 2 3", help="accuracy: seeds run at the largest N")
    parser.add_argument("--recipes", default="scaled seed", help="accuracy: recipes to run")
    parser.add_argument("--procs", default="1 2 3 4 5")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--config", default="configs/mnist.toml")
    parser.add_argument("--out", default="bench/results")
    parser.add_argument("--recipe", default="", help="hogwild_train --recipe (empty: the config's)")
    parser.add_argument("--target", type=float, default=0.0,
                        help="test accuracy %%: evaluate every epoch and report the time to reach it "
                             "(compare also stops there)")
    parser.add_argument("--threads", type=int, default=0,
                        help="hogwild_train --threads (0: cores / N)")
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "hogwild_train"))
    args = parser.parse_args()
    if args.repeat < 1 or args.epochs < 1 or args.threads < 0 or not args.procs.split():
        raise SystemExit("bench: --repeat and --epochs must be at least 1, --threads at least 0, "
                         "--procs not empty")
    os.makedirs(args.out, exist_ok=True)
    if args.command == "plot":  # redraw from an existing sweep.csv
        plot(os.path.join(args.out, "sweep.csv"), args.out)
    else:
        {"sweep": sweep, "compare": compare, "accuracy": accuracy}[args.command](args)


if __name__ == "__main__":
    main()
