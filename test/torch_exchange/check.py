#!/usr/bin/env python3
"""kiln's model files and PyTorch agree through scripts/torch_weights.py, for a CNN
(conv2d, max_pool2d, tanh, GELU), a conv1d network, a network of the other
activations (PReLU's learned slopes per channel, shared and per feature; ELU, leaky
ReLU, SiLU, GELU's tanh form, sigmoid, softmax), a recurrent network (nn.GRU into
nn.LSTM, the last step into a linear layer), batch_norm (with its running
statistics) and dropout in evaluation, depthwise convolutions (Conv2d with
groups = channels) with a transposed one (ConvTranspose2d) and upsampling, and a
small GPT (embedding, add_position, a repeat of residual blocks with layer_norm
and attention).

write_models (test/torch_exchange/write_models.cpp) saves each network with
kiln's random initialization in double, with inputs and kiln's outputs. Each file
goes to PyTorch with `to-torch` and loads, strictly (every key, every shape),
into a PyTorch module written here as a mirror of the kiln network; the mirror
must compute kiln's outputs to 1e-10. Its state_dict goes back with `to-kiln
--like`, by key and, renamed, by order: the same file byte for byte. A
state_dict of the wrong shape is refused with a one-line error naming the tensor.

    /usr/bin/python3 test/torch_exchange/check.py BUILD/test/torch_exchange_write_models
Exits 77 (skipped) without python3-torch.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "torch_weights.py")
BATCH = 3

try:
    import torch
    from torch import nn
    from torch.nn import functional as F
except ImportError:
    # CI installs torch and sets KILN_REQUIRE_TORCH=1: there a skip would hide a failure.
    print("skipped: torch is not installed (apt-get install python3-torch)")
    sys.exit(1 if os.environ.get("KILN_REQUIRE_TORCH") == "1" else 77)


class ChannelsLastFlatten(nn.Module):
    """kiln flattens height x width x channels (or length x channels), PyTorch's
    tensors are channels first: the mirror flattens in kiln's order."""

    def forward(self, x):
        return x.movedim(1, -1).flatten(1)


class AddPosition(nn.Module):
    def __init__(self, block, width):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(block, width))

    def forward(self, x):
        return x + self.weight[:x.shape[1]]


class Residual(nn.Sequential):
    def forward(self, x):
        return x + super().forward(x)


class CausalSelfAttention(nn.Module):
    """nn.MultiheadAttention's parameters; scores scaled by width^-0.5 as kiln's
    (the course's) attention does."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.zeros(3 * width, width))
        self.out_proj = nn.Linear(width, width)

    def forward(self, x):
        batch, length, width = x.shape
        q, k, v = (x @ self.in_proj_weight.t()).split(width, dim=-1)
        split = lambda t: t.reshape(batch, length, self.heads, -1).transpose(1, 2)
        scores = split(q) @ split(k).transpose(-2, -1) * width ** -0.5
        mask = torch.ones(length, length, dtype=torch.bool).tril()
        weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        heads = (weights @ split(v)).transpose(1, 2).reshape(batch, length, width)
        return self.out_proj(heads)


class GRU(nn.GRU):
    """nn.GRU's every step (batch_first), without the final state: kiln's gru."""

    def forward(self, x):
        return super().forward(x)[0]


class LSTM(nn.LSTM):
    def forward(self, x):
        return super().forward(x)[0]


class LastStep(nn.Module):
    def forward(self, x):
        return x[:, -1]


def mirrors():
    """name -> (PyTorch mirror, kiln's input as the mirror takes it)."""
    cnn = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 3, 2),
                        nn.Tanh(), ChannelsLastFlatten(), nn.Linear(12, 6), nn.GELU(),
                        nn.Linear(6, 5))
    conv1d = nn.Sequential(nn.Conv1d(3, 4, 3), nn.ReLU(), nn.Conv1d(4, 2, 2, bias=False),
                           ChannelsLastFlatten(), nn.Linear(8, 3))
    activations = nn.Sequential(
        nn.Conv2d(2, 3, 3), nn.PReLU(3), ChannelsLastFlatten(), nn.Linear(48, 7), nn.PReLU(),
        nn.Linear(7, 5), nn.ELU(alpha=0.5), nn.Linear(5, 5), nn.LeakyReLU(0.2), nn.Linear(5, 4),
        nn.SiLU(), nn.Linear(4, 4), nn.GELU(approximate="tanh"), nn.Linear(4, 4), nn.Sigmoid(),
        nn.Linear(4, 3), nn.PReLU(3), nn.Softmax(dim=-1))
    recurrent = nn.Sequential(GRU(3, 4, batch_first=True), LSTM(4, 6, batch_first=True),
                              LastStep(), nn.Linear(6, 2))
    norm = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), ChannelsLastFlatten(),
                         nn.Linear(48, 7), nn.Dropout(0.3), nn.BatchNorm1d(7, momentum=0.2,
                                                                           eps=1e-3),
                         nn.Linear(7, 4))
    depthwise = nn.Sequential(nn.Conv2d(3, 6, 3, padding="same", groups=3), nn.ReLU(),
                              nn.Conv2d(6, 6, 2, stride=2, padding=1, groups=6),
                              nn.ConvTranspose2d(6, 3, 3, stride=2, padding=1, output_padding=1),
                              nn.Upsample(scale_factor=2, mode="nearest"),
                              ChannelsLastFlatten(), nn.Linear(960, 4))
    vocab, block, width = 11, 6, 8
    copy = lambda: nn.Sequential(
        Residual(nn.LayerNorm(width), CausalSelfAttention(width, 2)),
        Residual(nn.LayerNorm(width), nn.Linear(width, 16), nn.ReLU(), nn.Linear(16, width)))
    gpt = nn.Sequential(nn.Embedding(vocab, width), AddPosition(block, width),
                        nn.Sequential(copy(), copy()), nn.LayerNorm(width),
                        nn.Linear(width, vocab))
    return {
        "cnn": (cnn, lambda x: x.reshape(BATCH, 9, 9, 2).permute(0, 3, 1, 2)),
        "conv1d": (conv1d, lambda x: x.reshape(BATCH, 7, 3).permute(0, 2, 1)),
        "activations": (activations, lambda x: x.reshape(BATCH, 6, 6, 2).permute(0, 3, 1, 2)),
        "recurrent": (recurrent, lambda x: x.reshape(BATCH, 5, 3)),
        "norm": (norm, lambda x: x.reshape(BATCH, 6, 6, 2).permute(0, 3, 1, 2)),
        "depthwise": (depthwise, lambda x: x.reshape(BATCH, 8, 7, 3).permute(0, 3, 1, 2)),
        "gpt": (gpt, lambda x: x.reshape(BATCH, block).round().long()),
    }


def values(path):
    with open(path) as f:
        return torch.tensor([float.fromhex(line) for line in f], dtype=torch.float64)


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    failures = 0

    def check(condition, what, detail=""):
        nonlocal failures
        print(("ok   " if condition else "FAIL ") + what + ("" if condition else f": {detail}"))
        failures += not condition

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.argv[1], tmp], check=True)
        for name, (mirror, as_input) in mirrors().items():
            kiln_file, pt = os.path.join(tmp, name + ".kiln"), os.path.join(tmp, name + ".pt")
            result = run("to-torch", kiln_file, pt)
            check(result.returncode == 0, f"{name}: to-torch", result.stderr)
            mirror = mirror.to(torch.float64).eval()  # kiln's outputs are evaluation's
            mirror.load_state_dict(torch.load(pt, weights_only=True), strict=True)
            with torch.no_grad():
                got = mirror(as_input(values(os.path.join(tmp, name + ".x")))).flatten()
            want = values(os.path.join(tmp, name + ".y"))
            error = (got - want).abs().max().item()
            check(got.shape == want.shape and error <= 1e-10,
                  f"{name}: PyTorch computes kiln's outputs (largest difference {error:.1e})")

            with open(kiln_file, "rb") as f:
                original = f.read()
            back = os.path.join(tmp, name + ".back.kiln")
            for how, state in (("by key", mirror.state_dict()),
                               ("by order", {f"renamed_{i}": v for i, v in
                                             enumerate(mirror.state_dict().values())})):
                torch.save(state, pt)
                result = run("to-kiln", pt, back, "--like", kiln_file)
                with open(back, "rb") as f:
                    check(result.returncode == 0 and f.read() == original,
                          f"{name}: to-kiln --like, {how}, gives kiln's file back", result.stderr)

            state = mirror.state_dict()
            key = next(iter(state))
            state[key] = torch.zeros(*state[key].shape[:-1], state[key].shape[-1] + 1)
            torch.save(state, pt)
            result = run("to-kiln", pt, back, "--like", kiln_file)
            lines = result.stderr.strip().splitlines()
            check(result.returncode == 1 and len(lines) == 1 and key in lines[0] and
                  "shape" in lines[0], f"{name}: a tensor of the wrong shape is refused",
                  result.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
