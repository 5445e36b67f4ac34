#!/usr/bin/env python3
"""Write PyTorch reference values for kiln's activations: test/golden/activations.txt.

The test suite only reads the text file (test/test_golden_activations.cpp); it
never needs torch. Regenerate from the repository root with:

    /usr/bin/python3 test/golden/make_golden_activations.py

Each activation runs in float64 on a batch of 2 examples of shape (3, 4) (kiln's
input<3, 4>: 3 vectors of 4 features; for PReLU's per-feature slopes the last
axis is moved to PyTorch's dim 1, as kiln's slopes go with the last axis).
Inputs and the gradient flowing back are given by formulas the C++ test repeats:

  x  (flat index i over the batch):  4 * sin(0.7 * i + 0.2)
  dy (flat index i):                 cos(0.4 * i + 0.9)
  prelu<1>'s slope:                  0.3
  prelu<4>'s slopes:                 0.1, -0.2, 0.25, 0.6

For each case NAME the file holds NAME.y (the output), NAME.dx (the gradient with
respect to x of sum(dy * y)) and, for PReLU, NAME.dweight (its slopes' gradient).
Every x is at least 0.01 away from 0, where leaky ReLU, ELU and PReLU bend.

File format: lines starting with '#' are comments; every other line is
`name count v1 ... v_count`, values printed with '%.17g'.
"""

import math
import os

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
COMMAND = "/usr/bin/python3 test/golden/make_golden_activations.py"
BATCH, LENGTH, FEATURES = 2, 3, 4
COUNT = BATCH * LENGTH * FEATURES


class LastAxisPReLU(nn.Module):
    """nn.PReLU with its slopes on the last axis (kiln's), by moving it to dim 1."""

    def __init__(self, prelu):
        super().__init__()
        self.prelu = prelu

    def forward(self, x):
        return self.prelu(x.movedim(-1, 1)).movedim(1, -1)


def prelu(slopes):
    module = nn.PReLU(num_parameters=len(slopes)).to(torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(slopes, dtype=torch.float64))
    return LastAxisPReLU(module) if len(slopes) > 1 else module


def cases():
    """name (as the C++ test names it) -> module."""
    return {
        "tanh": nn.Tanh(),
        "sigmoid": nn.Sigmoid(),
        "gelu": nn.GELU(),
        "gelu_tanh": nn.GELU(approximate="tanh"),
        "silu": nn.SiLU(),
        "leaky_relu_default": nn.LeakyReLU(),
        "leaky_relu_negative": nn.LeakyReLU(negative_slope=-0.3),
        "elu_default": nn.ELU(),
        "elu_half": nn.ELU(alpha=0.5),
        "prelu_one": prelu([0.3]),
        "prelu_per_feature": prelu([0.1, -0.2, 0.25, 0.6]),
        "softmax": nn.Softmax(dim=-1),
    }


def line(name, values):
    return f"{name} {len(values)} " + " ".join("%.17g" % v for v in values)


def main():
    x_values = [4 * math.sin(0.7 * i + 0.2) for i in range(COUNT)]
    closest = min(abs(v) for v in x_values)
    assert closest >= 0.01, f"an input is {closest} from 0, where activations bend"
    dy = torch.tensor([math.cos(0.4 * i + 0.9) for i in range(COUNT)],
                      dtype=torch.float64).reshape(BATCH, LENGTH, FEATURES)
    lines = [f"# Written by {COMMAND} (torch {torch.__version__}); see the script's docstring",
             f"# smallest |x|: {closest:.3g}"]
    for name, module in cases().items():
        x = torch.tensor(x_values, dtype=torch.float64).reshape(BATCH, LENGTH, FEATURES)
        x.requires_grad_(True)
        y = module(x)
        (y * dy).sum().backward()
        lines.append(line(name + ".y", y.detach().flatten().tolist()))
        lines.append(line(name + ".dx", x.grad.flatten().tolist()))
        weights = [p for p in module.parameters()]
        if weights:
            lines.append(line(name + ".dweight", weights[0].grad.flatten().tolist()))
    path = os.path.join(HERE, "activations.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
