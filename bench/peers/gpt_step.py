#!/usr/bin/env python3
"""The course's character GPT in PyTorch (SEED.md part F): kiln's peer for
bench/gpt_step.cpp and examples/gpt.

The model is the course's code: token and position embeddings (n_embd 64),
4 pre-norm blocks x + attn(ln1(x)), x + ffn(ln2(x)); heads without bias on
q/k/v, scores scaled by n_embd^-0.5 (the course's C**-0.5 with C = n_embd),
causal mask, output projection with bias; FFN linear(256) relu linear(64);
final layer norm; linear(65) with bias; cross-entropy over all B*T positions.
No dropout. 209,729 parameters.

Modes:
  step    (default) seconds per training step (batch 16, block 32: forward,
          loss, zero_grad, backward, AdamW lr 1e-3) and per evaluation batch
          (forward and loss under torch.no_grad()), for each --threads count,
          each in its own child process. Timing as bench/peers/mlp_step.py.
  course  the course's whole run: torch.manual_seed(1337), 5000 iterations,
          every 100 (and at the last) the mean loss over 200 random batches of
          each split; prints the curve and the total seconds as JSON lines.

The workers (with --mode course, the process itself) run on the OpenBLAS kernel family that bench/openblas_kernel.py chooses
for this machine (the fastest that computes sgemm correctly; OPENBLAS_CORETYPE is set
in the workers' environment alone), and the table of candidates goes to stderr.

Usage:
    /usr/bin/python3 bench/peers/gpt_step.py --text data/tinyshakespeare.txt
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
from mlp_step import measure  # noqa: E402  (same timing rule as the other peers)

BATCH = 16
BLOCK = 32
N_EMBD = 64
N_HEAD = 4
N_LAYER = 4
LEARNING_RATE = 1e-3


def make_model(vocab, block=BLOCK, heads=N_HEAD):
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Head(nn.Module):
        def __init__(self, head_size):
            super().__init__()
            self.key = nn.Linear(N_EMBD, head_size, bias=False)
            self.query = nn.Linear(N_EMBD, head_size, bias=False)
            self.value = nn.Linear(N_EMBD, head_size, bias=False)
            self.register_buffer("tril", torch.tril(torch.ones(block, block)))

        def forward(self, x):
            _, T, C = x.shape
            k = self.key(x)
            q = self.query(x)
            wei = q @ k.transpose(-2, -1) * C ** -0.5
            wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
            wei = F.softmax(wei, dim=-1)
            return wei @ self.value(x)

    class MultiHeadAttention(nn.Module):
        def __init__(self, num_heads, head_size):
            super().__init__()
            self.heads = nn.ModuleList([Head(head_size) for _ in range(num_heads)])
            self.proj = nn.Linear(N_EMBD, N_EMBD)

        def forward(self, x):
            return self.proj(torch.cat([h(x) for h in self.heads], dim=-1))

    class FeedForward(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(N_EMBD, 4 * N_EMBD), nn.ReLU(),
                                     nn.Linear(4 * N_EMBD, N_EMBD))

        def forward(self, x):
            return self.net(x)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.sa = MultiHeadAttention(heads, N_EMBD // heads)
            self.ffwd = FeedForward()
            self.ln1 = nn.LayerNorm(N_EMBD)
            self.ln2 = nn.LayerNorm(N_EMBD)

        def forward(self, x):
            x = x + self.sa(self.ln1(x))
            return x + self.ffwd(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding_table = nn.Embedding(vocab, N_EMBD)
            self.position_embedding_table = nn.Embedding(block, N_EMBD)
            self.blocks = nn.Sequential(*[Block() for _ in range(N_LAYER)])
            self.ln_f = nn.LayerNorm(N_EMBD)
            self.lm_head = nn.Linear(N_EMBD, vocab)

        def forward(self, idx, targets=None):
            B, T = idx.shape
            x = self.token_embedding_table(idx) + self.position_embedding_table(
                torch.arange(T, device=idx.device))
            logits = self.lm_head(self.ln_f(self.blocks(x)))
            if targets is None:
                return logits, None
            B, T, C = logits.shape
            loss = F.cross_entropy(logits.view(B * T, C), targets.view(B * T))
            return logits, loss

    return GPT()


def load_text(path):
    import torch
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    return data[:n], data[n:], len(chars)


def get_batch(data, block=BLOCK, batch=BATCH):
    import torch
    ix = torch.randint(len(data) - block, (batch,))
    x = torch.stack([data[i:i + block] for i in ix])
    y = torch.stack([data[i + 1:i + block + 1] for i in ix])
    return x, y


def course(args):
    import torch
    torch.set_num_threads(args.threads[0])
    torch.manual_seed(1337)
    train_data, val_data, vocab = load_text(args.text)
    model = make_model(vocab)
    print(json.dumps({"parameters": sum(p.numel() for p in model.parameters())}), flush=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split, data in (("train", train_data), ("val", val_data)):
            losses = torch.zeros(args.eval_iters)
            for k in range(args.eval_iters):
                X, Y = get_batch(data)
                losses[k] = model(X, Y)[1].item()
            out[split] = losses.mean().item()
        model.train()
        return out

    start = time.perf_counter()
    for it in range(args.iterations):
        if it % 100 == 0 or it == args.iterations - 1:
            losses = estimate_loss()
            print(json.dumps({"iteration": it, "train": losses["train"], "val": losses["val"],
                              "seconds": time.perf_counter() - start}), flush=True)
        xb, yb = get_batch(train_data)
        _, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    print(json.dumps({"peer": "torch", "case": "course", "threads": args.threads[0],
                      "iterations": args.iterations,
                      "seconds": time.perf_counter() - start}), flush=True)


def worker(args):
    import torch
    threads = args.threads[0]
    torch.set_num_threads(threads)
    print(json.dumps({"environment": {"peer": "torch", "threads": threads,
                                      "version": torch.__version__}}), flush=True)
    torch.manual_seed(1337)
    train_data, _, vocab = load_text(args.text)
    model = make_model(vocab)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    xb, yb = get_batch(train_data)

    def training_step():
        _, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def evaluation_batch():
        return model(xb, yb)[1].item()

    for case, run in (("training_step", training_step), ("evaluation_batch", evaluation_batch)):
        median, samples = measure(run, args.min_time, args.repetitions)
        print(json.dumps({"peer": "torch", "case": case, "batch": BATCH, "block": BLOCK,
                          "threads": threads, "seconds_per_step": median,
                          "tokens_per_second": BATCH * BLOCK / median,
                          "samples": samples}), flush=True)


def parse_args():
    p = argparse.ArgumentParser(description="kiln's PyTorch peer for the course's GPT")
    p.add_argument("--mode", choices=("step", "course"), default="step")
    p.add_argument("--text", required=True, help="tinyshakespeare.txt")
    p.add_argument("--threads", default="1,2",
                   type=lambda s: [int(t) for t in s.split(",") if t],
                   help="comma-separated thread counts (default 1,2)")
    p.add_argument("--min-time", type=float, default=0.5)
    p.add_argument("--repetitions", type=int, default=5)
    p.add_argument("--iterations", type=int, default=5000)
    p.add_argument("--eval-iters", type=int, default=200)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


def main():
    args = parse_args()
    if args.mode == "course":
        openblas_kernel.use_in_this_process()  # before torch is imported
        course(args)
        return
    if args.child:
        worker(args)
        return
    blas = openblas_kernel.choose(sys.executable)
    print(blas.report(), file=sys.stderr)
    for threads in args.threads:
        env = dict(blas.environ(os.environ), OMP_NUM_THREADS=str(threads),
                   OPENBLAS_NUM_THREADS=str(threads))
        subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--text", args.text,
                        "--threads", str(threads), "--min-time", str(args.min_time),
                        "--repetitions", str(args.repetitions)], env=env, check=True)


if __name__ == "__main__":
    main()
