#!/usr/bin/env python3
"""scripts/plot_runs.py on the results files of real runs (test/scripts/runs/, and
with --mlp/--mini_cnn fresh runs of those programs): every program's file is
recognised, runs that differ only in their seed make one figure, runs that differ
in the batch size or the momentum (the block size) make the studies' figures, each
figure is written where --out_dir says and its path printed, and bad input (a
missing file, text that is not JSON, JSON no kiln program wrote, a broken results
file, a folder that cannot be written) is one line on stderr, exit status 1, no
figure.

test/scripts/runs/ holds the outputs of small runs of the programs (mlp with
--minibatch_size 50 and 500 over seeds 1 and 2, --num_epoch 2; --minibatch_size
500 --num_epoch 3 --early_stopping_patience 0 --test_each_epoch --watch_patience 1
with --momentum 0.5 and 0.9; perceptron --num_epoch 2 --kernel_epochs 1
--kernel_train 300; mini_cnn --num_epoch 3 --train_count 200; ood --num_epoch 1
--minibatch_size 50, cut to one example image per test set with pixels to two
digits; gpt --block 32 and 16 --iterations 20 --eval_interval 10 --eval_iters 5).

Usage: test_plot_runs.py [--mlp P] [--mini_cnn P]   (exit 77: skipped without matplotlib)
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

from script_checks import ROOT, check, import_or_skip, summary

plot_runs, = import_or_skip("figures", "plot_runs")[1:]
SCRIPT = ROOT / "scripts" / "plot_runs.py"
RUNS = pathlib.Path(__file__).resolve().parent / "runs"


def plot(files, out_dir):
    result = subprocess.run([sys.executable, str(SCRIPT), *map(str, files), "--out_dir",
                             str(out_dir)], capture_output=True, text=True)
    return result.returncode, result.stdout.splitlines(), result.stderr.splitlines()


def written(lines, out_dir, what):
    """The names of the figures printed, each checked to be a PNG inside out_dir."""
    names = []
    for line in lines:
        path = pathlib.Path(line)
        check(path.parent == out_dir, f"{what}: {line} is in --out_dir")
        check(path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n",
              f"{what}: {line} is a PNG")
        names.append(path.name)
    return names


def every_program(tmp):
    out = tmp / "all" / "figures"  # a folder that does not exist yet
    code, lines, errors = plot(sorted(RUNS.glob("*.json")), out)
    check(code == 0 and errors == [], f"all fixtures: exit 0, nothing on stderr ({errors})")
    names = written(lines, out, "all fixtures")
    expected = {"gpt_loss_block16.png", "gpt_loss_block32.png", "gpt_block_sweep.png",
                "mini_cnn_accuracy.png", "perceptron_train_accuracy.png",
                "ood_test_images.png", "ood_accuracy.png",
                "mlp_train_accuracy_b50_momentum0.png", "mlp_train_accuracy_b500_momentum0.png",
                "mlp_train_accuracy_b500_momentum0.5.png",
                "mlp_train_accuracy_b500_momentum0.9.png",
                "early_stopping_b500_momentum0.5.png", "early_stopping_b500_momentum0.9.png",
                "batch_size_study.png", "momentum_loss.png"}
    check(len(names) == len(set(names)) and set(names) == expected,
          f"the figures of every program: {sorted(set(names) ^ expected)} differ")
    check(sorted(p.name for p in out.iterdir()) == sorted(names), "only the figures printed")


def grouping(tmp):
    load = [plot_runs.load(p)[1] for p in sorted(RUNS.glob("mlp_*.json"))]
    groups = plot_runs.group(load, plot_runs.mlp_settings)
    check(sorted(len(g) for g in groups) == [1, 1, 2, 2],
          "the seeds of one MLP setting make one group, the momentum runs one each")
    check(sorted(g[0]["minibatch_size"] for g in groups if len(g) == 2) == [50, 500],
          "the groups of two seeds are batch 50 and batch 500")

    # Two seeds of the OOD study and one with Glorot initialization: two figures of each.
    study = json.loads((RUNS / "ood.json").read_text())
    files = [RUNS / "ood.json"]
    for name, change in (("seed2", {"random_seed": 2}), ("glorot", {"cnn_init": "glorot"})):
        other = json.loads(json.dumps(study))
        other["recipe"].update(change)
        for model in other["models"].values():
            model["test"] = {k: v * 0.9 for k, v in model["test"].items()}
        files.append(tmp / f"ood_{name}.json")
        files[-1].write_text(json.dumps(other))
    out = tmp / "ood"
    code, lines, _ = plot(files, out)
    check(code == 0 and set(written(lines, out, "ood")) == {
        "ood_test_images_cnn_init-pytorch.png", "ood_accuracy_cnn_init-pytorch.png",
        "ood_test_images_cnn_init-glorot.png", "ood_accuracy_cnn_init-glorot.png"},
        f"OOD seeds make one figure, another initialization its own: {lines}")

    # One file, and the same file twice: one run, the figure's plain name.
    for given in ([RUNS / "mlp_b50_seed1.json"], [RUNS / "mlp_b50_seed1.json"] * 2):
        out = tmp / f"one{len(given)}"
        code, lines, _ = plot(given, out)
        check(code == 0 and written(lines, out, "one run") == ["mlp_train_accuracy.png"],
              f"{len(given)} times one file: one figure, plain name ({lines})")
    check(plot_runs.suffixes([{"b": 1}, {"b": 1}]) == ["_1", "_2"],
          "settings that cannot tell figures apart: numbered")


def bad_input(tmp):
    not_json = tmp / "notes.json"
    not_json.write_text("epoch 1: 0.81\n")
    other = tmp / "other.json"
    other.write_text('{"loss": [1, 2]}')
    listed = tmp / "list.json"
    listed.write_text("[1, 2]")
    latin = tmp / "latin1.json"
    latin.write_bytes(b'{"caf\xe9": 1}')
    broken = tmp / "broken_mlp.json"
    run = json.loads((RUNS / "mlp_b50_seed1.json").read_text())
    run["train"] = [0.5, None]
    broken.write_text(json.dumps(run))
    blocker = tmp / "a_file"
    blocker.write_text("")
    good = RUNS / "mini_cnn.json"
    cases = [([tmp / "missing.json"], tmp / "o1", "missing.json: no such file"),
             ([good, not_json], tmp / "o2", "notes.json: not JSON"),
             ([other], tmp / "o3", "other.json: not the results of a kiln example program"),
             ([listed], tmp / "o4", "list.json: not the results of a kiln example program"),
             ([latin], tmp / "o5", "latin1.json: not JSON (not UTF-8 text)"),
             ([broken], tmp / "o6", "broken_mlp.json: mlp.train is not a list of numbers"),
             ([RUNS], tmp / "o7", "is a folder, not a results file"),
             ([good], blocker / "figures", "--out_dir")]
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp / "locked"
        locked.mkdir(mode=0o555)
        cases.append(([good], locked, "--out_dir"))
    for files, out, says in cases:
        code, lines, errors = plot(files, out)
        check(code == 1 and lines == [] and len(errors) == 1 and says in errors[0] and
              errors[0].startswith("plot_runs: "),
              f"{says}: one line, exit 1 (got {code}, {errors})")
        check(not out.is_dir() or not any(out.iterdir()), f"{says}: no figure written")


def fresh_runs(tmp, args):
    """The programs as built now: their files are still the ones plot_runs reads."""
    ran = []
    for exe, argv, name in ((args.mini_cnn, ["--num_epoch", "2", "--train_count", "20",
                                             "--test_count", "20", "--out",
                                             str(tmp / "fresh" / "mini_cnn.json")],
                             "mini_cnn_accuracy.png"),
                            (args.mlp, ["--minibatch_size", "5000", "--num_epoch", "1",
                                        "--test_each_epoch", "--out_dir", str(tmp / "fresh")],
                             "early_stopping.png")):
        if not exe:
            continue
        (tmp / "fresh").mkdir(exist_ok=True)
        result = subprocess.run([exe, *argv], capture_output=True, text=True,
                                env=dict(os.environ, KILN_THREADS="1"))
        if result.returncode != 0 and "Fashion-MNIST" in result.stderr:
            print(f"note: {exe} skipped, no Fashion-MNIST")
            continue
        check(result.returncode == 0, f"{exe} runs: {result.stderr.strip()[-200:]}")
        ran.append(name)
    if ran:
        out = tmp / "fresh_figures"
        code, lines, errors = plot(sorted((tmp / "fresh").glob("*.json")), out)
        names = written(lines, out, "fresh runs")
        check(code == 0 and all(n in names for n in ran),
              f"fresh runs' figures {ran} among {names} ({errors})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mlp")
    parser.add_argument("--mini_cnn")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kiln_plot_runs_") as tmp:
        tmp = pathlib.Path(tmp)
        every_program(tmp)
        grouping(tmp)
        bad_input(tmp)
        fresh_runs(tmp, args)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
