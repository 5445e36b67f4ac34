#!/usr/bin/env python3
"""Write PyTorch reference values for kiln's gru and lstm: test/golden/recurrent.txt.

The test suite only reads the text file (test/test_recurrent.cpp); it never needs
torch. Regenerate from the repository root with:

    /usr/bin/python3 test/golden/make_golden_recurrent.py

nn.GRU and nn.LSTM (one layer, batch_first, zero initial state) run in float64 on
a batch of 2 sequences of length 3 with 4 features, hidden size 5. Every number
is given by a formula the C++ test repeats:

  parameter tensor k in PyTorch's order (weight_ih_l0, weight_hh_l0, bias_ih_l0,
  bias_hh_l0), element j of it flattened in PyTorch's layout:
                                     0.4 * sin(1.0 + 0.7 * j + 1.3 * k)
  x  (flat index i over the batch):  sin(0.3 * i + 0.5)
  dy (flat index i):                 cos(0.4 * i + 0.9)

For each layer NAME (gru, lstm) and mode (every: the output of every step, the
objective sum(dy * y); last: h_n alone, y of shape (2, 5), and dy indexed over
it), the file holds NAME.MODE.y, NAME.MODE.dx and NAME.MODE.d<tensor>
for the four tensors in PyTorch's layout.

File format: lines starting with '#' are comments; every other line is
`name count v1 ... v_count`, values printed with '%.17g'.
"""

import math
import os

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
COMMAND = "/usr/bin/python3 test/golden/make_golden_recurrent.py"
BATCH, LENGTH, FEATURES, HIDDEN = 2, 3, 4, 5
TENSORS = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]


def line(name, values):
    return f"{name} {len(values)} " + " ".join("%.17g" % v for v in values)


def module(kind):
    layer = kind(FEATURES, HIDDEN, batch_first=True).to(torch.float64)
    with torch.no_grad():
        for k, name in enumerate(TENSORS):
            tensor = getattr(layer, name)
            values = [0.4 * math.sin(1.0 + 0.7 * j + 1.3 * k) for j in range(tensor.numel())]
            tensor.copy_(torch.tensor(values, dtype=torch.float64).reshape(tensor.shape))
    return layer


def main():
    count = BATCH * LENGTH * FEATURES
    lines = [f"# Written by {COMMAND} (torch {torch.__version__}); see the script's docstring"]
    for name, kind in [("gru", nn.GRU), ("lstm", nn.LSTM)]:
        for mode in ["every", "last"]:
            layer = module(kind)
            x = torch.tensor([math.sin(0.3 * i + 0.5) for i in range(count)],
                             dtype=torch.float64).reshape(BATCH, LENGTH, FEATURES)
            x.requires_grad_(True)
            out, _ = layer(x)
            y = out if mode == "every" else out[:, -1, :]
            dy = torch.tensor([math.cos(0.4 * i + 0.9) for i in range(y.numel())],
                              dtype=torch.float64).reshape(y.shape)
            (y * dy).sum().backward()
            prefix = f"{name}.{mode}."
            lines.append(line(prefix + "y", y.detach().flatten().tolist()))
            lines.append(line(prefix + "dx", x.grad.flatten().tolist()))
            for tensor in TENSORS:
                grad = getattr(layer, tensor).grad
                lines.append(line(prefix + "d" + tensor, grad.flatten().tolist()))
    path = os.path.join(HERE, "recurrent.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
