#!/usr/bin/env python3
"""examples/char_rnn's character GRU in PyTorch: kiln's peer for its recipe and
bench/char_rnn_step.cpp's step.

The network: nn.Embedding(65, 64), nn.GRU(64, 128, batch_first=True),
nn.Linear(128, 65) at every step; PyTorch's default initialization, float32.
The recipe (examples/char_rnn.cpp's defaults): windows of 64 characters, batch 32,
torch.optim.AdamW(lr 2e-3, PyTorch's defaults otherwise: weight decay 0.01),
CosineAnnealingLR(T_max = steps, eta_min = lr / 10) stepped after every update,
torch.nn.utils.clip_grad_norm_(1.0) before it; mean cross-entropy over every
position.

Cases:

* training_step at batch 32 (network "char_rnn"): zero_grad, forward, loss,
  backward, clipping, AdamW step, on random ids (uniform over the vocabulary),
  at each --threads count. Timing as bench/peers/mlp_step.py (median of
  --repetitions repetitions of at least --min-time seconds).
* training (with --train): the recipe from scratch on --text (tiny Shakespeare),
  as kiln's char_text splits it: the vocabulary is the sorted distinct bytes, the
  first int(0.9 n) ids are the training split. Each step draws `batch` windows
  with starts uniform in [0, len(train) - 64) (torch.randint, seeded by --seed).
  The validation loss is examples/char_rnn's: the mean cross-entropy over the
  whole validation split cut into consecutive windows of 64 (the last partial one
  left out), each from a zero state. Reports it, the training seconds (the steps
  alone) and the curve every --eval-interval steps. It runs in the worker of the
  first --threads count.

Each thread count runs in its own child process with OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS set, and torch.set_num_threads; the workers run on the
OpenBLAS kernel family that bench/openblas_kernel.py chooses for this machine
(its table of candidates goes to stderr).

Usage:
    /usr/bin/python3 bench/peers/char_rnn.py --out char_rnn_peer.json
    /usr/bin/python3 bench/peers/char_rnn.py --train --threads 1 --seed 1337
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

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VOCABULARY, EMBEDDING, HIDDEN = 65, 64, 128
LENGTH, BATCH = 64, 32
LEARNING_RATE, MAX_GRADIENT_NORM = 2e-3, 1.0
STEPS = 4000
EVALUATION_CHUNK = 256


def make_model():
    from torch import nn

    class CharRNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCABULARY, EMBEDDING)
            self.gru = nn.GRU(EMBEDDING, HIDDEN, batch_first=True)
            self.linear = nn.Linear(HIDDEN, VOCABULARY)

        def forward(self, ids):
            states, _ = self.gru(self.embedding(ids))
            return self.linear(states)

    return CharRNN()


def make_training(model, steps):
    """(optimizer, scheduler, step(x, y) -> loss) of the recipe."""
    import torch
    from torch import nn
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, steps),
                                                           eta_min=LEARNING_RATE / 10)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x).reshape(-1, VOCABULARY), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), MAX_GRADIENT_NORM)
        optimizer.step()
        scheduler.step()
        return loss

    return step


def make_step(seed=1337):
    import torch
    torch.manual_seed(seed)
    model = make_model()
    step = make_training(model, STEPS)
    x = torch.randint(0, VOCABULARY, (BATCH, LENGTH))
    y = torch.randint(0, VOCABULARY, (BATCH, LENGTH))
    return lambda: step(x, y)


def load_text(path):
    """(train ids, validation ids) as kiln::data::char_text makes them."""
    import torch
    with open(path, "rb") as f:
        data = f.read()
    vocabulary = sorted(set(data))
    if len(vocabulary) != VOCABULARY:
        raise SystemExit(f"{path}: {len(vocabulary)} distinct characters; the recipe's "
                         f"network is built for {VOCABULARY}")
    index = {c: i for i, c in enumerate(vocabulary)}
    ids = torch.tensor([index[c] for c in data], dtype=torch.int64)
    split = len(ids) * 9 // 10
    return ids[:split], ids[split:]


def validation_loss(model, validation):
    import torch
    from torch.nn import functional
    count = (len(validation) - 1) // LENGTH
    x = validation[:count * LENGTH].reshape(count, LENGTH)
    y = validation[1:count * LENGTH + 1].reshape(count, LENGTH)
    total = 0.0
    with torch.no_grad():
        for first in range(0, count, EVALUATION_CHUNK):
            logits = model(x[first:first + EVALUATION_CHUNK])
            total += float(functional.cross_entropy(
                logits.reshape(-1, VOCABULARY), y[first:first + EVALUATION_CHUNK].reshape(-1),
                reduction="sum"))
    return total / (count * LENGTH)


def train(args):
    """The recipe from scratch: its record, with the validation loss and the time."""
    import torch
    train_ids, validation = load_text(args.text)
    torch.manual_seed(args.seed)
    model = make_model()
    step = make_training(model, args.steps)
    curve, seconds, done = [], 0.0, 0
    while done < args.steps:
        chunk_end = min(args.steps, done + args.eval_interval)
        loss_sum, start = 0.0, time.perf_counter()
        for _ in range(done, chunk_end):
            starts = torch.randint(0, len(train_ids) - LENGTH, (BATCH,))
            windows = starts[:, None] + torch.arange(LENGTH + 1)
            chunk = train_ids[windows]
            loss_sum += float(step(chunk[:, :-1], chunk[:, 1:]))
        seconds += time.perf_counter() - start
        model.eval()
        val = validation_loss(model, validation)
        model.train()
        curve.append({"step": chunk_end, "train": loss_sum / (chunk_end - done), "val": val})
        print(f"# torch step {chunk_end}: train loss {curve[-1]['train']:.4f}, val loss "
              f"{val:.4f} ({seconds:.1f} s training)", file=sys.stderr, flush=True)
        done = chunk_end
    final = curve[-1]["val"] if curve else validation_loss(model, validation)
    return {"peer": "torch", "case": "training", "network": "char_rnn", "batch": BATCH,
            "threads": args.threads[0], "steps": args.steps, "seed": args.seed,
            "final_val": final, "seconds": seconds, "curve": curve}


def worker(args):
    threads = args.threads[0]
    start_torch_worker(threads)
    median, samples = measure(make_step(), args.min_time, args.repetitions)
    print(json.dumps({"peer": "torch", "case": "training_step", "network": "char_rnn",
                      "batch": BATCH, "threads": threads, "seconds_per_step": median,
                      "samples": samples}), flush=True)
    if args.train:
        print(json.dumps(train(args)), flush=True)


def parse_args():
    p = argparse.ArgumentParser(description="kiln's PyTorch peer on examples/char_rnn")
    add_timing_options(p, "smoke test: --min-time 0.02 --repetitions 2, 20 training steps")
    p.add_argument("--train", action="store_true",
                   help="also train the recipe on --text (at the first thread count)")
    p.add_argument("--text", default=os.path.join(REPOSITORY, "data", "tinyshakespeare.txt"))
    p.add_argument("--steps", type=int, default=STEPS, help=f"training steps (default {STEPS})")
    p.add_argument("--eval-interval", type=int, default=500,
                   help="steps between validation losses (default 500)")
    p.add_argument("--seed", type=int, default=1337, help="seed of the training run")
    args = p.parse_args()
    check_timing_options(p, args)
    if args.quick:
        args.steps, args.eval_interval = min(args.steps, 20), min(args.eval_interval, 10)
    if args.steps < 0 or args.eval_interval < 1:
        p.error("--steps must be >= 0 and --eval-interval >= 1")
    if args.train and not os.path.isfile(args.text):
        p.error(f"--text {args.text}: no such file")
    return args


def workers_of(args):
    workers = []
    for n, threads in enumerate(args.threads):
        arguments = worker_timing(args, threads) + [
            "--text", args.text, "--steps", str(args.steps),
            "--eval-interval", str(args.eval_interval), "--seed", str(args.seed)]
        if args.train and n == 0:
            arguments.append("--train")
        workers.append(("torch", threads, arguments))
    return workers


def main():
    peer_main(__file__, parse_args(), worker, workers_of)


if __name__ == "__main__":
    main()
