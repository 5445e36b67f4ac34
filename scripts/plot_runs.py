#!/usr/bin/env python3
"""Draws the course's figures (those of docs/results.md) from your own runs: the
JSON files kiln's example programs write.

    /usr/bin/python3 scripts/plot_runs.py RUN.json [RUN.json ...] [--out_dir DIR]

Each file is recognised by what it holds, so any of mlp, ood, mini_cnn, perceptron
and gpt's files may be given together. Files of one program whose settings agree
are seeds of one experiment: a figure shows their mean with the min-max as a band
or error bars (one file: that run). The figures, written into --out_dir (default:
the current folder), each path printed:

  perceptron   perceptron_train_accuracy.png
  mini_cnn     mini_cnn_accuracy.png
  mlp          mlp_train_accuracy.png; early_stopping.png for runs with
               --test_each_epoch (marked where --watch_patience would stop);
               batch_size_study.png for runs that differ in --minibatch_size alone,
               momentum_loss.png for runs that differ in --momentum alone
  ood          ood_test_images.png and ood_accuracy.png
  gpt          gpt_loss.png; gpt_block_sweep.png and gpt_heads_sweep.png for
               runs that differ in the block size, or the heads, alone

A kind of figure drawn more than once gets the settings that tell the runs apart
in its name (mlp_train_accuracy_b1.png, mlp_train_accuracy_b5.png). The plots
are scripts/figures.py's, the ones scripts/reproduce.py draws. Bad input (a
missing file, text that is not JSON, JSON no kiln program wrote, a folder that
cannot be written) is a one-line error and exit status 1.
"""
import argparse
import json
import math
import os
import pathlib
import sys

NUMBER, NUMBERS = "a number", "a list of numbers"


def each(spec):
    """An object whose every member is `spec` (the OOD study's models and test sets)."""
    return ("each", spec)


# What each program writes that the figures read; a file is the program's when it
# has the first two keys of the program's schema (their order matters only so).
SCHEMAS = {
    "mlp": {"minibatch_size": NUMBER, "train_loss": NUMBERS, "train": NUMBERS, "val": NUMBERS,
            "test": NUMBER, "time": NUMBER, "best_epoch": NUMBER, "epochs": NUMBER,
            "momentum": NUMBER},
    "ood": {"recipe": {"shift_pixels": NUMBER}, "models": each({"test": each(NUMBER)}),
            "example_count": NUMBER, "examples": each(NUMBERS)},
    "mini_cnn": {"teacher": NUMBERS, "weights": NUMBERS, "train": NUMBERS, "test": NUMBERS,
                 "learning_rate": NUMBER},
    "perceptron": {"settings": {}, "linear": {"train": NUMBERS}},
    "gpt": {"block": NUMBER, "iteration": NUMBERS, "heads": NUMBER, "train": NUMBERS,
            "val": NUMBERS},
}
# Written only with some options: checked when present.
OPTIONAL = {
    "mlp": {"test_each_epoch": NUMBERS, "watch_patience": NUMBER, "watch_stop_epoch": NUMBER,
            "watch_best_epoch": NUMBER, "learning_rate": NUMBER,
            "early_stopping_patience": NUMBER},
    "perceptron": {"polynomial": {"train": NUMBERS}, "rbf": {"train": NUMBERS}},
}


class BadInput(Exception):
    pass


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def check(value, spec, where):
    """Raises BadInput naming the first part of value that is not as spec says."""
    if spec == NUMBER:
        if not is_number(value):
            raise BadInput(f"{where} is not {NUMBER}")
    elif spec == NUMBERS:
        if not isinstance(value, list) or not value or not all(is_number(v) for v in value):
            raise BadInput(f"{where} is not {NUMBERS}")
    elif isinstance(spec, tuple):
        if not isinstance(value, dict) or not value:
            raise BadInput(f"{where} is not an object")
        for key, member in value.items():
            check(member, spec[1], f"{where}.{key}")
    else:
        if not isinstance(value, dict):
            raise BadInput(f"{where} is not an object")
        for key, member in spec.items():
            if key not in value:
                raise BadInput(f"{where}.{key} is missing")
            check(value[key], member, f"{where}.{key}")


def recognise(data):
    """The program that wrote data (a loaded JSON value), checked against its schema."""
    if isinstance(data, dict):
        for program, schema in SCHEMAS.items():
            if all(key in data for key in list(schema)[:2]):
                check(data, schema, program)
                optional = {k: s for k, s in OPTIONAL.get(program, {}).items() if k in data}
                check(data, optional, program)
                return program
    raise BadInput("not the results of a kiln example program (mlp, ood, mini_cnn, "
                   "perceptron or gpt)")


def load(path):
    """(program, JSON) of one results file; BadInput says what is wrong with it."""
    if not path.exists():
        raise BadInput("no such file")
    if path.is_dir():
        raise BadInput("is a folder, not a results file (pass the JSON files in it)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput("not JSON (not UTF-8 text)")
    except OSError as failure:
        raise BadInput(f"cannot be read ({failure.strerror or failure})")
    try:
        data = json.loads(text, parse_constant=lambda name: float("nan"))
    except json.JSONDecodeError as failure:
        raise BadInput(f"not JSON ({failure.msg} at line {failure.lineno})")
    return recognise(data), data


# What sets a run apart from another of its program, besides its seed.
def mlp_settings(run):
    return {key: run[key] for key in ("minibatch_size", "momentum", "learning_rate",
                                      "early_stopping_patience", "watch_patience") if key in run} | \
        {"test_each_epoch": "test_each_epoch" in run}


def without_seed(settings):
    return {k: v for k, v in settings.items() if k != "random_seed"}


def settings_of(program, figures):
    return {
        "mlp": mlp_settings,
        "ood": lambda r: without_seed(r["recipe"]) | {
            "models": tuple(r["models"]), "tests": tuple(next(iter(r["models"].values()))["test"])},
        "mini_cnn": lambda r: {k: r[k] for k in ("learning_rate", "train_count") if k in r} | {
            "epochs": len(r["train"])},
        "perceptron": lambda r: without_seed(r["settings"]) | {
            "kernels": tuple(k for k in figures.PERCEPTRON_KERNELS if k in r)},
        "gpt": figures.gpt_settings,
    }[program]


# Shorter names for file names.
SHORT = {"minibatch_size": "b", "learning_rate": "lr", "early_stopping_patience": "patience",
         "watch_patience": "watch", "block": "block", "heads": "heads"}


def suffixes(items):
    """A file-name suffix for each of items (dicts of settings): "" for one, else the
    first of the settings whose values differ among them that tell them apart (and a
    number where those are not enough)."""
    if len(items) < 2:
        return [""] * len(items)
    names = [""] * len(items)
    for key in items[0]:
        if len(set(names)) == len(names):
            break
        if len({repr(i.get(key)) for i in items}) == 1:
            continue
        for n, item in enumerate(items):
            value = item.get(key)
            if isinstance(value, bool):
                names[n] += "_" + (key if value else "no_" + key)
            elif is_number(value):
                names[n] += f"_{SHORT.get(key, key)}{value:g}"
            elif isinstance(value, str) and value.replace("_", "").isalnum():
                names[n] += f"_{key}-{value}"
    if len(set(names)) < len(names):
        names = [f"{name}_{n + 1}" for n, name in enumerate(names)]
    return names


def group(runs, settings):
    """runs: [JSON] of one program; [[JSON of each seed]] of each setting, in order."""
    groups = {}
    for run in runs:
        groups.setdefault(repr(sorted(settings(run).items())), []).append(run)
    return list(groups.values())


def common(groups, settings, studied):
    """The settings of sets of groups, without the one they study."""
    return [{k: v for k, v in settings(g[0][0]).items() if k != studied} for g in groups]


def draw_program(program, runs, out, figures):
    settings = settings_of(program, figures)
    groups = group(runs, settings)
    names = suffixes([settings(g[0]) for g in groups])
    written = []
    for seeds, suffix in zip(groups, names):
        if program == "perceptron":
            written.append(figures.perceptron_accuracy(seeds, out, suffix))
        elif program == "mini_cnn":
            written.append(figures.mini_cnn_accuracy(seeds, out, suffix))
        elif program == "mlp":
            written.append(figures.mlp_accuracy(seeds, out, suffix))
            if "test_each_epoch" in seeds[0]:
                written.append(figures.early_stopping(seeds, out, suffix))
        elif program == "ood":
            written += [figures.ood_examples(seeds[0], out, suffix),
                        figures.ood_bars(seeds, out, suffix)]
        elif program == "gpt":
            written.append(figures.gpt_loss(seeds, out, suffix))
    written += draw_studies(program, groups, settings, out, figures)
    return written


def draw_studies(program, groups, settings, out, figures):
    """The figures comparing runs that differ in one setting alone."""
    if program == "mlp":
        studies = {"minibatch_size": lambda sets, suffix: figures.batch_size_study(
                       {g[0]["minibatch_size"]: g for g in sets}, out, suffix),
                   "momentum": lambda sets, suffix: figures.momentum_losses(
                       {g[0]["momentum"]: g for g in sets}, out, suffix)}
    elif program == "gpt":
        studies = {over: lambda sets, suffix, over=over: figures.gpt_sweep(sets, over, out, suffix)
                   for over in figures.GPT_SWEEPS}
    else:
        return []
    written = []
    for studied, draw in studies.items():
        found = figures.sweeps(groups, studied, settings)
        for sets, suffix in zip(found, suffixes(common(found, settings, studied))):
            written.append(draw(sets, suffix))
    return written


def main(argv):
    parser = argparse.ArgumentParser(prog="plot_runs.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=pathlib.Path, metavar="RUN.json",
                        help="results files of kiln's example programs")
    parser.add_argument("--out_dir", type=pathlib.Path, default=pathlib.Path("."),
                        help="folder for the figures (made when missing; default: .)")
    args = parser.parse_args(argv)
    try:
        import figures  # scripts/figures.py: the plots, on matplotlib
    except ImportError as missing:
        raise SystemExit(f"plot_runs: {missing.name} is needed (Debian: apt-get install "
                         "python3-matplotlib; run with /usr/bin/python3)")

    by_program, seen = {}, set()
    for path in args.runs:
        if path.resolve() in seen:
            continue  # the same file twice is one run, not two seeds
        seen.add(path.resolve())
        try:
            program, data = load(path)
        except BadInput as bad:
            raise SystemExit(f"plot_runs: {path}: {bad}")
        by_program.setdefault(program, []).append(data)

    try:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(args.out_dir, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as failure:
        raise SystemExit(f"plot_runs: --out_dir {args.out_dir}: cannot write there "
                         f"({failure.strerror or failure})")
    for program, runs in by_program.items():
        try:
            written = draw_program(program, runs, args.out_dir, figures)
        except OSError as failure:
            raise SystemExit(f"plot_runs: --out_dir {args.out_dir}: a figure could not be "
                             f"written ({failure.strerror or failure})")
        except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError) as failure:
            raise SystemExit(f"plot_runs: the {program} files do not hold what its figures "
                             f"need ({type(failure).__name__}: {failure})")
        for path in written:
            print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
