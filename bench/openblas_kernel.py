#!/usr/bin/env python3
"""Picks the OpenBLAS kernel family kiln's peers run with on this machine: the
fastest one that computes sgemm correctly.

OpenBLAS picks its kernels from the CPU it detects, and an older OpenBLAS (Debian
12's 0.3.21) takes a CPU newer than itself for an old one and runs SSE3 kernels,
several times slower; OPENBLAS_CORETYPE forces a family. Some machines set it (and
OPENBLAS_L2_SIZE) to a safe slow kernel. A comparison with a peer on the wrong
kernels is unfair, so each candidate family is probed in a child process of the
peers' Python with numpy:

1. Correctness: float32 products of odd sizes and both transpositions, at 1 and 2
   threads, against a float64 reference computed without BLAS (numpy.einsum).
   Each element must satisfy |c - ref| <= (g(k, 2^-24) + g(k, 2^-53)) * (|A| |B|),
   with g(k, u) = k u / (1 - k u): the worst-case error of a sum of k float32
   products, in any order, with or without FMA (Higham, Accuracy and Stability of
   Numerical Algorithms, 2002, section 3.5), plus the float64 reference's own.
2. Speed: a 768 x 768 x 768 sgemm on 1 thread, the best of at least 7 runs and
   half a second.

A candidate that crashes, hangs (past --timeout) or computes wrong is rejected, with
the reason; one whose instructions the CPU lacks (/proc/cpuinfo's flags) is not run.
The fastest correct candidate is chosen; OpenBLAS's own detection is kept when it is
within TIE of it (a difference one measurement's noise can make).

    python3 bench/openblas_kernel.py                 # probe and print the table
    python3 bench/openblas_kernel.py --python /usr/bin/python3 --timeout 60

Used by bench/run.py, bench/gpt_compare.py and every bench/peers/ command: only the
peers' own processes (and bench/sgemm) get the chosen OPENBLAS_CORETYPE, never kiln,
the tests or CI. The choice is cached for one run in the file that CACHE_VARIABLE
names (bench/run.py sets it for its peers), keyed on this machine's CPU, so one
bench invocation probes once.

Standard library only; numpy is needed only in the probing Python.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple, Optional

SLOW_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
CACHE_VARIABLE = "KILN_OPENBLAS_CHOICE"  # a file path: the choice of this run
APPLIED_VARIABLE = "KILN_OPENBLAS_APPLIED"  # set in a peer's environment once chosen
TIE = 0.05
CHECK_THREADS = (1, 2)  # the peers' thread counts
# The best of at least TIMING_REPEATS products and TIMING_SECONDS: many short runs,
# so that some run whole on a machine whose cores are shared. Not a power of two,
# whose leading dimension makes cache-set conflicts that slow some kernels more.
TIMING_SIZE, TIMING_REPEATS, TIMING_SECONDS = 768, 7, 0.5
# (m, k, n, A transposed, B transposed): odd sizes around kernel tile and block edges,
# and the MLP peers' own shapes (batch 1 uses gemv, the weight gradients A^T).
CHECK_SHAPES = (
    (1, 784, 1000, False, False),
    (5, 784, 128, False, False),
    (7, 13, 5, False, False),
    (33, 65, 17, False, False),
    (97, 1031, 129, False, False),
    (701, 517, 389, False, False),
    (784, 50, 128, True, False),
    (1000, 500, 10, True, False),
    (500, 10, 1000, False, True),
    (61, 250, 513, True, True),
)

METHOD = (f"correct when every element of float32 products of odd sizes, at 1 and 2 threads, "
          f"is within the worst-case error bound of a k-term float32 sum (error / bound at "
          f"most 1); speed: a {TIMING_SIZE} x {TIMING_SIZE} x {TIMING_SIZE} sgemm on one "
          f"thread, the best of many runs")

SKYLAKEX = ("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl")
COOPERLAKE = SKYLAKEX + ("avx512_bf16",)


class Candidate(NamedTuple):
    name: str
    coretype: Optional[str]  # None: OPENBLAS_CORETYPE unset
    flags: tuple  # /proc/cpuinfo flags its kernels need
    as_environment: bool = False  # both variables as the environment has them


DETECTION = Candidate("OpenBLAS's detection", None, ())
FAMILIES = (
    Candidate("SkylakeX", "SkylakeX", SKYLAKEX),
    Candidate("Cooperlake", "Cooperlake", COOPERLAKE),
    Candidate("SapphireRapids", "SapphireRapids", COOPERLAKE + ("amx_tile", "amx_bf16")),
    Candidate("Zen", "Zen", ("avx2", "fma")),
    Candidate("Haswell", "Haswell", ("avx2", "fma")),
)


class Result(NamedTuple):
    candidate: Candidate
    status: str  # "correct", "wrong", "crashed", "timed out", "not run"
    reason: str = ""  # why it is not correct
    core: str = ""  # the core OpenBLAS says it runs
    gflops: Optional[float] = None  # sgemm, 1 thread
    worst: Optional[float] = None  # the largest error / bound of any element
    library: str = ""
    note: str = ""


# ----------------------------------------------------------------------------
# The machine and the candidates
# ----------------------------------------------------------------------------

def cpu_facts(text=None):
    """(the CPU's name and model numbers, set of flags) from /proc/cpuinfo (its first
    processor). A VM may call any CPU "Intel(R) Xeon(R) Processor": the numbers and
    flags tell them apart."""
    if text is None:
        try:
            with open("/proc/cpuinfo") as f:
                text = f.read()
        except OSError:
            text = ""
    facts, flags = {}, set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "cpu family", "model", "stepping", "cpu implementer",
                   "cpu part", "cpu variant") and key not in facts:
            facts[key] = value.strip()
        elif key in ("flags", "features") and not flags:  # x86, Arm
            flags = set(value.split())
        elif not line.strip() and facts:
            break  # the first processor's block ends
    model = facts.pop("model name", "unknown CPU")
    numbers = ", ".join(f"{k} {v}" for k, v in facts.items())
    return model + (f" ({numbers})" if numbers else ""), flags


def candidates(environ):
    """The candidates in order of preference on a tie: OpenBLAS's detection, what the
    environment sets (if it sets anything), then the families."""
    found = [DETECTION]
    if any(v in environ for v in SLOW_VARIABLES):
        shown = ", ".join(f"{v}={environ[v]}" for v in SLOW_VARIABLES if v in environ)
        found.append(Candidate(f"the environment's ({shown})", environ.get("OPENBLAS_CORETYPE"),
                               (), as_environment=True))
    return found + list(FAMILIES)


def candidate_environ(candidate, base):
    """base with the candidate's OpenBLAS variables."""
    env = dict(base)
    if candidate.as_environment:
        return env
    for name in SLOW_VARIABLES:
        env.pop(name, None)
    if candidate.coretype:
        env["OPENBLAS_CORETYPE"] = candidate.coretype
    return env


def machine_key(python, environ, cpuinfo=None):
    """What the choice depends on: the CPU, the Python that probes, the environment's
    own OpenBLAS variables. A cache written on another machine does not match."""
    model, flags = cpu_facts(cpuinfo)
    return {"cpu": model, "flags": sorted(flags),
            "python": os.path.realpath(shutil.which(python) or python),
            "environment": {v: environ.get(v) for v in SLOW_VARIABLES}}


# ----------------------------------------------------------------------------
# Probing a candidate (the parent's side)
# ----------------------------------------------------------------------------

def classify(candidate, returncode, stdout, stderr="", timed_out=False, timeout=None):
    """A Result from what a probe child did."""
    if timed_out:
        return Result(candidate, "timed out", f"no answer within {timeout:g} s")
    report = None
    for line in reversed((stdout or "").splitlines()):
        try:
            report = json.loads(line)
            break
        except ValueError:
            continue
    if returncode != 0 or not isinstance(report, dict):
        if returncode is not None and returncode < 0:
            try:
                why = f"killed by {signal.Signals(-returncode).name}"
            except ValueError:
                why = f"killed by signal {-returncode}"
        elif returncode != 0:
            lines = (stderr or "").strip().splitlines()
            why = f"exit status {returncode}" + (f": {lines[-1]}" if lines else "")
        else:
            why = "no report"
        return Result(candidate, "crashed", why)
    core, library = report.get("core", ""), report.get("library", "")
    # OPENBLAS_VERBOSE=2 makes OpenBLAS say so when it does not know a forced name.
    note = "OpenBLAS does not know this name: it runs its own fallback" \
        if "Core not found" in (stderr or "") else ""
    gflops = report.get("gflops")
    cases = report.get("cases") or []
    if not cases:
        return Result(candidate, "crashed", "no products checked", core, gflops, None, library)
    # A NaN ratio fails "<= 1" too; the worst failing case is the one reported.
    failing = [c for c in cases if not (c["finite"] and c["error_ratio"] <= 1.0)]
    worst = max(c["error_ratio"] for c in cases)
    if failing:
        bad = max(failing, key=lambda c: (not c["finite"], c["error_ratio"]))
        m, k, n = bad["shape"]
        what = "non-finite values" if not bad["finite"] else \
            f"error {bad['error_ratio']:.3g}x the bound"
        return Result(candidate, "wrong",
                      f"{m}x{k}x{n} ({bad['transposed']}) at {bad['threads']} thread(s): {what}",
                      core, gflops, worst, library, note)
    if not isinstance(gflops, (int, float)) or gflops <= 0:
        return Result(candidate, "crashed", "no timing", core, None, worst, library, note)
    return Result(candidate, "correct", "", core, float(gflops), worst, library, note)


def probe(python, candidate, timeout, base=None):
    """Runs this file's probe in python under the candidate's variables."""
    env = candidate_environ(candidate, os.environ if base is None else base)
    # One thread (the child raises it to check two); OpenBLAS says which core it runs.
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_VERBOSE="2")
    command = [python, os.path.abspath(__file__), "--probe-child"]
    try:
        done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return classify(candidate, None, "", "", timed_out=True, timeout=timeout)
    except OSError as error:
        return Result(candidate, "crashed", f"cannot run {python}: {error}")
    return classify(candidate, done.returncode, done.stdout, done.stderr)


# ----------------------------------------------------------------------------
# Choosing
# ----------------------------------------------------------------------------

def select(results):
    """(the chosen Result or None, why): the fastest correct one; among those within
    TIE of the fastest, the first in candidate order (OpenBLAS's detection first)."""
    correct = [r for r in results if r.status == "correct"]
    detection = next((r for r in results if r.candidate == DETECTION), None)
    rejected = "" if detection is None or detection.status == "correct" else \
        f"; OpenBLAS's detection is rejected ({detection.status}: " \
        f"{detection.reason or 'not run'})"
    if not correct:
        return None, ("no candidate computed sgemm correctly: the peers run with the "
                      "environment as it is, and their results are suspect" + rejected)
    fastest = max(correct, key=lambda r: r.gflops)
    chosen = next(r for r in correct if r.gflops >= (1 - TIE) * fastest.gflops)
    if chosen is fastest:
        why = f"the fastest correct ({fastest.gflops:.0f} GFLOP/s)"
    else:
        why = (f"correct and within {TIE:.0%} of the fastest ({fastest.candidate.name}, "
               f"{fastest.gflops:.0f} GFLOP/s), which measurement noise can make: the "
               f"earlier candidate is kept")
    return chosen, why + rejected


class Choice(NamedTuple):
    results: list
    chosen: Optional[Result]
    why: str

    def environ(self, base):
        """base with the chosen OpenBLAS variables (unchanged when nothing was chosen),
        and the mark that tells a peer the choice is made."""
        env = dict(base) if self.chosen is None else \
            candidate_environ(self.chosen.candidate, base)
        env[APPLIED_VARIABLE] = self.name()
        return env

    def shown_env(self):
        """The chosen variables as a shell prefix, for logged command lines."""
        if self.chosen is None or self.chosen.candidate.as_environment:
            return ""
        coretype = self.chosen.candidate.coretype
        return "env " + " ".join([f"-u {v}" for v in SLOW_VARIABLES if v != "OPENBLAS_CORETYPE"
                                  or not coretype] +
                                 ([f"OPENBLAS_CORETYPE={coretype}"] if coretype else [])) + " "

    def name(self):
        if self.chosen is None:
            return "none (the environment as it is)"
        c = self.chosen
        core = f"{c.core} kernels" if c.core else "kernels unknown"
        if c.candidate == DETECTION:
            return f"OpenBLAS's detection ({core}, OPENBLAS_CORETYPE unset)"
        if c.candidate.as_environment:
            return f"{c.candidate.name} ({core})"
        return f"OPENBLAS_CORETYPE={c.candidate.coretype} ({core})"

    def summary(self):
        return f"OpenBLAS kernels of the peers: {self.name()}: {self.why}."

    def table(self):
        """The candidates as a markdown table."""
        lines = ["| candidate | OpenBLAS runs | sgemm correct? | worst error / bound | "
                 "sgemm GFLOP/s, 1 thread | note |", "|---|---|---|---:|---:|---|"]
        for r in self.results:
            note = "; ".join(n for n in (r.reason, r.note) if n)
            if r is self.chosen:
                note = "**chosen**" + (f"; {note}" if note else "")
            correct = {"correct": "yes", "wrong": "**no**"}.get(r.status, r.status)
            lines.append(
                f"| {r.candidate.name} | {r.core or '—'} | {correct} | "
                f"{'—' if r.worst is None else f'{r.worst:.3f}'} | "
                f"{'—' if r.gflops is None else f'{r.gflops:.1f}'} | {note} |")
        return "\n".join(lines)

    def report(self):
        """The table and the summary, as a peer run alone prints them."""
        return f"{self.table()}\n{self.summary()}"

    def library(self):
        return next((r.library for r in self.results if r.library), "")

    def to_json(self):
        def result(r):
            return dict(r._asdict(), candidate=r.candidate._asdict())
        return {"results": [result(r) for r in self.results],
                "chosen": None if self.chosen is None else self.results.index(self.chosen),
                "why": self.why}

    @staticmethod
    def from_json(document):
        results = []
        for r in document["results"]:
            c = r["candidate"]
            results.append(Result(**dict(r, candidate=Candidate(
                c["name"], c["coretype"], tuple(c["flags"]), c["as_environment"]))))
        index = document["chosen"]
        return Choice(results, None if index is None else results[index], document["why"])


def probe_all(python, timeout, environ, flags, log, probe_one=probe):
    results = []
    for candidate in candidates(environ):
        missing = [f for f in candidate.flags if f not in flags]
        if missing:
            results.append(Result(candidate, "not run", "the CPU lacks " + ", ".join(missing)))
        else:
            started = time.monotonic()
            results.append(probe_one(python, candidate, timeout, environ))
            log(f"  {candidate.name}: {results[-1].status} "
                f"({time.monotonic() - started:.1f} s)")
    return results


def choose(python, timeout=60.0, log=None, environ=None, cpuinfo=None, probe_one=probe):
    """The choice for this machine: from the cache that CACHE_VARIABLE names when it
    was made for this machine, else probed (and cached there, if it is set)."""
    environ = os.environ if environ is None else environ
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    key = machine_key(python, environ, cpuinfo)
    cache = environ.get(CACHE_VARIABLE)
    if cache:
        try:
            with open(cache) as f:
                document = json.load(f)
            if document.get("key") == key:
                return Choice.from_json(document["choice"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # absent, or not this machine's: probe anew
    log(f"choosing OpenBLAS's kernels for the peers (bench/openblas_kernel.py, {python})")
    results = probe_all(python, timeout, environ, set(key["flags"]), log, probe_one)
    choice = Choice(results, *select(results))
    if cache:
        folder = os.path.dirname(os.path.abspath(cache))
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False) as f:
            json.dump({"key": key, "choice": choice.to_json()}, f)
        os.replace(f.name, cache)
    return choice


def cache_for_this_run():
    """Has choose() cache its choice for this process and its children (unless
    CACHE_VARIABLE is set already), in a folder that goes with the returned object."""
    scratch = tempfile.TemporaryDirectory(prefix="kiln-openblas-")
    os.environ.setdefault(CACHE_VARIABLE, os.path.join(scratch.name, "choice.json"))
    return scratch


def use_in_this_process(log=None):
    """For a peer that imports numpy or torch itself: sets the chosen variables in
    this process's environment, before OpenBLAS is loaded. Nothing to do when a
    parent has done it (APPLIED_VARIABLE)."""
    if APPLIED_VARIABLE in os.environ:
        return None
    if "numpy" in sys.modules or "torch" in sys.modules:
        raise RuntimeError("use_in_this_process() must run before numpy or torch is imported")
    choice = choose(sys.executable, log=log)
    chosen = choice.environ(os.environ)
    for name in SLOW_VARIABLES:
        if name not in chosen:
            os.environ.pop(name, None)  # unsetenv: OpenBLAS reads the C environment
    os.environ.update(chosen)
    (log or (lambda m: print(m, file=sys.stderr, flush=True)))(choice.summary())
    return choice


# ----------------------------------------------------------------------------
# The probe (the child's side, in the peers' Python with numpy)
# ----------------------------------------------------------------------------

def gamma(k, unit):
    return k * unit / (1 - k * unit)


def probe_child():
    try:
        import numpy as np
    except ImportError:
        print("numpy is missing in this Python (Debian: apt-get install python3-numpy)",
              file=sys.stderr)
        return 3
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:  # the core stays unknown, and only 1 thread is checked
        threadpool_info, threadpool_limits = None, None

    rng = np.random.default_rng(12345)
    cases = []
    for m, k, n, ta, tb in CHECK_SHAPES:
        a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
        a, b = (a.T if ta else a), (b.T if tb else b)  # transposed views: sgemm's trans flags
        exact = np.einsum("ij,jk->ik", a.astype(np.float64), b.astype(np.float64))
        bound = (gamma(k, 2.0 ** -24) + gamma(k, 2.0 ** -53)) * np.einsum(
            "ij,jk->ik", np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
        for threads in CHECK_THREADS if threadpool_limits else (1,):
            if threadpool_limits:
                with threadpool_limits(threads, user_api="blas"):
                    c = a @ b
            else:
                c = a @ b
            error = np.abs(c.astype(np.float64) - exact)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(error == 0, 0.0, error / bound)
            cases.append({"shape": [m, k, n], "threads": threads,
                          "transposed": ("A^T" if ta else "A") + " " + ("B^T" if tb else "B"),
                          "finite": bool(np.isfinite(c).all()),
                          "error_ratio": float(np.nan_to_num(ratio, nan=np.inf).max())})

    a = rng.standard_normal((TIMING_SIZE, TIMING_SIZE), dtype=np.float32)
    b = rng.standard_normal((TIMING_SIZE, TIMING_SIZE), dtype=np.float32)
    c = np.empty_like(a)
    np.matmul(a, b, out=c)  # warm-up: threads, packing buffers
    times, began = [], time.perf_counter()
    while len(times) < TIMING_REPEATS or time.perf_counter() - began < TIMING_SECONDS:
        start = time.perf_counter()
        np.matmul(a, b, out=c)
        times.append(time.perf_counter() - start)
    best = min(times)
    report = {"numpy": np.__version__, "cases": cases,
              "gflops": 2.0 * TIMING_SIZE ** 3 / best / 1e9}
    for pool in threadpool_info() if threadpool_info else []:
        if pool.get("user_api") == "blas":
            report.update(core=pool.get("architecture") or pool.get("internal_api", ""),
                          library=pool.get("filepath", ""), version=pool.get("version"))
            break
    print(json.dumps(report))
    return 0


def main():
    p = argparse.ArgumentParser(description="Picks the fastest OpenBLAS kernel family that "
                                            "computes sgemm correctly on this machine.")
    p.add_argument("--python", default="/usr/bin/python3" if os.path.exists(
        "/usr/bin/python3") else sys.executable,
                   help="the Python with numpy that probes (default: Debian's /usr/bin/python3)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds a candidate may take before it is rejected (default 60)")
    p.add_argument("--probe-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.probe_child:
        return probe_child()
    if args.timeout <= 0:
        p.error("--timeout must be > 0")
    choice = choose(args.python, args.timeout)
    print(choice.table())
    print()
    print(choice.summary())
    return 0 if choice.chosen else 1


if __name__ == "__main__":
    sys.exit(main())
