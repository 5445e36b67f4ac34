#!/usr/bin/env python3
"""kiln's GPT step against its PyTorch peer, in one run: the peer at 1 and 2
threads (bench/peers/gpt_step.py), then build/bench/gpt_step, back to back, and
the ratios against the peer's best thread count. Tokens per second are batch x
block (16 x 32) per step. The peer runs on the OpenBLAS kernel family that
bench/openblas_kernel.py chooses for this machine, probed once here (the table of
candidates is printed first) and read back by the peer.

Usage (from the repository root, with a quiet machine):
    /usr/bin/python3 bench/gpt_compare.py --text data/tinyshakespeare.txt
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import openblas_kernel  # noqa: E402

PEER_PYTHON = "/usr/bin/python3"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--text", required=True)
    p.add_argument("--kiln", default=os.path.join(HERE, "..", "build", "bench", "gpt_step"))
    p.add_argument("--min-time", type=float, default=1.0)
    args = p.parse_args()

    cache = openblas_kernel.cache_for_this_run()  # noqa: F841 (removed when it goes)
    print(openblas_kernel.choose(PEER_PYTHON).report() + "\n")
    peer = subprocess.run([PEER_PYTHON, os.path.join(HERE, "peers", "gpt_step.py"),
                           "--text", args.text, "--min-time", str(args.min_time)],
                          check=True, capture_output=True, text=True).stdout
    torch = {}
    for line in peer.splitlines():
        record = json.loads(line)
        if "case" in record:
            key = record["case"]
            torch.setdefault(key, {})[record["threads"]] = record["seconds_per_step"]
    kiln = subprocess.run([args.kiln, "--benchmark_format=json", "--benchmark_repetitions=5",
                           "--benchmark_report_aggregates_only=true",
                           f"--benchmark_min_time={args.min_time}"],
                          check=True, capture_output=True, text=True).stdout
    results, rates = {}, {}
    for b in json.loads(kiln)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            case = b["run_name"].replace("gpt_", "")
            results[case] = b["real_time"] * 1e-9  # ns -> s
            rates[case] = b.get("GFLOP/s")
    print(f"{'case':18} {'kiln ms':>9} {'torch 1t ms':>12} {'torch 2t ms':>12} "
          f"{'best torch / kiln':>18} {'kiln tokens/s':>14}")
    for case in ("training_step", "evaluation_batch"):
        k = results[case]
        t = torch[case]
        best = min(t.values())
        print(f"{case:18} {k * 1e3:9.3f} {t[1] * 1e3:12.3f} {t[2] * 1e3:12.3f} "
              f"{best / k:18.2f} {16 * 32 / k:14.0f}")
    # The floor: the step's matrix products alone, on one core, and half of that,
    # which two cores could reach only by splitting them perfectly.
    products = results["matrix_products_one_core"]
    step_best = min(torch["training_step"].values())
    print(f"\nthe step's matrix products alone, one core: {products * 1e3:.3f} ms "
          f"({rates['matrix_products_one_core']:.0f} GFLOP/s); half of that: "
          f"{products * 1e3 / 2:.3f} ms; 8x the peer's best step: {step_best * 1e3 / 8:.3f} ms")


if __name__ == "__main__":
    sys.exit(main())
