#!/usr/bin/env python3
"""Write PyTorch reference values for kiln's training controls.

Produces test/golden/controls.txt (next to this script), read by
test/test_training_controls.cpp. Regenerate from the repository root with:

    /usr/bin/python3 test/golden/make_golden_controls.py

Contents:
  * Learning-rate schedules, base rate 0.1: the rate of step t, t = 0.. (the
    optimizer's lr before its t-th step, as torch.optim.lr_scheduler sets it):
      step_decay      StepLR(step_size=3, gamma=0.5)
      cosine          CosineAnnealingLR(T_max=10, eta_min=0.001)
      linear_warmup   LinearLR(start_factor=0.25, end_factor=1.0, total_iters=4)
      linear_decay    LinearLR(start_factor=1.0, end_factor=0.5, total_iters=5)
      warmup_cosine   SequentialLR([LinearLR(0.25, 1.0, 4),
                                    CosineAnnealingLR(T_max=6, eta_min=0.001)], [4])
  * Clipping on make_golden.py's small network (12 -> 8 -> 5, batch 3, the same
    formulas for weights, inputs and labels, float64): the gradients (kiln's
    layout), their global norm, and the gradients after
    torch.nn.utils.clip_grad_norm_(max_norm = 0.25).
  * A run: five AdamW steps (lr 0.01, weight decay 0.01) on that batch, each
    clipped to max_norm 0.25, under SequentialLR of LinearLR(0.5, 1.0, 2) and
    CosineAnnealingLR(T_max=3, eta_min=1e-4): every step's norm before clipping,
    and the parameters after the last step (kiln's layout).

File format: as test/golden/README.md ('#' comments, `name count v1 ...`, %.17g).
"""

import math
import os
import sys
import warnings

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_golden import fmt_line, make_inputs  # noqa: E402  (the same formulas)

COMMAND = "/usr/bin/python3 test/golden/make_golden_controls.py"
BASE_RATE = 0.1
MAX_NORM = 0.25

# LinearLR's and SequentialLR's construction warns about the order of step() calls.
warnings.filterwarnings("ignore", category=UserWarning)


def schedule_rates(make, steps):
    """The lr before each of `steps` optimizer steps under the scheduler `make` builds."""
    parameter = nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([parameter], lr=BASE_RATE)
    scheduler = make(optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def schedules():
    lr = torch.optim.lr_scheduler
    return {
        "step_decay": schedule_rates(lambda o: lr.StepLR(o, step_size=3, gamma=0.5), 13),
        "cosine": schedule_rates(lambda o: lr.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 11),
        "linear_warmup": schedule_rates(
            lambda o: lr.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4), 9),
        "linear_decay": schedule_rates(
            lambda o: lr.LinearLR(o, start_factor=1.0, end_factor=0.5, total_iters=5), 9),
        "warmup_cosine": schedule_rates(
            lambda o: lr.SequentialLR(
                o, [lr.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4),
                    lr.CosineAnnealingLR(o, T_max=6, eta_min=0.001)], milestones=[4]), 11),
    }


def small_network():
    """make_golden.py's small case as a torch model, its batch and its linears."""
    (w1, b1, w2, b2), x, y = make_inputs(12, 8, 5, 3)
    lin1 = nn.Linear(12, 8).double()
    lin2 = nn.Linear(8, 5).double()
    with torch.no_grad():
        lin1.weight.copy_(torch.from_numpy(w1.T.copy()))  # torch's weight is kiln's transposed
        lin1.bias.copy_(torch.from_numpy(b1))
        lin2.weight.copy_(torch.from_numpy(w2.T.copy()))
        lin2.bias.copy_(torch.from_numpy(b2))
    model = nn.Sequential(lin1, nn.ReLU(), lin2)
    return model, lin1, lin2, torch.from_numpy(x), torch.from_numpy(y)


def kiln_layout(lin1, lin2, of_grad):
    tensors = [lin1.weight, lin1.bias, lin2.weight, lin2.bias]
    values = [(t.grad if of_grad else t).detach() for t in tensors]
    values[0], values[2] = values[0].T, values[2].T  # back to kiln's [in][out]
    return np.concatenate([v.contiguous().numpy().ravel() for v in values])


def loss_of(model, x, y):
    return nn.functional.cross_entropy(model(x), y)


def clipping():
    model, lin1, lin2, x, y = small_network()
    loss_of(model, x, y).backward()
    gradients = kiln_layout(lin1, lin2, True)
    norm = float(nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM))
    clipped = kiln_layout(lin1, lin2, True)
    # An independent reference: the norm by math.fsum, the factor by the formula.
    reference = math.sqrt(math.fsum(g * g for g in gradients))
    assert abs(norm - reference) <= 1e-12 * reference, (norm, reference)
    assert norm > MAX_NORM, "the case must clip"
    expected = gradients * (MAX_NORM / (reference + 1e-6))
    assert np.max(np.abs(clipped - expected)) <= 1e-15, "clip_grad_norm_ disagrees"
    return gradients, norm, clipped


def run():
    model, lin1, lin2, x, y = small_network()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.01)
    lr = torch.optim.lr_scheduler
    scheduler = lr.SequentialLR(
        optimizer, [lr.LinearLR(optimizer, start_factor=0.5, end_factor=1.0, total_iters=2),
                    lr.CosineAnnealingLR(optimizer, T_max=3, eta_min=1e-4)], milestones=[2])
    norms, rates = [], []
    for _ in range(5):
        optimizer.zero_grad()
        loss_of(model, x, y).backward()
        norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)))
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert all(n > MAX_NORM for n in norms), "every step must clip"
    return norms, rates, kiln_layout(lin1, lin2, False)


def main():
    lines = []
    for name, rates in schedules().items():
        lines.append(fmt_line("schedule_" + name, rates))
    gradients, norm, clipped = clipping()
    lines += [fmt_line("gradients", gradients), fmt_line("norm", [norm]),
              fmt_line("clipped", clipped)]
    norms, rates, parameters = run()
    lines += [fmt_line("run_norms", norms), fmt_line("run_rates", rates),
              fmt_line("run_parameters", parameters)]
    path = os.path.join(HERE, "controls.txt")
    with open(path, "w") as out:
        out.write("# kiln golden values: learning-rate schedules and clipping by global norm\n")
        out.write("# produced by: " + COMMAND + "\n")
        out.write("# torch %s, numpy %s, float64\n" % (torch.__version__, np.__version__))
        for line in ("Contents:" + __doc__.split("Contents:")[1]).strip().splitlines():
            out.write(("# " + line).rstrip() + "\n")
        for line in lines:
            out.write(line + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
