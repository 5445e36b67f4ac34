#!/usr/bin/env python3
"""Measures what compiling kiln costs, writes docs/compile-time.md, and checks budgets.

Every program is compiled with its own command from the build's
compile_commands.json, so the flags are the build's (meson's release build: -O3,
-march=native, the warnings): g++ from build/, clang++ from build-clang/ (set up
here with CXX=clang++ when it is missing; setting up compiles nothing).
Type-checking the course networks (test/compile_time/course_networks.cpp, the
cost a user pays for every edit) runs with the flags of examples/mlp.cpp and
-fsyntax-only in place of -c and -o.

Each measurement is the compiler's CPU time (user + system, as the kernel counts it),
the fastest of --repeat runs: on the shared machine wall time includes waiting
for a core, and CPU time rises less under load (it still rises: see the doc).

    python3 scripts/compile_time.py                 # both compilers, writes the doc
    python3 scripts/compile_time.py --check         # g++ only; fails over a budget
    python3 scripts/compile_time.py --check --margin 0.15   # as CI runs it

--check exits 1 and names each program whose CPU time is over its budget
(BUDGETS below) times this machine's speed factor times 1 + margin; a program
over it is measured twice more first, so that one busy moment does not fail it.
The speed factor is the time of a fixed program that is not kiln's
(scripts/compile_reference.cpp, the mean of its fastest runs before and after the
programs) over its time where the budgets were set (REFERENCE_SECONDS): the same
code compiled 1.6 times slower on one machine in December 2026 than five days
before, and a budget in seconds alone failed or passed with the day. Everything after the NOTES
marker in docs/compile-time.md is kept as it is.
"""
import argparse
import collections
import json
import os
import pathlib
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "compile-time.md"
NOTES = "<!-- notes below: kept by scripts/compile_time.py -->"
COURSE = ROOT / "test" / "compile_time" / "course_networks.cpp"
TYPE_CHECK = "course networks, -fsyntax-only"
BUILDS = {"g++": ROOT / "build", "clang++": ROOT / "build-clang"}

# Seconds of g++ 12 CPU time with the build's flags, on the 2-core machine of the
# doc: every program of examples/ (examples/common/ included) and the type-check.
BUDGETS = {"examples/": 12.0, TYPE_CHECK: 1.5}
# The machine's speed at compiling: scripts/compile_reference.cpp, compiled with
# the same flags, took REFERENCE_SECONDS of g++ CPU where the budgets were set
# (derived from the programs of that day's code measured there and here: see
# docs/compile-time.md). --check scales every budget by this machine's time for
# it over REFERENCE_SECONDS, so a slower or busier machine is not a regression
# and a faster one hides none.
REFERENCE = ROOT / "scripts" / "compile_reference.cpp"
REFERENCE_SECONDS = 1.32
REFERENCE_ROW = f"scripts/compile_reference.cpp (machine speed; {REFERENCE_SECONDS:g} s where budgets were set)"
# Runs of a program over its budget before --check gives up on it.
RECHECKS = 2


def budget_of(program: str):
    for prefix, seconds in BUDGETS.items():
        if program.startswith(prefix):
            return seconds
    return None


def machine() -> str:
    """The CPU model, its family/model numbers, core count and vector width."""
    info = pathlib.Path("/proc/cpuinfo").read_text()
    field = lambda name: re.search(rf"^{name}\s*: (.*)$", info, re.MULTILINE).group(1).strip()
    flags = field("flags").split()
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    return (f"{field('model name')} (family {field('cpu family')}, model {field('model')}), "
            f"{os.cpu_count()} cores, {vector}, {platform.system()} {platform.release()}")


def compiler_version(cxx: str) -> str:
    return subprocess.run([cxx, "--version"], capture_output=True, text=True).stdout.splitlines()[0]


def ensure_build(cxx: str) -> pathlib.Path:
    build = BUILDS[cxx]
    if not (build / "compile_commands.json").exists():
        env = dict(os.environ, CXX=cxx)
        subprocess.run(["meson", "setup", str(build)], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    return build


def commands(cxx: str) -> dict:
    """program (relative to the root) -> (argument list without -o/-M*, directory)."""
    build = ensure_build(cxx)
    result = {}
    for entry in json.loads((build / "compile_commands.json").read_text()):
        source = (pathlib.Path(entry["directory"]) / entry["file"]).resolve()
        program = source.relative_to(ROOT).as_posix()
        if not program.startswith(("examples/", "bench/")):
            continue
        args, skip = [], False
        for arg in shlex.split(entry["command"]):
            if skip:
                skip = False
            elif arg in ("-o", "-MQ", "-MF"):
                skip = True
            elif arg != "-MD":
                args.append(arg)
        result[program] = (args, entry["directory"])
    return dict(sorted(result.items()))


def type_check_command(programs: dict) -> tuple:
    """examples/mlp.cpp's flags on the course networks, type-checking only."""
    args, directory = programs["examples/mlp.cpp"]
    source = args.index("-c")
    return args[:source] + ["-fsyntax-only", str(COURSE)] + args[source + 2:], directory


def reference_command(programs: dict) -> tuple:
    """examples/mlp.cpp's flags on the reference program, its warnings off."""
    args, directory = programs["examples/mlp.cpp"]
    source = args.index("-c")
    return args[:source] + ["-c", str(REFERENCE), "-w"] + args[source + 2:], directory


def machine_factor(reference: tuple, output: str) -> float:
    """This machine's time for the reference program over REFERENCE_SECONDS."""
    return fastest(*reference, output, 3)["cpu"] / REFERENCE_SECONDS


def measure(args: list, directory: str, output: str) -> dict:
    """CPU seconds, wall seconds and peak memory (MB) of one compile, from the
    kernel's accounting of that one child (os.wait4): nothing to install."""
    if "-fsyntax-only" not in args:
        args = args + ["-o", output]
    start = time.monotonic()
    child = subprocess.Popen(args, cwd=directory, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    stderr = child.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    wall = time.monotonic() - start
    if child.returncode != 0:
        raise SystemExit(f"failed: {shlex.join(args)}\n{stderr[-3000:]}")
    return {"cpu": usage.ru_utime + usage.ru_stime, "wall": wall, "rss": usage.ru_maxrss / 1024}


def fastest(args: list, directory: str, output: str, repeat: int) -> dict:
    return min((measure(args, directory, output) for _ in range(repeat)), key=lambda r: r["cpu"])


def phases(args: list, directory: str, output: str) -> dict:
    """g++'s -ftime-report in three parts: parsing and instantiating, the
    interprocedural passes (inlining), and optimizing and emitting each function."""
    result = subprocess.run(args + ["-o", output, "-ftime-report"], cwd=directory,
                            capture_output=True, text=True)
    seconds = lambda name: sum(
        float(user) + float(system) for user, system in re.findall(
            rf"^ {name}\s*:\s*([\d.]+)(?: \(\s*\d+%\))?\s*([\d.]+)", result.stderr,
            re.MULTILINE))
    front = seconds("phase parsing") + seconds("phase lang. deferred")
    ipa = seconds("callgraph ipa passes")
    expansion = seconds("callgraph functions expansion")
    total = seconds("TOTAL")
    return {"front": front / total, "ipa": ipa / total, "expansion": expansion / total}


def time_trace(args: list, directory: str, workdir: str) -> tuple:
    """clang's -ftime-trace of type-checking: time by kiln header and by template."""
    trace = os.path.join(workdir, "trace.json")
    command = [a for a in args if a != "-fsyntax-only"] + ["-c", "-ftime-trace", "-o",
                                                            os.path.join(workdir, "trace.o")]
    subprocess.run(command, cwd=directory, check=True)
    events = json.loads(pathlib.Path(trace).read_text())["traceEvents"]
    headers, templates = collections.Counter(), collections.Counter()
    for event in events:
        if event.get("ph") != "X" or "args" not in event:
            continue
        detail = event["args"].get("detail", "")
        milliseconds = event["dur"] / 1000
        if event["name"] == "Source" and "include/kiln/" in detail:
            headers["include/kiln/" + detail.split("include/kiln/", 1)[1]] += milliseconds
        elif event["name"] in ("InstantiateClass", "InstantiateFunction"):
            templates[detail.split("<")[0]] += milliseconds  # the template, not each use
    return headers, templates


def check(results: dict, programs: dict, type_check: tuple, repeat: int, margin: float,
          output: str, factor: float) -> int:
    over = []
    for program, run in results.items():
        budget = budget_of(program)
        if budget is None:
            continue
        limit = budget * factor * (1 + margin)
        best = run["cpu"]
        args, directory = type_check if program == TYPE_CHECK else programs[program]
        for _ in range(RECHECKS if best > limit else 0):
            best = min(best, measure(args, directory, output)["cpu"])
        print(f"compile_time: {program}: {best:.2f} s of CPU, {best / factor:.2f} s at the "
              f"budgets' machine speed (budget {budget:g} s)")
        if best > limit:
            over.append(f"{program}: {best:.2f} s of CPU, {best / factor:.2f} s at the "
                        f"budgets' machine speed, over its budget of {budget:g} s"
                        + (f" (+{margin:.0%} allowed for noise)" if margin else ""))
    load = os.getloadavg()[0]
    speed = (f"this machine compiles the reference program in {factor:.2f} times the budgets' "
             f"{REFERENCE_SECONDS:g} s")
    for line in over:
        print(f"compile_time: {line}", file=sys.stderr)
    if over:
        print(f"compile_time: {speed}; load average {load:.1f} on {os.cpu_count()} cores "
              f"(docs/compile-time.md: what to do)", file=sys.stderr)
        return 1
    print(f"compile_time: every program within its budget ({speed}; best of {repeat}, "
          f"margin {margin:.0%}, load average {load:.1f})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement (fastest)")
    parser.add_argument("--check", action="store_true",
                        help="measure g++ only, write nothing, fail over a budget")
    parser.add_argument("--margin", type=float, default=0.0,
                        help="with --check: fraction over the budget allowed for load")
    parser.add_argument("--compilers", default=None,
                        help="comma-separated (default: g++,clang++; g++ with --check)")
    args = parser.parse_args()
    compilers = (args.compilers or ("g++" if args.check else "g++,clang++")).split(",")
    compilers = [c for c in compilers if shutil.which(c)]
    load = os.getloadavg()[0]
    results = {}  # compiler -> program -> run
    with tempfile.TemporaryDirectory() as workdir:
        output = os.path.join(workdir, "program.o")
        failed = False
        for cxx in compilers:
            programs = commands(cxx)
            type_check = type_check_command(programs)
            if args.check:  # only what has a budget
                programs = {p: c for p, c in programs.items() if budget_of(p) is not None}
            reference = reference_command(programs)
            if args.check:  # the machine's speed before and after, for a load that changes
                before = machine_factor(reference, output)
            results[cxx] = {p: fastest(*programs[p], output, args.repeat) for p in programs}
            results[cxx][TYPE_CHECK] = fastest(*type_check, output, args.repeat)
            if not args.check:
                results[cxx][REFERENCE_ROW] = fastest(*reference, output, args.repeat)
            if args.check:
                factor = (before + machine_factor(reference, output)) / 2
                failed |= check(results[cxx], programs, type_check, args.repeat, args.margin,
                                output, factor) != 0
        if args.check:
            return 1 if failed else 0
        lines = doc_lines(results, compilers, args.repeat, load, workdir, output)
    notes = DOC.read_text().split(NOTES, 1)[1] if DOC.exists() and NOTES in DOC.read_text() else "\n"
    DOC.write_text("\n".join(lines) + "\n\n" + NOTES + notes)
    return 0


def doc_lines(results: dict, compilers: list, repeat: int, load: float, workdir: str,
              output: str) -> list:
    versions = ", ".join(compiler_version(c) for c in compilers)
    lines = [
        "# Compile time and memory", "",
        f"Generated by `python3 scripts/compile_time.py` on {machine()}, with {versions}.",
        f"Fastest of {repeat} runs; load average {load:.1f} when it started (the machine is "
        "shared, so wall time", "includes waiting for a core; CPU time, user + system, is the "
        "number the budgets hold).", "",
        "## Programs with the build's own flags", "",
        "Each program's command from `build/compile_commands.json` (g++) and "
        "`build-clang/compile_commands.json` (clang++): meson's release build, `-O3 "
        "-march=native`. Budgets (g++, CPU seconds) are those `--check` holds.", "",
        "| program | budget s | " + " | ".join(f"{c} CPU s | {c} wall s | {c} MB"
                                              for c in compilers) + " |",
        "|---|---:|" + "---:|---:|---:|" * len(compilers)]
    first = results[compilers[0]]
    for program in first:
        budget = budget_of(program)
        cells = [f"{results[c][program]['cpu']:.2f} | {results[c][program]['wall']:.2f} | "
                 f"{results[c][program]['rss']:.0f}" if program in results[c] else "| |"
                 for c in compilers]
        name = program if program in (TYPE_CHECK, REFERENCE_ROW) else f"`{program}`"
        lines.append(f"| {name} | {budget if budget else ''} | " + " | ".join(cells) + " |")
    if "g++" in compilers:
        programs = commands("g++")
        lines += ["", "## Where g++'s time goes", "",
                  "Shares of one `-ftime-report` run: the front end (parsing, instantiating "
                  "templates), the interprocedural passes (inlining, early optimization of "
                  "every function) and optimizing and emitting each function.", "",
                  "| program | front end | interprocedural | each function |",
                  "|---|---:|---:|---:|"]
        for program in programs:
            if program.startswith("examples/"):
                share = phases(*programs[program], output)
                lines.append(f"| `{program}` | {share['front']:.0%} | {share['ipa']:.0%} | "
                             f"{share['expansion']:.0%} |")
    if "clang++" in compilers:
        headers, templates = time_trace(*type_check_command(commands("clang++")), workdir)
        lines += ["", "## Where type-checking goes (clang++ -ftime-trace)", "",
                  "Headers of kiln by time spent parsing them (each includes what it "
                  "includes; the umbrella header is the whole library):", "",
                  "| header | ms |", "|---|---:|"]
        lines += [f"| {name} | {ms:.0f} |" for name, ms in headers.most_common(12)]
        lines += ["", "Templates by time spent instantiating them (nested instantiations "
                  "count in each enclosing one too):", "", "| template | ms |", "|---|---:|"]
        lines += [f"| `{name}` | {ms:.0f} |" for name, ms in templates.most_common(15)]
    return lines


if __name__ == "__main__":
    sys.exit(main())
