#!/usr/bin/env python3
"""The work of bench/cnn_step.cpp in PyTorch: kiln's peer for the course's CNNs.

Cases, for CNN2 (conv 64 7x7, relu, max-pool 2, flatten, linear 10) and CNN3
(CNN2 with conv 128 2x2, relu, max-pool 2 after the first pool), SEED.md part E:

* training_step at batch 5 and 32: forward, mean softmax cross-entropy,
  backward, SGD update (learning rate 0.01, no momentum), the course's
  PyTorch code (nn.Sequential, nn.CrossEntropyLoss, torch.optim.SGD; zero_grad,
  backward, step). Inputs uniform in [0, 1), labels uniform in 0..9,
  PyTorch's default initialization, float32.
* epoch (with --epoch): one epoch of the course's recipe at batch 5, 2000
  shuffled mini-batches of the Fashion-MNIST training split (the split of
  bench/peers/mlp_course.py), then the evaluation of the training and
  validation sets (in chunks of 1000, under torch.no_grad()).

Images are NCHW (channels first), as is natural for torch, whose Conv2d runs
through oneDNN (mkldnn) on this CPU when it is available; the environment line
says whether it is.

Threads: each thread count runs in its own child process with
OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set, and torch.set_num_threads.
Timing as bench/peers/mlp_step.py: warm-up, then --repetitions repetitions of
at least --min-time seconds each; seconds_per_step is the median. An epoch is
timed once.

The workers run on the OpenBLAS kernel family that bench/openblas_kernel.py chooses
for this machine (the fastest that computes sgemm correctly; OPENBLAS_CORETYPE is set
in the workers' environment alone), and the table of candidates goes to stderr.

Usage:
    /usr/bin/python3 bench/peers/cnn_step.py --epoch --out cnn_peers.json
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

NETWORKS = ("cnn2", "cnn3")
BATCHES = (5, 32)
LEARNING_RATE = 0.01
CLASSES = 10


def make_network(name):
    from torch import nn
    layers = [nn.Conv2d(1, 64, 7), nn.ReLU(), nn.MaxPool2d(2)]
    if name == "cnn3":
        layers += [nn.Conv2d(64, 128, 2), nn.ReLU(), nn.MaxPool2d(2)]
    features = 64 * 11 * 11 if name == "cnn2" else 128 * 5 * 5
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(features, CLASSES))


def make_step(name, batch, seed=42):
    import torch
    from torch import nn
    torch.manual_seed(seed)
    model = make_network(name)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    x = torch.rand(batch, 1, 28, 28, dtype=torch.float32)
    y = torch.randint(0, CLASSES, (batch,), dtype=torch.int64)

    def training_step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return training_step


def one_epoch(name, data_dir, seed=42):
    """Seconds for one epoch of the recipe at batch 5, with its evaluations."""
    import numpy as np
    import torch
    from torch import nn
    from mlp_course import load_data

    x_train, y_train, x_val, y_val, _, _ = load_data(data_dir, seed)
    x_train = torch.from_numpy(x_train).reshape(-1, 1, 28, 28)
    y_train = torch.from_numpy(y_train)
    x_val = torch.from_numpy(x_val).reshape(-1, 1, 28, 28)
    y_val = torch.from_numpy(y_val)
    torch.manual_seed(seed)
    model = make_network(name)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    batch = 5

    @torch.no_grad()
    def accuracy(x, y):
        correct = 0
        for first in range(0, len(x), 1000):
            correct += (model(x[first:first + 1000]).argmax(1) == y[first:first + 1000]).sum()
        return int(correct) / len(x)

    start = time.perf_counter()
    perm = torch.from_numpy(np.random.RandomState(seed).permutation(len(x_train)))
    for step in range(len(x_train) // batch):
        idx = perm[step * batch:(step + 1) * batch]
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x_train[idx]), y_train[idx]).backward()
        optimizer.step()
    accuracy(x_train, y_train)
    accuracy(x_val, y_val)
    return time.perf_counter() - start


def worker(args):
    threads = args.threads[0]
    start_torch_worker(threads)
    for network in NETWORKS:
        for batch in BATCHES:
            median, samples = measure(make_step(network, batch), args.min_time, args.repetitions)
            print(json.dumps({"peer": "torch", "case": "training_step", "network": network,
                              "batch": batch, "threads": threads,
                              "seconds_per_step": median, "samples": samples}), flush=True)
        if args.epoch:
            seconds = one_epoch(network, args.data_dir)
            print(json.dumps({"peer": "torch", "case": "epoch", "network": network, "batch": 5,
                              "threads": threads, "seconds": seconds}), flush=True)


def parse_args():
    p = argparse.ArgumentParser(description="kiln's PyTorch peer on bench/cnn_step.cpp's work")
    add_timing_options(p, "smoke test: --min-time 0.02 --repetitions 2")
    p.add_argument("--epoch", action="store_true", help="also time one epoch of the recipe")
    p.add_argument("--data_dir", default="/usr/share/datasets/fashion-mnist")
    args = p.parse_args()
    check_timing_options(p, args)
    return args


def workers_of(args):
    workers = []
    for threads in args.threads:
        arguments = worker_timing(args, threads) + ["--data_dir", args.data_dir]
        if args.epoch:
            arguments.append("--epoch")
        workers.append(("torch", threads, arguments))
    return workers


def main():
    peer_main(__file__, parse_args(), worker, workers_of)


if __name__ == "__main__":
    main()
