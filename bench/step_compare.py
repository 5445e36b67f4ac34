#!/usr/bin/env python3
"""kiln's training step of an example (char_rnn, fashion_cnn) against its PyTorch
peer, interleaved: each round runs BUILD/bench/NETWORK_step at KILN_THREADS=1 and
2, then bench/peers/NETWORK.py at 1 and 2 threads, so that a change in the machine's load
falls on both sides. Each run reports its median step; over the rounds each
setting keeps its median and its best, and the ratio is torch's best setting over
kiln's best setting (each side at its faster thread count). The peer runs on the
OpenBLAS kernel family that bench/openblas_kernel.py chooses, probed once here.

Usage (from the repository root):
    /usr/bin/python3 bench/step_compare.py --network char_rnn --rounds 3
    /usr/bin/python3 bench/step_compare.py --network fashion_cnn --batch 8 --rounds 3
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import openblas_kernel  # noqa: E402

UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}  # Google Benchmark's, in seconds


def kiln_step(program, batch, threads, min_time):
    """Median seconds of the program's step at `batch` at KILN_THREADS=threads."""
    out = subprocess.run([program, f"--benchmark_filter=/{batch}$",
                          "--benchmark_format=json", "--benchmark_repetitions=5",
                          "--benchmark_report_aggregates_only=true",
                          f"--benchmark_min_time={min_time}"],
                         env=dict(os.environ, KILN_THREADS=str(threads)),
                         check=True, capture_output=True, text=True).stdout
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            return b["real_time"] * UNITS[b["time_unit"]]
    raise SystemExit(f"{program}: no median in its output")


def torch_step(python, network, batch, threads, min_time):
    """Median seconds of the peer's step at `batch` and `threads` threads."""
    peer = os.path.join(HERE, "peers", f"{network}.py")
    batches = ["--batches", str(batch)] if network == "fashion_cnn" else []
    out = subprocess.run([python, peer, "--threads", str(threads), "--min-time", str(min_time),
                          "--repetitions", "5"] + batches,
                         check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("case") == "training_step" and record.get("batch", batch) == batch:
            return record["seconds_per_step"]
    raise SystemExit(f"{peer}: no training step at batch {batch} in its output")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--network", choices=("char_rnn", "fashion_cnn"), default="char_rnn")
    p.add_argument("--batch", type=int, default=32, help="char_rnn_step has 32 alone")
    p.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    p.add_argument("--peer-python", default="/usr/bin/python3")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--min-time", type=float, default=0.5)
    args = p.parse_args()
    if args.rounds < 1 or args.min_time <= 0:
        p.error("--rounds must be >= 1 and --min-time > 0")

    program = os.path.join(args.build, "bench", f"{args.network}_step")
    cache = openblas_kernel.cache_for_this_run()  # noqa: F841 (removed when it goes)
    print(openblas_kernel.choose(args.peer_python).report() + "\n", flush=True)
    settings = [("kiln", 1), ("kiln", 2), ("torch", 1), ("torch", 2)]
    times = {s: [] for s in settings}
    for round_number in range(1, args.rounds + 1):
        for side, threads in settings:
            seconds = (kiln_step(program, args.batch, threads, args.min_time) if side == "kiln"
                       else torch_step(args.peer_python, args.network, args.batch, threads,
                                       args.min_time))
            times[(side, threads)].append(seconds)
            print(f"round {round_number}: {side} at {threads} thread(s): {seconds * 1e3:.2f} ms",
                  flush=True)

    print(f"\n{'setting':20} {'best ms':>9} {'median ms':>10}   runs (ms)")
    for (side, threads), runs in times.items():
        print(f"{side + f' {threads} thread(s)':20} {min(runs) * 1e3:9.2f} "
              f"{statistics.median(runs) * 1e3:10.2f}   " +
              ", ".join(f"{r * 1e3:.2f}" for r in runs))
    for name, pick in (("best", min), ("median", statistics.median)):
        kiln = min(pick(times[("kiln", t)]) for t in (1, 2))
        torch = min(pick(times[("torch", t)]) for t in (1, 2))
        print(f"torch / kiln, each side at its faster thread count ({name} of the rounds): "
              f"{torch / kiln:.2f}")


if __name__ == "__main__":
    main()
