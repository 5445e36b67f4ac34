"""What the parent process of every step peer in bench/peers/ does: it runs each
(peer, thread count) in a child process of its own script with `--worker`, with
OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set to the count and the OpenBLAS kernel
family bench/openblas_kernel.py chose, passes on the JSON lines the child prints
(its environment to stderr, its results to stdout), writes them all as one JSON
document to --out, and exits 1 if any child failed (the others still run: torch
missing leaves numpy's results)."""

import json
import os
import subprocess
import sys


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
