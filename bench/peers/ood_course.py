#!/usr/bin/env python3
"""The course's out-of-distribution study in PyTorch: the peer of examples/ood.cpp.

Recipe (SEED.md part E), the definitions of bench/peers/mlp_course.py (whose
data split, MLP and evaluation this script imports):

* Data: the course's split of Fashion-MNIST (train 10,000, validation 2,000,
  test 10,000), pixels / 255 as float32.
* Models: the MLP (Linear(784, 128), ReLU, Linear(128, 10), every parameter
  N(0, 0.1)); CNN2 = Conv2d(1, 64, 7), ReLU, MaxPool2d(2), Flatten,
  Linear(7744, 10); CNN3 = CNN2 with Conv2d(64, 128, 2), ReLU, MaxPool2d(2)
  after the first pool, Linear(3200, 10). The CNNs start as PyTorch starts them
  (torch.manual_seed(seed), then the modules' default initialization), images
  as N x 1 x 28 x 28.
* Training: each model from torch.manual_seed(seed) and its own
  numpy.random.RandomState(seed) for the per-epoch permutations; SGD, learning
  rate 0.01, batch 5 (the remainder of an epoch dropped), early stopping with
  patience 3 on validation accuracy (a tie counts as an improvement), at most
  50 epochs; the best epoch's model is scored.
* Test sets: the test set as it is; every image moved up 4 pixels (zero rows
  enter at the bottom); and turned by 90, 180 and 270 degrees counter-clockwise
  (numpy.rot90 over the image axes).

It runs on the OpenBLAS kernel family that bench/openblas_kernel.py chooses for this
machine (the fastest that computes sgemm correctly), set in its own environment
before torch loads OpenBLAS.

Usage:
    /usr/bin/python3 bench/peers/ood_course.py --models mlp,cnn2,cnn3 --out ood_torch.json
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openblas_kernel  # noqa: E402

openblas_kernel.use_in_this_process()  # before numpy and torch load OpenBLAS
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from mlp_course import load_data, make_model as make_mlp  # noqa: E402

MODELS = ("mlp", "cnn2", "cnn3")
TEST_NAMES = ("in-domain", "shifted", "rot90", "rot180", "rot270")
CHUNK = 1000  # examples per evaluation pass


def parse_args():
    p = argparse.ArgumentParser(description="The course's OOD study in PyTorch (kiln's peer)")
    p.add_argument("--models", default=",".join(MODELS),
                   help="comma-separated, in order: mlp,cnn2,cnn3")
    p.add_argument("--minibatch_size", type=int, default=5)
    p.add_argument("--learning_rate", type=float, default=0.01)
    p.add_argument("--num_epoch", type=int, default=50)
    p.add_argument("--early_stopping_patience", type=int, default=3)
    p.add_argument("--shift_pixels", type=int, default=4)
    p.add_argument("--random_seed", type=int, default=42)
    p.add_argument("--data_dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--out", default="ood_torch.json")
    args = p.parse_args()
    args.models = [m for m in args.models.split(",") if m]
    for m in args.models:
        if m not in MODELS:
            p.error(f"--models: {m!r} is not one of {', '.join(MODELS)}")
    if args.minibatch_size < 1 or args.num_epoch < 1 or args.early_stopping_patience < 1:
        p.error("--minibatch_size, --num_epoch and --early_stopping_patience must be >= 1")
    if not 0 <= args.shift_pixels <= 28:
        p.error("--shift_pixels must be in [0, 28]")
    return args


def make_cnn(name, seed):
    torch.manual_seed(seed)
    layers = [nn.Conv2d(1, 64, 7), nn.ReLU(), nn.MaxPool2d(2)]
    if name == "cnn3":
        layers += [nn.Conv2d(64, 128, 2), nn.ReLU(), nn.MaxPool2d(2)]
    features = 64 * 11 * 11 if name == "cnn2" else 128 * 5 * 5
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(features, 10))


def ood_sets(x_test, shift):
    """The five test sets, as N x 28 x 28 float32 arrays."""
    images = x_test.reshape(-1, 28, 28)
    shifted = np.zeros_like(images)
    shifted[:, :28 - shift] = images[:, shift:]
    sets = [images, shifted] + [np.rot90(images, k, axes=(1, 2)) for k in (1, 2, 3)]
    return [np.ascontiguousarray(s) for s in sets]


@torch.no_grad()
def evaluate(model, x, y):
    """Mean cross-entropy and accuracy over a whole set, in chunks."""
    loss, correct = 0.0, 0
    for first in range(0, len(x), CHUNK):
        logits = model(x[first:first + CHUNK])
        target = y[first:first + CHUNK]
        loss += nn.functional.cross_entropy(logits, target, reduction="sum").item()
        correct += int((logits.argmax(dim=1) == target).sum())
    return loss / len(x), correct / len(x)


def train_and_score(name, args, data):
    x_train, y_train, x_val, y_val, tests, y_test = data
    shape = (-1, 784) if name == "mlp" else (-1, 1, 28, 28)
    as_input = lambda a: torch.from_numpy(a).reshape(shape)
    x_train_t, x_val_t = as_input(x_train), as_input(x_val)
    y_train_t, y_val_t = torch.from_numpy(y_train), torch.from_numpy(y_val)

    model = make_mlp(args.random_seed) if name == "mlp" else make_cnn(name, args.random_seed)
    params = sum(p.numel() for p in model.parameters())
    print(f"\n== {name} ({params} parameters) ==", flush=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    epoch_rng = np.random.RandomState(args.random_seed)
    bs = args.minibatch_size
    steps = len(x_train) // bs

    train_acc, val_acc, train_loss = [], [], []
    best_val, best_epoch, best_state, waited = -1.0, 0, None, 0
    start = time.perf_counter()
    for epoch in range(1, args.num_epoch + 1):
        t_epoch = time.perf_counter()
        perm = torch.from_numpy(epoch_rng.permutation(len(x_train)))
        model.train()
        for step in range(steps):
            idx = perm[step * bs:(step + 1) * bs]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x_train_t[idx]), y_train_t[idx]).backward()
            optimizer.step()
        model.eval()
        loss, acc = evaluate(model, x_train_t, y_train_t)
        _, vacc = evaluate(model, x_val_t, y_val_t)
        train_loss.append(loss)
        train_acc.append(acc)
        val_acc.append(vacc)
        improved = vacc >= best_val
        if improved:
            best_val, best_epoch, waited = vacc, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
        print(f"{name} epoch {epoch}  train loss {loss:.4f}  train acc {acc:.4f}  "
              f"val acc {vacc:.4f}{' *' if improved else ''}  "
              f"({time.perf_counter() - t_epoch:.2f} s)", flush=True)
        if waited >= args.early_stopping_patience:
            print(f"early stopping: no better validation accuracy for {waited} epochs")
            break
    seconds = time.perf_counter() - start

    model.load_state_dict(best_state)
    model.eval()
    y_test_t = torch.from_numpy(y_test)
    scores = [evaluate(model, as_input(t), y_test_t)[1] for t in tests]
    print(f"best epoch {best_epoch} (val acc {best_val:.4f}); test accuracy {scores[0]:.4f}; "
          f"training time {seconds:.1f} s")
    return {"parameters": params, "epochs": len(train_acc), "best_epoch": best_epoch,
            "best_val": best_val, "time": seconds,
            "test": dict(zip(TEST_NAMES, scores)),
            "train": train_acc, "val": val_acc, "train_loss": train_loss}


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    x_train, y_train, x_val, y_val, x_test, y_test = load_data(args.data_dir, args.random_seed)
    data = (x_train, y_train, x_val, y_val, ood_sets(x_test, args.shift_pixels), y_test)
    print(f"train {len(x_train)}  val {len(x_val)}  test {len(x_test)}  batch "
          f"{args.minibatch_size}  lr {args.learning_rate}  seed {args.random_seed}  "
          f"threads {args.threads}  torch {torch.__version__}")

    results = {name: train_and_score(name, args, data) for name in args.models}

    print(f"\ntest accuracy of each model's best epoch (shifted: up {args.shift_pixels} pixels; "
          f"rotations counter-clockwise)")
    print(f"{'model':<6} {'parameters':>10} {'epochs':>7} {'best':>5} {'time (s)':>9}"
          + "".join(f" {n:>10}" for n in TEST_NAMES))
    for name, r in results.items():
        print(f"{name:<6} {r['parameters']:>10} {r['epochs']:>7} {r['best_epoch']:>5} "
              f"{r['time']:>9.1f}" + "".join(f" {r['test'][n]:>10.4f}" for n in TEST_NAMES))

    recipe = {k: getattr(args, k) for k in ("minibatch_size", "learning_rate", "num_epoch",
                                            "early_stopping_patience", "shift_pixels",
                                            "random_seed", "threads")}
    recipe["torch"] = torch.__version__
    with open(args.out, "w") as f:
        json.dump({"recipe": recipe, "models": results}, f, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
