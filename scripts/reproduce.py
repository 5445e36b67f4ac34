#!/usr/bin/env python3
"""Runs every experiment of the course (SEED.md A to F) with kiln's example
programs over several seeds, draws the figures and writes docs/results.md (and
the generated parts of docs/comparisons.md) from what they produced.

    python3 scripts/reproduce.py            # the full runs: docs/results.md, docs/figures/
    python3 scripts/reproduce.py --seeds 42 # one seed, the course's: a single-seed report
    python3 scripts/reproduce.py --quick    # a few epochs each, two seeds: checks the pipeline

It builds the programs first when the build folder lacks them. Every run writes
its JSON and its log into a folder of its own under --results (gitignored);
every number in the report is read from those files, and each is given as the
mean over the seeds with the smallest and largest (one seed: its value). A step
whose program is not built is skipped, and the report says so.

The experiments are the STEPS list below: a step is a program and its runs, each
run the program's arguments in full and in quick mode; `{dir}` stands for the
run's folder and `{text}` the transformer's text (--text; the step is skipped,
and the report says so, when that file is missing). Every run is repeated for
each of --seeds (the transformer's for the first --gpt_seeds of them), the seed
passed by the step's `seed_flag`.
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
    {"name": "perceptron", "program": "perceptron", "part": "A", "seed_flag": "--random_seed",
     "runs": [run("perceptron", ["--out", "{dir}/perceptron.json"],
                  ["--num_epoch", "2", "--kernel_epochs", "1", "--kernel_train", "500",
                   "--out", "{dir}/perceptron.json"])]},
    {"name": "mini_cnn", "program": "mini_cnn", "part": "B", "seed_flag": "--random_seed",
     "runs": [run("mini_cnn", ["--out", "{dir}/mini_cnn.json"],
                  ["--num_epoch", "3", "--train_count", "200", "--out", "{dir}/mini_cnn.json"])]},
    # Part C: the batch-size study; its batch-5 run is the run the course asks for.
    {"name": "batch_size", "program": "mlp", "part": "C", "seed_flag": "--random_seed",
     "runs": [run(f"b{b}",
                  ["--minibatch_size", str(b), "--out_dir", "{dir}"] +
                  (["--check_gradient", "--check_magnitude"] if b == 5 else []),
                  ["--minibatch_size", str(b), "--num_epoch", "2", "--out_dir", "{dir}"] +
                  (["--check_gradient", "--check_magnitude"] if b == 5 else []))
              for b in (1, 5, 50, 500, 5000)]},
    {"name": "early_stopping", "program": "mlp", "part": "D", "seed_flag": "--random_seed",
     "runs": [run("b5_30_epochs",
                  MLP_30_EPOCHS + ["--test_each_epoch", "--watch_patience", "3",
                                   "--out_dir", "{dir}"],
                  ["--minibatch_size", "5", "--num_epoch", "4", "--early_stopping_patience", "0",
                   "--test_each_epoch", "--watch_patience", "1", "--out_dir", "{dir}"])]},
    # Scored on the test set after every epoch too: the final model's accuracy, which
    # the course's notebook reports, beside the best validation epoch's.
    {"name": "momentum", "program": "mlp", "part": "D", "seed_flag": "--random_seed",
     "runs": [run(f"alpha{a}", MLP_30_EPOCHS + ["--momentum", a, "--test_each_epoch",
                                                "--out_dir", "{dir}"],
                  ["--minibatch_size", "5", "--num_epoch", "2", "--early_stopping_patience", "0",
                   "--momentum", a, "--test_each_epoch", "--out_dir", "{dir}"])
              for a in ("0.1", "0.3", "0.5", "0.7", "0.9")]},
    {"name": "ood", "program": "ood", "part": "E", "seed_flag": "--random_seed",
     "runs": [run("ood", ["--out", "{dir}/ood.json"],
                  ["--num_epoch", "1", "--out", "{dir}/ood.json"])]},
    # The course's own initialization (Keras's Glorot uniform, zero bias) for every
    # model of part E: the "Deviations" section sets it beside kiln's.
    {"name": "ood_glorot", "program": "ood", "part": "E", "seed_flag": "--random_seed",
     "runs": [run("ood_glorot", ["--cnn_init", "glorot", "--mlp_init", "glorot",
                                 "--out", "{dir}/ood.json"],
                  ["--cnn_init", "glorot", "--mlp_init", "glorot", "--num_epoch", "1",
                   "--out", "{dir}/ood.json"])]},
    # Part F: the base model, then the sweeps (block size 2, 16, 64; heads 2, 8;
    # the base is block 32 with 4 heads).
    {"name": "gpt", "program": "gpt", "part": "F", "optional": True, "needs_text": True,
     "seed_flag": "--seed", "gpt_seeds": True,
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


def seeds_of(step, args):
    """The seeds a step runs: all of --seeds, the transformer's the first --gpt_seeds."""
    return args.seeds[:args.gpt_seeds] if step.get("gpt_seeds") else args.seeds


def shown_command(program, argv, results):
    """A command as the report shows it: relative to the checkout, with the seed as
    the shell's $seed (a loop over the seeds runs it)."""
    def quoted(a):
        a = a.replace(str(results), "results").replace(str(ROOT) + os.sep, "").replace(
            str(ROOT.parent), "..")
        text = shlex.quote(a.replace("$seed", "SEED"))
        return text.replace("SEED", "'\"$seed\"'" if text.startswith("'") else "$seed")
    return " ".join([f"build/examples/{program}"] + [quoted(a) for a in argv])


def run_one(step, r, seed, program, args, results):
    """One run of one seed: its JSON, log, command and wall time; stops the script
    with the log's tail when the program fails."""
    folder = results / step["name"] / r["name"] / f"seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink()
    template = r["quick" if args.quick else "full"] + [step["seed_flag"], "{seed}"]
    fill = {"{text}": str(args.text)}

    def argv_for(dir_text, seed_text):
        return [a.replace("{dir}", dir_text).replace("{seed}", seed_text).replace(
            "{text}", fill["{text}"]) for a in template]

    argv = argv_for(str(folder), str(seed))
    shown = shown_command(step["program"],
                          argv_for(str(folder.parent / "seed$seed"), "$seed"), results)
    log(f"{step['name']}/{r['name']}, seed {seed}: {shown.replace('$seed', str(seed))}")
    start = time.monotonic()
    with open(folder / "log.txt", "w") as out:
        result = subprocess.run([str(program)] + argv, stdout=out, stderr=subprocess.STDOUT,
                                cwd=ROOT, env=args.environment)
    seconds = time.monotonic() - start
    if result.returncode != 0:
        tail = (folder / "log.txt").read_text(errors="replace").splitlines()[-5:]
        raise SystemExit(f"reproduce: {step['name']}/{r['name']} (seed {seed}) failed "
                         f"(exit {result.returncode}):\n" + "\n".join(tail))
    outputs = sorted(folder.glob("*.json"))
    if len(outputs) != 1:
        raise SystemExit(f"reproduce: {step['name']}/{r['name']} (seed {seed}) wrote "
                         f"{len(outputs)} JSON files in {folder}, expected one")
    return {"seed": seed, "json": json.loads(outputs[0].read_text()),
            "log": (folder / "log.txt").read_text(errors="replace"),
            "command": shown, "seconds": seconds}


def run_steps(args, build, results):
    """Runs every step for each of its seeds; returns {step: {"skipped": reason} or
    {"seeds": [...], "runs": {run: [record per seed, in the order of the seeds]}}}."""
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
        seeds = seeds_of(step, args)
        done[step["name"]] = {
            "seeds": seeds,
            "runs": {r["name"]: [run_one(step, r, seed, program, args, results) for seed in seeds]
                     for r in step["runs"]}}
    return done


def run_all(args):
    """Builds what is missing, runs every step; returns the runs and their context."""
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    ensure_built(args.build)
    args.results.mkdir(parents=True, exist_ok=True)
    done = run_steps(args, args.build, args.results.resolve())
    wall = time.monotonic() - started
    command = "python3 scripts/reproduce.py" + (" --quick" if args.quick else "")
    if "--seeds" in sys.argv:
        command += " --seeds " + " ".join(str(s) for s in args.seeds)
    if "--gpt_seeds" in sys.argv:
        command += f" --gpt_seeds {args.gpt_seeds}"
    if args.threads is not None:
        command += f" --threads {args.threads}"
    if args.only:
        command += " --only " + " ".join(args.only)
    return done, {
        "command": command,
        "machine": machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_seconds": wall,
        "load": (load_before, os.getloadavg()[0]),
        "quick": args.quick,
        "seeds": args.seeds,
        "gpt_seeds": args.seeds[:args.gpt_seeds],
        "threads": args.threads,
        "niceness": os.nice(0),
    }


def machine():
    """The CPU (as lscpu names it, with its family and model numbers), cores, SIMD,
    kernel and compiler."""
    fields = {}
    try:
        for line in open("/proc/cpuinfo"):
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
            if not line.strip():
                break  # the first processor's fields
        flags = fields.get("flags", "").split()
    except OSError:
        flags = []
    cpu = fields.get("model name", "unknown CPU")
    if "cpu family" in fields and "model" in fields:
        cpu += f" (family {fields['cpu family']}, model {fields['model']})"
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    compiler = subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout
    return (f"{cpu}, {os.cpu_count()} cores ({simd}); {platform.system()} "
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
    parser.add_argument("--seeds", type=int, nargs="+",
                        help="the seeds every experiment runs with (default: 42 1 2 3 4; with "
                             "--quick, 42 1); --seeds 42 is the course's single run")
    parser.add_argument("--gpt_seeds", type=int, default=3,
                        help="how many of the seeds (the first) the transformer runs take")
    parser.add_argument("--threads", type=int,
                        help="cores each program may use (KILN_THREADS; default: all, with "
                             "--quick 1: a busy machine stalls a pool that waits for a core)")
    parser.add_argument("--report_only", action="store_true",
                        help="run nothing: write the report and figures again from the last "
                             "run's record (reproduction.json in --results)")
    parser.add_argument("--comparisons", type=pathlib.Path,
                        default=ROOT / "docs" / "comparisons.md",
                        help="where docs/comparisons.md, with its generated parts rewritten, goes")
    args = parser.parse_args()
    def refuse_quick_into_docs():
        if {args.doc.resolve().parent, args.comparisons.resolve().parent,
                args.figures.resolve()} & {ROOT / "docs", ROOT / "docs" / "figures"}:
            raise SystemExit("reproduce: a quick run must not overwrite docs/: pass --doc, "
                             "--comparisons, --figures and --results into a scratch folder")

    if args.quick:
        refuse_quick_into_docs()
    if args.seeds is None:
        args.seeds = [42, 1] if args.quick else [42, 1, 2, 3, 4]
    if args.threads is None and args.quick:
        args.threads = 1
    if len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
        raise SystemExit("reproduce: --seeds must be distinct whole numbers >= 0")
    if args.gpt_seeds < 1:
        raise SystemExit("reproduce: --gpt_seeds must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise SystemExit("reproduce: --threads must be at least 1")
    args.environment = dict(os.environ)
    if args.threads is not None:
        args.environment["KILN_THREADS"] = str(args.threads)

    record = args.results / "reproduction.json"
    if args.report_only:
        if not record.is_file():
            raise SystemExit(f"reproduce: {record} is missing: run the experiments first")
        saved = json.loads(record.read_text())
        done, context = saved["done"], saved["context"]
        if context["quick"]:
            refuse_quick_into_docs()
    else:
        done, context = run_all(args)
        record.write_text(json.dumps({"done": done, "context": context}))
    text, figures = report.write(done, context, args.doc, args.figures)
    missing = [f for f in figures if not f.exists() or f.stat().st_size == 0]
    if missing:
        raise SystemExit(f"reproduce: figures not written: {missing}")
    report.write_comparisons(done, context, ROOT / "docs" / "comparisons.md", args.comparisons,
                             args.doc)
    log(f"wrote {args.doc}, {args.comparisons} and {len(figures)} figures in {args.figures} "
        f"({context['wall_seconds']:.0f} s of experiments)")
