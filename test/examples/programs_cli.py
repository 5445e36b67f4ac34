#!/usr/bin/env python3
"""Every example program (mlp, ood, mini_cnn, perceptron, gpt) against what a
careless or hostile user gives it:
- sizes from flags that would wrap around or exceed memory: a one-line error
  naming the flag, never a crash or std::bad_alloc;
- numbers that are not decimal (hexadecimal, octal-looking, spaced) refused with
  the valid range; a denormal accepted as the number it is;
- inputs that are not regular files, or that the user may not read, refused as
  such, before they are read;
- training that turns NaN or infinite: exit code 3 naming the step and the layer,
  no epoch of it counted as the best or saved;
- checkpoints whose best parameters or optimizer state hold a NaN: refused.

Usage: programs_cli.py --mlp P --ood P --mini_cnn P --perceptron P --gpt P
       [--data_dir DIR]   (the runs that need Fashion-MNIST are skipped without it)
"""

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile

from checks import check, failures

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "torch_weights", os.path.join(HERE, "..", "..", "scripts", "torch_weights.py"))
torch_weights = importlib.util.module_from_spec(spec)
spec.loader.exec_module(torch_weights)  # the checkpoint format only: no torch needed


def run(program, args, timeout=300, **kwargs):
    """The finished run; one that hangs counts as a failure, as "timed out"."""
    try:
        return subprocess.run([program] + args, capture_output=True, text=True,
                              timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired as expired:
        return subprocess.CompletedProcess(expired.cmd, None, "", f"timed out after {timeout} s")


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.strip()]


def refused(program, args, expected, **kwargs):
    """Refused in one line holding each expected part (a command-line error is
    followed by CLI11's "Run with --help"), with an error's exit code: not 0, not 3
    (divergence), not a signal."""
    result = run(program, args, timeout=60, **kwargs)
    lines = error_lines(result)
    parts = [expected] if isinstance(expected, str) else expected
    one_line = len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("Run with --help"))
    check(result.returncode is not None and result.returncode > 0 and result.returncode != 3 and
          one_line and all(p in lines[0] for p in parts),
          f"{os.path.basename(program)} {' '.join(args)}: one line with {parts!r}", result)
    return result


def diverged(program, args, **kwargs):
    """Stopped on a NaN or an infinity: exit code 3, the step and the layer named."""
    result = run(program, args, **kwargs)
    lines = error_lines(result)
    check(result.returncode == 3 and len(lines) == 1 and "training stopped at step" in lines[0]
          and "layer" in lines[0],
          f"{os.path.basename(program)} {' '.join(args)}: exit code 3 naming step and layer",
          result)
    return result


def patch_checkpoint(path, section, index, value):
    """Sets one value of a section and reseals the file (size and CRC), as an edit
    that knows the format would."""
    with open(path, "rb") as f:
        header, sections = torch_weights.decode_checkpoint(f.read(), path)
    element, values = sections[section]
    values[index] = value
    data = torch_weights.encode_checkpoint(
        header["signature"], header["scalar"], header["param_count"], header["storage_size"],
        [(name, e, v) for name, (e, v) in sections.items()])
    with open(path, "wb") as f:
        f.write(data)


def as_nobody():
    """Arguments that run a program as a user without special rights (root reads
    anything, so a permission test as root would test nothing)."""
    return {"user": 65534} if os.geteuid() == 0 else {}


def flags(p, tmp):
    big = str(1 << 59)  # x 32 positions wraps 2^64 to 0
    refused(p.gpt, ["--batch", big], f"--batch {big}")
    refused(p.gpt, ["--eval_iters", str(1 << 60)], f"--eval_iters {1 << 60} x --batch 16")
    refused(p.gpt, ["--batch", str(1 << 40)],
            [f"--batch {1 << 40}", "more than this machine's memory"])
    refused(p.gpt, ["--sample_length", str((1 << 64) - 1)], "--sample_length")
    refused(p.gpt, ["--block", "0x20"], "--block: must be a whole number in [2, 64]")
    refused(p.gpt, ["--learning_rate", "0x1p-3"], "must be a number >= 0 written in decimal")
    refused(p.gpt, ["--learning_rate", " 0.001"], "--learning_rate: must be a number >= 0")
    refused(p.gpt, ["--learning_rate", "1e400"], "must be a finite number >= 0")
    fifo = os.path.join(tmp, "text.fifo")
    os.mkfifo(fifo)
    refused(p.gpt, ["--text", fifo], "is a FIFO (named pipe), not a regular file")
    refused(p.gpt, ["--text", "/dev/zero"], "is a character device, not a regular file")

    refused(p.mini_cnn, ["--train_count", str(1 << 60)], f"--train_count {1 << 60}")
    refused(p.mini_cnn, ["--test_count", str(1 << 40)],
            [f"--test_count {1 << 40}", "more than this machine's memory"])
    refused(p.mini_cnn, ["--learning_rate", "inf"], "--learning_rate: must be a number >= 0")
    out = os.path.join(tmp, "mini_cnn.json")
    result = run(p.mini_cnn, ["--train_count", "010", "--test_count", "5", "--num_epoch", "1",
                              "--out", out])
    check(result.returncode == 0 and "synthetic set: 10 examples" in result.stdout,
          "mini_cnn --train_count 010 is ten examples, not octal 8", result)

    refused(p.perceptron, ["--degree", "65"], "--degree: must be a whole number in [1, 64]")
    refused(p.perceptron, ["--degree", "4294967297"], "in [1, 64]")
    refused(p.perceptron, ["--degree", "99999999999999999999999"],
            "--degree: must be a whole number in [1, 64], got 99999999999999999999999")
    refused(p.ood, ["--shift_pixels", "3.5"], "--shift_pixels: must be a whole number in [0, 28]")
    refused(p.ood, ["--momentum", "0x0"], "--momentum: must be a number in [0, 1) written in "
                                         "decimal")
    # A denormal learning rate is a number >= 0: accepted (the run then stops at the
    # data, which are missing here).
    result = run(p.mlp, ["--learning_rate", "1e-310", "--data_dir", os.path.join(tmp, "none")])
    check(result.returncode == 1 and "--learning_rate" not in result.stderr and
          "no such file" in result.stderr, "mlp --learning_rate 1e-310 is accepted", result)


def divergence_without_data(p, tmp):
    diverged(p.mini_cnn, ["--learning_rate", "1e30", "--num_epoch", "3",
                          "--out", os.path.join(tmp, "mini_cnn.json")])
    diverged(p.gpt, ["--learning_rate", "1e30", "--iterations", "4", "--eval_interval", "2",
                     "--eval_iters", "1", "--batch", "2", "--sample_length", "1",
                     "--out_dir", tmp])


def data_inputs(p, tmp, data):
    # A data folder the user may not search: permission denied, not "no such file".
    locked = os.path.join(tmp, "locked")
    os.mkdir(locked)
    for name in os.listdir(data):
        os.symlink(os.path.join(data, name), os.path.join(locked, name))
    os.chmod(locked, 0)
    out_dir = os.path.join(tmp, "anyone")
    os.mkdir(out_dir)
    os.chmod(out_dir, 0o777)  # the results folder is not what is refused
    result = refused(p.mlp, ["--data_dir", locked, "--out_dir", out_dir], "permission denied",
                     **as_nobody())
    check("no such file" not in result.stderr, "an unsearchable folder is not 'no such file'")
    os.chmod(locked, 0o755)
    # FIFOs where the files should be: refused before they are read (it hung).
    fifos = os.path.join(tmp, "fifos")
    os.mkdir(fifos)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        os.mkfifo(os.path.join(fifos, name))
    refused(p.perceptron, ["--data_dir", fifos], "is a FIFO (named pipe), not a regular file")


def divergence_with_data(p, tmp, data):
    common = ["--data_dir", data]
    # Two steps an epoch: the epoch ended with a NaN loss, was marked best and saved.
    saved = os.path.join(tmp, "diverged.kiln")
    diverged(p.mlp, common + ["--learning_rate", "1e10", "--minibatch_size", "5000",
                              "--num_epoch", "2", "--save", saved, "--out_dir", tmp])
    check(not os.path.exists(saved), "an epoch whose loss is not finite is never saved")
    diverged(p.ood, common + ["--models", "mlp", "--learning_rate", "1e30", "--num_epoch", "1",
                              "--out", os.path.join(tmp, "ood.json")])
    result = diverged(p.perceptron, common + [
        "--degree", "32", "--kernels", "polynomial", "--kernel_train", "300",
        "--kernel_epochs", "1", "--num_epoch", "1", "--out", os.path.join(tmp, "p.json")])
    check("polynomial kernel" in result.stderr, "the perceptron names the kernel that overflowed",
          result)

    # Checkpoints that hold a NaN where resuming would read it.
    good = os.path.join(tmp, "good.kiln")
    first = run(p.mlp, common + ["--minibatch_size", "50", "--momentum", "0.5", "--num_epoch", "1",
                                 "--save", good, "--out_dir", tmp])
    check(first.returncode == 0 and os.path.exists(good), "a checkpoint to resume", first)
    if first.returncode != 0:
        return
    for section, index, expected in (
            ("best_parameters", 3, "section 'best_parameters' holds NaN at layer 2"),
            ("sgd.velocity", 17, "section 'sgd.velocity' holds NaN at value 17"),
            ("history.train_loss", 0, "section 'history.train_loss' holds NaN at value 0")):
        broken = os.path.join(tmp, f"broken-{section}.kiln")
        with open(good, "rb") as src, open(broken, "wb") as dst:
            dst.write(src.read())
        patch_checkpoint(broken, section, index, float("nan"))
        result = refused(p.mlp, common + ["--resume", broken, "--num_epoch", "2", "--out_dir",
                                          tmp], expected)
        check("grew out of range" not in result.stderr,
              f"a NaN in {section} is not reported as values that grew")


def main():
    parser = argparse.ArgumentParser()
    for name in ("mlp", "ood", "mini_cnn", "perceptron", "gpt"):
        parser.add_argument("--" + name, required=True)
    parser.add_argument("--data_dir", default="/usr/share/datasets/fashion-mnist")
    p = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kiln_programs_cli_") as tmp:
        os.chmod(tmp, 0o755)  # searchable by the unprivileged user of as_nobody()
        flags(p, tmp)
        divergence_without_data(p, tmp)
        if os.path.exists(os.path.join(p.data_dir, "train-images-idx3-ubyte.gz")):
            data_inputs(p, tmp, p.data_dir)
            divergence_with_data(p, tmp, p.data_dir)
        else:
            print(f"skipped the runs on Fashion-MNIST: {p.data_dir} is missing")
    print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
