#!/usr/bin/env python3
"""scripts/report.py on made-up runs of several seeds: every number is the mean
with its min-max, a ranking names the neighbours the seeds do not separate, a
single seed's report gives plain values, the figures are written, and
comparisons.md's generated parts (and only they) are rewritten.

Usage: test_report.py   (exit 77: skipped without matplotlib)
"""
import pathlib
import sys
import tempfile

from script_checks import check, import_or_skip, summary

report, = import_or_skip("report")


def mlp_json(test, epochs, seed):
    return {"train": [0.7 + 0.01 * e for e in range(epochs)],
            "val": [0.69 + 0.01 * e for e in range(epochs)],
            "test": test, "time": 1.0 + seed / 10, "train_loss": [0.5 - 0.01 * e
                                                                  for e in range(epochs)],
            "best_epoch": epochs - 3, "updates_to_best": (epochs - 3) * 2000,
            "epochs": epochs, "minibatch_size": 5, "momentum": 0,
            "test_each_epoch": [0.68 + 0.01 * e for e in range(epochs)],
            "watch_patience": 3, "watch_stop_epoch": epochs // 2,
            "watch_best_epoch": epochs // 2 - 3}


def ood_json(seed, offset):
    models = {}
    for name, base in (("mlp", 0.83), ("cnn2", 0.87), ("cnn3", 0.86)):
        models[name] = {"parameters": 1000, "epochs": 10 + seed, "best_epoch": 7 + seed,
                        "best_val": base, "time": 5.0,
                        "test": {"in-domain": base + offset, "shifted": 0.5 + offset,
                                 "rot90": 0.05, "rot180": 0.2, "rot270": 0.05}}
    return {"recipe": {"minibatch_size": 5, "learning_rate": 0.01, "momentum": 0,
                       "num_epoch": 50, "early_stopping_patience": 3, "shift_pixels": 4,
                       "random_seed": seed, "cnn_init": "pytorch", "mlp_init": "normal"},
            "models": models, "example_count": 2,
            "examples": {t: [0.5] * (2 * 784) for t in
                         ("in-domain", "shifted", "rot90", "rot180", "rot270")}}


def gpt_json(block, heads, seed):
    return {"block": block, "heads": heads, "parameters": 1000, "iteration": [0, 10, 20],
            "train": [4.2, 3.0 - seed / 100, 2.5], "val": [4.2, 3.1, 2.6 + block / 1000],
            "time": 3.0, "training_time": 2.5, "sample_before": "x", "sample_after": "y"}


def record(seed, data, command="build/examples/x --random_seed $seed"):
    return {"seed": seed, "json": data, "log": "", "command": command, "seconds": 2.0 + seed}


def made_up_runs(seeds):
    tests = {42: 0.8185, 1: 0.845, 2: 0.850}
    epochs = {42: 12, 1: 13, 2: 14}
    offsets = {42: -0.02, 1: 0.0, 2: 0.01}
    return {
        "batch_size": {"seeds": seeds, "runs": {
            f"b{b}": [record(s, mlp_json(tests[s] - b / 10000, epochs[s], s)) for s in seeds]
            for b in (1, 5, 5000)}},
        "early_stopping": {"seeds": seeds, "runs": {
            "b5_30_epochs": [record(s, mlp_json(0.85, 30, s)) for s in seeds]}},
        "momentum": {"seeds": seeds, "runs": {
            f"alpha{a}": [record(s, mlp_json(0.85, 30, s)) for s in seeds] for a in ("0.1", "0.9")}},
        "ood": {"seeds": seeds, "runs": {"ood": [record(s, ood_json(s, offsets[s]))
                                                 for s in seeds]}},
        "gpt": {"seeds": seeds, "runs": {
            f"block{b}_heads{h}": [record(s, gpt_json(b, h, s)) for s in seeds]
            for b, h in ((32, 4), (2, 4), (32, 8))}},
        "ood_glorot": {"seeds": seeds, "runs": {"ood_glorot": [record(s, ood_json(s, 0.03))
                                                               for s in seeds]}},
    }


def context(seeds):
    return {"command": "python3 scripts/reproduce.py", "machine": "a CPU", "date": "today",
            "wall_seconds": 60, "load": (0.5, 1.0), "quick": False, "seeds": seeds,
            "gpt_seeds": seeds[:3],
            "threads": 1, "niceness": 19}


def main():
    check(report.spread([0.8185, 0.845, 0.85]) == "0.8378 (0.8185-0.8500)", "mean (min-max)")
    check(report.spread([0.5, 0.5]) == "0.5000", "seeds that agree give one value")
    check(report.count_spread([6, 13, 14]) == "11.0 (6-14)", "counts: mean to a tenth")
    text = report.ranking({"a": [0.80, 0.82], "b": [0.81, 0.83], "c": [0.70, 0.71]}, "accuracy")
    check("b (0.8200) > a (0.8100) > c (0.7050)" in text and "overlap for b and a" in text and
          "a and c" not in text, f"ranking with overlaps: {text}")
    text = report.ranking({"x": [1.9, 2.0], "y": [1.7, 1.8]}, "loss", larger_first=False)
    check("y (1.7500) < x (1.9500)" in text and "No neighbours' ranges overlap" in text,
          f"ranking, smallest first: {text}")

    with tempfile.TemporaryDirectory(prefix="kiln_report_") as tmp:
        tmp = pathlib.Path(tmp)
        seeds = [42, 1, 2]
        done = made_up_runs(seeds)
        text, figures = report.write(done, context(seeds), tmp / "results.md", tmp / "figures")
        check(all(f.exists() and f.stat().st_size > 0 for f in figures), "every figure written")
        check({"gpt_loss.png", "gpt_block_sweep.png", "gpt_heads_sweep.png"} <=
              {f.name for f in figures}, "the transformer's loss and its two sweeps")
        check(any(f.name == "ood_test_images.png" for f in figures),
              "the figure of the original and shifted test images")
        check("| 1 | 13.0 (12-14) |" in text, "the batch table gives epochs over the seeds")
        check("for seed in 42 1 2; do" in text, "the commands loop over the seeds")
        check("## Deviations from the course's notebooks" in text, "a Deviations section")
        check("Glorot uniform" in text and "| cnn2 | in-domain |" in text,
              "the Glorot comparison table")
        check("shifted: 4 pixels up, zero-filled" in report.fig.ood_title(ood_json(42, 0)),
              "the OOD figures' titles say the shift")
        check("not run" not in text.split("## Deviations")[1].split("**Best")[0],
              "the initialization deviation has its table when both studies ran")
        check("ranges over the seeds overlap in 0 of the 6 rows" in text and
              "moves the result beyond the seeds' spread" in text,
              "the initialization deviation counts the rows whose ranges overlap")

        single = {k: {"seeds": [42], "runs": {n: r[:1] for n, r in v["runs"].items()}}
                  for k, v in made_up_runs(seeds).items()}
        text, _ = report.write(single, context([42]), tmp / "single.md", tmp / "figures1")
        check("| 1 | 12 | 9 | 18000 | 0.8184 | 5.20 |" in text and "Over seed" not in text and
              "ranges overlap" not in text, "one seed: plain values, no ranges")
        check("One seed: no spread to judge the order by." in text, "one seed's ranking says so")

        source = tmp / "comparisons_source.md"
        source.write_text("hand text 0.1234\n" + report.BEGIN.format("ood") + "\nold\n" +
                          report.END.format("ood") + "\nmiddle\n" + report.BEGIN.format("gpt") +
                          "\nold gpt\n" + report.END.format("gpt") + "\nend 0.5678\n")
        target = tmp / "out" / "comparisons.md"
        no_gpt = {k: v for k, v in done.items() if k != "gpt"}
        report.write_comparisons(no_gpt, context(seeds), source, target, tmp / "results.md")
        written = target.read_text()
        check("hand text 0.1234" in written and "end 0.5678" in written and "middle" in written,
              "comparisons.md's hand-written parts stay")
        check("\nold\n" not in written and "| cnn3 |" in written and "mean (min-max)" in written,
              "the OOD part is rewritten from the run")
        check("old gpt" in written, "a part whose step did not run keeps its text")
        check("(../results.md)" in written, "links point at the results page written")
        source.write_text("no markers\n")
        try:
            report.write_comparisons(done, context(seeds), source, target, tmp / "results.md")
            check(False, "a comparisons.md without markers must be refused")
        except SystemExit as refusal:
            check("lacks the markers" in str(refusal), f"refusal names the markers: {refusal}")

    return summary()


if __name__ == "__main__":
    sys.exit(main())
