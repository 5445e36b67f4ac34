#!/usr/bin/env python3
"""Runs kiln's benchmarks and its peers in one go and prints one comparison table
per network family: the MLPs 784-128-10 and 784-1000-10, the CNNs CNN2 and CNN3,
examples/fashion_cnn's network and examples/char_rnn's character GRU.

    python3 bench/run.py --build build                 # the full run (roughly 10 minutes)
    python3 bench/run.py --build build --quick         # a smoke test (about a minute)
    python3 bench/run.py --build build --only cnn      # one part alone: mlp, cnn,
                                                       # fashion_cnn, char_rnn or all
    python3 bench/run.py --build build --markdown bench.md

What runs, one after the other (never two at once, on this 2-core machine):

1. BUILD/bench/peak: the float32 FMA peak on 1 and 2 cores (best repetition).

The MLPs (--only mlp):

2. BUILD/bench/mlp_step: kiln's training step and inference (Google Benchmark,
   median of the repetitions), twice: with KILN_THREADS=1 and KILN_THREADS=2
   (kiln's thread pool splits a pass over the cores only when it is big enough).
   Names: training_step/<batch>, inference/<batch> for 784-128-10;
   training_step_wide/<batch>, inference_wide/<batch> for 784-1000-10. A name
   the program lacks shows as "—".
3. BUILD/bench/sgemm, if built: OpenBLAS's cblas_sgemm on the products of the
   same step (median; best of 1 and 2 threads). It is built when OpenBLAS's
   cblas.h is there: `apt-get install libopenblas-dev`, then
   `meson setup --reconfigure BUILD` and `meson compile -C BUILD bench/sgemm`.
4. bench/peers/mlp_step.py under Debian's python (--peer-python): PyTorch and
   numpy, at 1 and 2 threads (median; best of the two thread counts).

The CNNs (--only cnn), as SECTIONS describes them:

5. BUILD/bench/cnn_step: kiln's training step of CNN2 and CNN3 at batch 5 and 32
   and one epoch of the course's recipe (cnn2_epoch, cnn3_epoch), median of the
   repetitions, at kiln's default thread count (KILN_THREADS unset: its pool
   decides whether to split). Its GFLOP/s counter gives the FLOP count.
6. bench/peers/cnn_step.py under Debian's python: PyTorch at 1 and at 2 threads,
   both shown, with --epoch (an epoch is timed once).

examples/fashion_cnn's network (--only fashion_cnn), the same way: BUILD/bench/
fashion_cnn_step (its training step with AdamW at batch 8 and 32) and
bench/peers/fashion_cnn.py (the same step in PyTorch at 1 and 2 threads).

--quick leaves the epochs out (the peer's alone take minutes).

The character GRU (--only char_rnn), a section too:

7. BUILD/bench/char_rnn_step: kiln's training step of examples/char_rnn's network
   (embedding 64, GRU 128, linear 65 at every step; windows of 64) at batch 32.
8. bench/peers/char_rnn.py: PyTorch's step at 1 and 2 threads. Its --train (the
   recipe trained for its validation loss) is not run here: see docs/performance.md.

The peers and bench/sgemm run on the OpenBLAS kernel family that
bench/openblas_kernel.py chooses for this machine before them (the fastest that
computes sgemm correctly; its table of candidates is printed with the results):
OPENBLAS_CORETYPE is set (or unset) in the environment of steps 3, 4 and 6 only,
never for kiln. The choice is probed once per run and cached for the peers.

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
from typing import NamedTuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import openblas_kernel  # noqa: E402
INPUTS, CLASSES = 784, 10
NETWORKS = (  # (name, hidden width, suffix of kiln's benchmark names)
    ("784-128-10", 128, ""),
    ("784-1000-10", 1000, "_wide"),
)
CASES = [("training_step", b) for b in (1, 5, 50, 500, 5000)] + \
        [("inference", b) for b in (1, 5000)]
DASH = "—"


class Section(NamedTuple):
    """A network family with a kiln Google Benchmark program and a PyTorch peer that
    follow bench/cnn_step's conventions. The program's cases: <network>_step/<batch>,
    with a GFLOP/s counter, and <network>_epoch if epoch_batch is set. The peer takes
    --quick, --epoch and --out FILE, and FILE holds {"environment": {"workers": [...]},
    "results": [{peer, case ("training_step" or "epoch"), network, batch, threads,
    seconds_per_step (a step) or seconds (an epoch)}, ...]}."""
    name: str  # --only's choice
    title: str  # the table's heading
    program: str  # BUILD/bench/<program>
    peer: str  # bench/peers/<peer>
    networks: tuple  # the names both programs use
    batches: tuple  # of the training steps
    epoch_batch: object  # the batch of an epoch's steps; None: the program has no epochs
    flop_note: str  # what the GFLOP/s counter counts

    def epochs(self, quick):
        """Whether the epochs run: they take minutes, so --quick leaves them out."""
        return self.epoch_batch is not None and not quick


SECTIONS = (
    Section("cnn", "CNN2 and CNN3", "cnn_step", "cnn_step.py", ("cnn2", "cnn3"), (5, 32), 5,
            "CNN FLOP (bench/cnn_step's count): 2 x the multiply-adds of the products of the "
            "convolutions and the linear layer; each does its forward product and its weight "
            "gradient, every one but the first its input gradient too. Bias, ReLU, pooling, "
            "softmax and the SGD update are not counted."),
    Section("char_rnn", "The character GRU (examples/char_rnn)", "char_rnn_step", "char_rnn.py",
            ("char_rnn",), (32,), None,
            "Character GRU FLOP (bench/step_flops.hpp): 2 x the multiply-adds of the products, "
            "3 x each forward's: the GRU's input and recurrent products, their weight "
            "gradients, and the input gradient with the gradient carried back through time; "
            "the linear layer's three. The embedding's lookup, the gates' elementwise work, "
            "the softmax, clipping and AdamW are not counted."),
    Section("fashion_cnn", "examples/fashion_cnn's network", "fashion_cnn_step",
            "fashion_cnn.py", ("fashion_cnn",), (8, 32), None,
            "FLOP (bench/step_flops.hpp): 2 x the multiply-adds of the products of the "
            "convolutions (depthwise included) and the linear layer, counted as for the CNNs. "
            "batch_norm, ReLU, pooling, dropout, softmax and the AdamW update are not "
            "counted."),
)


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
    try:
        done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    except OSError as error:
        log(f"  cannot run {program}: {error}")
        return None
    if done.returncode != 0:
        log(f"  failed (exit status {done.returncode}):\n{last_lines(done.stderr)}")
        return None
    try:
        document = json.loads(done.stdout)
    except ValueError:
        log(f"  {program} did not print a JSON report: skipped")
        return None
    for entry in document.get("benchmarks", []):
        if entry.get("error_occurred"):
            log(f"  {entry['name']}: {entry.get('error_message', 'failed')}")
    return document


def last_lines(text, count=10):
    """The end of a program's error output, indented, for the log; of a Python
    traceback, only the exception's line."""
    lines, in_traceback = [], False
    for line in text.strip().splitlines():
        if line.startswith("Traceback (most recent call last):"):
            in_traceback = True
        elif not (in_traceback and line[:1].isspace()):
            in_traceback = False
            lines.append(line)
    return "\n".join("    " + line for line in lines[-count:] or ["(no error output)"])


def seconds(entry, time="real_time"):
    """A Google Benchmark entry's real (or CPU) time per iteration, in seconds."""
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[entry["time_unit"]]
    return entry[time] * scale


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


def run_peers(python, script, quick, extra=()):
    """Runs bench/peers/SCRIPT, which writes its results with --out FILE; returns that
    JSON document (what it has, if the peer failed part way), or None. The peer sets
    the OpenBLAS kernels for its workers from this run's cached choice."""
    path = os.path.join(HERE, "peers", script)
    if not os.path.exists(path):
        log(f"  {path} not found: skipped")
        return None
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "peers.json")
        command = [python, path, "--out", out, *(["--quick"] if quick else []), *extra]
        log("  $ " + " ".join(shlex.quote(c) for c in command))
        try:
            done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True)
        except OSError as error:
            log(f"  cannot run {python}: {error}")
            return None
        if done.returncode != 0:
            log(f"  {script} failed (exit status {done.returncode}); the end of its error "
                f"output:\n{last_lines(done.stderr)}")
        try:
            with open(out) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


def peer_times_by_threads(document):
    """{(peer, network, case, batch): {threads: seconds}}: a step's median, an epoch's time."""
    times = {}
    for r in (document or {}).get("results", []):
        key = (r["peer"], r["network"], r["case"], r["batch"])
        times.setdefault(key, {})[r["threads"]] = r.get("seconds_per_step", r.get("seconds"))
    return times


def peer_times(document):
    """{(peer, network, case, batch): (seconds, threads)}: the best thread count."""
    return {key: fastest(by_threads)
            for key, by_threads in peer_times_by_threads(document).items()}


def section_kiln_times(section, document):
    """{(network, case, batch): (seconds, FLOP or None)} from a section's program: the
    median time of <network>_step/<batch> and <network>_epoch.

    The GFLOP/s counter is a rate per second of the main thread's CPU time (Google
    Benchmark's kIsRate), not per second of real time, so it is turned back into the
    FLOP of one step (exact with an odd repetition count: the median repetition is the
    same for both); rates are then taken over real time, like the times."""
    medians = aggregates(document, "median")
    times = {}
    for network in section.networks:
        for batch in section.batches:
            entry = medians.get(f"{network}_step/{batch}")
            if entry is not None:
                flop_count = entry.get("GFLOP/s")
                if flop_count is not None:
                    flop_count *= 1e9 * seconds(entry, "cpu_time")
                times[(network, "training_step", batch)] = (seconds(entry), flop_count)
        for name, entry in medians.items():  # "cnn2_epoch/iterations:1"
            if section.epoch_batch is not None and name.split("/")[0] == f"{network}_epoch":
                times[(network, "epoch", section.epoch_batch)] = (seconds(entry), None)
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
        return f"buildtype={options.get('buildtype')}, simd={options.get('simd')}"
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
        elif "mkldnn" in worker:  # the CNN peer: its convolutions' library
            where = "oneDNN" if worker["mkldnn"] else "no oneDNN"
        else:
            where = ", ".join(worker.get("blas_files", [])) or "unknown BLAS"
        parts.append(f"{worker['peer']} {worker['version']} on {where}")
    return "; ".join(parts) or "no result"


# ----------------------------------------------------------------------------
# The tables
# ----------------------------------------------------------------------------

def microseconds(value):
    return DASH if value is None else f"{value * 1e6:,.1f}"


def ratio(peer, kiln):
    """peer time / kiln time, both (seconds, ...) entries."""
    return DASH if peer is None or kiln is None else f"{peer[0] / kiln[0]:.2f}"


def with_threads(entry):
    return DASH if entry is None else f"{microseconds(entry[0])} ({entry[1]}t)"


def fastest(by_threads):
    """(seconds, threads) of the fastest thread count in {threads: seconds}, or None."""
    if not by_threads:
        return None
    threads = min(by_threads, key=by_threads.get)
    return by_threads[threads], threads


def milliseconds(value):
    return DASH if value is None else f"{value * 1e3:,.1f}"


def case_label(case, batch):
    return f"{case.replace('_', ' ')}, batch {batch}"  # training step, inference, epoch


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


def section_table(section, kiln, peers, peak, epochs):
    """A section's markdown table. kiln: {(network, case, batch): (seconds, FLOP)};
    peers: {(peer, network, case, batch): {threads: seconds}}; peak: {cores: GFLOP/s}."""
    cores = os.cpu_count()  # kiln's default pool: one thread per core
    header = ["case", "kiln ms", "torch 1t ms", "torch 2t ms", "torch / kiln", "kiln GFLOP/s",
              f"kiln % of {cores}-core peak"]
    lines = [f"### {section.title}", "",
             "| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for network in section.networks:
        rows = [("training_step", batch) for batch in section.batches]
        if epochs:
            rows.append(("epoch", section.epoch_batch))
        for case, batch in rows:
            ours = kiln.get((network, case, batch))  # (seconds, FLOP or None)
            torch = peers.get(("torch", network, case, batch), {})
            rate, share = DASH, DASH
            if ours and ours[1]:
                gflops = ours[1] / ours[0] / 1e9
                rate = f"{gflops:.0f}"
                share = f"{100 * gflops / peak[cores]:.0f}%" if peak.get(cores) else DASH
            cells = [f"{network} {case_label(case, batch)}", milliseconds(ours and ours[0]),
                     milliseconds(torch.get(1)), milliseconds(torch.get(2)),
                     ratio(fastest(torch), ours), rate, share]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------
# The runs
# ----------------------------------------------------------------------------

SGEMM_HELP = ("bench/sgemm is built when OpenBLAS's cblas.h is there: apt-get install "
              "libopenblas-dev, then meson setup --reconfigure BUILD and meson compile -C BUILD "
              "bench/sgemm")


def run_mlp(args, bench, repetitions, min_time, blas):
    """Steps 2-4 of the docstring: {"kiln": {KILN_THREADS: document}, "sgemm": document,
    "peers": document}. blas: the peers' openblas_kernel.Choice."""
    kiln_docs = {}
    for threads in (1, 2):
        log(f"kiln (bench/mlp_step, KILN_THREADS={threads})")
        kiln_docs[threads] = run_google_benchmark(
            os.path.join(bench, "mlp_step"), repetitions, min_time,
            env=dict(os.environ, KILN_THREADS=str(threads)),
            extra=["--benchmark_filter=^(training_step|inference)(_wide)?/"],
            shown_env=f"KILN_THREADS={threads} ")
    log("OpenBLAS (bench/sgemm)")
    if not os.path.exists(os.path.join(bench, "sgemm")):
        log("  " + SGEMM_HELP.replace("BUILD", args.build))
    sgemm_doc = run_google_benchmark(os.path.join(bench, "sgemm"), repetitions,
                                     0.02 if args.quick else 0.3,
                                     env=blas.environ(os.environ),
                                     extra=["--benchmark_filter=sgemm_(step|forward)/"],
                                     shown_env=blas.shown_env())
    peers_doc = None
    if not args.no_peers:
        log("peers (bench/peers/mlp_step.py)")
        peers_doc = run_peers(args.peer_python, "mlp_step.py", args.quick)
    return {"kiln": kiln_docs, "sgemm": sgemm_doc, "peers": peers_doc}


def mlp_report(docs, peak):
    """The MLPs' tables and notes, and whether kiln gave any result."""
    kiln = kiln_times(docs["kiln"])
    sgemm = sgemm_times(docs["sgemm"])
    peers = peer_times(docs["peers"])
    tables = [table(network, hidden, kiln, peers, sgemm, peak)
              for network, hidden, _ in NETWORKS]
    sgemm_core = (docs["sgemm"] or {}).get("context", {}).get("openblas_core", "not run")
    notes = [
        "MLPs: times are per step (µs), the median of the repetitions. kiln at KILN_THREADS=1 "
        "and 2 (its pool splits a pass over the cores only from 40 MFLOP, so small cases run on "
        "one core either way); torch, numpy and OpenBLAS show their faster thread count (1t or "
        "2t). Ratios are peer time / kiln's faster time (of 1t and 2t): above 1 means kiln is "
        "faster. kiln's GFLOP/s and share of the peak are given for each thread count, the share "
        "against the measured peak of as many cores (1t: 1 core; 2t: 2 cores, used or not).",
        "OpenBLAS sgemm: cblas_sgemm alone on the matrix products the step does (training: "
        "both forward products, both weight gradients, the hidden-layer gradient; "
        "inference: the two forward products). Its kernels: " + sgemm_core + ".",
        FLOP_FORMULA,
    ]
    return tables, notes, bool(kiln)


def run_section(section, args, bench, repetitions, min_time):
    """Steps 5-6 of the docstring for one section: {"kiln": document, "peers": document}."""
    epochs = section.epochs(args.quick)
    log(f"kiln (bench/{section.program}, KILN_THREADS unset)")
    cases = "(step/|epoch)" if epochs else "step/"
    kiln_doc = run_google_benchmark(
        os.path.join(bench, section.program), repetitions, min_time,
        env={k: v for k, v in os.environ.items() if k != "KILN_THREADS"},
        extra=[f"--benchmark_filter=^({'|'.join(section.networks)})_{cases}"],
        shown_env="env -u KILN_THREADS ")
    peers_doc = None
    if not args.no_peers:
        log(f"peers (bench/peers/{section.peer})")
        peers_doc = run_peers(args.peer_python, section.peer, args.quick,
                              ["--epoch"] if epochs else [])
    return {"kiln": kiln_doc, "peers": peers_doc}


def section_report(section, docs, peak, quick):
    """A section's table and notes, and whether kiln gave any result."""
    kiln = section_kiln_times(section, docs["kiln"])
    cores = os.cpu_count()
    note = (
        f"{section.title}: times are per training step (ms), the median of the repetitions. "
        f"kiln at its default thread count ({cores}; its pool splits a pass only when it is big "
        f"enough); torch at 1 and 2 threads. torch / kiln is torch's faster time over kiln's: "
        f"above 1 means kiln is faster. kiln's GFLOP/s is over real time; its share is against "
        f"the measured peak of all {cores} cores, used or not.")
    if section.epoch_batch is not None:
        note += (f" An epoch (ms): the course's recipe at batch {section.epoch_batch}, every "
                 f"shuffled mini-batch of the training split, then the evaluation of the "
                 f"training and validation sets; kiln's is the median of the repetitions, "
                 f"torch's is timed once" + (" (left out by --quick)." if quick else "."))
    table_text = section_table(section, kiln, peer_times_by_threads(docs["peers"]), peak,
                               section.epochs(quick))
    return [table_text], [note, section.flop_note], bool(kiln)


# ----------------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description="kiln's benchmarks next to PyTorch, numpy and "
                                            "OpenBLAS, as markdown tables",
                                epilog="The peers and bench/sgemm run on the fastest OpenBLAS "
                                       "kernels that compute sgemm correctly here "
                                       "(bench/openblas_kernel.py). " + SGEMM_HELP + ".")
    p.add_argument("--build", default="build", help="meson build folder (default: build)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: fewer repetitions, short minimum times, no epochs")
    p.add_argument("--only", choices=["mlp", *(s.name for s in SECTIONS), "all"], default="all",
                   help="run one part alone (default: all)")
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

    log("peak (bench/peak)")
    peak_doc = run_google_benchmark(os.path.join(bench, "peak"), repetitions,
                                    0.05 if args.quick else 0.2)
    peak, width = peak_gflops(peak_doc)
    raw = {"peak": peak_doc}

    # The peers' OpenBLAS kernels, probed once: the peers read the choice back.
    cache = openblas_kernel.cache_for_this_run()  # noqa: F841 (removed when it goes)
    blas = openblas_kernel.choose(args.peer_python, log=log)
    log(blas.report())
    raw["openblas_kernel"] = blas.to_json()

    tables, notes, peers, no_kiln = [], [], [], []
    if args.only in ("mlp", "all"):
        docs = run_mlp(args, bench, repetitions, min_time, blas)
        raw.update(docs)  # "kiln", "sgemm", "peers", as before there were sections
        more_tables, more_notes, ran = mlp_report(docs, peak)
        tables += more_tables
        notes += more_notes
        peers.append("MLP peers: " + peer_description(docs["peers"]))
        if not ran:
            no_kiln.append("mlp_step")
    for section in SECTIONS:
        if args.only not in (section.name, "all"):
            continue
        docs = run_section(section, args, bench, repetitions, min_time)
        raw[section.name] = docs
        more_tables, more_notes, ran = section_report(section, docs, peak, args.quick)
        tables += more_tables
        notes += more_notes
        peers.append(f"{section.title} peer: {peer_description(docs['peers'])}")
        if not ran:
            no_kiln.append(section.program)

    notes.append(f"{blas.summary()} The candidates, probed by bench/openblas_kernel.py in "
                 f"{blas.library() or args.peer_python}: {openblas_kernel.METHOD}.\n\n"
                 + blas.table())
    peak_text = ", ".join(f"{t} core{'s' if t > 1 else ''} {g:.0f} GFLOP/s"
                          for t, g in sorted(peak.items())) or "not measured"
    notes.append(f"Measured float32 FMA peak ({width or '?'}-bit registers, best repetition): "
                 f"{peak_text}.")
    machine = (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; kiln built by {build_compiler(args.build)} "
        f"({build_options(args.build)}); installed: {compiler_versions()}; "
        f"{'; '.join(peers)}; "
        f"load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
        f"date {started.strftime('%Y-%m-%d %H:%M UTC')}; command: "
        f"`python3 {' '.join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0])] + sys.argv[1:])}`"
        f"{' (quick: not for quoting)' if args.quick else ''}.")

    text = "\n\n".join(tables) + "\n\n" + "\n\n".join(notes) + "\n\n" + machine + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(text)
    if args.raw:
        with open(args.raw, "w") as out:
            json.dump(raw, out, indent=1)
    if no_kiln:
        log(f"error: no kiln result from {', '.join('bench/' + p for p in no_kiln)} (wrong "
            f"--build folder, or not built?)")
        sys.exit(1)


if __name__ == "__main__":
    main()
