#!/usr/bin/env python3
"""Data-parallel time per step, measured (docs/distributed.md).

Runs build/bench/data_parallel_step for the course's GPT and the 784-1000-10 MLP:

- alone (the single-process trainer, KILN_THREADS=1: one core) at every batch of
  the compute model (GPT 1..64, MLP 8..256), its forward pass and loss at those
  batches, and the optimizer's flat update;
- under mpirun with 1 and 2 processes (one core each) at the headline batches
  (GPT 16, 32, 64; MLP 64, 256), beside alone.

Every setting runs once per round and the rounds interleave them, so that the
machine's drift falls on each alike; the figures are medians over rounds. Prints
a markdown table of the headline batches (with the speed-up of 2 processes over
one alone) and writes steps.json (--out), which `bench/scaling_model.py model
--steps` reads: alone entries are its compute model (ranks 1), the 2-process
entries its check on this machine (ranks 2).

  python3 bench/data_parallel.py --build build --rounds 5 --out steps.json
"""
import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys

PARAMS = {"gpt": 209_729, "mlp": 795_010}
ALONE = {"gpt": [1, 2, 4, 8, 16, 32, 64], "mlp": [8, 16, 32, 64, 128, 256]}
HEADLINE = {"gpt": [16, 32, 64], "mlp": [64, 256]}
MODEL_KEY = {"gpt": "gpt", "mlp": "mlp_wide"}  # scaling_model.py's names


def measure(args, network, batch, processes, only=None):
    """Seconds per step; `only` = "update" or "forward" times that part alone."""
    command = [str(args.program), "--network", network, "--batch", str(batch), "--rounds", "1",
               "--steps", str(args.steps if only != "update" else 20 * args.steps)]
    if processes == 0:
        command.append("--alone")
        if only:
            command.append("--" + only)
    else:
        command = [args.mpirun, "--allow-run-as-root", "-np", str(processes)] + command
    env = dict(os.environ, KILN_THREADS="1")
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        sys.exit(f"data_parallel.py: {' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])["median_seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=pathlib.Path, default=pathlib.Path("build"))
    parser.add_argument("--mpirun", default="mpirun")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40, help="steps timed per run")
    parser.add_argument("--out", type=pathlib.Path, help="steps.json for scaling_model.py")
    args = parser.parse_args()
    args.program = args.build / "bench" / "data_parallel_step"
    if not args.program.exists():
        sys.exit(f"data_parallel.py: {args.program} is not built (it needs MPI and Google "
                 "Benchmark's build of bench/: apt-get install libopenmpi-dev openmpi-bin "
                 "libbenchmark-dev, then meson setup --reconfigure)")
    # (network, batch, processes; 0 is alone) and the updates, in one list per round.
    runs = sorted({(n, b, 0) for n in ALONE for b in ALONE[n]} |
                  {(n, b, p) for n in HEADLINE for b in HEADLINE[n] for p in (0, 1, 2)})
    times = {run: [] for run in runs}
    forwards = {(n, b): [] for n in ALONE for b in ALONE[n]}
    updates = {n: [] for n in PARAMS}
    for round_ in range(args.rounds):
        for run in runs:
            times[run].append(measure(args, *run))
        for network, batch in forwards:
            forwards[(network, batch)].append(measure(args, network, batch, 0, "forward"))
        for network in PARAMS:
            updates[network].append(measure(args, network, 1, 0, "update"))
        print(f"round {round_ + 1} of {args.rounds} done", file=sys.stderr)
    median = {run: statistics.median(t) for run, t in times.items()}

    print("| network | global batch | alone, 1 core (ms) | 1 process (ms) | 2 processes (ms) "
          "| 2 processes against alone |")
    print("|---|---:|---:|---:|---:|---:|")
    for network, batches in HEADLINE.items():
        for b in batches:
            alone, one, two = (median[(network, b, p)] for p in (0, 1, 2))
            print(f"| {network} | {b} | {alone * 1e3:.2f} | {one * 1e3:.2f} | {two * 1e3:.2f} "
                  f"| {alone / two:.2f}x |")
    print("\nflat update (ms): " + ", ".join(
        f"{n} {statistics.median(u) * 1e3:.3f}" for n, u in updates.items()))

    if args.out:
        steps = {"machine": f"{platform.node()}: {cpu_name()}, {os.cpu_count()} cores",
                 "source": f"bench/data_parallel.py, medians of {args.rounds} interleaved "
                           f"rounds of {args.steps} steps"}
        for network in PARAMS:
            entries = sorted((b, p, median[(network, b, p)]) for (n, b, p) in median
                             if n == network and p != 1)
            steps[MODEL_KEY[network]] = {
                "params": PARAMS[network],
                "batch": [b for b, _, _ in entries],
                "seconds_per_step": [t for _, _, t in entries],
                "ranks": [max(p, 1) for _, p, _ in entries],
                "one_process_batch": HEADLINE[network],
                "one_process_seconds": [median[(network, b, 1)] for b in HEADLINE[network]],
                "update_seconds": statistics.median(updates[network]),
                "forward_batch": ALONE[network],
                "forward_seconds": [statistics.median(forwards[(network, b)])
                                    for b in ALONE[network]],
            }
        args.out.write_text(json.dumps(steps, indent=1) + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
