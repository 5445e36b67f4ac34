#!/usr/bin/env python3
"""The work of bench/mlp_step.cpp in PyTorch and in numpy: kiln's peers.

Cases, for the networks 784-128-10 ("mlp") and 784-1000-10 ("wide"):

* training_step at batch 1, 5, 50, 500, 5000: forward, mean softmax
  cross-entropy, backward, SGD update (learning rate 0.01, no momentum);
* inference at batch 1 and 5000: the forward pass to the logits.

Inputs are uniform in [0, 1), labels uniform in 0..9, parameters ~ N(0, 0.1),
all float32, as in bench/mlp_step.cpp.

* torch: the course's PyTorch code (nn.Sequential of Linear, ReLU, Linear;
  nn.CrossEntropyLoss; torch.optim.SGD; zero_grad, backward, step); inference
  under torch.inference_mode().
* numpy: the course's hand-written numpy network, forward and backward with `@`
  matmuls, weights W[in, out] as kiln stores them.

Threads: each (peer, thread count) runs in its own child process, started with
OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set to the count; torch also gets
torch.set_num_threads. Both are needed for torch: Debian's torch does its
matrix products in OpenBLAS (through libblas.so.3), whose thread pool
torch.set_num_threads does not touch. The child reports the BLAS files mapped
into it and, where threadpoolctl is installed (python3-threadpoolctl), each
thread pool's library, kernel set ("architecture") and thread count.

Timing: a warm-up, then a step count calibrated so one repetition lasts at least
--min-time seconds; the reported seconds_per_step is the median over
--repetitions repetitions of (repetition time / steps).

The workers run on the OpenBLAS kernel family that bench/openblas_kernel.py chooses
for this machine (the fastest that computes sgemm correctly; OPENBLAS_CORETYPE is set
in the workers' environment alone), and the table of candidates goes to stderr.

Usage:
    /usr/bin/python3 bench/peers/mlp_step.py --out peers.json

Prints one JSON line per case on stdout; --out FILE also writes a JSON document
{"environment": {...}, "results": [{peer, case, network, batch, threads,
seconds_per_step, ...}, ...]}.
"""

import argparse
import json
import os
import statistics
import sys
import time


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workers import peer_main  # noqa: E402

INPUTS = 784
CLASSES = 10
NETWORKS = {"784-128-10": 128, "784-1000-10": 1000}
TRAINING_BATCHES = (1, 5, 50, 500, 5000)
INFERENCE_BATCHES = (1, 5000)
LEARNING_RATE = 0.01
INIT_STD = 0.1
PEERS = ("torch", "numpy")


# ----------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------

def measure(run, min_time, repetitions):
    """Median seconds per call of run() over `repetitions` timed repetitions.

    Warm-up: at least 3 calls and 10% of min_time. Each repetition then makes
    the same number of calls, chosen so that one repetition takes >= min_time.
    Returns (median, list of the repetitions' seconds per call).
    """
    clock = time.perf_counter
    calls, start = 0, clock()
    while calls < 3 or clock() - start < 0.1 * min_time:
        run()
        calls += 1
    per_call = (clock() - start) / calls
    steps = max(1, int(min_time / per_call) + 1)

    samples = []
    for _ in range(repetitions):
        start = clock()
        for _ in range(steps):
            run()
        samples.append((clock() - start) / steps)
    return statistics.median(samples), samples


# ----------------------------------------------------------------------------
# The peers: each make_* returns (training_step, inference) callables
# ----------------------------------------------------------------------------

def make_torch(hidden, batch, seed=42):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(INPUTS, hidden), nn.ReLU(), nn.Linear(hidden, CLASSES))
    with torch.no_grad():
        for p in model.parameters():
            nn.init.normal_(p, 0.0, INIT_STD)
    loss_fn = nn.CrossEntropyLoss()  # mean over the batch
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)

    x = torch.rand(batch, INPUTS, dtype=torch.float32)
    y = torch.randint(0, CLASSES, (batch,), dtype=torch.int64)

    def training_step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    def inference():
        with torch.inference_mode():
            return model(x)

    return training_step, inference


def make_numpy(hidden, batch, seed=42):
    import numpy as np

    rng = np.random.default_rng(seed)
    f32 = np.float32
    w1 = rng.normal(0.0, INIT_STD, (INPUTS, hidden)).astype(f32)
    b1 = rng.normal(0.0, INIT_STD, hidden).astype(f32)
    w2 = rng.normal(0.0, INIT_STD, (hidden, CLASSES)).astype(f32)
    b2 = rng.normal(0.0, INIT_STD, CLASSES).astype(f32)
    lr = f32(LEARNING_RATE)

    x = rng.random((batch, INPUTS), dtype=f32)
    y = rng.integers(0, CLASSES, batch)
    rows = np.arange(batch)

    def training_step():
        nonlocal w1, b1, w2, b2  # updated in place below
        # forward
        z1 = x @ w1 + b1
        h = np.maximum(z1, 0)
        logits = h @ w2 + b2
        # mean softmax cross-entropy, stabilized by the row maximum
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(total[:, 0]) - shifted[rows, y])
        # backward: d loss / d logits = (softmax - onehot) / batch
        d2 = e / total
        d2[rows, y] -= 1
        d2 /= batch
        dw2 = h.T @ d2
        db2 = d2.sum(axis=0)
        d1 = d2 @ w2.T
        d1 *= z1 > 0  # relu'
        dw1 = x.T @ d1
        db1 = d1.sum(axis=0)
        # SGD, in place
        w1 -= lr * dw1
        b1 -= lr * db1
        w2 -= lr * dw2
        b2 -= lr * db2
        return loss

    def inference():
        return np.maximum(x @ w1 + b1, 0) @ w2 + b2

    return training_step, inference


# ----------------------------------------------------------------------------
# Child process: one peer at one thread count
# ----------------------------------------------------------------------------

def blas_info():
    """What threadpoolctl sees (None when it is not installed)."""
    try:
        import threadpoolctl
    except ImportError:
        return None
    keep = ("user_api", "internal_api", "prefix", "version", "architecture",
            "threading_layer", "num_threads", "filepath")
    return [{k: v for k, v in pool.items() if k in keep}
            for pool in threadpoolctl.threadpool_info()]


def loaded_blas_files():
    """Shared libraries with 'blas' in their name mapped into this process."""
    found = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in os.path.basename(path):
                found.add(path)
    return sorted(found)


def worker(args):
    threads = args.threads[0]
    if args.worker == "torch":
        import torch
        torch.set_num_threads(threads)
        make = make_torch
        version = torch.__version__
    else:
        import numpy
        make = make_numpy
        version = numpy.__version__

    # Run one small case first so that the BLAS library is loaded when inspected.
    make(NETWORKS["784-128-10"], 5)[0]()
    environment = {"peer": args.worker, "threads": threads, "version": version,
                   "blas": blas_info(), "blas_files": loaded_blas_files(),
                   "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                   "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE")}
    print(json.dumps({"environment": environment}), flush=True)

    for network, hidden in NETWORKS.items():
        cases = [("training_step", b) for b in TRAINING_BATCHES] + \
                [("inference", b) for b in INFERENCE_BATCHES]
        for case, batch in cases:
            training_step, inference = make(hidden, batch)
            run = training_step if case == "training_step" else inference
            median, samples = measure(run, args.min_time, args.repetitions)
            print(json.dumps({"peer": args.worker, "case": case, "network": network,
                              "batch": batch, "threads": threads,
                              "seconds_per_step": median, "samples": samples}), flush=True)


# ----------------------------------------------------------------------------
# Parent: one child per (peer, thread count), results gathered
# ----------------------------------------------------------------------------

def parse_list(text, allowed=None, convert=str):
    items = [convert(item) for item in text.split(",") if item]
    if allowed is not None:
        for item in items:
            if item not in allowed:
                raise argparse.ArgumentTypeError(f"{item!r} is not one of {', '.join(allowed)}")
    return items


def parse_args():
    p = argparse.ArgumentParser(description="kiln's peers (PyTorch, numpy) on bench/mlp_step.cpp's work")
    p.add_argument("--peers", default=",".join(PEERS),
                   type=lambda s: parse_list(s, PEERS), help="comma-separated: torch,numpy")
    p.add_argument("--threads", default="1,2", type=lambda s: parse_list(s, convert=int),
                   help="comma-separated thread counts (default 1,2)")
    p.add_argument("--min-time", type=float, default=0.3,
                   help="seconds per timed repetition, at least (default 0.3)")
    p.add_argument("--repetitions", type=int, default=5, help="timed repetitions (default 5)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: --min-time 0.02 --repetitions 2")
    p.add_argument("--out", help="write the results and environment as one JSON document")
    p.add_argument("--worker", choices=PEERS, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.min_time, args.repetitions = 0.02, 2
    if args.min_time <= 0 or args.repetitions < 1:
        p.error("--min-time must be > 0 and --repetitions >= 1")
    if any(t < 1 for t in args.threads):
        p.error("--threads must be >= 1")
    return args


def main():
    def workers_of(args):  # a failed peer (no torch): the others go on
        return [(peer, threads, [peer, "--threads", str(threads), "--min-time",
                                 str(args.min_time), "--repetitions", str(args.repetitions)])
                for peer in args.peers for threads in args.threads]
    peer_main(__file__, parse_args(), worker, workers_of)


if __name__ == "__main__":
    main()
