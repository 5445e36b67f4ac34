#!/usr/bin/env python3
"""Write PyTorch reference values for kiln's batch_norm: test/golden/norm.txt.

The test suite only reads the text file (test/test_regularisation.cpp); it never
needs torch. Regenerate from the repository root with:

    /usr/bin/python3 test/golden/make_golden_norm.py

Cases, all in float64 (kiln's order is channels-last; PyTorch's is NCHW, so the
script moves the channel axis to dim 1 and back):

  vector  nn.BatchNorm1d(5) on a batch of 4 vectors of 5 features
          (kiln::input<5>, kiln::batch_norm<>)
  image   nn.BatchNorm2d(3, momentum=0.3, eps=1e-3) on a batch of 3 images of
          2 x 3 pixels and 3 channels (kiln::input<2, 3, 3>, kiln::batch_norm<0.3, 1e-3>)

Values are given in kiln's order (flat index i over the batch, channels last) by
formulas the C++ test repeats:

  x      (training pass t = 0, 1):  3 * sin(0.7 * i + 0.2 + t) + 0.5 * (i % C)
  dy     (flat index i):            cos(0.4 * i + 0.9)
  gamma  (channel c):               1 + 0.1 * c
  beta   (channel c):               0.2 - 0.05 * c

For each case NAME the file holds, after two forward passes in training mode
(t = 0, then t = 1; the second one is back-propagated):
  NAME.y              the second training pass's output
  NAME.dx             d sum(dy * y) / d x of that pass
  NAME.dweight        gamma's gradient, NAME.dbias beta's
  NAME.running_mean   the running statistics after both passes
  NAME.running_var
  NAME.eval_y         the output of an evaluation pass on the t = 0 input
  NAME.eval_dx        its input gradient for the same dy

File format: lines starting with '#' are comments; every other line is
`name count v1 ... v_count`, values printed with '%.17g'.
"""

import math
import os

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
COMMAND = "/usr/bin/python3 test/golden/make_golden_norm.py"


def line(name, values):
    return f"{name} {len(values)} " + " ".join("%.17g" % v for v in values)


def kiln_values(shape, formula):
    """A tensor in kiln's order (batch, ..., channels) from formula(flat index)."""
    count = math.prod(shape)
    return torch.tensor([formula(i) for i in range(count)], dtype=torch.float64).reshape(shape)


def to_torch(t):
    """kiln's channels-last to PyTorch's channels at dim 1."""
    return t.movedim(-1, 1) if t.dim() > 2 else t


def to_kiln(t):
    return t.movedim(1, -1) if t.dim() > 2 else t


def case(name, module, shape):
    channels = shape[-1]
    with torch.no_grad():
        module.weight.copy_(torch.tensor([1 + 0.1 * c for c in range(channels)]))
        module.bias.copy_(torch.tensor([0.2 - 0.05 * c for c in range(channels)]))

    def x_at(t):
        return kiln_values(shape, lambda i: 3 * math.sin(0.7 * i + 0.2 + t) + 0.5 * (i % channels))

    dy = to_torch(kiln_values(shape, lambda i: math.cos(0.4 * i + 0.9)))
    lines = []
    module.train()
    module(to_torch(x_at(0)))
    x = to_torch(x_at(1)).requires_grad_(True)
    y = module(x)
    (y * dy).sum().backward()
    lines.append(line(name + ".y", to_kiln(y.detach()).flatten().tolist()))
    lines.append(line(name + ".dx", to_kiln(x.grad).flatten().tolist()))
    lines.append(line(name + ".dweight", module.weight.grad.tolist()))
    lines.append(line(name + ".dbias", module.bias.grad.tolist()))
    lines.append(line(name + ".running_mean", module.running_mean.tolist()))
    lines.append(line(name + ".running_var", module.running_var.tolist()))
    assert int(module.num_batches_tracked) == 2
    module.eval()
    x = to_torch(x_at(0)).requires_grad_(True)
    y = module(x)
    (y * dy).sum().backward()
    lines.append(line(name + ".eval_y", to_kiln(y.detach()).flatten().tolist()))
    lines.append(line(name + ".eval_dx", to_kiln(x.grad).flatten().tolist()))
    return lines


def main():
    torch.set_default_dtype(torch.float64)
    lines = [f"# Written by {COMMAND} (torch {torch.__version__}); see the script's docstring"]
    lines += case("vector", nn.BatchNorm1d(5), (4, 5))
    lines += case("image", nn.BatchNorm2d(3, momentum=0.3, eps=1e-3), (3, 2, 3, 3))
    path = os.path.join(HERE, "norm.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
