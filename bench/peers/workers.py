"""What the parent process of every step peer in bench/peers/ does: it runs each
(peer, thread count) in a child process of its own script with `--worker`, with
OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set to the count and the OpenBLAS kernel
family bench/openblas_kernel.py chose, passes on the JSON lines the child prints
(its environment to stderr, its results to stdout), writes them all as one JSON
document to --out, and exits 1 if any child failed (the others still run: torch
missing leaves numpy's results)."""

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # bench/
import openblas_kernel  # noqa: E402


def peer_main(script, args, worker, workers_of):
    """A peer's main: in a child (--worker), worker(args); in the parent, the OpenBLAS
    kernels chosen (their table on stderr), then run_workers over workers_of(args)."""
    if args.worker:
        worker(args)
        return
    blas = openblas_kernel.choose(sys.executable)
    print(blas.report(), file=sys.stderr)
    run_workers(script, workers_of(args), blas, args.out)


def run_workers(script, workers, blas, out_path):
    """workers: (peer name, threads, the child's arguments after --worker)."""
    results, environments, failed = [], [], []
    for peer, threads, arguments in workers:
        env = dict(blas.environ(os.environ), OPENBLAS_NUM_THREADS=str(threads),
                   OMP_NUM_THREADS=str(threads))
        command = [sys.executable, os.path.abspath(script), "--worker", *arguments]
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        for line in child.stdout:
            record = json.loads(line)
            if "environment" in record:
                environments.append(record["environment"])
                print(f"# {peer} at {threads} thread(s): {json.dumps(record['environment'])}",
                      file=sys.stderr)
            else:
                results.append(record)
                print(line, end="", flush=True)
        if child.wait() != 0:
            failed.append(f"{peer} at {threads} thread(s)")
            print(f"error: the {peer} worker at {threads} thread(s) failed "
                  f"(exit status {child.returncode})", file=sys.stderr)

    if out_path:
        with open(out_path, "w") as out:
            json.dump({"environment": {"python": sys.version.split()[0],
                                       "executable": sys.executable,
                                       "workers": environments, "failed": failed},
                       "results": results}, out, indent=1)
            out.write("\n")
    if failed:
        sys.exit(1)


def add_timing_options(parser, quick_help):
    """The options every torch step peer takes: thread counts, the timing rule of
    mlp_step.measure, --quick, --out and the hidden --worker."""
    parser.add_argument("--threads", default="1,2",
                        type=lambda s: [int(t) for t in s.split(",") if t],
                        help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--min-time", type=float, default=0.5,
                        help="seconds per timed repetition, at least (default 0.5)")
    parser.add_argument("--repetitions", type=int, default=5,
                        help="timed repetitions (default 5)")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--out", help="write the results and environment as one JSON document")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)


def check_timing_options(parser, args):
    """--quick's timing (--min-time 0.02 --repetitions 2), and the options' ranges."""
    if args.quick:
        args.min_time, args.repetitions = 0.02, 2
    if args.min_time <= 0 or args.repetitions < 1:
        parser.error("--min-time must be > 0 and --repetitions >= 1")
    if not args.threads or any(t < 1 for t in args.threads):
        parser.error("--threads must list counts >= 1")


def worker_timing(args, threads):
    """A worker's arguments for add_timing_options: its thread count and the timing."""
    return ["--threads", str(threads), "--min-time", str(args.min_time),
            "--repetitions", str(args.repetitions)]


def start_torch_worker(threads):
    """Sets torch's thread count and prints the worker's environment line."""
    import torch
    torch.set_num_threads(threads)
    environment = {"peer": "torch", "threads": threads, "version": torch.__version__,
                   "mkldnn": torch.backends.mkldnn.is_available(),
                   "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                   "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE")}
    print(json.dumps({"environment": environment}), flush=True)
