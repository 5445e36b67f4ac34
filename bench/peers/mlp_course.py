#!/usr/bin/env python3
"""The course's Fashion-MNIST MLP recipe in PyTorch: the peer kiln is compared to.

Recipe (see SEED.md part C; kiln's C++ program uses the same definitions):

* Data: the Fashion-MNIST IDX files, pixels / 255 as float32, flattened to 784.
  For each class c = 0..9 in order, take the training-file indices (in file
  order) of the images labelled c. Training set: the first 1000 of each class,
  concatenated class 0 first. Validation set: the last 200 of each class,
  concatenated the same way. The training set is then shuffled once with
  numpy.random.RandomState(seed).permutation(10000). Test: the whole 10k test
  file, in order.
* Network: Linear(784, 128) -> ReLU -> Linear(128, 10), every weight and bias
  drawn from N(0, 0.1) (torch.manual_seed(seed), then nn.init.normal_).
  Loss: mean softmax cross-entropy over the batch.
* Each epoch: a fresh permutation of the training indices (one numpy
  RandomState seeded once with the seed, continuing across epochs), then
  floor(N_train / batch) SGD steps over consecutive slices of it (the
  remainder is dropped). SGD with momentum alpha: v <- alpha v + grad,
  w <- w - lr v (torch.optim.SGD, dampening 0).
* Early stopping with patience P on validation accuracy; a tie with the best
  so far counts as an improvement. The best model is scored on the test set.

It runs on the OpenBLAS kernel family that bench/openblas_kernel.py chooses for this
machine (the fastest that computes sgemm correctly), set in its own environment
before torch loads OpenBLAS.

Usage:
    /usr/bin/python3 bench/peers/mlp_course.py --minibatch_size 5
"""

import argparse
import gzip
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # bench/
import openblas_kernel  # noqa: E402

openblas_kernel.use_in_this_process()  # before numpy and torch load OpenBLAS
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

NUM_CLASSES = 10
TRAIN_PER_CLASS = 1000  # first 1000 of each class -> training set
VAL_PER_CLASS = 200  # last 200 of each class -> validation set
IMAGE_MAGIC = 2051  # IDX magic numbers: unsigned byte data, 3 and 1 dimensions
LABEL_MAGIC = 2049


# ----------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description="Course MLP on Fashion-MNIST (PyTorch peer of kiln)")
    p.add_argument("--minibatch_size", type=int, default=1)
    p.add_argument("--learning_rate", type=float, default=0.01)
    p.add_argument("--num_epoch", type=int, default=200)
    p.add_argument("--early_stopping_patience", type=int, default=3)
    p.add_argument("--random_seed", type=int, default=42)
    p.add_argument("--momentum", type=float, default=0.0,
                   help="alpha in v <- alpha v + grad; w <- w - lr v")
    p.add_argument("--data_dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--out_dir", default=".")
    args = p.parse_args()
    if args.minibatch_size < 1:
        p.error("--minibatch_size must be >= 1")
    if args.num_epoch < 1:
        p.error("--num_epoch must be >= 1")
    if args.early_stopping_patience < 1:
        p.error("--early_stopping_patience must be >= 1")
    if args.threads < 1:
        p.error("--threads must be >= 1")
    return args


def die(message):
    """Print a one-line error and exit with status 1."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


# ----------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------

def read_idx(path, magic, dims):
    """Read a gzipped IDX file of unsigned bytes; return an array of shape `dims`.

    `dims` lists the expected size of each dimension (None = any size).
    Exits with a one-line error if the file is missing or malformed.
    """
    if not os.path.isfile(path):
        die(f"missing data file {path}")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        die(f"cannot read {path}: {e}")
    header_len = 4 + 4 * len(dims)
    if len(raw) < header_len:
        die(f"{path}: file too short for an IDX header")
    header = np.frombuffer(raw, dtype=">u4", count=1 + len(dims))
    if header[0] != magic:
        die(f"{path}: bad magic number {int(header[0])} (expected {magic})")
    shape = tuple(int(d) for d in header[1:])
    for got, want in zip(shape, dims):
        if want is not None and got != want:
            die(f"{path}: dimensions {shape} do not match expected {tuple(dims)}")
    count = int(np.prod(shape))
    if len(raw) != header_len + count:
        die(f"{path}: expected {header_len + count} bytes, got {len(raw)}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape)


def load_split(path_images, path_labels, n):
    """Load n images (as float32 rows of 784 values in [0, 1]) and their labels."""
    images = read_idx(path_images, IMAGE_MAGIC, [n, 28, 28])
    labels = read_idx(path_labels, LABEL_MAGIC, [n])
    if labels.max() >= NUM_CLASSES:
        die(f"{path_labels}: label {int(labels.max())} out of range")
    x = images.reshape(n, 28 * 28).astype(np.float32) / np.float32(255.0)
    return x, labels.astype(np.int64)


def load_data(data_dir, seed):
    """Return (x_train, y_train, x_val, y_val, x_test, y_test) as numpy arrays."""
    join = lambda name: os.path.join(data_dir, name)
    x_all, y_all = load_split(join("train-images-idx3-ubyte.gz"),
                              join("train-labels-idx1-ubyte.gz"), 60000)
    x_test, y_test = load_split(join("t10k-images-idx3-ubyte.gz"),
                                join("t10k-labels-idx1-ubyte.gz"), 10000)

    # Per class, in file order: first 1000 -> train, last 200 -> validation.
    train_idx, val_idx = [], []
    for c in range(NUM_CLASSES):
        idx = np.flatnonzero(y_all == c)
        if len(idx) < TRAIN_PER_CLASS + VAL_PER_CLASS:
            die(f"class {c} has only {len(idx)} training images")
        train_idx.append(idx[:TRAIN_PER_CLASS])
        val_idx.append(idx[-VAL_PER_CLASS:])
    train_idx = np.concatenate(train_idx)
    val_idx = np.concatenate(val_idx)

    # The training set is shuffled once with the seed.
    train_idx = train_idx[np.random.RandomState(seed).permutation(len(train_idx))]
    return (x_all[train_idx], y_all[train_idx],
            x_all[val_idx], y_all[val_idx],
            x_test, y_test)


# ----------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------

def make_model(seed):
    """Linear(784,128) -> ReLU -> Linear(128,10), all parameters ~ N(0, 0.1)."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    for layer in (model[0], model[2]):
        nn.init.normal_(layer.weight, mean=0.0, std=0.1)
        nn.init.normal_(layer.bias, mean=0.0, std=0.1)
    return model


@torch.no_grad()
def evaluate(model, x, y):
    """Mean cross-entropy per example and accuracy over a whole set."""
    logits = model(x)
    loss = nn.functional.cross_entropy(logits, y).item()
    acc = (logits.argmax(dim=1) == y).double().mean().item()
    return loss, acc


# ----------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------

def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    seed, bs, lr = args.random_seed, args.minibatch_size, args.learning_rate

    x_train, y_train, x_val, y_val, x_test, y_test = load_data(args.data_dir, seed)
    n_train = len(x_train)
    if bs > n_train:
        die(f"--minibatch_size {bs} exceeds the training set size {n_train}")
    x_train, y_train = torch.from_numpy(x_train), torch.from_numpy(y_train)
    x_val, y_val = torch.from_numpy(x_val), torch.from_numpy(y_val)
    x_test, y_test = torch.from_numpy(x_test), torch.from_numpy(y_test)
    print(f"train {n_train}  val {len(x_val)}  test {len(x_test)}  "
          f"batch {bs}  lr {lr}  momentum {args.momentum}  seed {seed}  "
          f"threads {args.threads}  torch {torch.__version__}")

    model = make_model(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr,
                                momentum=args.momentum, dampening=0.0)
    loss_fn = nn.CrossEntropyLoss()  # mean over the batch
    epoch_rng = np.random.RandomState(seed)  # seeded once, continues across epochs
    steps_per_epoch = n_train // bs  # remainder dropped

    train_acc_hist, val_acc_hist = [], []
    best_val, best_epoch, best_state = -1.0, 0, None
    bad_epochs = 0

    t_start = time.perf_counter()
    for epoch in range(1, args.num_epoch + 1):
        t_epoch = time.perf_counter()
        perm = torch.from_numpy(epoch_rng.permutation(n_train))
        model.train()
        for step in range(steps_per_epoch):
            idx = perm[step * bs:(step + 1) * bs]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()

        model.eval()
        train_loss, train_acc = evaluate(model, x_train, y_train)
        _, val_acc = evaluate(model, x_val, y_val)
        train_acc_hist.append(train_acc)
        val_acc_hist.append(val_acc)
        print(f"epoch {epoch}  train loss {train_loss:.4f}  train acc {train_acc:.4f}  "
              f"val acc {val_acc:.4f}  ({time.perf_counter() - t_epoch:.2f} s)", flush=True)

        # Early stopping: a tie with the best so far counts as an improvement.
        if val_acc >= best_val:
            best_val, best_epoch, bad_epochs = val_acc, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
            if bad_epochs >= args.early_stopping_patience:
                print(f"early stopping: no improvement in {bad_epochs} epochs")
                break
    train_time = time.perf_counter() - t_start

    # Score the best model on the test set.
    model.load_state_dict(best_state)
    model.eval()
    _, test_acc = evaluate(model, x_test, y_test)

    print(f"epochs run {len(train_acc_hist)}  best epoch {best_epoch}  "
          f"best val acc {best_val:.4f}")
    print(f"test accuracy (best model) {test_acc:.4f}")
    print(f"training time {train_time:.2f} s")

    result = {"train": train_acc_hist, "val": val_acc_hist, "test": test_acc,
              "time": train_time, "best_epoch": best_epoch}
    os.makedirs(args.out_dir, exist_ok=True)
    out_path = os.path.join(args.out_dir, f"MLP_lr{lr}_b{bs}_torch.json")
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
