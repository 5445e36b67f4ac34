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
* train (with --train): the whole recipe at the best thread count of the
  training_step case (or --train-threads), printing each epoch's loss and test
  accuracy and the seconds the training took.

Threads: each thread count runs in its own child process with OMP_NUM_THREADS
and OPENBLAS_NUM_THREADS set and torch.set_num_threads; the children run on the
OpenBLAS kernel family bench/openblas_kernel.py chooses (OPENBLAS_CORETYPE in
their environment alone). Conv2d runs through oneDNN when torch has it (the
environment line says).

Usage:
    /usr/bin/python3 bench/peers/fashion_cnn.py --out fashion_cnn_peer.json
    /usr/bin/python3 bench/peers/fashion_cnn.py --train --epochs 8
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openblas_kernel  # noqa: E402
from mlp_step import measure  # noqa: E402  (same timing rule as the MLP peer)

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
    import torch
    threads = args.threads[0]
    torch.set_num_threads(threads)
    environment = {"peer": "torch", "threads": threads, "version": torch.__version__,
                   "mkldnn": torch.backends.mkldnn.is_available(),
                   "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    print(json.dumps({"environment": environment}), flush=True)
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
    p.add_argument("--threads", default="1,2",
                   type=lambda s: [int(t) for t in s.split(",") if t],
                   help="comma-separated thread counts of the step case (default 1,2)")
    p.add_argument("--batches", default=f"8,{BATCH}",
                   type=lambda s: [int(b) for b in s.split(",") if b],
                   help=f"comma-separated batch sizes of the step case (default 8,{BATCH})")
    p.add_argument("--min-time", type=float, default=0.5,
                   help="seconds per timed repetition, at least (default 0.5)")
    p.add_argument("--repetitions", type=int, default=5, help="timed repetitions (default 5)")
    p.add_argument("--train", action="store_true", help="run the whole recipe instead")
    p.add_argument("--train-threads", type=int,
                   help="threads for --train (default: the faster of 1 and 2 at the step)")
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--batch", type=int, default=BATCH, help="the recipe's mini-batch")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--data_dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: --min-time 0.02 --repetitions 2")
    p.add_argument("--epoch", action="store_true", help=argparse.SUPPRESS)  # bench/run.py's flag
    p.add_argument("--out", help="write the results and environment as one JSON document")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.min_time, args.repetitions = 0.02, 2
    if args.min_time <= 0 or args.repetitions < 1:
        p.error("--min-time must be > 0 and --repetitions >= 1")
    if not args.threads or any(t < 1 for t in args.threads):
        p.error("--threads must list counts >= 1")
    if not args.batches or any(b < 1 for b in args.batches) or args.batch < 1:
        p.error("batch sizes must be >= 1")
    if args.epochs < 1:
        p.error("--epochs must be >= 1")
    return args


def run_worker(args, blas, threads, extra):
    env = dict(blas.environ(os.environ), OPENBLAS_NUM_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads))
    command = [sys.executable, os.path.abspath(__file__), "--worker", "--threads", str(threads),
               "--batches", ",".join(map(str, args.batches)), "--min-time", str(args.min_time),
               "--repetitions", str(args.repetitions), "--epochs", str(args.epochs),
               "--batch", str(args.batch), "--seed", str(args.seed),
               "--data_dir", args.data_dir] + extra
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    records, environment = [], None
    for line in child.stdout:
        record = json.loads(line)
        if "environment" in record:
            environment = record["environment"]
            print(f"# torch at {threads} thread(s): {json.dumps(environment)}", file=sys.stderr)
        else:
            records.append(record)
            print(line, end="", flush=True)
    if child.wait() != 0:
        print(f"error: the torch worker at {threads} thread(s) failed "
              f"(exit status {child.returncode})", file=sys.stderr)
        return records, environment, False
    return records, environment, True


def main():
    args = parse_args()
    if args.worker:
        worker(args)
        return
    blas = openblas_kernel.choose(sys.executable)
    print(blas.report(), file=sys.stderr)

    results, environments, failed = [], [], []
    threads_list = [args.train_threads] if args.train and args.train_threads else args.threads
    for threads in threads_list:
        records, environment, ok = run_worker(args, blas, threads, [])
        results += records
        environments.append(environment)
        if not ok:
            failed.append(f"torch at {threads} thread(s)")
    if args.train and not failed:
        steps = [r for r in results if r["case"] == "training_step" and r["batch"] == args.batch]
        threads = args.train_threads or min(steps, key=lambda r: r["seconds_per_step"])["threads"]
        records, _, ok = run_worker(args, blas, threads, ["--train"])
        results += records
        if not ok:
            failed.append(f"torch training at {threads} thread(s)")

    if args.out:
        with open(args.out, "w") as out:
            json.dump({"environment": {"python": sys.version.split()[0],
                                       "executable": sys.executable,
                                       "workers": environments, "failed": failed},
                       "results": results}, out, indent=1)
            out.write("\n")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
