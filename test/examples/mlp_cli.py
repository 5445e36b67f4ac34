#!/usr/bin/env python3
"""examples/mlp as a user runs it: every bad command-line value is a one-line
error, and missing data says where it comes from; a diverging run stops with exit
code 3 naming step and layer; a run saved with --save and continued with --resume
(after a clean stop or a SIGKILL) ends exactly as the same run uninterrupted; a
resumed run without --save goes on saving to the file it resumed from; resuming on
other data is refused unless --force_resume; a FIFO given as --resume is refused,
not waited on; --init chooses the start.

Usage: mlp_cli.py PATH_TO_MLP [--data_dir DIR]   (exit 77: skipped, no data)
"""

import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from checks import check, failures

MLP = sys.argv[1]
DATA = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--data_dir" else \
    "/usr/share/datasets/fashion-mnist"
FAST = ["--minibatch_size", "50"]  # 200 steps an epoch: a few seconds for a whole test


def run(args, timeout=600):
    data = [] if "--data_dir" in args else ["--data_dir", DATA]
    return subprocess.run([MLP] + data + args, capture_output=True, text=True, timeout=timeout)


def refused(args, expected):
    """The program must stop before training with one line naming the problem."""
    result = run(args, timeout=60)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    check(result.returncode != 0 and lines and expected in lines[0] and
          "Traceback" not in result.stderr,
          f"mlp {' '.join(args)}: expected a clear error containing {expected!r}", result)


def results(out_dir):
    with open(os.path.join(out_dir, "MLP_lr0.01_b50.json")) as f:
        values = json.load(f)
    values.pop("time")  # the only entry that may differ
    return values


def final_lines(stdout):
    """The lines after training that do not depend on the clock."""
    return [line for line in stdout.splitlines()
            if line.startswith(("best epoch", "test accuracy"))]


def epochs_done(checkpoint, out_dir):
    """How many epochs the run in checkpoint has finished, as a resume reports it."""
    probe = run(["--resume", checkpoint, "--num_epoch", "1", "--out_dir", out_dir])
    for line in probe.stdout.splitlines():
        if line.startswith("resumed from"):
            return int(line.split(": ")[1].split(" ")[0])
    check(False, "resuming to read the epoch count", probe)
    return None


def resume_keeps_saving(tmp):
    """--resume X without --save saves to X after every epoch: a kill after that
    loses nothing."""
    folder = os.path.join(tmp, "no_save")
    os.mkdir(folder)
    checkpoint = os.path.join(folder, "run.kiln")
    first = run(FAST + ["--num_epoch", "1", "--save", checkpoint, "--out_dir", folder])
    check(first.returncode == 0, "the first part", first)
    resumed = run(["--resume", checkpoint, "--num_epoch", "2", "--out_dir", folder])
    check(resumed.returncode == 0 and f"saving to {checkpoint}" in resumed.stdout,
          "--resume without --save must say where it saves", resumed)
    check(epochs_done(checkpoint, folder) == 2,
          "--resume without --save must go on saving to the file it resumed from")


def other_data_is_refused(tmp):
    """A checkpoint records its data's fingerprint: resuming on other data (here one
    test image with one pixel changed) is refused unless --force_resume."""
    folder, other = os.path.join(tmp, "fingerprint"), os.path.join(tmp, "other_data")
    os.mkdir(folder)
    os.mkdir(other)
    for name in os.listdir(DATA):
        if name != "t10k-images-idx3-ubyte.gz":
            os.symlink(os.path.join(DATA, name), os.path.join(other, name))
    with gzip.open(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")) as f:
        images = bytearray(f.read())
    images[16 + 5 * 784 + 400] ^= 0x40
    with gzip.open(os.path.join(other, "t10k-images-idx3-ubyte.gz"), "wb") as f:
        f.write(images)

    checkpoint = os.path.join(folder, "run.kiln")
    first = run(FAST + ["--num_epoch", "1", "--save", checkpoint, "--out_dir", folder])
    check(first.returncode == 0, "the first part", first)
    refused(["--resume", checkpoint, "--num_epoch", "2", "--data_dir", other, "--out_dir",
             folder], "the run read other data: 'data.test'")
    refused(["--resume", checkpoint, "--num_epoch", "2", "--data_dir", other, "--out_dir",
             folder], "--force_resume")
    forced = run(["--resume", checkpoint, "--num_epoch", "2", "--data_dir", other,
                  "--out_dir", folder, "--force_resume"])
    check(forced.returncode == 0 and "--force_resume" in forced.stdout,
          "--force_resume must resume on other data, saying so", forced)
    # The checkpoint now records the data it was resumed on.
    again = run(["--resume", checkpoint, "--num_epoch", "3", "--data_dir", other, "--out_dir",
                 folder])
    check(again.returncode == 0, "after --force_resume the run's data are the new ones", again)


def main():
    with tempfile.TemporaryDirectory(prefix="kiln_mlp_cli_") as tmp:
        # --- Bad values: refused before any data is read (no data needed) ---------
        for args, expected in [
            (["--minibatch_size", "0"], "--minibatch_size: must be a whole number >= 1"),
            (["--minibatch_size", "1.5"], "must be a whole number >= 1, got '1.5'"),
            (["--minibatch_size", "-3"], "must be a whole number"),
            (["--num_epoch", "1e3"], "--num_epoch: must be a whole number"),
            (["--early_stopping_patience", "-1"], "--early_stopping_patience: must be"),
            (["--random_seed", "-1"], "--random_seed: must be a whole number"),
            (["--random_seed", "99999999999999999999999"], "below 2^64"),
            (["--learning_rate", "-0.1"], "--learning_rate: must be a number >= 0"),
            (["--learning_rate", "nan"], "--learning_rate: must be"),
            (["--momentum", "1"], "--momentum: must be in [0, 1)"),
            (["--momentum", "x"], "--momentum: must be a number"),
            (["--out_dir", os.path.join(tmp, "missing")], "--out_dir"),
            (["--save", os.path.join(tmp, "missing", "run.kiln")], "must be in an existing folder"),
            (["--save", tmp], "must name a file"),
            (["--resume", os.path.join(tmp, "missing.kiln")], "--resume"),
            (["--force_resume"], "--force_resume goes with --resume"),
            (["--bogus"], "--bogus"),
            (["--init", "xavier"], "--init"),
        ]:
            refused(args, expected)
        # Missing data says where it comes from (no data needed to check that).
        for expected in ("no such file", "install Debian's dataset-fashion-mnist", "--data_dir"):
            refused(["--data_dir", os.path.join(tmp, "no-data")], expected)

        if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
            print(f"skipped the training runs: {DATA} is missing")
            return 77 if not failures else 1

        not_a_checkpoint = os.path.join(tmp, "not.kiln")
        with open(not_a_checkpoint, "w") as f:
            f.write("hello")
        refused(["--resume", not_a_checkpoint], "not a kiln checkpoint")
        fifo = os.path.join(tmp, "fifo.kiln")
        os.mkfifo(fifo)
        try:
            refused(["--resume", fifo], "is a FIFO (named pipe), not a checkpoint file")
        except subprocess.TimeoutExpired:
            check(False, "--resume of a FIFO must be refused, not waited on")

        # --- Divergence: exit code 3, step and layer named --------------------------
        result = run(FAST + ["--learning_rate", "1e10", "--num_epoch", "1", "--out_dir", tmp])
        check(result.returncode == 3 and "training stopped at step" in result.stderr and
              "layer 4 (linear<10>)" in result.stderr,
              "a learning rate of 1e10 must stop training with exit code 3", result)

        # --- The same run three ways ---------------------------------------------------
        full_dir, split_dir, killed_dir = (os.path.join(tmp, d) for d in ("a", "b", "c"))
        for d in (full_dir, split_dir, killed_dir):
            os.mkdir(d)
        epochs = ["--num_epoch", "3", "--momentum", "0.5"]

        full = run(FAST + epochs + ["--out_dir", full_dir])
        check(full.returncode == 0, "the uninterrupted run", full)

        # Stopped after one epoch, resumed with the options it was started with.
        checkpoint = os.path.join(split_dir, "run.kiln")
        first = run(FAST + ["--num_epoch", "1", "--momentum", "0.5", "--save", checkpoint,
                            "--out_dir", split_dir])
        check(first.returncode == 0 and os.path.exists(checkpoint), "the first part", first)
        refused(["--resume", checkpoint, "--momentum", "0.9"], "--momentum is 0.9, the run was")
        second = run(["--resume", checkpoint, "--num_epoch", "3", "--save", checkpoint,
                      "--out_dir", split_dir])
        check(second.returncode == 0 and "resumed from" in second.stdout, "the resumed part",
              second)
        if full.returncode == 0 and second.returncode == 0:
            check(results(split_dir) == results(full_dir),
                  "stop + resume must give the uninterrupted run's results")
            check(final_lines(second.stdout) == final_lines(full.stdout),
                  "stop + resume must print the uninterrupted run's result", second)

        # Killed (SIGKILL) after its first checkpoint, wherever it was, then resumed.
        checkpoint = os.path.join(killed_dir, "run.kiln")
        process = subprocess.Popen(
            [MLP, "--data_dir", DATA] + FAST + epochs + ["--save", checkpoint, "--out_dir",
                                                          killed_dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 300
        while not os.path.exists(checkpoint) and process.poll() is None and \
                time.time() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
        resumed = run(["--resume", checkpoint, "--save", checkpoint, "--out_dir", killed_dir])
        check(resumed.returncode == 0, "the run resumed after SIGKILL", resumed)
        if full.returncode == 0 and resumed.returncode == 0:
            check(results(killed_dir) == results(full_dir),
                  "kill + resume must give the uninterrupted run's results")
        leftovers = [name for name in os.listdir(killed_dir) if ".tmp-" in name]
        print(f"after SIGKILL: {len(leftovers)} temporary file(s) left, ignored")

        resume_keeps_saving(tmp)
        other_data_is_refused(tmp)
        # --- --init: normal is the default start; glorot (Keras's) another ---------------
        starts = {}
        for init in ("default", "normal", "glorot"):
            folder = os.path.join(tmp, "init_" + init)
            os.mkdir(folder)
            result = run(FAST + ["--num_epoch", "1", "--out_dir", folder] +
                         ([] if init == "default" else ["--init", init]))
            check(result.returncode == 0, f"a run with --init {init}", result)
            if result.returncode == 0:
                starts[init] = results(folder)
        if len(starts) == 3:
            check(starts["normal"] == starts["default"], "--init normal is the default start")
            check(starts["glorot"] != starts["default"], "--init glorot starts elsewhere")

    print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
