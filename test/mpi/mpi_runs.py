#!/usr/bin/env python3
"""The examples under mpirun (docs/distributed.md), as a user runs them.

- mlp --data_parallel on 1 process gives the single-process run's results, bit
  for bit; on 2, the same results twice, and close to one process's;
- a run saved on 2 processes resumes on 3 (and on 2, bit for bit as if never
  stopped);
- a process killed mid-run ends every process, and the last checkpoint resumes;
- a process that fails (a damaged checkpoint) ends every process with its message;
- mlp --sweep and gpt --sweep run one configuration per process, the first
  process printing them all; gpt --data_parallel on 1 process is gpt alone.

Skipped (exit 77) without Fashion-MNIST.
"""
import argparse
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

DATA = pathlib.Path("/usr/share/datasets/fashion-mnist")
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def mpirun(args, processes):
    return [ARGS.mpirun, "--allow-run-as-root", "--oversubscribe", "-np", str(processes)] + args


def run(command, timeout=600, env=None):
    environment = dict(os.environ, KILN_THREADS="1", **(env or {}))
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=environment)


def results(folder):
    """The results file of an mlp run, without its times."""
    [path] = pathlib.Path(folder).glob("MLP_*.json")
    data = json.loads(path.read_text())
    data.pop("time")
    return data


def mlp_run(folder, processes=None, extra=(), epochs=2):
    folder.mkdir(parents=True, exist_ok=True)
    args = [str(ARGS.mlp), "--minibatch_size", "20", "--learning_rate", "0.05", "--num_epoch",
            str(epochs), "--early_stopping_patience", "0", "--out_dir", str(folder)] + list(extra)
    if processes is None:
        return run(args)
    return run(mpirun(args + ["--data_parallel"], processes))


def no_process_left(marker):
    """No example process whose command line holds marker is still running."""
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().split()[2]
        except OSError:
            continue
        if marker in command and "mpirun" not in command and state != "Z":
            return False
    return True


def process_of_rank(marker, rank):
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in command and "mpirun" not in command and \
                f"OMPI_COMM_WORLD_RANK={rank}".encode() in environ:
            return int(proc.name)
    return None


def test_equal_to_one_process(tmp):
    alone = mlp_run(tmp / "alone")
    one = mlp_run(tmp / "one", 1)
    check(alone.returncode == 0 and one.returncode == 0,
          f"mlp alone and on 1 process run ({alone.stderr.strip()} {one.stderr.strip()})")
    check(results(tmp / "alone") == results(tmp / "one"),
          "mlp --data_parallel on 1 process: the single-process results, bit for bit")
    first = mlp_run(tmp / "two_a", 2)
    second = mlp_run(tmp / "two_b", 2)
    check(first.returncode == 0 and second.returncode == 0,
          f"mlp on 2 processes runs ({first.stderr.strip()})")
    a, b, c = results(tmp / "two_a"), results(tmp / "two_b"), results(tmp / "alone")
    check(a == b, "mlp on 2 processes, twice: the same results, bit for bit")
    check(abs(a["test"] - c["test"]) <= 0.005 and
          all(abs(x - y) <= 0.005 for x, y in zip(a["val"], c["val"])),
          f"mlp on 2 processes is close to one process (test {a['test']} against {c['test']})")
    check(first.stdout.count("test accuracy at the best epoch") == 1,
          "a data-parallel run prints its lines once, not once per process")


def test_resume_on_other_counts(tmp):
    saved = tmp / "saved.ckpt"
    started = mlp_run(tmp / "start", 2, ["--save", str(saved)])
    check(started.returncode == 0 and saved.exists(), "2 processes save a checkpoint")
    for processes in (3, 2):
        copy = tmp / f"resume{processes}.ckpt"
        shutil.copy(saved, copy)
        resumed = mlp_run(tmp / f"resumed{processes}", processes, ["--resume", str(copy)], 3)
        check(resumed.returncode == 0,
              f"a run saved on 2 processes resumes on {processes} ({resumed.stderr.strip()})")
        if resumed.returncode == 0:
            data = results(tmp / f"resumed{processes}")
            check(len(data["val"]) == 3 and data["val"][:2] == results(tmp / "start")["val"],
                  f"the resumed run on {processes} keeps the saved epochs and adds one")
    whole = mlp_run(tmp / "whole", 2, epochs=3)
    check(whole.returncode == 0 and results(tmp / "whole") == results(tmp / "resumed2"),
          "resumed on the same 2 processes: the run never stopped, bit for bit")


def test_killed_process(tmp):
    saved = tmp / "killed.ckpt"
    marker = str(saved)
    command = mpirun([str(ARGS.mlp), "--minibatch_size", "5", "--num_epoch", "1000",
                      "--early_stopping_patience", "0", "--out_dir", str(tmp), "--save", marker,
                      "--data_parallel"], 2)
    printed = tmp / "killed.out"
    with open(printed, "w") as out:
        launcher = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, text=True,
                                    env=dict(os.environ, KILN_THREADS="1"))
    deadline = time.time() + 300
    while not saved.exists() and time.time() < deadline and launcher.poll() is None:
        time.sleep(0.2)
    check(saved.exists(), "the run saved a checkpoint before the kill")
    victim = process_of_rank(marker, 1)
    check(victim is not None, "process 1 of the run is found")
    if victim is not None:
        os.kill(victim, signal.SIGKILL)
    try:
        _, stderr = launcher.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        launcher.kill()
        _, stderr = launcher.communicate()
        check(False, "mpirun ends within 120 s of a process killed")
        return
    check(launcher.returncode != 0, f"mpirun fails when a process is killed ({launcher.returncode})")
    check("exited on signal 9 (Killed)" in stderr,
          "mpirun says which process was killed, and how")
    time.sleep(1)
    check(no_process_left(marker), "every process of the run has ended")
    # The epochs printed: the checkpoint holds those, or all but the last.
    printed_epochs = printed.read_text().count("train acc")
    epochs = printed_epochs + 2
    resumed_dir = tmp / "resumed"
    resumed_dir.mkdir()
    resumed = run(mpirun([str(ARGS.mlp), "--resume", marker, "--num_epoch", str(epochs),
                          "--out_dir", str(resumed_dir), "--data_parallel"], 2), timeout=600)
    check(resumed.returncode == 0,
          f"the last checkpoint resumes after the kill ({resumed.stderr.strip()[-300:]})")
    if resumed.returncode == 0:
        check(len(results(resumed_dir)["val"]) == epochs,
              f"the resumed run trains on to epoch {epochs}")


def test_failing_process(tmp):
    damaged = tmp / "damaged.ckpt"
    damaged.write_bytes(b"KILNCKPT" + bytes(100))
    failed = run(mpirun([str(ARGS.mlp), "--resume", str(damaged), "--data_parallel",
                         "--out_dir", str(tmp)], 2), timeout=120)
    check(failed.returncode == 1, f"a damaged checkpoint ends the run with exit code 1 "
                                  f"({failed.returncode})")
    check("mlp (process 0 of 2): error: " in failed.stderr and str(damaged) in failed.stderr,
          "the error names the process and the file: " +
          next((l for l in failed.stderr.splitlines() if "error:" in l), "(none)"))
    check(no_process_left(str(damaged)), "every process of the failed run has ended")


def test_sweeps(tmp):
    (tmp / "mlp_sweep").mkdir()
    sweep = run(mpirun([str(ARGS.mlp), "--sweep", "--num_epoch", "1", "--out_dir",
                        str(tmp / "mlp_sweep")], 2), timeout=900)
    check(sweep.returncode == 0, f"mlp --sweep on 2 processes runs ({sweep.stderr.strip()[-300:]})")
    written = sorted(p.name for p in (tmp / "mlp_sweep").glob("MLP_*.json"))
    check(len(written) == 5, f"the batch-size study's 5 runs write their results ({written})")
    check("batch-size study, 5 runs on 2 processes" in sweep.stdout and
          sweep.stdout.count("test accuracy") >= 5, "the first process prints every run")

    gpt_dir = tmp / "gpt_sweep"
    gpt_dir.mkdir()
    quick = ["--iterations", "2", "--eval_interval", "2", "--eval_iters", "1", "--batch", "2",
             "--sample_length", "1", "--out_dir", str(gpt_dir)]
    gpt = run(mpirun([str(ARGS.gpt), "--sweep"] + quick, 2), timeout=900)
    check(gpt.returncode == 0, f"gpt --sweep on 2 processes runs ({gpt.stderr.strip()[-300:]})")
    check(len(list(gpt_dir.glob("GPT_*.json"))) == 6, "the sweep's 6 configurations write results")
    check("sweep: 6 configurations on 2 processes" in gpt.stdout and
          gpt.stdout.count("final val loss") >= 6, "the first process prints every configuration")

    for name, command in (("alone", [str(ARGS.gpt)]), ("one", None)):
        folder = tmp / f"gpt_{name}"
        folder.mkdir()
        args = [str(ARGS.gpt), "--iterations", "6", "--eval_interval", "3", "--eval_iters", "2",
                "--batch", "4", "--sample_length", "20", "--out_dir", str(folder)]
        done = run(args if command else mpirun(args + ["--data_parallel"], 1))
        check(done.returncode == 0, f"gpt {name} runs ({done.stderr.strip()[-200:]})")

    def curves(folder):
        [path] = folder.glob("GPT_*.json")
        data = json.loads(path.read_text())
        return data["train"], data["val"], data["sample_after"]
    check(curves(tmp / "gpt_alone") == curves(tmp / "gpt_one"),
          "gpt --data_parallel on 1 process: the single-process curves and sample, bit for bit")


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mpirun", type=pathlib.Path, required=True)
    parser.add_argument("--mlp", type=pathlib.Path, required=True)
    parser.add_argument("--gpt", type=pathlib.Path, required=True)
    ARGS = parser.parse_args()
    if not (DATA / "train-images-idx3-ubyte.gz").exists():
        print(f"skipped: no Fashion-MNIST in {DATA}")
        return 77
    with tempfile.TemporaryDirectory() as folder:
        tmp = pathlib.Path(folder)
        for test in (test_equal_to_one_process, test_resume_on_other_counts, test_killed_process,
                     test_failing_process, test_sweeps):
            sub = tmp / test.__name__
            sub.mkdir()
            test(sub)
    if failures:
        print(f"{len(failures)} failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
