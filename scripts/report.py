"""Writes docs/results.md (and its figures) from the runs scripts/reproduce.py made,
and the generated parts of docs/comparisons.md from the same runs.
write(done, context, doc, figures) returns the text and the figure paths; every
number comes from a run's JSON or log, and each section names its commands.

Each step's runs come one per seed; a number is reported as the mean over the
seeds with the smallest and largest, "mean (min-max)", or as the value when one
seed ran (or every seed agrees)."""
import os
import pathlib
import re

import figures as fig


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def mean(values):
    return sum(values) / len(values)


def spread(values, digits=4):
    """mean (min-max) of the seeds' values; the value alone when they agree."""
    lo, hi = min(values), max(values)
    if f"{lo:.{digits}f}" == f"{hi:.{digits}f}":
        return f"{mean(values):.{digits}f}"
    return f"{mean(values):.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"


def count_spread(values):
    """Counts (epochs): the mean to a tenth, whole bounds; the count when they agree."""
    lo, hi = int(min(values)), int(max(values))
    return f"{lo}" if lo == hi else f"{mean(values):.1f} ({lo}-{hi})"


def ranking(groups, what, larger_first=True):
    """A sentence ranking groups ({label: [value per seed]}) by their mean, best
    first (the largest, or the smallest when not larger_first), and naming the
    neighbours in that order whose seeds' ranges overlap."""
    order = sorted(groups, key=lambda k: mean(groups[k]), reverse=larger_first)
    text = (f"By mean {what}: " + (" > " if larger_first else " < ").join(
        f"{k} ({mean(groups[k]):.4f})" for k in order) + ".")
    if len(next(iter(groups.values()))) == 1:
        return text + " One seed: no spread to judge the order by."
    overlapping = [f"{a} and {b}" for a, b in zip(order, order[1:])
                   if min(groups[a]) <= max(groups[b]) and min(groups[b]) <= max(groups[a])]
    if overlapping:
        return text + (" The seeds' ranges overlap for " + ", ".join(overlapping) +
                       ": the seeds do not separate those.")
    return text + " No neighbours' ranges overlap: every step of the order holds on every seed."


class Report:
    def __init__(self, doc, figures):
        self.doc = pathlib.Path(doc)
        self.figures_dir = pathlib.Path(figures)
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        self.lines = []
        self.figures = []

    def add(self, *parts):
        self.lines += list(parts)

    def commands(self, step):
        """The step's commands, in the loop over its seeds that ran them."""
        seeds = " ".join(str(s) for s in step["seeds"])
        self.add("```sh", f"for seed in {seeds}; do",
                 *[f"  {records[0]['command']}" for records in step["runs"].values()],
                 "done", "```", "")

    def figure(self, path, caption):
        self.figures.append(path)
        link = os.path.relpath(path, self.doc.parent)
        self.add(f"![{caption}]({link})", "")



def jsons(records):
    return [r["json"] for r in records]


def over(step):
    """How a section's numbers were summarised."""
    return (f"Over {seeds_text(step)}: mean (min-max)." if len(step["seeds"]) > 1 else
            f"{seeds_text(step).capitalize()}.")


def seeds_text(step):
    seeds = step["seeds"]
    return f"seed {seeds[0]}" if len(seeds) == 1 else \
        f"{len(seeds)} seeds ({', '.join(str(s) for s in seeds)})"


def perceptron(rep, step):
    data = jsons(step["runs"]["perceptron"])
    rep.commands(step)
    kernels = [k for k in fig.PERCEPTRON_KERNELS if k in data[0]]
    s = data[0]["settings"]
    rep.add("Algorithm 1 (`linear`) is a kiln network, `linear_no_bias<10>` with the "
            "`multiclass_perceptron` loss and SGD at rate 1, one example at a time, from zero "
            "weights. Algorithm 2 is `kiln::kernel_perceptron` with the polynomial kernel "
            f"(x.z + {s['offset']:g})^{s['degree']:g} and the RBF kernel exp(-{s['gamma']:g} "
            f"|x - z|^2), trained on the first {s['kernel_train']:.0f} training examples. "
            "Train accuracy is online: the fraction of the epoch's examples classified right "
            "before their update; validation accuracy after each epoch; test accuracy of the "
            "final model. The seed sets the split and the order of the examples.", "")
    epochs = max(len(d[k]["train"]) for d in data for k in kernels)
    header = ["epoch"] + [f"{k} {what}" for k in kernels for what in ("train", "val")]
    rows = []
    for e in range(epochs):
        row = [e + 1]
        for k in kernels:
            have = [d[k] for d in data if e < len(d[k]["train"])]
            row += [spread([h["train"][e] for h in have]), spread([h["val"][e] for h in have])] \
                if have else ["", ""]
        rows.append(row)
    rep.add(table(header, rows), "")
    rep.add(table(["algorithm", "test accuracy", "support (examples)", "training time (s)"],
                  [[k, spread([d[k]["test"] for d in data]),
                    count_spread([d[k].get("support", 0) for d in data]) if k != "linear"
                    else "-", spread([d[k]["time"] for d in data], 2)] for k in kernels]), "")
    rep.figure(fig.perceptron_accuracy(data, rep.figures_dir),
               "perceptron training accuracy per epoch")
    rep.add("`test/test_course.cpp` checks that Algorithm 2 with the linear kernel ends with "
            "exactly Algorithm 1's weights.", "")


def mini_cnn(rep, step):
    records = step["runs"]["mini_cnn"]
    data = jsons(records)
    first = data[0]
    rep.commands(step)
    rep.add(f"`sequential<input<3>, conv1d_no_bias<1, 2>, relu, flatten, linear_no_bias<1>>` "
            f"with the `logistic` loss, SGD at rate {first['learning_rate']:g} on one random "
            f"example at a time, {first['train_count']:.0f} synthetic training examples labelled "
            "by the sign of a teacher network of the same shape (the seed draws the teacher, "
            "the data and the start). `test/test_course.cpp` checks kiln's gradients against "
            "the closed-form formulas at 1,000 random points.", "")
    rows = [[e + 1, spread([d["train_loss"][e] for d in data]),
             spread([d["train"][e] for d in data]), spread([d["test"][e] for d in data])]
            for e in range(min(len(d["train"]) for d in data))]
    rep.add(table(["epoch", "train loss", "train accuracy", "test accuracy"], rows), "")
    rep.figure(fig.mini_cnn_accuracy(data, rep.figures_dir), "mini CNN accuracy per epoch")
    names = ["w1", "w2", "v1", "v2"]
    rep.add("The learned and the teacher's weights, per seed (each seed has its own teacher):", "",
            table(["seed", *[f"learned {n}" for n in names], *[f"teacher {n}" for n in names]],
                  [[r["seed"], *[f"{v:.4f}" for v in r["json"]["weights"]],
                    *[f"{v:.4f}" for v in r["json"]["teacher"]]] for r in records]), "")
    rep.add("The learned weights need not equal the teacher's: relu is positively homogeneous, "
            "so scaling w by c > 0 and v by 1/c gives the same signs.", "")


def gradient_check_text(log):
    lines = log.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("gradient check")), None)
    end = next((i for i, l in enumerate(lines) if "first 5000 examples" in l), None)
    return lines[start:end + 1] if start is not None and end is not None else []


def batch_size(rep, step):
    runs = {int(name[1:]): records for name, records in step["runs"].items()}
    course = runs.get(5)
    if course:
        first = course[0]
        rep.add("### The course's run: batch 5, with the gradient checks", "",
                "```sh", first["command"].replace("$seed", str(first["seed"])), "```", "")
        checks = gradient_check_text(first["log"])
        if checks:
            rep.add(f"The checks of seed {first['seed']} (each seed starts from other weights):",
                    "", "```text", *checks, "```", "")
        data = jsons(course)
        rep.add(f"Best epoch {count_spread([d['best_epoch'] for d in data])} of "
                f"{count_spread([d['epochs'] for d in data])} (early stopping, patience 3); test "
                f"accuracy at the best epoch {spread([d['test'] for d in data])}; training time "
                f"{spread([d['time'] for d in data], 2)} s; {seeds_text(step)}.", "")
        rep.figure(fig.mlp_accuracy(data, rep.figures_dir), "MLP training accuracy per epoch")
        if len({len(d["train"]) for d in data}) > 1:
            rep.add("Runs stop at different epochs; past the shortest, the curve and its band "
                    "are over the seeds still training.", "")
    rep.add("### Batch-size study", "")
    rep.commands(step)
    rows = []
    for b in sorted(runs):
        d = jsons(runs[b])
        rows.append([b, count_spread([x["epochs"] for x in d]),
                     count_spread([x["best_epoch"] for x in d]),
                     count_spread([x["updates_to_best"] for x in d]),
                     spread([x["test"] for x in d]), spread([x["time"] for x in d], 2)])
    rep.add("Each run stops early (patience 3 on validation accuracy, at most 200 epochs); "
            "gradient updates to the best model = best epoch x steps per epoch. " + over(step),
            "",
            table(["batch", "epochs run", "best epoch", "updates to best", "test accuracy",
                   "training time (s)"], rows), "")
    rep.add(ranking({f"batch {b}": [x["test"] for x in jsons(runs[b])] for b in sorted(runs)},
                    "test accuracy"), "")
    rep.figure(fig.batch_size_study({b: jsons(r) for b, r in runs.items()}, rep.figures_dir),
               "batch-size study")


def watched(records):
    """Per seed of the early-stopping study: (seed, stop epoch, kept epoch, JSON),
    for the seeds where the watched patience stopped."""
    out = []
    for r in records:
        d = r["json"]
        stop, best = int(d["watch_stop_epoch"]), int(d["watch_best_epoch"])
        if stop:
            out.append((r["seed"], stop, best, d))
    return out


def early_stopping(rep, step):
    records = next(iter(step["runs"].values()))
    data = jsons(records)
    rep.commands(step)
    patience = int(data[0]["watch_patience"])
    stopped = watched(records)
    never = [str(r["seed"]) for r in records if not int(r["json"]["watch_stop_epoch"])]
    if stopped:
        rep.add(f"Early stopping with patience {patience} would have stopped after epoch "
                f"{count_spread([s for _, s, _, _ in stopped])}, keeping the model of epoch "
                f"{count_spread([b for _, _, b, _ in stopped])} (validation "
                f"{spread([d['val'][b - 1] for _, _, b, d in stopped])}, test "
                f"{spread([d['test_each_epoch'][b - 1] for _, _, b, d in stopped])}). "
                f"Trained on to epoch {len(data[0]['val'])}, the best validation accuracy is at "
                f"epoch {count_spread([d['best_epoch'] for d in data])} (test "
                f"{spread([d['test'] for d in data])}). " + over(step), "")
    if never:
        rep.add(f"With seed {', '.join(never)}, patience {patience} would not have stopped within "
                f"{len(data[0]['val'])} epochs.", "")
    if stopped:
        rep.add(table(["seed", "stops after epoch", "kept epoch", "test, kept model",
                       "test, model at the stop"],
                      [[seed, stop, best, f"{d['test_each_epoch'][best - 1]:.4f}",
                        f"{d['test_each_epoch'][stop - 1]:.4f}"]
                       for seed, stop, best, d in stopped]), "")
    rows = [[e + 1, spread([d["train"][e] for d in data]), spread([d["val"][e] for d in data]),
             spread([d["test_each_epoch"][e] for d in data])]
            for e in range(min(len(d["val"]) for d in data))]
    rep.add(table(["epoch", "train", "validation", "test"], rows), "")
    rep.figure(fig.early_stopping(data, rep.figures_dir), "early-stopping curves")
    rep.add("The stars mark the model early stopping keeps, on the test curve of its seed; the "
            "crosses where it stops.", "")


def momentum(rep, step):
    runs = {float(name[len("alpha"):]): jsons(r) for name, r in step["runs"].items()}
    rep.commands(step)
    rows = [[f"{a:g}", spread([d["train_loss"][0] for d in ds]),
             spread([d["train_loss"][-1] for d in ds]), count_spread([d["best_epoch"] for d in ds]),
             spread([d["test"] for d in ds]), spread([d["test_each_epoch"][-1] for d in ds]),
             spread([d["time"] for d in ds], 2)]
            for a, ds in sorted(runs.items())]
    epochs = len(next(iter(runs.values()))[0]["train_loss"])
    rep.add(f"{epochs} epochs without early stopping. " + over(step) + " The test accuracy of "
            "the epoch with the best validation accuracy (kiln's definition), and of the model "
            "after the last epoch (what the course's notebook reports). The training loss is the mean over "
            "the training set after the epoch.", "",
            table(["alpha", "train loss, epoch 1", "train loss, last epoch", "best epoch",
                   "test, best validation epoch", "test, last epoch", "training time (s)"], rows),
            "")
    rep.add(ranking({f"alpha {a:g}": [d["test"] for d in ds] for a, ds in sorted(runs.items())},
                    "test accuracy at the best validation epoch"), "")
    rep.figure(fig.momentum_losses(runs, rep.figures_dir), "momentum loss curves")


# What the programs' --init, --cnn_init and --mlp_init values mean.
INIT_NAMES = {"normal": "N(0, 0.1)", "pytorch": "PyTorch's default (U(+-1/sqrt(fan_in)))",
              "glorot": "Glorot uniform with zero bias (Keras's default)"}


def ood_table(studies):
    """The OOD table over the seeds: one row per model, one column per test set."""
    tests = list(next(iter(studies[0]["models"].values()))["test"])
    rows = []
    for name, m in studies[0]["models"].items():
        of = [s["models"][name] for s in studies]
        rows.append([name, f"{m['parameters']:.0f}", count_spread([x["epochs"] for x in of]),
                     count_spread([x["best_epoch"] for x in of]),
                     spread([x["time"] for x in of], 1),
                     *[spread([x["test"][t] for x in of]) for t in tests]])
    return table(["model", "parameters", "epochs", "best", "time (s)", *tests], rows)


def ood_groups(studies, test):
    return {name: [s["models"][name]["test"][test] for s in studies]
            for name in studies[0]["models"]}


def ood(rep, step):
    studies = jsons(step["runs"]["ood"])
    rep.commands(step)
    recipe = studies[0]["recipe"]
    rep.add(f"Each model: SGD, learning rate {recipe['learning_rate']:g}, batch "
            f"{recipe['minibatch_size']:g}, early stopping with patience "
            f"{recipe['early_stopping_patience']:g} on validation accuracy, at most "
            f"{recipe['num_epoch']:g} epochs; the MLP starts from "
            f"{INIT_NAMES[recipe.get('mlp_init', 'normal')]}, the CNNs from "
            f"{INIT_NAMES[recipe.get('cnn_init', 'pytorch')]}. The best epoch's model is scored on the test set as it is, "
            f"moved up {recipe['shift_pixels']:g} pixels (zero rows enter at the bottom), and "
            f"turned 90, 180 and 270 degrees counter-clockwise. " + over(step), "")
    rep.figure(fig.ood_examples(studies[0], rep.figures_dir),
               "the original, shifted and rotated test images")
    rep.add(ood_table(studies), "")
    rep.add(ranking(ood_groups(studies, "in-domain"), "in-domain accuracy"), "",
            ranking(ood_groups(studies, "shifted"), "accuracy on the shifted images"), "")
    rep.figure(fig.ood_bars(studies, rep.figures_dir), "OOD accuracy")


def gpt(rep, step):
    runs = step["runs"]
    rep.commands(step)
    rows = []
    for name, records in runs.items():
        d = jsons(records)
        rows.append([name, spread([x["val"][0] for x in d]), spread([x["train"][-1] for x in d]),
                     spread([x["val"][-1] for x in d]), spread([x["time"] for x in d], 1)])
    rep.add(over(step) + " The seed (`--seed`) draws the initialization and the batches; "
            "a loss is the program's estimate, the mean over random batches of the split "
            "(`--eval_iters` of them, every `--eval_interval` steps).", "",
            table(["run", "validation loss, step 0", "final train loss", "final validation loss",
                   "time (s)"], rows), "")
    configs = [jsons(r) for r in runs.values()]
    rep.figure(fig.gpt_loss(configs[0], rep.figures_dir), "transformer loss curves")
    for setting, caption in (("block", "block-size sweep"), ("heads", "heads sweep")):
        swept = fig.sweeps(configs, setting, fig.gpt_settings)
        if swept:
            rep.figure(fig.gpt_sweep(swept[0], setting, rep.figures_dir), caption)
    rep.add(ranking({n: [x["val"][-1] for x in jsons(r)] for n, r in runs.items()},
                    "final validation loss", larger_first=False), "")
    seed = next(iter(runs.values()))[0]["seed"]
    for name, records in runs.items():
        rep.add(f"#### Samples, {name} (seed {seed})", "")
        for when in ("before", "after"):
            sample = records[0]["json"].get(f"sample_{when}")
            if sample is not None:
                rep.add(f"{when} training:", "", "```text", sample.rstrip("\n"), "```", "")


def deviations(rep, done):
    """Where kiln's definitions differ from the course's notebooks, with the numbers of
    this run that show what the difference does."""
    rep.add("Where kiln's definitions differ from the course's notebooks (TensorFlow/Keras for "
            "parts D and E, numpy for C), and why.", "")
    rep.add("**Initialization.** kiln's MLP starts from N(0, 0.1), as the course's numpy MLP "
            "(SEED.md C); its CNNs as PyTorch starts `nn.Conv2d` and `nn.Linear` "
            "(U(+-1/sqrt(fan_in)) for weights and biases), the definition the PyTorch peer "
            "shares. Keras starts Dense and Conv2D layers from Glorot uniform "
            "(U(+-sqrt(6 / (fan_in + fan_out)))) with zero biases. kiln has that as "
            "`kiln::init::glorot_uniform`, and the programs as `--init glorot` (mlp), "
            "`--cnn_init glorot` and `--mlp_init glorot` (ood).", "")
    base, glorot = done.get("ood", {}), done.get("ood_glorot", {})
    if "runs" in base and "runs" in glorot:
        ours, theirs = jsons(base["runs"]["ood"]), jsons(glorot["runs"]["ood_glorot"])
        several = len(ours) > 1 and len(theirs) > 1
        rows, overlaps = [], 0
        for name in ours[0]["models"]:
            for test in ("in-domain", "shifted"):
                a = [s["models"][name]["test"][test] for s in ours]
                b = [s["models"][name]["test"][test] for s in theirs]
                overlap = min(a) <= max(b) and min(b) <= max(a)
                overlaps += overlap
                rows.append([name, test, spread(a), spread(b)] +
                            (["yes" if overlap else "no"] if several else []))
        rep.add(f"The OOD study both ways ({seeds_text(glorot)}):", "", "```sh",
                f"for seed in {' '.join(str(s) for s in glorot['seeds'])}; do",
                f"  {glorot['runs']['ood_glorot'][0]['command']}", "done", "```", "",
                table(["model", "test set", "kiln's initialization",
                       "Glorot uniform, zero bias"] + (["ranges overlap"] if several else []),
                      rows), "")
        if several:
            rep.add(f"The two definitions' ranges over the seeds overlap in {overlaps} of the "
                    f"{len(rows)} rows: " + ("over these seeds, the choice of initialization "
                                             "does not separate the results." if
                                             overlaps == len(rows) else "where they do not, the "
                                             "initialization moves the result beyond the seeds' "
                                             "spread."), "")
        rep.add("The course's notebooks' own accuracies are not in this repository (SEED.md "
                "gives the recipes, not their outputs), so this sets the two definitions side by "
                "side over the same seeds; it does not check kiln against the course's printed "
                "numbers.", "")
    else:
        rep.add("(The OOD study with Glorot initialization was not run in this reproduction: "
                "`--only` left out `ood` or `ood_glorot`.)", "")
    rep.add("**Best-epoch restore.** kiln scores the model of the best validation epoch "
            "(SEED.md C: the best model is kept and only it is scored). Keras's `EarlyStopping` "
            "keeps the last model unless `restore_best_weights=True`, so the course's notebook "
            "scores the model at the stop, `patience` epochs later.", "")
    stopped = watched(done["early_stopping"]["runs"]["b5_30_epochs"]) \
        if "runs" in done.get("early_stopping", {}) else []
    if stopped:
        rep.add(f"In the early-stopping study above, the kept model scores "
                f"{spread([d['test_each_epoch'][b - 1] for _, _, b, d in stopped])} on the test "
                "set and the model at the stop "
                f"{spread([d['test_each_epoch'][s - 1] for _, s, _, d in stopped])}.", "")
    rep.add("**The loss of an epoch.** kiln's programs report the mean loss over the whole "
            "training set, evaluated after the epoch. Keras's history holds the running mean of "
            "the mini-batch losses during the epoch, each taken with the weights of its "
            "moment, so the two differ most in the first epochs, where the loss falls fastest "
            "within an epoch.", "",
            "**The momentum study's test accuracy.** kiln's table gives the test accuracy at "
            "the best validation epoch and, beside it, that of the final model, which is what "
            "the course's notebook reports after `model.fit` (no restore).", "",
            "**The MLP's printed loss.** `examples/mlp` prints the mean cross-entropy over "
            "the training set. The course's numpy program adds up the mean losses of the chunks "
            "it evaluates the training set in; with equal chunks that is the number of chunks "
            "times kiln's number, so the two logs differ by that factor, not in the model.", "")


SECTIONS = [
    ("perceptron", "A. Multiclass perceptron, linear and kernelized", perceptron),
    ("mini_cnn", "B. The mini CNN", mini_cnn),
    ("batch_size", "C. Fashion-MNIST MLP", batch_size),
    ("early_stopping", "D. Early stopping", early_stopping),
    ("momentum", "D. Momentum", momentum),
    ("ood", "E. Out-of-distribution tests, CNNs", ood),
    ("gpt", "F. Tiny transformer on tiny Shakespeare", gpt),
]


def header(context):
    mode = " (quick mode: a few epochs each, a pipeline check, not results)" \
        if context["quick"] else ""
    seeds = context["seeds"]
    threads = f"KILN_THREADS={context['threads']}" if context["threads"] else "all cores"
    return [
        "# Results", "",
        f"Every number and figure below was produced by `{context['command']}`{mode} "
        f"(finished {context['date']}), which ran every experiment of the course (SEED.md parts A to F) "
        "with kiln's example programs, once per seed, wrote each run's JSON and log under "
        "`results/`, and wrote this page from them. Each section shows the commands it ran.", "",
        f"- Seeds: {' '.join(str(s) for s in seeds)} (the transformer: "
        f"{' '.join(str(s) for s in context['gpt_seeds'])}). A number is the mean over the seeds with the "
        "smallest and largest in parentheses, mean (min-max); a figure shows the mean and the "
        "min-max as a band or error bars. `python3 scripts/reproduce.py --seeds 42` is the "
        "course's single run; a run repeats to the last digit with the same seed on the same "
        "machine.",
        f"- Machine: {context['machine']}.",
        f"- Wall time of all the runs: {context['wall_seconds']:.0f} s "
        f"({context['wall_seconds'] / 60:.1f} min), each program on {threads}, at niceness "
        f"{context['niceness']}; load average {context['load'][0]:.1f} before and "
        f"{context['load'][1]:.1f} after (the machine is shared: times move with the load, "
        "accuracies do not).",
        "- kiln against PyTorch on the same recipes, and step timings: "
        "[comparisons.md](comparisons.md) (its kiln tables come from this run).", ""]


def write(done, context, doc, figures):
    rep = Report(doc, figures)
    rep.add(*header(context))
    for key, title, section in SECTIONS:
        rep.add(f"## {title}", "")
        step = done.get(key)
        if step is None:
            rep.add("Not run in this reproduction (`--only`).", "")
        elif "skipped" in step:
            rep.add(f"Skipped: {step['skipped']}. `scripts/reproduce.py` runs it once the "
                    "program is built; the expected JSON layout is in its docstring.", "")
        else:
            section(rep, step)
    rep.add("## Deviations from the course's notebooks", "")
    deviations(rep, done)
    rep.add("## Time per run", "")
    rows = []
    for key, step in done.items():
        for name, records in step.get("runs", {}).items():
            seconds = [r["seconds"] for r in records]
            rows.append([f"{key}/{name}", len(seconds), spread(seconds, 1),
                         f"{sum(seconds):.1f}"])
    rep.add("Wall time of each run (the program's whole life, data loading included).", "",
            table(["run", "seeds", "per seed (s)", "all seeds (s)"], rows), "")
    text = "\n".join(rep.lines).rstrip("\n") + "\n"
    pathlib.Path(doc).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(doc).write_text(text)
    return text, rep.figures


# docs/comparisons.md: the parts between these markers are this script's.
BEGIN = "<!-- generated by scripts/reproduce.py: {} -->"
END = "<!-- end of generated part: {} -->"


def ood_comparison(step, context):
    studies = jsons(step["runs"]["ood"])
    records = step["runs"]["ood"]
    models = list(studies[0]["models"])
    per_seed = [[r["seed"], *[f"{r['json']['models'][m]['test']['in-domain']:.4f}" for m in models],
                 *[f"{r['json']['models'][m]['test']['shifted']:.4f}" for m in models if m != "mlp"]]
                for r in records]
    per_seed.append(["mean (min-max)",
                     *[spread([s["models"][m]["test"]["in-domain"] for s in studies])
                       for m in models],
                     *[spread([s["models"][m]["test"]["shifted"] for s in studies])
                       for m in models if m != "mlp"]])
    return [f"From `{context['command']}` (finished {context['date']}), the run of "
            f"[results.md](results.md) ({seeds_text(step)}; each study "
            f"{spread([r['seconds'] for r in records], 0)} s of wall clock, on "
            f"{'KILN_THREADS=' + str(context['threads']) if context['threads'] else 'all cores'}"
            f" of {context['machine']}):", "",
            "```sh", "for seed in " + " ".join(str(s) for s in step["seeds"]) + "; do",
            "  " + records[0]["command"], "done", "```", "",
            ood_table(studies), "",
            "Per seed:", "",
            table(["seed", *[f"{m} in-domain" for m in models],
                   *[f"{m} shifted" for m in models if m != "mlp"]], per_seed)]


def gpt_comparison(step, context):
    base = next(iter(step["runs"]))
    records = step["runs"][base]
    d = jsons(records)
    return [f"From `{context['command']}` (finished {context['date']}), the run of "
            f"[results.md](results.md): `{records[0]['command']}`, {seeds_text(step)}: "
            f"validation loss at the last step {spread([x['val'][-1] for x in d])}, "
            f"{spread([x['time'] for x in d], 0)} s each. The whole sweep, over the same seeds, "
            "is in [results.md](results.md#f-tiny-transformer-on-tiny-shakespeare)."]


COMPARISONS = {"ood": ood_comparison, "gpt": gpt_comparison}


def write_comparisons(done, context, source, target, results_doc):
    """Rewrites the generated parts of comparisons.md (source) into target, each from
    its step of this run; a part whose step did not run keeps its text (and says its
    own date). A marker missing from source is an error."""
    text = pathlib.Path(source).read_text()
    for key, part in COMPARISONS.items():
        begin, end = BEGIN.format(key), END.format(key)
        if begin not in text or end not in text:
            raise SystemExit(f"reproduce: {source} lacks the markers {begin} ... {end}")
        step = done.get(key)
        if not step or "runs" not in step:
            continue
        lines = part(step, context)
        link = os.path.relpath(pathlib.Path(results_doc), pathlib.Path(target).parent)
        body = "\n".join(lines).replace("(results.md", f"({link}")
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end),
                      lambda _: f"{begin}\n{body}\n{end}", text, flags=re.S)
    pathlib.Path(target).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(target).write_text(text)
