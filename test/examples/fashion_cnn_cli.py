#!/usr/bin/env python3
"""examples/fashion_cnn end to end, in seconds: a quick run on the first images
(the results file holds what was printed, every number finite), and one-line
refusals of bad flags and of data that is missing or malformed.

Usage: fashion_cnn_cli.py PROGRAM [--data_dir DIR]
       (the runs that need Fashion-MNIST are skipped without it)
"""

import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile

from checks import check, failures


def run(program, args, timeout=300):
    try:
        return subprocess.run([program] + args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess([program] + args, None, "", f"timed out after {timeout} s")


def refused(program, args, expected):
    """One error line (CLI11 may add "Run with --help") holding expected, exit code 1."""
    result = run(program, args, timeout=60)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    one_line = len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("Run with --help"))
    check(result.returncode is not None and result.returncode > 0 and result.returncode != 3 and
          one_line and expected in lines[0],
          f"fashion_cnn {' '.join(args)}: one line with {expected!r}", result)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("program")
    p.add_argument("--data_dir", default="/usr/share/datasets/fashion-mnist")
    args = p.parse_args()
    program = args.program

    with tempfile.TemporaryDirectory() as folder:
        refused(program, ["--minibatch_size", "0"], "--minibatch_size")
        refused(program, ["--learning_rate", "-1"], "--learning_rate")
        refused(program, ["--num_epoch", "0x10"], "--num_epoch")
        refused(program, ["--data_dir", folder], "train-images-idx3-ubyte.gz")
        # A training file cut short.
        broken = os.path.join(folder, "broken")
        os.mkdir(broken)
        with gzip.open(os.path.join(broken, "train-images-idx3-ubyte.gz"), "wb") as f:
            f.write(bytes([0, 0, 8, 3, 0, 0, 0xEA, 0x60, 0, 0, 0, 28, 0, 0, 0, 28]) + b"\0" * 100)
        with gzip.open(os.path.join(broken, "train-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(bytes([0, 0, 8, 1, 0, 0, 0xEA, 0x60]) + b"\0" * 100)
        refused(program, ["--data_dir", broken], "train-images-idx3-ubyte.gz")

        if not os.path.exists(os.path.join(args.data_dir, "train-images-idx3-ubyte.gz")):
            print(f"skipped the runs on the data: no Fashion-MNIST in {args.data_dir}")
        else:
            data = ["--data_dir", args.data_dir]
            refused(program, data + ["--train_images", "60001"], "--train_images")
            refused(program, data + ["--train_images", "16", "--minibatch_size", "17"],
                    "--minibatch_size")
            out = os.path.join(folder, "run.json")
            result = run(program, data + ["--train_images", "1024", "--test_images", "500",
                                          "--num_epoch", "2", "--out", out])
            check(result.returncode == 0, "a quick run succeeds", result)
            if result.returncode == 0:
                with open(out) as f:
                    saved = json.load(f)
                accuracy = saved["test_accuracy"]
                numbers = (saved["train_loss"] + saved["test_loss"] +
                           saved["test_accuracy_per_epoch"] + saved["epoch_seconds"])
                check(len(saved["train_loss"]) == 2 and all(math.isfinite(v) for v in numbers),
                      "two epochs recorded, every number finite: " + json.dumps(saved)[:300])
                check(f"test accuracy {accuracy:.4f} after 2 epochs" in result.stdout,
                      "the results file holds the accuracy printed", result)
                check(saved["parameters"] == 68298, f"PyTorch's parameter count, got {saved['parameters']}")
                # 64 steps: enough for batch_norm's running statistics, which
                # evaluation uses, to leave their start (mean 0, variance 1).
                check(accuracy > 0.5, f"64 steps are far above chance (0.1): {accuracy}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
