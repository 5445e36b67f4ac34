#!/usr/bin/env python3
"""examples/fashion_cnn.cpp's network and recipe in PyTorch: kiln's peer for a
modern small CNN on the whole Fashion-MNIST training set.

The network (NCHW, as is natural for torch; every convolution `same`-padded and
followed by BatchNorm2d and ReLU):

    stem      Conv2d(1, 32, 3)                        28 x 28
    block     depthwise 3x3 (groups = channels), then pointwise 1x1 to 64, max-pool 2
    block     to 128, block to 128, max-pool 2        14 x 14, then 7 x 7
    block     to 256
    head      AdaptiveAvgPool2d(1), Flatten, Dropout(0.3), Linear(256, 10)

The recipe: all 60,000 training images, shuffled each epoch, mini-batch 32,
AdamW (lr 2e-3, weight decay 0) under a cosine schedule from 2e-3 to 0 over
every step (CosineAnnealingLR stepped per mini-batch), mean softmax
cross-entropy, PyTorch's default initialization, 8 epochs; the score is the
accuracy on the 10,000 test images after the last epoch (evaluation mode:
running statistics, no dropout).

Cases:
* training_step at batch 8 and the recipe's 32 (--batches): forward, loss, backward,
  AdamW update, on uniform [0, 1) inputs and uniform labels, timed as
  bench/peers/mlp_step.py times (median of --repetitions), at each thread count.
* train (with --train, in place of the steps): the whole recipe at each of
  --threads, printing each epoch's loss and test accuracy and the seconds the
  training took.

Threads: each thread count runs in its own child process with OMP_NUM_THREADS
and OPENBLAS_NUM_THREADS set and torch.set_num_threads; the children run on the
OpenBLAS kernel family bench/openblas_kernel.py chooses (OPENBLAS_CORETYPE in
their environment alone). Conv2d runs through oneDNN when torch has it (the
environment line says).

Usage:
    /usr/bin/python3 bench/peers/fashion_cnn.py --out fashion_cnn_peer.json
    /usr/bin/python3 bench/peers/fashion_cnn.py --train --threads 1 --epochs 8
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp_step import measure  # noqa: E402  (same timing rule as the MLP peer)
from workers import (add_timing_options, check_timing_options, peer_main,  # noqa: E402
                     start_torch_worker, worker_timing)

BATCH = 32
LEARNING_RATE = 2e-3
EPOCHS = 8
CLASSES = 10


def make_network():
    from torch import nn

    def normalized(conv):
        return [conv, nn.BatchNorm2d(conv.out_channels), nn.ReLU()]

    def separable(channels, filters):
        return (normalized(nn.Conv2d(channels, channels, 3, padding="same", groups=channels))
                + normalized(nn.Conv2d(channels, filters, 1)))

    return nn.Sequential(*normalized(nn.Conv2d(1, 32, 3, padding="same")),
                         *separable(32, 64), nn.MaxPool2d(2),
                         *separable(64, 128), *separable(128, 128), nn.MaxPool2d(2),
                         *separable(128, 256),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3),
                         nn.Linear(256, CLASSES))


def make_trainer(model, total_steps):
    import torch
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x, y):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        schedule.step()
        return loss

    return step


def make_step(batch, seed=42):
    import torch
    torch.manual_seed(seed)
    model = make_network()
    model.train()
    step = make_trainer(model, total_steps=10**9)
    x = torch.rand(batch, 1, 28, 28, dtype=torch.float32)
    y = torch.randint(0, CLASSES, (batch,), dtype=torch.int64)
    return lambda: step(x, y)


def load_all(data_dir):
    from mlp_course import load_split
    join = lambda name: os.path.join(data_dir, name)
    x_train, y_train = load_split(join("train-images-idx3-ubyte.gz"),
                                  join("train-labels-idx1-ubyte.gz"), 60000)
    x_test, y_test = load_split(join("t10k-images-idx3-ubyte.gz"),
                                join("t10k-labels-idx1-ubyte.gz"), 10000)
    return x_train, y_train, x_test, y_test


def train(args, threads):
    """The whole recipe; one JSON record per epoch, then the total."""
    import numpy as np
    import torch
    x_train, y_train, x_test, y_test = load_all(args.data_dir)
    x_train = torch.from_numpy(x_train).reshape(-1, 1, 28, 28)
    y_train = torch.from_numpy(y_train)
    x_test = torch.from_numpy(x_test).reshape(-1, 1, 28, 28)
    y_test = torch.from_numpy(y_test)
    torch.manual_seed(args.seed)
    model = make_network()
    steps_per_epoch = len(x_train) // args.batch
    step = make_trainer(model, steps_per_epoch * args.epochs)
    order = np.random.RandomState(args.seed)

    @torch.no_grad()
    def test_accuracy():
        model.eval()
        correct = 0
        for first in range(0, len(x_test), 1000):
            logits = model(x_test[first:first + 1000])
            correct += int((logits.argmax(1) == y_test[first:first + 1000]).sum())
        model.train()
        return correct / len(x_test)

    seconds = 0.0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        perm = torch.from_numpy(order.permutation(len(x_train)))
        total = 0.0
        for s in range(steps_per_epoch):
            idx = perm[s * args.batch:(s + 1) * args.batch]
            total += float(step(x_train[idx], y_train[idx]))
        seconds += time.perf_counter() - start
        accuracy = test_accuracy()
        print(json.dumps({"peer": "torch", "case": "train_epoch", "epoch": epoch,
                          "threads": threads, "loss": total / steps_per_epoch,
                          "test_accuracy": accuracy, "training_seconds": seconds}), flush=True)
    print(json.dumps({"peer": "torch", "case": "train", "network": "fashion_cnn",
                      "batch": args.batch, "epochs": args.epochs, "threads": threads,
                      "test_accuracy": accuracy, "seconds": seconds}), flush=True)


def worker(args):
    threads = args.threads[0]
    start_torch_worker(threads)
    if args.train:
        train(args, threads)
        return
    for batch in args.batches:
        median, samples = measure(make_step(batch), args.min_time, args.repetitions)
        print(json.dumps({"peer": "torch", "case": "training_step", "network": "fashion_cnn",
                          "batch": batch, "threads": threads,
                          "seconds_per_step": median, "samples": samples}), flush=True)


def parse_args():
    p = argparse.ArgumentParser(description="kiln's PyTorch peer on examples/fashion_cnn")
    add_timing_options(p, "smoke test: --min-time 0.02 --repetitions 2")
    p.add_argument("--batches", default=f"8,{BATCH}",
                   type=lambda s: [int(b) for b in s.split(",") if b],
                   help=f"comma-separated batch sizes of the step case (default 8,{BATCH})")
    p.add_argument("--train", action="store_true",
                   help="run the whole recipe instead, at each of --threads")
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--batch", type=int, default=BATCH, help="the recipe's mini-batch")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--data_dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epoch", action="store_true", help=argparse.SUPPRESS)  # bench/run.py's flag
    args = p.parse_args()
    check_timing_options(p, args)
    if not args.batches or any(b < 1 for b in args.batches) or args.batch < 1:
        p.error("batch sizes must be >= 1")
    if args.epochs < 1:
        p.error("--epochs must be >= 1")
    return args


def workers_of(args):
    common = ["--batches", ",".join(map(str, args.batches)), "--epochs", str(args.epochs),
              "--batch", str(args.batch), "--seed", str(args.seed), "--data_dir", args.data_dir]
    if args.train:
        common.append("--train")
    return [("torch", threads, worker_timing(args, threads) + common) for threads in args.threads]


def main():
    peer_main(__file__, parse_args(), worker, workers_of)


if __name__ == "__main__":
    main()
