#!/usr/bin/env python3
"""Runs kiln's benchmarks and its peers in one go and prints one comparison table
per network (784-128-10 and 784-1000-10).

    python3 bench/run.py --build build                 # the full run (about 5 minutes)
    python3 bench/run.py --build build --quick         # a smoke test (about 30 s)
    python3 bench/run.py --build build --markdown bench.md

What runs, one after the other (never two at once, on this 2-core machine):

1. BUILD/bench/mlp_step: kiln's training step and inference (Google Benchmark,
   median of the repetitions), twice: with KILN_THREADS=1 and KILN_THREADS=2
   (kiln's thread pool splits a pass over the cores only when it is big enough).
   Names: training_step/<batch>, inference/<batch> for 784-128-10;
   training_step_wide/<batch>, inference_wide/<batch> for 784-1000-10. A name
   the program lacks shows as "—".
2. BUILD/bench/peak: the float32 FMA peak on 1 and 2 cores (best repetition).
3. BUILD/bench/sgemm, if built: OpenBLAS's cblas_sgemm on the products of the
   same step (median; best of 1 and 2 threads).
4. bench/peers/mlp_step.py under Debian's python (--peer-python): PyTorch and
   numpy, at 1 and 2 threads (median; best of the two thread counts).

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which make OpenBLAS pick slower kernels
on this machine, are removed from the environment of steps 3 and 4 only.

Only the Python standard library is used.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
INPUTS, CLASSES = 784, 10
NETWORKS = (  # (name, hidden width, suffix of kiln's benchmark names)
    ("784-128-10", 128, ""),
    ("784-1000-10", 1000, "_wide"),
)
CASES = [("training_step", b) for b in (1, 5, 50, 500, 5000)] + \
        [("inference", b) for b in (1, 5000)]
OPENBLAS_SLOW_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
DASH = "—"


# ----------------------------------------------------------------------------
# FLOP counts
# ----------------------------------------------------------------------------

FLOP_FORMULA = (
    "FLOP = 2 x the multiply-adds of the matrix products; per example, with h the hidden "
    "width: inference 2(784h + 10h); training step 2(784h + 10h) forward + 2(784h + 10h) "
    "weight gradients + 2(10h) hidden-layer gradient = 4*784h + 6*10h (the first layer's "
    "input gradient is not needed and not computed). Bias, ReLU, softmax and the SGD update "
    "are not counted.")


def flop(case, hidden, batch):
    """FLOP of one step, as FLOP_FORMULA says."""
    if case == "inference":
        return 2.0 * batch * (INPUTS * hidden + hidden * CLASSES)
    return batch * (4.0 * INPUTS * hidden + 6.0 * hidden * CLASSES)


# ----------------------------------------------------------------------------
# Running the programs
# ----------------------------------------------------------------------------

def without_slow_openblas_vars():
    return {k: v for k, v in os.environ.items() if k not in OPENBLAS_SLOW_VARS}


def log(message):
    print(message, file=sys.stderr, flush=True)


def run_google_benchmark(program, repetitions, min_time, env=None, extra=(), shown_env=""):
    """Runs a Google Benchmark program; returns its JSON document, or None if it failed.

    shown_env: how env differs from ours, for the command line that is logged."""
    if not os.path.exists(program):
        log(f"  {program} not found: skipped")
        return None
    command = [program, "--benchmark_format=json",
               f"--benchmark_repetitions={repetitions}",
               "--benchmark_report_aggregates_only=true",
               f"--benchmark_min_time={min_time}", *extra]
    log("  $ " + shown_env + " ".join(shlex.quote(c) for c in command))
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    if done.returncode != 0:
        log(f"  failed (exit status {done.returncode}):\n{done.stderr.strip()}")
        return None
    return json.loads(done.stdout)


def seconds(entry):
    """A Google Benchmark entry's real time per iteration, in seconds."""
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[entry["time_unit"]]
    return entry["real_time"] * scale


def aggregates(document, aggregate):
    """{run_name: entry} of one aggregate ("median", "max", ...) of a JSON report."""
    if document is None:
        return {}
    return {e["run_name"]: e for e in document["benchmarks"]
            if e.get("aggregate_name") == aggregate}


def kiln_times(documents):
    """{(network, case, batch): {threads: seconds per step}} from bench/mlp_step,
    given {KILN_THREADS: its JSON document}."""
    times = {}
    for threads, document in documents.items():
        medians = aggregates(document, "median")
        for network, _, suffix in NETWORKS:
            for case, batch in CASES:
                entry = medians.get(f"{case}{suffix}/{batch}")
                if entry is not None:
                    times.setdefault((network, case, batch), {})[threads] = seconds(entry)
    return times


def peak_gflops(document):
    """{threads: GFLOP/s}: the widest vector probe's best repetition."""
    best = aggregates(document, "max")
    for width in ("512", "256"):
        found = {e["threads"]: e["GFLOP/s"]  # the counter is in GFLOP per second
                 for name, e in best.items() if name.startswith(f"peak_fma_{width}/")}
        if found:
            return found, width
    return {}, None


def sgemm_times(document):
    """{(network, case, batch): (seconds, threads)}: best thread count of each shape."""
    medians = aggregates(document, "median")
    times = {}
    pattern = re.compile(r"sgemm_(step|forward)/hidden:(\d+)/batch:(\d+)/threads:(\d+)")
    for name, entry in medians.items():
        match = pattern.match(name)
        if not match:
            continue
        kind, hidden, batch, threads = match.groups()
        network = {h: n for n, h, _ in NETWORKS}.get(int(hidden))
        case = "training_step" if kind == "step" else "inference"
        key = (network, case, int(batch))
        value = (seconds(entry), int(threads))
        if key not in times or value[0] < times[key][0]:
            times[key] = value
    return times


def run_peers(python, quick):
    """Runs bench/peers/mlp_step.py; returns its JSON document (or None)."""
    script = os.path.join(HERE, "peers", "mlp_step.py")
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "peers.json")
        command = [python, script, "--out", out] + (["--quick"] if quick else [])
        log("  $ env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE " +
            " ".join(shlex.quote(c) for c in command))
        done = subprocess.run(command, env=without_slow_openblas_vars(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            log(f"  the peers failed (exit status {done.returncode}):\n{done.stderr.strip()}")
        if not os.path.exists(out):
            return None
        with open(out) as f:
            return json.load(f)


def peer_times(document):
    """{(peer, network, case, batch): (seconds, threads)}: the best thread count."""
    times = {}
    for r in (document or {}).get("results", []):
        key = (r["peer"], r["network"], r["case"], r["batch"])
        value = (r["seconds_per_step"], r["threads"])
        if key not in times or value[0] < times[key][0]:
            times[key] = value
    return times


# ----------------------------------------------------------------------------
# The machine
# ----------------------------------------------------------------------------

def command_output(command):
    try:
        return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout
    except OSError:
        return ""


def cpu_model():
    for line in command_output(["lscpu"]).splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown processor"


def build_compiler(build):
    """The C++ compiler of the meson build folder, as its log names it."""
    try:
        with open(os.path.join(build, "meson-logs", "meson-log.txt")) as log_file:
            for line in log_file:
                if line.startswith("C++ compiler for the host machine:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown compiler"


def build_options(build):
    try:
        with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
            options = {o["name"]: o["value"] for o in json.load(f)}
        return f"buildtype={options.get('buildtype')}, native={options.get('native')}"
    except (OSError, ValueError, KeyError):
        return "unknown options"


def compiler_versions():
    versions = []
    for compiler in ("g++", "clang++"):
        if shutil.which(compiler):
            first = command_output([compiler, "--version"]).splitlines()
            if first:
                versions.append(first[0])
    return "; ".join(versions)


def peer_description(document):
    """'torch 1.13 / numpy 1.24 on OpenBLAS 0.3.21 (Cooperlake kernels)' from the workers."""
    if not document:
        return "peers not run"
    parts = []
    for worker in document["environment"].get("workers", []):
        if worker["threads"] != 1:
            continue
        blas = [p for p in (worker.get("blas") or []) if p.get("user_api") == "blas"]
        if blas:
            b = blas[0]
            where = f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')} kernels)"
        else:
            where = ", ".join(worker.get("blas_files", [])) or "unknown BLAS"
        parts.append(f"{worker['peer']} {worker['version']} on {where}")
    return "; ".join(parts)


# ----------------------------------------------------------------------------
# The tables
# ----------------------------------------------------------------------------

def microseconds(value):
    return DASH if value is None else f"{value * 1e6:,.1f}"


def ratio(peer, kiln):
    """peer time / kiln time, both (seconds, threads) entries."""
    return DASH if peer is None or kiln is None else f"{peer[0] / kiln[0]:.2f}"


def with_threads(entry):
    return DASH if entry is None else f"{microseconds(entry[0])} ({entry[1]}t)"


def fastest(by_threads):
    """(seconds, threads) of the fastest thread count in {threads: seconds}, or None."""
    if not by_threads:
        return None
    threads = min(by_threads, key=by_threads.get)
    return by_threads[threads], threads


def case_label(case, batch):
    return f"training step, batch {batch}" if case == "training_step" else f"inference, batch {batch}"


def table(network, hidden, kiln, peers, sgemm, peak):
    """One network's markdown table. kiln: {(network, case, batch): {threads: s}};
    peers, sgemm: {...: (seconds, threads)}; peak: {cores: GFLOP/s}."""
    header = ["case", "kiln 1t µs", "kiln 2t µs", "torch µs", "numpy µs", "OpenBLAS sgemm µs",
              "torch / kiln", "numpy / kiln", "kiln GFLOP/s 1t / 2t", "kiln % of peak 1c / 2c"]
    lines = [f"### {network}", "",
             "| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for case, batch in CASES:
        by_threads = kiln.get((network, case, batch), {})
        best = fastest(by_threads)  # what the peers are compared with
        torch = peers.get(("torch", network, case, batch))
        numpy = peers.get(("numpy", network, case, batch))
        blas = sgemm.get((network, case, batch))
        # kiln's rate at each thread count, and its share of the peak of as many cores.
        rates, shares = [], []
        for threads in (1, 2):
            if threads not in by_threads:
                rates.append(DASH)
                shares.append(DASH)
                continue
            gflops = flop(case, hidden, batch) / by_threads[threads] / 1e9
            rates.append(f"{gflops:.0f}")
            shares.append(f"{100 * gflops / peak[threads]:.0f}%" if peak.get(threads) else DASH)
        rate, share = " / ".join(rates), " / ".join(shares)
        cells = [case_label(case, batch), microseconds(by_threads.get(1)),
                 microseconds(by_threads.get(2)), with_threads(torch), with_threads(numpy),
                 with_threads(blas), ratio(torch, best), ratio(numpy, best), rate, share]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description="kiln's benchmarks next to PyTorch, numpy and "
                                            "OpenBLAS, as markdown tables")
    p.add_argument("--build", default="build", help="meson build folder (default: build)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: fewer repetitions, short minimum times")
    p.add_argument("--markdown", metavar="FILE", help="also write the tables to FILE")
    p.add_argument("--raw", metavar="FILE", help="write every program's raw results as JSON")
    p.add_argument("--peer-python", default="/usr/bin/python3" if os.path.exists(
        "/usr/bin/python3") else sys.executable,
                   help="Python with torch and numpy (default: Debian's /usr/bin/python3)")
    p.add_argument("--no-peers", action="store_true", help="skip torch and numpy")
    return p.parse_args()


def main():
    args = parse_args()
    bench = os.path.join(args.build, "bench")
    repetitions, min_time = (2, 0.02) if args.quick else (5, 0.5)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        log(f"warning: load average {load_before:.2f}: other processes are running, and the "
            f"2-thread results (kiln's included) suffer most")

    kiln_docs = {}
    for threads in (1, 2):
        log(f"kiln (bench/mlp_step, KILN_THREADS={threads})")
        kiln_docs[threads] = run_google_benchmark(
            os.path.join(bench, "mlp_step"), repetitions, min_time,
            env=dict(os.environ, KILN_THREADS=str(threads)),
            extra=["--benchmark_filter=^(training_step|inference)(_wide)?/"],
            shown_env=f"KILN_THREADS={threads} ")
    log("peak (bench/peak)")
    peak_doc = run_google_benchmark(os.path.join(bench, "peak"), repetitions,
                                    0.05 if args.quick else 0.2)
    log("OpenBLAS (bench/sgemm)")
    sgemm_doc = run_google_benchmark(os.path.join(bench, "sgemm"), repetitions,
                                     0.02 if args.quick else 0.3,
                                     env=without_slow_openblas_vars(),
                                     extra=["--benchmark_filter=sgemm_(step|forward)/"],
                                     shown_env="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ")
    peers_doc = None
    if not args.no_peers:
        log("peers (bench/peers/mlp_step.py)")
        peers_doc = run_peers(args.peer_python, args.quick)

    kiln = kiln_times(kiln_docs)
    peak, width = peak_gflops(peak_doc)
    sgemm = sgemm_times(sgemm_doc)
    peers = peer_times(peers_doc)

    sgemm_core = (sgemm_doc or {}).get("context", {}).get("openblas_core", "not run")
    peak_text = ", ".join(f"{t} core{'s' if t > 1 else ''} {g:.0f} GFLOP/s"
                          for t, g in sorted(peak.items())) or "not measured"
    notes = [
        "Times are per step (µs), the median of the repetitions. kiln at KILN_THREADS=1 and 2 "
        "(its pool splits a pass over the cores only from 40 MFLOP, so small cases run on one "
        "core either way); torch, numpy and OpenBLAS show their faster thread count (1t or 2t). "
        "Ratios are peer time / kiln's faster time (of 1t and 2t): above 1 means kiln is faster. "
        "kiln's GFLOP/s and share of the peak are given for each thread count, the share "
        "against the measured peak of as many cores (1t: 1 core; 2t: 2 cores, used or not).",
        "OpenBLAS sgemm: cblas_sgemm alone on the matrix products the step does (training: "
        "both forward products, both weight gradients, the hidden-layer gradient; "
        "inference: the two forward products).",
        FLOP_FORMULA,
        f"Measured float32 FMA peak ({width or '?'}-bit registers, best repetition): "
        f"{peak_text}.",
    ]
    machine = (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; kiln built by {build_compiler(args.build)} "
        f"({build_options(args.build)}); installed: {compiler_versions()}; "
        f"peers: {peer_description(peers_doc)}; OpenBLAS sgemm kernels: {sgemm_core}; "
        f"load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
        f"date {started.strftime('%Y-%m-%d %H:%M UTC')}; command: "
        f"`python3 {' '.join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0])] + sys.argv[1:])}`"
        f"{' (quick: not for quoting)' if args.quick else ''}.")

    parts = [table(network, hidden, kiln, peers, sgemm, peak)
             for network, hidden, _ in NETWORKS]
    text = "\n\n".join(parts) + "\n\n" + "\n\n".join(notes) + "\n\n" + machine + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(text)
    if args.raw:
        with open(args.raw, "w") as out:
            json.dump({"kiln": kiln_docs, "peak": peak_doc, "sgemm": sgemm_doc,
                       "peers": peers_doc}, out, indent=1)
    if not kiln:
        log("error: no kiln result (is the build folder right, and bench/mlp_step built?)")
        sys.exit(1)


if __name__ == "__main__":
    main()
