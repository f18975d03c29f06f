#!/usr/bin/python3
"""A hogwild_train --save-model file in plain PyTorch: the seed's `Mnist` module, its weights
loaded by name, evaluated on the first N test images.

  /usr/bin/python3 examples/pytorch_load.py MODEL [DATA_DIR] [N]
  (DATA_DIR: data/mnist; N: 1000; Debian's python3-torch belongs to /usr/bin/python3)
"""
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Mnist(nn.Module):
    """The seed's network, with its names: conv1, conv2, fc1, fc2 hold the parameters."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=5, padding=1)
        self.conv2 = nn.Conv2d(16, 64, kernel_size=5)
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x):                                              # n x 1 x 28 x 28
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, stride=2, padding=1)  # n x 16 x 14 x 14
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, stride=2)             # n x 64 x 5 x 5
        x = F.max_pool2d(self.dropout(x), 5, stride=1).flatten(1)        # n x 64
        return self.fc2(F.relu(self.fc1(x)))                             # n x 10 logits


def read_idx(path):
    """An IDX file (raw or .gz) as a numpy array, its shape from the header."""
    if not os.path.exists(path):
        path += ".gz"
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    path = sys.argv[1]
    data_dir = sys.argv[2] if len(sys.argv) > 2 else "data/mnist"
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000

    saved = torch.jit.load(path)                        # a --save-model file
    model = Mnist()
    model.load_state_dict(dict(saved.named_parameters()))  # conv1.weight, ..., fc2.bias
    model.eval()

    images = torch.from_numpy(read_idx(f"{data_dir}/t10k-images-idx3-ubyte")[:n].copy())
    labels = torch.from_numpy(read_idx(f"{data_dir}/t10k-labels-idx1-ubyte")[:n].astype(np.int64))
    x = images.float().div(255).unsqueeze(1)            # as hogwild_train feeds them: [0, 1]
    with torch.no_grad():
        correct = int((model(x).argmax(1) == labels).sum())
    print(f"pytorch: {correct} of {len(labels)} test images correct ({100 * correct / len(labels):.2f}%)")


if __name__ == "__main__":
    main()
