#!/usr/bin/env python3
"""Write PyTorch reference values for kiln's whole-network tests.

Produces test/golden/small.txt and test/golden/mlp.txt (next to this script).
The test suite only reads those text files; it never needs torch. Regenerate
from the repository root with:

    /usr/bin/python3 test/golden/make_golden.py

Network: Linear -> ReLU -> Linear, loss = mean softmax cross-entropy over the
batch, everything in float64. All inputs are given by closed-form formulas so
that C++ can regenerate them without reading a weight file:

  * Parameters in kiln's order: k = 0 layer 1's W, k = 1 layer 1's b,
    k = 2 layer 2's W, k = 3 layer 2's b. kiln stores a linear layer's W as
    [in][out] row-major (y = x W + b), the transpose of torch's
    nn.Linear.weight. Element j of tensor k (flattened row-major in kiln's
    layout) is   0.1 * sin(1.0 + 0.7 * j + 1.3 * k).
  * Input x[b][i] = 0.5 + 0.5 * sin(0.3 * i + 1.1 * b).
  * Label of example b = (3 * b + 1) % classes.

Cases:
  * small: 12 -> 8 -> 5, batch 3: logits, loss, full gradients of all four
    tensors (kiln's layout) and the gradient with respect to the input.
  * mlp: 784 -> 128 -> 10, batch 4: logits, loss, and per gradient tensor its
    sum, sum of squares and 64 entries at flattened positions (j * 7919) % size,
    j = 0..63.

File format: lines starting with '#' are comments; every other line is
`name count v1 ... v_count`, values printed with '%.17g'.

Before writing, the small case is cross-checked against an independent,
hand-written numpy forward/backward pass (the script aborts on disagreement).
"""

import math
import os
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
COMMAND = "/usr/bin/python3 test/golden/make_golden.py"
NUM_SAMPLES = 64  # sampled gradient entries per tensor in the mlp case
SAMPLE_STRIDE = 7919  # position of sample j is (j * 7919) % size

FORMULAS = """\
Network: Linear(in, hidden) -> ReLU -> Linear(hidden, classes); loss = mean
softmax cross-entropy over the batch; all arithmetic in float64.
Parameters in kiln's order and layout: k = 0 layer 1 W [in][out] row-major,
k = 1 layer 1 b [hidden], k = 2 layer 2 W [hidden][classes] row-major,
k = 3 layer 2 b [classes]. (kiln's W is the transpose of torch's
nn.Linear.weight.)
  param k, flattened element j:  0.1 * sin(1.0 + 0.7 * j + 1.3 * k)
  input x[b][i]:                 0.5 + 0.5 * sin(0.3 * i + 1.1 * b)
  label of example b:            (3 * b + 1) % classes
Sampled positions (mlp case):    (j * 7919) % size, j = 0..63
Line format: name count v1 ... v_count (values as %.17g); '#' = comment."""


# ----------------------------------------------------------------------------
# Deterministic inputs (math.sin = the C library's sin, as std::sin in C++)
# ----------------------------------------------------------------------------

def param_values(k, size):
    """Tensor k of the network, flattened in kiln's row-major layout."""
    return np.array([0.1 * math.sin(1.0 + 0.7 * j + 1.3 * k) for j in range(size)],
                    dtype=np.float64)


def make_inputs(n_in, n_hidden, n_classes, batch):
    """Return kiln-layout parameters [W1, b1, W2, b2], inputs x and labels y."""
    shapes = [(n_in, n_hidden), (n_hidden,), (n_hidden, n_classes), (n_classes,)]
    params = [param_values(k, int(np.prod(s))).reshape(s) for k, s in enumerate(shapes)]
    x = np.array([[0.5 + 0.5 * math.sin(0.3 * i + 1.1 * b) for i in range(n_in)]
                  for b in range(batch)], dtype=np.float64)
    y = np.array([(3 * b + 1) % n_classes for b in range(batch)], dtype=np.int64)
    return params, x, y


# ----------------------------------------------------------------------------
# Reference forward/backward with torch
# ----------------------------------------------------------------------------

def torch_reference(params, x, y):
    """Logits, loss, gradients of the four tensors (kiln layout) and of x."""
    w1, b1, w2, b2 = params
    n_in, n_hidden = w1.shape
    n_classes = w2.shape[1]
    lin1 = nn.Linear(n_in, n_hidden).double()
    lin2 = nn.Linear(n_hidden, n_classes).double()
    with torch.no_grad():
        # torch's weight is [out][in]: the transpose of kiln's [in][out].
        lin1.weight.copy_(torch.from_numpy(w1.T.copy()))
        lin1.bias.copy_(torch.from_numpy(b1))
        lin2.weight.copy_(torch.from_numpy(w2.T.copy()))
        lin2.bias.copy_(torch.from_numpy(b2))
    model = nn.Sequential(lin1, nn.ReLU(), lin2)

    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    logits = model(xt)
    loss = nn.functional.cross_entropy(logits, torch.from_numpy(y))  # mean
    loss.backward()

    grads = [lin1.weight.grad.T.numpy().copy(),  # back to kiln's [in][out]
             lin1.bias.grad.numpy().copy(),
             lin2.weight.grad.T.numpy().copy(),
             lin2.bias.grad.numpy().copy()]
    return logits.detach().numpy().copy(), loss.item(), grads, xt.grad.numpy().copy()


# ----------------------------------------------------------------------------
# Independent check: hand-written numpy backprop
# ----------------------------------------------------------------------------

def numpy_reference(params, x, y):
    """The same quantities by hand: y = x W + b layout, explicit backprop."""
    w1, b1, w2, b2 = params
    batch = x.shape[0]
    a1 = x @ w1 + b1
    h = np.maximum(a1, 0.0)
    z = h @ w2 + b2
    zs = z - z.max(axis=1, keepdims=True)
    logp = zs - np.log(np.exp(zs).sum(axis=1, keepdims=True))
    loss = -logp[np.arange(batch), y].mean()
    # d loss / d z = (softmax - onehot) / batch
    dz = np.exp(logp)
    dz[np.arange(batch), y] -= 1.0
    dz /= batch
    dw2 = h.T @ dz
    db2 = dz.sum(axis=0)
    dh = dz @ w2.T
    da1 = dh * (a1 > 0.0)
    dw1 = x.T @ da1
    db1 = da1.sum(axis=0)
    dx = da1 @ w1.T
    return z, loss, [dw1, db1, dw2, db2], dx


def cross_check(name, torch_out, numpy_out, tol=1e-12):
    """Abort if torch and the hand-written numpy pass disagree."""
    labels = ["logits", "loss", "grad0", "grad1", "grad2", "grad3", "grad_input"]
    t = [torch_out[0], torch_out[1], *torch_out[2], torch_out[3]]
    n = [numpy_out[0], numpy_out[1], *numpy_out[2], numpy_out[3]]
    worst = 0.0
    for label, a, b in zip(labels, t, n):
        a, b = np.asarray(a), np.asarray(b)
        err = float(np.max(np.abs(a - b) / (np.abs(b) + 1e-6)))
        worst = max(worst, err)
        if err > tol:
            sys.exit(f"error: {name}: torch and numpy disagree on {label} (rel err {err:.3g})")
    print(f"{name}: torch matches hand-written numpy backprop (max rel err {worst:.2g})")


# ----------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------

def fmt_line(name, values):
    """`name count v1 ... v_count` with %.17g values (integers stay integers)."""
    values = list(np.asarray(values).ravel())
    return " ".join([name, str(len(values))] + ["%.17g" % v for v in values])


def write_file(path, description, lines):
    header = [f"# kiln golden values: {description}",
              f"# produced by: {COMMAND}",
              f"# torch {torch.__version__}, numpy {np.__version__}, float64"]
    header += ["# " + s if s else "#" for s in FORMULAS.splitlines()]
    text = "\n".join(header + lines) + "\n"
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path} ({len(text)} bytes)")
    if len(text) >= 100_000:
        sys.exit(f"error: {path} is {len(text)} bytes, over the 100 KB limit")


def check_roundtrip(path, expected):
    """Parse the written file back as C++ would and compare bit for bit."""
    parsed = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            tok = line.split()
            count = int(tok[1])
            assert len(tok) == 2 + count, f"{path}: bad count on line {tok[0]}"
            parsed[tok[0]] = np.array([float(v) for v in tok[2:]])
    for name, values in expected.items():
        if not np.array_equal(parsed[name], np.asarray(values, dtype=np.float64).ravel()):
            sys.exit(f"error: {path}: round trip of {name} is not exact")


# ----------------------------------------------------------------------------
# The two cases
# ----------------------------------------------------------------------------

def small_case():
    params, x, y = make_inputs(12, 8, 5, batch=3)
    out = torch_reference(params, x, y)
    cross_check("small", out, numpy_reference(params, x, y))
    logits, loss, grads, grad_x = out
    entries = {"logits": logits, "loss": [loss]}
    entries.update({f"grad{k}": g for k, g in enumerate(grads)})
    entries["grad_input"] = grad_x
    path = os.path.join(HERE, "small.txt")
    write_file(path, "small case, sizes 12 -> 8 -> 5, batch 3; full gradients "
               "(kiln layout, row-major) and grad_input [batch][12]",
               [fmt_line(n, v) for n, v in entries.items()])
    check_roundtrip(path, entries)


def mlp_case():
    params, x, y = make_inputs(784, 128, 10, batch=4)
    out = torch_reference(params, x, y)
    cross_check("mlp", out, numpy_reference(params, x, y), tol=1e-10)
    logits, loss, grads, _ = out
    entries = {"logits": logits, "loss": [loss]}
    for k, g in enumerate(grads):
        flat = g.ravel()  # row-major, kiln layout
        positions = [(j * SAMPLE_STRIDE) % flat.size for j in range(NUM_SAMPLES)]
        entries[f"grad{k}_sum"] = [math.fsum(flat)]  # exactly rounded sums
        entries[f"grad{k}_sumsq"] = [math.fsum(flat * flat)]
        entries[f"grad{k}_positions"] = positions
        entries[f"grad{k}_values"] = flat[positions]
    path = os.path.join(HERE, "mlp.txt")
    write_file(path, "course MLP, sizes 784 -> 128 -> 10, batch 4; per gradient "
               "tensor: sum, sum of squares (math.fsum), 64 sampled entries",
               [fmt_line(n, v) for n, v in entries.items()])
    check_roundtrip(path, entries)


def main():
    torch.set_num_threads(1)
    small_case()
    mlp_case()


if __name__ == "__main__":
    main()
