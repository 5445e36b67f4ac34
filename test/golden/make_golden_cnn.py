#!/usr/bin/env python3
"""Write PyTorch reference values for kiln's CNN tests (test/test_golden_cnn.cpp).

Produces test/golden/small_cnn.txt, cnn2.txt, cnn3.txt and conv_padded.txt,
conv_dilated.txt, conv1d_options.txt (next to this script); the test suite
reads only those files. Regenerate from the repository
root with:

    /usr/bin/python3 test/golden/make_golden_cnn.py [CASE ...]

(every case, or only those named: conv_padded conv_dilated conv1d_options avg_pool
depthwise transposed upsample).

Everything is float64. Images are channels-last in kiln (an example is
height x width x channels, flattened row-major) and channels-first in torch
(NCHW): the script converts, and flattens torch's feature maps in kiln's
(height, width, channel) order before the last linear layer, so that both
compute the same function of the same numbers.

Parameters, in kiln's order and layout, are given by the formula of
make_golden.py: element j of tensor k (flattened row-major) is
0.1 * sin(1.0 + 0.7 * j + 1.3 * k). Tensors: for each layer with parameters,
its weight then its bias. kiln stores
  * conv2d<F, K> weights [K][K][channels][F] (torch: Conv2d.weight [F][channels][K][K]);
  * linear<N> weights [in][N] (torch: Linear.weight [N][in]).
Input x[b][i] = 0.5 + 0.5 * sin(0.3 * i + 1.1 * b), i the flat index in kiln's
layout; label of example b = (3 * b + 1) % classes.

Cases:
  * small_cnn: input 6x5x2, conv2d<3, 2>, relu, max_pool2d<2>, flatten,
    linear<4>; batch 2. Logits, loss, full gradients of the four tensors
    (kiln layout) and the gradient with respect to the input (kiln layout).
  * cnn2: input 28x28 (one channel), conv2d<64, 7>, relu, max_pool2d<2>,
    flatten, linear<10>; batch 3.
  * cnn3: input 28x28, conv2d<64, 7>, relu, max_pool2d<2>, conv2d<128, 2>, relu,
    max_pool2d<2>, flatten, linear<10>; batch 3.
  For cnn2 and cnn3: logits, loss, and per gradient tensor its sum and sum of
  squares (math.fsum) and 64 entries at flattened positions (j * 7919) % size.
  * avg_pool: avg_pool2d and global_avg_pool2d (nn.AvgPool2d, and
    nn.AdaptiveAvgPool2d(1) then nn.Flatten()); every gradient, as small_cnn.
  * conv_padded, conv_dilated, conv1d_options: stride, zero padding (`same`
    and explicit) and dilation, as nn.Conv2d and nn.Conv1d take them; every
    gradient and the input gradient, as small_cnn. A conv1d's example is
    length x channels in kiln, channels x length in torch; its weights are
    [K][channels][F] in kiln, Conv1d.weight [F][channels][K] in torch.
  * depthwise: depthwise_conv2d (nn.Conv2d with groups = channels), multipliers 1
    and 2, `same`, explicit padding, stride and dilation; every gradient, as
    small_cnn. Its weights are [K][K][C*M] in kiln, [C*M][1][K][K] in torch.
  * transposed: conv_transpose2d (nn.ConvTranspose2d) with stride, padding and
    output padding, then plain; every gradient, as small_cnn. Its weights are
    [K][K][F][C] in kiln, ConvTranspose2d.weight [C][F][K][K] in torch.
  * upsample: upsample2d (nn.Upsample(scale_factor, mode='nearest')) around a
    padded conv2d; every gradient, as small_cnn.

Checks before writing: an independent numpy forward pass in kiln's layout
(explicit loops over the kernel, no torch) must give torch's logits; in the
small case, central differences of that numpy pass must give torch's
gradients; and every relu input and max-pool window must be decided by a
margin of at least 1e-7, so that kiln's different summation order cannot
flip a branch.

File format: '#' lines are comments; every other line is
`name count v1 ... v_count`, values as '%.17g'.
"""

import math
import os
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
COMMAND = "/usr/bin/python3 test/golden/make_golden_cnn.py"
NUM_SAMPLES = 64
SAMPLE_STRIDE = 7919
MIN_MARGIN = 1e-7

# A network: input (H, W, C), or (L, C) for a sequence, and its layers,
# ("conv", F, K[, stride, padding, dilation]), ("conv1d", F, K, stride, padding,
# dilation), ("relu",), ("pool", S), ("avgpool", S), ("gap",) (global average
# pooling to a vector of channels), ("dwconv", M, K, stride, padding, dilation)
# (depthwise, M filters per channel), ("convT", F, K, stride, padding, output
# padding) (transposed), ("up", F) (nearest upsampling), ("flatten",), ("linear", N). A padding is
# a count of zeros on each side or "same".
CASES = {
    "small_cnn": dict(input=(6, 5, 2), batch=2, full=True,
                      layers=[("conv", 3, 2), ("relu",), ("pool", 2), ("flatten",),
                              ("linear", 4)]),
    "cnn2": dict(input=(28, 28, 1), batch=3, full=False,
                 layers=[("conv", 64, 7), ("relu",), ("pool", 2), ("flatten",),
                         ("linear", 10)]),
    "cnn3": dict(input=(28, 28, 1), batch=3, full=False,
                 layers=[("conv", 64, 7), ("relu",), ("pool", 2), ("conv", 128, 2), ("relu",),
                         ("pool", 2), ("flatten",), ("linear", 10)]),
    "conv_padded": dict(input=(7, 6, 2), batch=2, full=True,
                        layers=[("conv", 3, 3, 1, "same", 1), ("relu",), ("conv", 4, 2, 2, 1, 1),
                                ("relu",), ("conv", 3, 3, 1, "same", 2), ("flatten",),
                                ("linear", 4)]),
    "conv_dilated": dict(input=(9, 8, 3), batch=2, full=True,
                         layers=[("conv", 4, 3, 1, 0, 2), ("relu",), ("conv", 5, 4, 1, "same", 1),
                                 ("pool", 2), ("flatten",), ("linear", 3)]),
    "avg_pool": dict(input=(7, 6, 2), batch=2, full=True,
                     layers=[("conv", 4, 3, 1, "same", 1), ("relu",), ("avgpool", 2),
                             ("conv", 5, 2), ("relu",), ("gap",), ("linear", 3)]),
    "depthwise": dict(input=(7, 6, 3), batch=2, full=True,
                      layers=[("dwconv", 1, 3, 1, "same", 1), ("relu",), ("conv", 4, 1),
                              ("dwconv", 2, 3, 2, 1, 1), ("relu",), ("dwconv", 1, 2, 1, 0, 2),
                              ("flatten",), ("linear", 3)]),
    "transposed": dict(input=(4, 3, 2), batch=2, full=True,
                       layers=[("convT", 3, 3, 2, 1, 1), ("relu",), ("convT", 2, 2, 2, 0, 0),
                               ("flatten",), ("linear", 3)]),
    "upsample": dict(input=(3, 4, 2), batch=2, full=True,
                     layers=[("up", 2), ("conv", 3, 3, 1, "same", 1), ("relu",), ("up", 2),
                             ("flatten",), ("linear", 3)]),
    "conv1d_options": dict(input=(10, 2), batch=2, full=True,
                           layers=[("conv1d", 3, 3, 2, 1, 1), ("relu",),
                                   ("conv1d", 4, 2, 1, "same", 2), ("relu",),
                                   ("conv1d", 2, 3, 1, 2, 1), ("flatten",), ("linear", 3)]),
}


def conv_options(layer):
    """(filters, kernel, stride, padding, dilation) of a conv or conv1d layer."""
    return tuple(layer[1:]) + (1, 0, 1)[len(layer) - 3:]


def padding_before_after(padding, kernel, dilation):
    """Zeros before and after along one axis, as torch pads: `same` puts the odd one after."""
    if padding == "same":
        total = dilation * (kernel - 1)
        return total // 2, total - total // 2
    return padding, padding


def conv_out(length, kernel, stride, padding, dilation):
    before, after = padding_before_after(padding, kernel, dilation)
    return (length + before + after - dilation * (kernel - 1) - 1) // stride + 1


def param_values(k, shape):
    size = int(np.prod(shape))
    return np.array([0.1 * math.sin(1.0 + 0.7 * j + 1.3 * k) for j in range(size)],
                    dtype=np.float64).reshape(shape)


def make_case(case):
    """kiln-layout parameters (list of arrays), inputs [B][H][W][C] and labels."""
    sequence = len(case["input"]) == 2
    h, w, c = (case["input"][0], 1, case["input"][1]) if sequence else case["input"]
    params = []
    for layer in case["layers"]:
        if layer[0] == "conv":
            f, k, s, p, d = conv_options(layer)
            params.append(param_values(len(params), (k, k, c, f)))
            params.append(param_values(len(params), (f,)))
            h, w, c = conv_out(h, k, s, p, d), conv_out(w, k, s, p, d), f
        elif layer[0] == "dwconv":
            m, k, s, p, d = conv_options(layer)
            params.append(param_values(len(params), (k, k, c * m)))
            params.append(param_values(len(params), (c * m,)))
            h, w, c = conv_out(h, k, s, p, d), conv_out(w, k, s, p, d), c * m
        elif layer[0] == "convT":
            _, f, k, s, p, op = layer
            params.append(param_values(len(params), (k, k, f, c)))
            params.append(param_values(len(params), (f,)))
            h, w, c = (h - 1) * s - 2 * p + k + op, (w - 1) * s - 2 * p + k + op, f
        elif layer[0] == "conv1d":
            f, k, s, p, d = conv_options(layer)
            params.append(param_values(len(params), (k, c, f)))
            params.append(param_values(len(params), (f,)))
            h, c = conv_out(h, k, s, p, d), f
        elif layer[0] in ("pool", "avgpool"):
            h, w = h // layer[1], w // layer[1]
        elif layer[0] == "up":
            h, w = h * layer[1], w * layer[1]
        elif layer[0] == "gap":
            h, w = None, None
        elif layer[0] == "flatten":
            c, h, w = h * w * c, None, None
        elif layer[0] == "linear":
            params.append(param_values(len(params), (c, layer[1])))
            params.append(param_values(len(params), (layer[1],)))
            c = layer[1]
    classes = c
    size = int(np.prod(case["input"]))
    x = np.array([[0.5 + 0.5 * math.sin(0.3 * i + 1.1 * b) for i in range(size)]
                  for b in range(case["batch"])], dtype=np.float64).reshape(-1, *case["input"])
    y = np.array([(3 * b + 1) % classes for b in range(case["batch"])], dtype=np.int64)
    return params, x, y


# ----------------------------------------------------------------------------
# torch, channels-first, with the layout conversions
# ----------------------------------------------------------------------------

class KilnOrderFlatten(nn.Module):
    """Flattens NCHW maps (or NCL sequences) in kiln's channels-last order."""

    def forward(self, x):
        if x.dim() == 3:
            return x.permute(0, 2, 1).flatten(1)
        return x.permute(0, 2, 3, 1).flatten(1)


def torch_reference(case, params, x, y):
    modules, loaded = [], []
    channels = case["input"][-1]
    it = iter(params)

    def load(kind, module, to_torch_layout):
        """The next weight and bias (kiln's layout) into a torch convolution."""
        module = module.double()
        weight, bias = next(it), next(it)
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(to_torch_layout(weight).copy()))
            module.bias.copy_(torch.from_numpy(bias))
        modules.append(module)
        loaded.append((kind, module))
    for layer in case["layers"]:
        if layer[0] == "conv1d":
            f, k, s, p, d = conv_options(layer)
            # kiln [K][C][F] -> torch [F][C][K]
            load("conv1d", nn.Conv1d(channels, f, k, stride=s, padding=p, dilation=d),
                 lambda weight: weight.transpose(2, 1, 0))
            channels = f
        elif layer[0] == "conv":
            f, k, s, p, d = conv_options(layer)
            # kiln [K][K][C][F] -> torch [F][C][K][K]
            load("conv", nn.Conv2d(channels, f, k, stride=s, padding=p, dilation=d),
                 lambda weight: weight.transpose(3, 2, 0, 1))
            channels = f
        elif layer[0] == "dwconv":
            m, k, s, p, d = conv_options(layer)
            # kiln [K][K][C*M] -> torch [C*M][1][K][K]
            load("dwconv", nn.Conv2d(channels, channels * m, k, stride=s, padding=p, dilation=d,
                                     groups=channels),
                 lambda weight: weight.transpose(2, 0, 1)[:, None])
            channels *= m
        elif layer[0] == "convT":
            _, f, k, s, p, op = layer
            # kiln [K][K][F][C] -> torch [C][F][K][K]
            load("convT", nn.ConvTranspose2d(channels, f, k, stride=s, padding=p,
                                             output_padding=op),
                 lambda weight: weight.transpose(3, 2, 0, 1))
            channels = f
        elif layer[0] == "relu":
            modules.append(nn.ReLU())
        elif layer[0] == "pool":
            modules.append(nn.MaxPool2d(layer[1]))
        elif layer[0] == "avgpool":
            modules.append(nn.AvgPool2d(layer[1]))
        elif layer[0] == "up":
            modules.append(nn.Upsample(scale_factor=layer[1], mode="nearest"))
        elif layer[0] == "gap":
            modules += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        elif layer[0] == "flatten":
            modules.append(KilnOrderFlatten())
        elif layer[0] == "linear":
            weight, bias = next(it), next(it)
            linear = nn.Linear(weight.shape[0], weight.shape[1]).double()
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(weight.T.copy()))  # kiln [in][out]
                linear.bias.copy_(torch.from_numpy(bias))
            modules.append(linear)
            loaded.append(("linear", linear))
    model = nn.Sequential(*modules)

    # NHWC -> NCHW, NLC -> NCL
    order = (0, 2, 1) if x.ndim == 3 else (0, 3, 1, 2)
    xt = torch.from_numpy(x.transpose(*order).copy()).requires_grad_(True)
    logits = model(xt)
    loss = nn.functional.cross_entropy(logits, torch.from_numpy(y))  # mean over the batch
    loss.backward()

    grads = []
    for kind, module in loaded:
        g = module.weight.grad.numpy()
        if kind in ("conv", "convT"):
            grads.append(g.transpose(2, 3, 1, 0).copy())
        elif kind == "dwconv":
            grads.append(g[:, 0].transpose(1, 2, 0).copy())
        elif kind == "conv1d":
            grads.append(g.transpose(2, 1, 0).copy())
        else:
            grads.append(g.T.copy())
        grads.append(module.bias.grad.numpy().copy())
    back = (0, 2, 1) if x.ndim == 3 else (0, 2, 3, 1)
    grad_x = xt.grad.numpy().transpose(*back).copy()  # back to kiln's channels last
    return logits.detach().numpy().copy(), loss.item(), grads, grad_x


# ----------------------------------------------------------------------------
# Independent numpy forward pass in kiln's layout, and the branch margins
# ----------------------------------------------------------------------------

def padded_taps(a, k, s, p, d):
    """(di, dj, the image's values under tap (di, dj) at every output pixel), zero padded."""
    before, after = padding_before_after(p, k, d)
    a = np.pad(a, ((0, 0), (before, after), (before, after), (0, 0)))
    _, h, w, _ = a.shape
    oh, ow = conv_out(h, k, s, 0, d), conv_out(w, k, s, 0, d)
    for di in range(k):
        for dj in range(k):
            yield di, dj, a[:, di * d:di * d + s * (oh - 1) + 1:s,
                            dj * d:dj * d + s * (ow - 1) + 1:s, :]


def numpy_forward(case, params, x, y, margins=None):
    """Logits and mean loss; appends to `margins` how far each branch is decided."""
    a = x
    it = iter(params)
    for layer in case["layers"]:
        if layer[0] == "conv":
            f, k, s, p, d = conv_options(layer)
            weight, bias = next(it), next(it)
            a = bias + sum(taps @ weight[di, dj] for di, dj, taps in padded_taps(a, k, s, p, d))
        elif layer[0] == "dwconv":
            m, k, s, p, d = conv_options(layer)
            weight, bias = next(it), next(it)
            # Channel c feeds outputs c * M ... c * M + M - 1.
            a = bias + sum(np.repeat(taps, m, axis=3) * weight[di, dj]
                           for di, dj, taps in padded_taps(a, k, s, p, d))
        elif layer[0] == "convT":
            # Every input pixel spreads its kernel over the output, Stride apart; the
            # padding is then cut from each side.
            _, f, k, s, p, op = layer
            weight, bias = next(it), next(it)
            b, h, w, _ = a.shape
            full = np.zeros((b, (h - 1) * s + k + op, (w - 1) * s + k + op, f))
            for di in range(k):
                for dj in range(k):
                    full[:, di:di + s * (h - 1) + 1:s, dj:dj + s * (w - 1) + 1:s, :] += \
                        a @ weight[di, dj].T
            a = full[:, p:full.shape[1] - p, p:full.shape[2] - p, :] + bias
        elif layer[0] == "conv1d":
            f, k, s, p, d = conv_options(layer)
            weight, bias = next(it), next(it)
            before, after = padding_before_after(p, k, d)
            a = np.pad(a, ((0, 0), (before, after), (0, 0)))
            b, length, _ = a.shape
            ol = conv_out(length, k, s, 0, d)
            out = np.zeros((b, ol, f)) + bias
            for dk in range(k):
                out += a[:, dk * d:dk * d + s * (ol - 1) + 1:s, :] @ weight[dk]
            a = out
        elif layer[0] == "relu":
            if margins is not None:
                margins.append(np.min(np.abs(a)))
            a = np.maximum(a, 0.0)
        elif layer[0] == "pool":
            s = layer[1]
            b, h, w, c = a.shape
            windows = a[:, :h // s * s, :w // s * s, :].reshape(b, h // s, s, w // s, s, c)
            windows = windows.transpose(0, 1, 3, 5, 2, 4).reshape(b, h // s, w // s, c, s * s)
            if margins is not None:
                top = np.sort(windows, axis=-1)
                # A tie at zero (relu'd values) is harmless: every candidate is exactly 0.
                gap = top[..., -1] - top[..., -2]
                margins.append(np.min(np.where(top[..., -1] == 0.0, np.inf, gap)))
            a = windows.max(axis=-1)
        elif layer[0] == "avgpool":
            s = layer[1]
            b, h, w, c = a.shape
            windows = a[:, :h // s * s, :w // s * s, :].reshape(b, h // s, s, w // s, s, c)
            a = windows.mean(axis=(2, 4))
        elif layer[0] == "gap":
            a = a.mean(axis=(1, 2))
        elif layer[0] == "up":
            a = a.repeat(layer[1], axis=1).repeat(layer[1], axis=2)
        elif layer[0] == "flatten":
            a = a.reshape(a.shape[0], -1)
        elif layer[0] == "linear":
            weight, bias = next(it), next(it)
            a = a @ weight + bias
    z = a - a.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return a, -logp[np.arange(len(y)), y].mean()


def cross_check(name, case, params, x, y, out):
    logits, loss, grads, _ = out
    margins = []
    np_logits, np_loss = numpy_forward(case, params, x, y, margins)
    err = float(np.max(np.abs(np_logits - logits) / (np.abs(logits) + 1e-6)))
    if err > 1e-10 or abs(np_loss - loss) > 1e-10 * max(1.0, abs(loss)):
        sys.exit(f"error: {name}: torch and the numpy forward pass disagree (rel err {err:.3g})")
    margin = min(margins)
    if margin < MIN_MARGIN:
        sys.exit(f"error: {name}: a relu or max-pool branch is decided by only {margin:.3g}")
    message = f"{name}: torch matches numpy's forward pass (max rel err {err:.2g}); " \
              f"smallest branch margin {margin:.3g}"
    if case["full"]:
        # Central differences of the numpy pass against torch's gradients, all of them.
        worst = 0.0
        eps = 1e-6
        for k, p in enumerate(params):
            flat = p.reshape(-1)
            for j in range(flat.size):
                saved = flat[j]
                flat[j] = saved + eps
                plus = numpy_forward(case, params, x, y)[1]
                flat[j] = saved - eps
                minus = numpy_forward(case, params, x, y)[1]
                flat[j] = saved
                numeric = (plus - minus) / (2 * eps)
                g = grads[k].reshape(-1)[j]
                worst = max(worst, abs(g - numeric) / max(abs(g), abs(numeric), 1e-3))
        if worst > 1e-6:
            sys.exit(f"error: {name}: torch's gradients and numpy's central differences "
                     f"disagree (rel err {worst:.3g})")
        message += f"; gradients match central differences (max rel err {worst:.2g})"
    print(message)


# ----------------------------------------------------------------------------
# Output (as make_golden.py)
# ----------------------------------------------------------------------------

def fmt_line(name, values):
    values = list(np.asarray(values).ravel())
    return " ".join([name, str(len(values))] + ["%.17g" % v for v in values])


def describe(case):
    def conv_name(kind, layer, defaults=(1, 0, 1)):
        shown = [str(v) for v in layer[1:]]
        while len(shown) > 2 and shown[-1] == str(defaults[len(shown) - 3]):
            shown.pop()
        return f"{kind}<" + ", ".join(shown) + ">"

    names = {"conv": lambda l: conv_name("conv2d", l),
             "dwconv": lambda l: conv_name("depthwise_conv2d", l),
             "convT": lambda l: conv_name("conv_transpose2d", l, (1, 0, 0)), "conv1d": lambda l: conv_name("conv1d", l),
             "relu": lambda l: "relu", "avgpool": lambda l: f"avg_pool2d<{l[1]}>",
             "gap": lambda l: "global_avg_pool2d", "up": lambda l: f"upsample2d<{l[1]}>",
             "pool": lambda l: f"max_pool2d<{l[1]}>", "flatten": lambda l: "flatten",
             "linear": lambda l: f"linear<{l[1]}>"}
    shape = ", ".join(str(v) for v in case["input"])
    return f"input<{shape}>, " + ", ".join(names[l[0]](l) for l in case["layers"])


def write_case(name, case, entries):
    path = os.path.join(HERE, name + ".txt")
    header = [f"# kiln golden values: {describe(case)}; batch {case['batch']}",
              f"# produced by: {COMMAND}",
              f"# torch {torch.__version__}, numpy {np.__version__}, float64",
              "# layout: kiln's (conv weights [K][K][C][F], conv1d [K][C][F], linear [in][out], "
              "images HWC);",
              "# param k element j = 0.1 * sin(1.0 + 0.7 j + 1.3 k); x[b][i] = 0.5 + 0.5 * "
              "sin(0.3 i + 1.1 b);",
              "# label b = (3 b + 1) % classes; samples at (j * 7919) % size, j = 0..63"]
    text = "\n".join(header + [fmt_line(n, v) for n, v in entries.items()]) + "\n"
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path} ({len(text)} bytes)")
    if len(text) >= 100_000:
        sys.exit(f"error: {path} is {len(text)} bytes, over the 100 KB limit")
    # Read back as C++ would and compare bit for bit.
    with open(path) as f:
        parsed = {t[0]: np.array([float(v) for v in t[2:]])
                  for t in (line.split() for line in f if not line.startswith("#"))}
    for key, values in entries.items():
        if not np.array_equal(parsed[key], np.asarray(values, dtype=np.float64).ravel()):
            sys.exit(f"error: {path}: round trip of {key} is not exact")


def main():
    # Names of cases to write (all by default): regenerating one file leaves the others'
    # bits as they are (torch's last digits vary between builds).
    wanted = sys.argv[1:] or list(CASES)
    unknown = [name for name in wanted if name not in CASES]
    if unknown:
        sys.exit(f"error: no case {', '.join(unknown)}; the cases are {', '.join(CASES)}")
    torch.set_num_threads(1)
    for name in wanted:
        case = CASES[name]
        params, x, y = make_case(case)
        out = torch_reference(case, params, x, y)
        cross_check(name, case, params, x, y, out)
        logits, loss, grads, grad_x = out
        entries = {"logits": logits, "loss": [loss]}
        for k, g in enumerate(grads):
            flat = g.ravel()
            if case["full"]:
                entries[f"grad{k}"] = flat
                continue
            positions = [(j * SAMPLE_STRIDE) % flat.size for j in range(NUM_SAMPLES)]
            entries[f"grad{k}_sum"] = [math.fsum(flat)]
            entries[f"grad{k}_sumsq"] = [math.fsum(flat * flat)]
            entries[f"grad{k}_positions"] = positions
            entries[f"grad{k}_values"] = flat[positions]
        if case["full"]:
            entries["grad_input"] = grad_x
        write_case(name, case, entries)


if __name__ == "__main__":
    main()
