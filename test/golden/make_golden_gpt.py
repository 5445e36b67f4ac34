#!/usr/bin/env python3
"""Golden values for kiln's tiny GPT (test/test_gpt.cpp), computed by PyTorch
in float64 with the course's model (bench/peers/gpt_step.py, at small sizes).

Network: vocabulary 11, block 6, width 8, 2 heads, 2 pre-norm blocks with FFN
width 32, final layer norm, linear(11); mean cross-entropy over batch 3 x 6
positions. Parameters are drawn by torch (seed 7, PyTorch's default
initialization, layer norms perturbed so that gamma != 1) and written in kiln's
order and layout (graph/runner.hpp): every tensor starts on a multiple of
16 scalars, zero padding between; kiln's linear W is [in][out] (torch's weight
transposed); an attention layer's q|k|v is one [width][3 width] matrix, head h
at columns h * head_size of each part.

Lines: parameters, tokens, targets, logits, loss, gradients (kiln layout), and
adamw_parameters: the parameters after 3 steps of torch.optim.AdamW (lr 1e-2,
default betas, eps and weight decay) on the same batch.

Regenerate (from the repository root): /usr/bin/python3 test/golden/make_golden_gpt.py
"""
import math
import os

import torch
from torch import nn
from torch.nn import functional as F

VOCAB, BLOCK, WIDTH, HEADS, LAYERS, HIDDEN, BATCH = 11, 6, 8, 2, 2, 32, 3
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpt.txt")


class Head(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.key = nn.Linear(WIDTH, size, bias=False)
        self.query = nn.Linear(WIDTH, size, bias=False)
        self.value = nn.Linear(WIDTH, size, bias=False)

    def forward(self, x):
        _, T, C = x.shape
        wei = self.query(x) @ self.key(x).transpose(-2, -1) * C ** -0.5
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        wei = F.softmax(wei.masked_fill(~mask, float("-inf")), dim=-1)
        return wei @ self.value(x)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(WIDTH)
        self.heads = nn.ModuleList([Head(WIDTH // HEADS) for _ in range(HEADS)])
        self.proj = nn.Linear(WIDTH, WIDTH)
        self.ln2 = nn.LayerNorm(WIDTH)
        self.ff1 = nn.Linear(WIDTH, HIDDEN)
        self.ff2 = nn.Linear(HIDDEN, WIDTH)

    def forward(self, x):
        h = self.ln1(x)
        x = x + self.proj(torch.cat([head(h) for head in self.heads], dim=-1))
        return x + self.ff2(F.relu(self.ff1(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, WIDTH)
        self.pos = nn.Embedding(BLOCK, WIDTH)
        self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, VOCAB)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def kiln_tensors(model, use_grad):
    """The model's tensors in kiln's order, as kiln lays them out."""
    get = (lambda p: p.grad) if use_grad else (lambda p: p.data)
    out = [get(model.tok.weight), get(model.pos.weight)]
    for b in model.blocks:
        out += [get(b.ln1.weight), get(b.ln1.bias)]
        parts = []
        for name in ("query", "key", "value"):
            parts.append(torch.cat([get(getattr(h, name).weight).t() for h in b.heads], dim=1))
        out += [torch.cat(parts, dim=1), get(b.proj.weight).t(), get(b.proj.bias)]
        out += [get(b.ln2.weight), get(b.ln2.bias), get(b.ff1.weight).t(), get(b.ff1.bias),
                get(b.ff2.weight).t(), get(b.ff2.bias)]
    out += [get(model.ln_f.weight), get(model.ln_f.bias), get(model.head.weight).t(),
            get(model.head.bias)]
    return out


def flat(tensors):
    values = []
    for t in tensors:
        v = t.contiguous().reshape(-1).tolist()
        values += v + [0.0] * ((-len(v)) % 16)
    return values


def line(name, values):
    return f"{name} {len(values)} " + " ".join(f"{v:.17g}" for v in values) + "\n"


def main():
    torch.manual_seed(7)
    torch.set_default_dtype(torch.float64)
    model = GPT()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.add_(0.3 * torch.randn(WIDTH))
                m.bias.add_(0.3 * torch.randn(WIDTH))
    idx = torch.randint(0, VOCAB, (BATCH, BLOCK))
    targets = torch.randint(0, VOCAB, (BATCH, BLOCK))
    parameters = flat(kiln_tensors(model, False))

    logits = model(idx)
    loss = F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))
    loss.backward()
    gradients = flat(kiln_tensors(model, True))

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(3):
        optimizer.zero_grad()
        F.cross_entropy(model(idx).view(-1, VOCAB), targets.view(-1)).backward()
        optimizer.step()
    adamw = flat(kiln_tensors(model, False))

    count = sum(p.numel() for p in GPT().parameters())
    with open(OUT, "w") as f:
        f.write("# kiln golden values: tiny GPT, vocabulary 11, block 6, width 8, 2 heads, "
                "2 blocks, FFN 32, batch 3\n")
        f.write("# produced by: /usr/bin/python3 test/golden/make_golden_gpt.py "
                f"(torch {torch.__version__}, float64); {count} parameters\n")
        f.write(line("parameters", parameters))
        f.write(line("tokens", [float(v) for v in idx.reshape(-1).tolist()]))
        f.write(line("targets", [float(v) for v in targets.reshape(-1).tolist()]))
        f.write(line("logits", logits.detach().reshape(-1).tolist()))
        f.write(line("loss", [loss.item()]))
        f.write(line("gradients", gradients))
        f.write(line("adamw_parameters", adamw))
    print(f"wrote {OUT}: {count} parameters, loss {loss.item():.6f}")
    assert math.isfinite(loss.item())


if __name__ == "__main__":
    main()
