#!/usr/bin/python3
"""Hogwild! the PyTorch way, to measure hogwild_train against.

What a PyTorch user would write, following PyTorch's own Hogwild example and notes:
torch.multiprocessing, model.share_memory(), a DistributedSampler per process, each process
its own SGD with momentum. Same model, data files, epochs, batch size and N as hogwild_train.

  --thread-policy per-process  torch.set_num_threads(max(1, cores // N)) in each process,
                               as PyTorch's multiprocessing notes advise
  --thread-policy default      threads left alone, as the seed did

  --tuned                      what hogwild_train's step does, in PyTorch: channels-last
                               activations (the one-channel input given channels-last
                               strides), max-pool before ReLU; with --bf16, bf16 autocast
                               (the bench also sets glibc's malloc variables for it)

  --eval-every-epoch           the parent evaluates the shared model whenever every rank has
                               finished an epoch (the workers go on meanwhile)
  --target-accuracy A          ... and stops the workers once the test accuracy reaches A%

Writes a JSON file with the same keys the bench reads from hogwild_train's --metrics-out.
Runs with Debian's python3-torch (/usr/bin/python3).
"""
import argparse
import copy
import gzip
import math
import json
import os
import sys
import time

import numpy as np
import torch
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


class Mnist(nn.Module):
    """The seed's network (see include/hogwild/model.h for the shapes)."""

    def __init__(self, dropout=0.5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=5, stride=1, padding=1)
        self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2, padding=1)
        self.conv2 = nn.Conv2d(16, 64, kernel_size=5, stride=1, padding=0)
        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.pool3 = nn.MaxPool2d(kernel_size=5, stride=1)
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        self.dp1 = nn.Dropout(dropout)

    tuned = False

    def forward(self, x):
        if self.tuned:  # the same function, in the faster order and layout
            x = x.as_strided(x.shape, (x.stride(0), 1, x.stride(2), x.stride(3)))
            x = F.relu(self.pool1(self.conv1(x)))
            x = F.relu(self.pool2(self.conv2(x)))
            x = self.pool3(self.dp1(x))
            return self.fc2(F.relu(self.fc1(x.reshape(x.shape[0], -1))))
        x = self.pool1(F.relu(self.conv1(x)))
        x = self.pool2(F.relu(self.conv2(x)))
        x = self.pool3(self.dp1(x))
        x = x.reshape(x.shape[0], -1)
        return self.fc2(F.relu(self.fc1(x)))


def read_idx(directory, base):
    """The raw or .gz IDX file `base` in `directory`, as a numpy array."""
    path = os.path.join(directory, base)
    opener = open
    if not os.path.exists(path):
        path, opener = path + ".gz", gzip.open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_split(directory, prefix, limit):
    images = read_idx(directory, f"{prefix}-images-idx3-ubyte")
    labels = read_idx(directory, f"{prefix}-labels-idx1-ubyte")
    if limit:
        images, labels = images[:limit], labels[:limit]
    # Decoded once, scaled to [0, 1] like transforms.ToTensor().
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return TensorDataset(x, y)


def train(rank, args, model, dataset, done):
    if args.thread_policy == "per-process":
        torch.set_num_threads(max(1, os.cpu_count() // args.procs))
    torch.manual_seed(args.seed + rank)
    sampler = DistributedSampler(dataset, num_replicas=args.procs, rank=rank, shuffle=True,
                                 seed=args.seed)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    model.train()
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        if args.lr_schedule == "cosine":  # as hogwild_train's scaled recipe
            for group in optimizer.param_groups:
                group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * epoch / args.epochs))
        started, loss_sum, correct, samples = time.time(), 0.0, 0, 0
        for x, y in loader:
            optimizer.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                out = model(x).float()
            loss = F.cross_entropy(out, y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            samples += len(y)
        took = time.time() - started
        print(f"epoch {epoch + 1}/{args.epochs}  rank {rank}  loss {loss_sum / samples:.4f}  "
              f"acc {100.0 * correct / samples:6.2f}%  {samples / took:6.0f} samples/s  "
              f"threads {torch.get_num_threads()}", flush=True)
        done.put((rank, epoch + 1))


def evaluate(model, dataset, batch_size):
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for x, y in DataLoader(dataset, batch_size=batch_size):
            out = model(x)
            loss_sum += F.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
    return loss_sum / len(dataset), 100.0 * correct / len(dataset)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.5, help="the seed's 0.5; hogwild_train's --dropout")
    parser.add_argument("--train-limit", type=int, default=0)
    parser.add_argument("--test-limit", type=int, default=0)
    parser.add_argument("--thread-policy", choices=["per-process", "default"],
                        default="per-process")
    parser.add_argument("--tuned", action="store_true")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--eval-every-epoch", action="store_true")
    parser.add_argument("--target-accuracy", type=float, default=0.0)
    parser.add_argument("--metrics-out", required=True)
    args = parser.parse_args()

    started = time.time()
    train_set = load_split(args.data_dir, "train", args.train_limit)
    test_set = load_split(args.data_dir, "t10k", args.test_limit)
    torch.manual_seed(args.seed)
    model = Mnist(args.dropout)
    model.tuned = args.tuned
    model.share_memory()

    torch.set_num_threads(1)  # the parent only evaluates, on one thread, like hogwild_train's
    evaluate_each_epoch = args.eval_every_epoch or args.target_accuracy > 0
    evaluations, target_epoch, target_seconds = [], None, None
    train_started = time.time()
    done = mp.Queue()
    workers = [mp.Process(target=train, args=(rank, args, model, train_set, done))
               for rank in range(args.procs)]
    for w in workers:
        w.start()
    epochs_done, evaluated = [0] * args.procs, 0
    while evaluate_each_epoch and min(epochs_done) < args.epochs and target_epoch is None:
        try:
            rank, epoch = done.get(timeout=1.0)
        except Exception:  # queue.Empty: check the workers are still alive
            if any(w.exitcode not in (None, 0) for w in workers):
                break
            continue
        epochs_done[rank] = epoch
        slowest = min(epochs_done)
        if evaluated < slowest < args.epochs:
            evaluated = slowest
            snapshot = copy.deepcopy(model)  # the workers go on writing the shared one
            loss, accuracy = evaluate(snapshot, test_set, 256)
            seconds = time.time() - train_started
            evaluations.append({"epoch": slowest, "seconds": seconds, "loss": loss,
                                "accuracy": accuracy})
            print(f"eval after epoch {slowest}: test loss {loss:.4f}  accuracy {accuracy:.2f}%  "
                  f"({seconds:.1f} s into training)", flush=True)
            if args.target_accuracy > 0 and accuracy >= args.target_accuracy:
                target_epoch, target_seconds = slowest, seconds
                model = snapshot  # the parameters that reached the target
                for w in workers:
                    w.terminate()
    for w in workers:
        w.join()
    train_seconds = time.time() - train_started
    failed = [w.exitcode for w in workers if w.exitcode != 0]
    if failed and target_epoch is None:
        sys.exit(f"pytorch_hogwild: a worker failed with exit code {failed[0]}")

    test_loss, test_accuracy = evaluate(model, test_set, 256)
    if evaluate_each_epoch and target_epoch is None:
        seconds = time.time() - train_started
        evaluations.append({"epoch": args.epochs, "seconds": seconds, "loss": test_loss,
                            "accuracy": test_accuracy})
        if args.target_accuracy > 0 and test_accuracy >= args.target_accuracy:
            target_epoch, target_seconds = args.epochs, seconds
    trained_epochs = target_epoch if target_epoch is not None else args.epochs
    per_rank = -(-len(train_set) // args.procs)  # DistributedSampler pads to equal parts
    trained = per_rank * args.procs * trained_epochs  # (at least: ranks may be ahead)
    threads = (max(1, os.cpu_count() // args.procs) if args.thread_policy == "per-process"
               else torch.get_num_threads())
    print(f"test: loss {test_loss:.4f}  accuracy {test_accuracy:.2f}%")
    print(f"time: training {train_seconds:.1f} s ({trained / train_seconds:.0f} samples/s)")
    metrics = {
        "config": {"procs": args.procs, "epochs": args.epochs, "batch_size": args.batch_size,
                   "lr": args.lr, "lr_schedule": args.lr_schedule, "momentum": args.momentum, "seed": args.seed,
                   "thread_policy": args.thread_policy},
        "threads_per_worker": threads,
        "test": {"loss": test_loss, "accuracy": test_accuracy},
        "evaluations": evaluations,
        "target": {"accuracy": args.target_accuracy, "reached": target_epoch is not None,
                   "epoch": target_epoch, "time_to_accuracy_seconds": target_seconds},
        "timings": {"train_seconds": train_seconds, "total_seconds": time.time() - started},
        "throughput": {"trained_samples": trained, "samples_per_second": trained / train_seconds},
    }
    with open(args.metrics_out, "w") as f:
        json.dump(metrics, f, indent=2)


if __name__ == "__main__":
    main()
