#!/usr/bin/env python3
"""Write PyTorch reference values for kiln's losses: test/golden/losses.txt.

The test suite only reads the text file (test/test_losses.cpp); it never needs
torch. Regenerate from the repository root with:

    /usr/bin/python3 test/golden/make_golden_losses.py

Every loss runs in float64 with PyTorch's default reduction (mean) on a batch of
3. Outputs, targets and labels are given by formulas the C++ test repeats (flat
index i over the batch, example b):

  regression and binary cross-entropy: outputs of shape (2, 4) per example
    output z[i]:                 3 * sin(0.9 * i + 0.3)
    target t[i] (MSE, L1):       2 * cos(0.5 * i + 0.1)
    label y[i] (BCE, 0 or 1):    1 if (5 * i + 2) % 3 == 0 else 0
  softmax cross-entropy with label smoothing: 5 logits per example
    logit z[i]:                  3 * sin(0.9 * i + 0.3)
    label of example b:          (3 * b + 1) % 5
    smoothing:                   0.1 ("smoothed_0.1") and 0.25 ("smoothed_0.25")

For each case NAME the file holds NAME.loss and NAME.grad (the gradient of the
loss with respect to the outputs, flat). No output equals its target (L1 bends
there; the smallest gap is printed).

File format: lines starting with '#' are comments; every other line is
`name count v1 ... v_count`, values printed with '%.17g'.
"""

import math
import os

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
COMMAND = "/usr/bin/python3 test/golden/make_golden_losses.py"
BATCH, ROWS, COLUMNS, CLASSES = 3, 2, 4, 5


def line(name, values):
    return f"{name} {len(values)} " + " ".join("%.17g" % v for v in values)


def outputs(count):
    return [3 * math.sin(0.9 * i + 0.3) for i in range(count)]


def case(name, loss, z_values, shape, target):
    z = torch.tensor(z_values, dtype=torch.float64).reshape(shape)
    z.requires_grad_(True)
    value = loss(z, target)
    value.backward()
    return [line(name + ".loss", [value.item()]), line(name + ".grad", z.grad.flatten().tolist())]


def main():
    count = BATCH * ROWS * COLUMNS
    z = outputs(count)
    t = [2 * math.cos(0.5 * i + 0.1) for i in range(count)]
    gap = min(abs(a - b) for a, b in zip(z, t))
    assert gap > 1e-3, f"an output is {gap} from its target, where L1 bends"
    y = [1.0 if (5 * i + 2) % 3 == 0 else 0.0 for i in range(count)]
    shape = (BATCH, ROWS, COLUMNS)
    targets = torch.tensor(t, dtype=torch.float64).reshape(shape)
    labels = torch.tensor(y, dtype=torch.float64).reshape(shape)
    lines = [f"# Written by {COMMAND} (torch {torch.__version__}); see the script's docstring",
             f"# smallest |output - target|: {gap:.3g}"]
    lines += case("mean_squared_error", nn.MSELoss(), z, shape, targets)
    lines += case("mean_absolute_error", nn.L1Loss(), z, shape, targets)
    lines += case("binary_cross_entropy_with_logits", nn.BCEWithLogitsLoss(), z, shape, labels)

    classes = torch.tensor([(3 * b + 1) % CLASSES for b in range(BATCH)])
    logits = outputs(BATCH * CLASSES)
    for smoothing in (0.1, 0.25):
        lines += case(f"smoothed_{smoothing}", nn.CrossEntropyLoss(label_smoothing=smoothing),
                      logits, (BATCH, CLASSES), classes)
    path = os.path.join(HERE, "losses.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
