#!/usr/bin/env python3
"""Runs every experiment of the course (SEED.md A to F) with kiln's example
programs, draws the figures and writes docs/results.md from what they produced.

    python3 scripts/reproduce.py            # the full runs: docs/results.md, docs/figures/
    python3 scripts/reproduce.py --quick    # a few epochs each: checks the whole pipeline

It builds the programs first when the build folder lacks them. Every run writes
its JSON and its log into a folder of its own under --results (gitignored);
every number in the report is read from those files. A step whose program is not
built (the transformer, until it lands) is skipped, and the report says so.

The experiments are the STEPS list below: a step is a program and its runs, each
run the program's arguments in full and in quick mode; `{dir}` stands for the
run's folder and `{text}` the transformer's text (--text; the step is skipped,
and the report says so, when that file is missing).
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import shlex
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

MLP_30_EPOCHS = ["--minibatch_size", "5", "--num_epoch", "30", "--early_stopping_patience", "0"]


def run(name, full, quick):
    return {"name": name, "full": full, "quick": quick}


STEPS = [
    {"name": "perceptron", "program": "perceptron", "part": "A",
     "runs": [run("perceptron", ["--out", "{dir}/perceptron.json"],
                  ["--num_epoch", "2", "--kernel_epochs", "1", "--kernel_train", "500",
                   "--out", "{dir}/perceptron.json"])]},
    {"name": "mini_cnn", "program": "mini_cnn", "part": "B",
     "runs": [run("mini_cnn", ["--out", "{dir}/mini_cnn.json"],
                  ["--num_epoch", "3", "--train_count", "200", "--out", "{dir}/mini_cnn.json"])]},
    # Part C: the batch-size study; its batch-5 run is the run the course asks for.
    {"name": "batch_size", "program": "mlp", "part": "C",
     "runs": [run(f"b{b}",
                  ["--minibatch_size", str(b), "--out_dir", "{dir}"] +
                  (["--check_gradient", "--check_magnitude"] if b == 5 else []),
                  ["--minibatch_size", str(b), "--num_epoch", "2", "--out_dir", "{dir}"] +
                  (["--check_gradient", "--check_magnitude"] if b == 5 else []))
              for b in (1, 5, 50, 500, 5000)]},
    {"name": "early_stopping", "program": "mlp", "part": "D",
     "runs": [run("b5_30_epochs",
                  MLP_30_EPOCHS + ["--test_each_epoch", "--watch_patience", "3",
                                   "--out_dir", "{dir}"],
                  ["--minibatch_size", "5", "--num_epoch", "4", "--early_stopping_patience", "0",
                   "--test_each_epoch", "--watch_patience", "1", "--out_dir", "{dir}"])]},
    {"name": "momentum", "program": "mlp", "part": "D",
     "runs": [run(f"alpha{a}", MLP_30_EPOCHS + ["--momentum", a, "--out_dir", "{dir}"],
                  ["--minibatch_size", "5", "--num_epoch", "2", "--early_stopping_patience", "0",
                   "--momentum", a, "--out_dir", "{dir}"])
              for a in ("0.1", "0.3", "0.5", "0.7", "0.9")]},
    {"name": "ood", "program": "ood", "part": "E",
     "runs": [run("ood", ["--out", "{dir}/ood.json"],
                  ["--num_epoch", "1", "--out", "{dir}/ood.json"])]},
    # Part F: the base model, then the sweeps (block size 2, 16, 64; heads 2, 8;
    # the base is block 32 with 4 heads).
    {"name": "gpt", "program": "gpt", "part": "F", "optional": True, "needs_text": True,
     "runs": [run(f"block{b}_heads{h}",
                  ["--text", "{text}", "--block", str(b), "--heads", str(h), "--out_dir", "{dir}"],
                  ["--text", "{text}", "--block", str(b), "--heads", str(h), "--iterations", "20",
                   "--eval_interval", "10", "--eval_iters", "5", "--sample_length", "80",
                   "--out_dir", "{dir}"])
              for b, h in ((32, 4), (2, 4), (16, 4), (64, 4), (32, 2), (32, 8))]},
]


def log(text):
    print(f"reproduce: {text}", flush=True)


def ensure_built(build):
    """Builds the whole tree when a required program is missing (an optional one, such
    as gpt, gets built too when this tree has it)."""
    required = {s["program"] for s in STEPS if not s.get("optional")}
    if all((build / "examples" / p).exists() for p in required):
        return
    if not (build / "build.ninja").exists():
        log(f"setting up {build}")
        subprocess.run(["meson", "setup", str(build)], cwd=ROOT, check=True)
    log(f"building in {build}")
    subprocess.run(["nice", "-n", "10", "meson", "compile", "-C", str(build)], cwd=ROOT,
                   check=True)


def run_steps(args, build, results):
    """Runs every step; returns {step: {"skipped": reason} or {"runs": {run: record}}}."""
    done = {}
    for step in STEPS:
        if args.only and step["name"] not in args.only:
            continue
        program = build / "examples" / step["program"]
        if not program.exists():
            if step.get("optional"):
                log(f"{step['name']}: skipped, {program} is not built")
                done[step["name"]] = {"skipped": f"`{step['program']}` is not built in this tree"}
                continue
            raise SystemExit(f"reproduce: {program} is missing and could not be built")
        if step.get("needs_text") and not args.text.is_file():
            log(f"{step['name']}: skipped, no text at {args.text}")
            done[step["name"]] = {"skipped": f"the text `{args.text}` is missing (pass --text)"}
            continue
        records = {}
        for r in step["runs"]:
            folder = results / step["name"] / r["name"]
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("*.json"):
                old.unlink()
            argv = [a.replace("{dir}", str(folder)).replace("{text}", str(args.text))
                    for a in r["quick" if args.quick else "full"]]
            command = [str(program)] + argv
            shown = " ".join(shlex.quote(a) for a in
                             [f"build/examples/{step['program']}"] +
                             [a.replace(str(results), "results").replace(str(ROOT.parent), "..")
                              for a in argv])
            log(f"{step['name']}/{r['name']}: {shown}")
            start = time.monotonic()
            with open(folder / "log.txt", "w") as out:
                result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT,
                                        cwd=ROOT, env=os.environ)
            seconds = time.monotonic() - start
            if result.returncode != 0:
                tail = (folder / "log.txt").read_text(errors="replace").splitlines()[-5:]
                raise SystemExit(f"reproduce: {step['name']}/{r['name']} failed "
                                 f"(exit {result.returncode}):\n" + "\n".join(tail))
            outputs = sorted(folder.glob("*.json"))
            if len(outputs) != 1:
                raise SystemExit(f"reproduce: {step['name']}/{r['name']} wrote "
                                 f"{len(outputs)} JSON files in {folder}, expected one")
            records[r["name"]] = {"json": json.loads(outputs[0].read_text()),
                                  "log": (folder / "log.txt").read_text(errors="replace"),
                                  "command": shown, "seconds": seconds}
        done[step["name"]] = {"runs": records}
    return done


def machine():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    compiler = subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout
    return (f"{model}, {os.cpu_count()} cores ({simd}); {platform.system()} "
            f"{platform.release()}; {compiler.splitlines()[0] if compiler else 'c++ unknown'}")


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    try:
        import report  # noqa: E402  (scripts/report.py: the tables, figures and text)
    except ImportError as missing:
        print(f"reproduce: {missing.name} is needed for the figures (Debian: apt-get install "
              "python3-matplotlib)", file=sys.stderr)
        sys.exit(77 if quick else 1)  # 77: meson's "skipped"

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a few epochs and iterations each, to check the pipeline")
    parser.add_argument("--build", type=pathlib.Path, default=ROOT / "build",
                        help="meson build folder with the example programs")
    parser.add_argument("--results", type=pathlib.Path, default=ROOT / "results",
                        help="where each run's JSON and log go")
    parser.add_argument("--doc", type=pathlib.Path, default=ROOT / "docs" / "results.md",
                        help="the report to write")
    parser.add_argument("--figures", type=pathlib.Path, default=ROOT / "docs" / "figures",
                        help="where the PNG figures go")
    parser.add_argument("--text", type=pathlib.Path,
                        default=ROOT / "data" / "tinyshakespeare.txt",
                        help="tiny Shakespeare, for the transformer (part F)")
    parser.add_argument("--only", nargs="*", help="run only these steps (a partial report)")
    args = parser.parse_args()
    if args.quick and args.doc == ROOT / "docs" / "results.md":
        raise SystemExit("reproduce: --quick must not overwrite docs/results.md: pass --doc, "
                         "--figures and --results into a scratch folder")

    started = time.monotonic()
    load_before = os.getloadavg()[0]
    ensure_built(args.build)
    args.results.mkdir(parents=True, exist_ok=True)
    args.figures.mkdir(parents=True, exist_ok=True)
    done = run_steps(args, args.build, args.results.resolve())
    wall = time.monotonic() - started
    context = {
        "command": "python3 scripts/reproduce.py" + (" --quick" if args.quick else ""),
        "machine": machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_seconds": wall,
        "load": (load_before, os.getloadavg()[0]),
        "quick": args.quick,
    }
    text, figures = report.write(done, context, args.doc, args.figures)
    missing = [f for f in figures if not f.exists() or f.stat().st_size == 0]
    if missing:
        raise SystemExit(f"reproduce: figures not written: {missing}")
    log(f"wrote {args.doc} and {len(figures)} figures in {args.figures} "
        f"({wall:.0f} s of experiments)")
