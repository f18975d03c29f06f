#!/usr/bin/env bash
# Learning curves of one or more runs, side by side: test accuracy and training loss against
# epoch and against seconds of training, from hogwild_train's --metrics-out files.
#
#   scripts/plot_run.sh [-o PREFIX] [-t TITLE] metrics.json [more.json ...]
#
# Writes PREFIX.png and PREFIX.svg (default PREFIX: curves). Each run is named after its file
# and its layout ("p2 (2 procs, scaled)"). Test accuracy comes from the per-epoch evaluations
# (--eval-every-epoch); a run without them has one point, its final test. Training loss is
# the epoch's mean over all workers, in train mode (dropout on); its time is when the slowest
# worker ended that epoch (the sum of its epoch times); an evaluation's time is when it ended.
set -euo pipefail

usage() { echo "usage: $0 [-o PREFIX] [-t TITLE] metrics.json [more.json ...]" >&2; exit 2; }
prefix=curves
title="learning curves"
while getopts "o:t:h" opt; do
  case $opt in
    o) prefix=$OPTARG ;;
    t) title=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
command -v gnuplot >/dev/null || { echo "plot_run: gnuplot not found (make setup installs it)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One table per run and kind, and a list of "index<TAB>label" lines. Any unreadable file
# stops the whole plot with its name: a missing run would be a silent lie in the figure.
python3 - "$tmp" "$@" > "$tmp/labels" <<'EOF'
import json, os, sys
tmp, files = sys.argv[1], sys.argv[2:]
for i, path in enumerate(files):
    try:
        with open(path) as f:
            d = json.load(f)
        epochs, config = d["epochs"], d["config"]
        test, train_seconds = d["test"], d["timings"]["train_seconds"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"plot_run: {path}: not a hogwild_train --metrics-out file ({type(e).__name__}: {e})")
    if not epochs:
        sys.exit(f"plot_run: {path}: no finished epoch to plot")
    loss, done_at, clock = {}, {}, {}
    # Who trained an epoch: a worker, or an MPI rank's workers together (schema 2; schema 1
    # files have "rank" alone, which meant either).
    who = lambda e: (e["rank"], e.get("worker", -1) if e.get("worker") is not None else -1)
    for e in sorted(epochs, key=lambda e: (who(e), e["epoch"])):
        n, s = e["epoch"], e["samples"]
        total = loss.setdefault(n, [0.0, 0])
        total[0] += e["loss"] * s
        total[1] += s
        clock[who(e)] = clock.get(who(e), 0.0) + e["seconds"]
        done_at[n] = max(done_at.get(n, 0.0), clock[who(e)])
    with open(os.path.join(tmp, f"loss{i}.dat"), "w") as out:
        for n in sorted(loss):
            out.write(f"{n} {done_at[n]:.3f} {loss[n][0] / max(1, loss[n][1]):.6f}\n")
    evals = [(e["epoch"], e["seconds"], e["accuracy"]) for e in d.get("evaluations", [])]
    last = max(loss)
    if not evals or evals[-1][0] != last:
        evals.append((last, train_seconds, test["accuracy"]))
    with open(os.path.join(tmp, f"acc{i}.dat"), "w") as out:
        for n, s, a in evals:
            out.write(f"{n} {s:.3f} {a:.4f}\n")
    layout = f"{config['procs']} procs, {config['recipe']}"
    if "mpi" in d:
        layout = f"{d['mpi']['ranks']} ranks x {layout}, --sync {d['mpi']['sync']}"
    name = os.path.splitext(os.path.basename(path))[0]
    print(f"{i}\t{last}\t{name} ({layout})")
EOF

runs=$(wc -l < "$tmp/labels")
epochs=$(cut -f2 "$tmp/labels" | sort -n | tail -1)
labels=$(cut -f3 "$tmp/labels" | sed 's/"/\\"/g' | awk '{printf "%s\"%s\"", (NR > 1 ? " " : ""), $0}')
cat > "$tmp/plot.gp" <<EOF
set multiplot layout 2,2 title "$(printf '%s' "$title" | sed 's/"/\\"/g')"
array label[$runs] = [$(echo "$labels" | sed 's/" "/", "/g')]
set termoption noenhanced
set grid
set key bottom right
set xlabel 'epoch'
set xtics $(( (epochs + 9) / 10 ))
set ylabel 'test accuracy (%)'
set offsets 0, 0, graph 0.05, graph 0.02
plot for [i=0:$runs-1] '$tmp/acc'.i.'.dat' using 1:3 with linespoints pointtype 7 pointsize 0.6 title label[i+1]
set xlabel 'seconds of training'
set xtics autofreq
plot for [i=0:$runs-1] '$tmp/acc'.i.'.dat' using 2:3 with linespoints pointtype 7 pointsize 0.6 title label[i+1]
set key top right
set offsets 0, 0, 0, 0
set logscale y
set xlabel 'epoch'
set xtics $(( (epochs + 9) / 10 ))
set ylabel 'training loss (train mode)'
plot for [i=0:$runs-1] '$tmp/loss'.i.'.dat' using 1:3 with linespoints pointtype 7 pointsize 0.6 title label[i+1]
set xlabel 'seconds of training'
set xtics autofreq
plot for [i=0:$runs-1] '$tmp/loss'.i.'.dat' using 2:3 with linespoints pointtype 7 pointsize 0.6 title label[i+1]
unset multiplot
EOF

# Drawn into the temporary folder, then moved: a failed plot leaves no half-written file.
for kind in png svg; do
  case $kind in
    png) term="pngcairo size 1100,800 font ',10'" ;;
    svg) term="svg size 1100,800 dynamic font ',10'" ;;
  esac
  gnuplot -e "set terminal $term; set output '$tmp/out.$kind'" "$tmp/plot.gp"
  mv -f "$tmp/out.$kind" "$prefix.$kind"
done
echo "plot_run: wrote $prefix.png and $prefix.svg ($runs run$([ "$runs" -eq 1 ] || echo s))"
