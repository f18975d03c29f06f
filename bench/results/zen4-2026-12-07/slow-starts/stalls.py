#!/usr/bin/python3
"""Summary of run.sh's outputs here: the first epoch's running loss of MNIST's default recipe
(N = 2), per init, over seeds 1-40 run twice."""
import os
import statistics as st

HERE = os.path.dirname(os.path.abspath(__file__))
for name, label in [("default.txt", "PyTorch's default init"), ("he.txt", "He init (screen)"),
                    ("gain1.txt", "gain 1 init (screen)")]:
    path = os.path.join(HERE, name)
    if not os.path.exists(path):
        continue
    runs = [(int(p), int(s), float(x)) for p, s, x in (line.split() for line in open(path))]
    losses = [x for _, _, x in runs]
    print(f"{label}: {len(runs)} runs, first-epoch loss median {st.median(losses):.3f}, "
          f"max {max(losses):.3f}, above 1.3: {sum(x > 1.3 for x in losses)}, "
          f"above 1.6: {sum(x > 1.6 for x in losses)}; seeds above 1.3: "
          f"{sorted({s for _, s, x in runs if x > 1.3})}")

# accuracy.sh: the 15-epoch defaults with each init, seeds 1-3.
import sys  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "..", "zen4-2026-12-03"))
from runs import print_runs_by_data  # noqa: E402

print()
print_runs_by_data(HERE, [("init-none", "default (PyTorch's init), 15 epochs"),
                          ("init-he", "He init (screen), 15 epochs"),
                          ("init-gain1", "gain 1 init (screen), 15 epochs")])
