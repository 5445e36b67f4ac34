"""Writes docs/results.md (and its figures) from the runs scripts/reproduce.py made.
write(done, context, doc, figures) returns the text and the figure paths; every
number comes from a run's JSON or log, and each section names its command."""
import os
import pathlib

import figures as fig


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def pct(x):
    return f"{x:.4f}"


class Report:
    def __init__(self, doc, figures):
        self.doc = pathlib.Path(doc)
        self.figures_dir = pathlib.Path(figures)
        self.lines = []
        self.figures = []

    def add(self, *parts):
        self.lines += list(parts)

    def commands(self, records):
        self.add("```sh", *[r["command"] for r in records.values()], "```", "")

    def figure(self, path, caption):
        self.figures.append(path)
        link = os.path.relpath(path, self.doc.parent)
        self.add(f"![{caption}]({link})", "")

    def path(self, name):
        return self.figures_dir / name


def perceptron(rep, step):
    r = step["runs"]["perceptron"]
    data = r["json"]
    rep.commands(step["runs"])
    kernels = [k for k in ("linear", "polynomial", "rbf") if k in data]
    s = data["settings"]
    rep.add("Algorithm 1 (`linear`) is a kiln network, `linear_no_bias<10>` with the "
            "`multiclass_perceptron` loss and SGD at rate 1, one example at a time, from zero "
            "weights. Algorithm 2 is `kiln::kernel_perceptron` with the polynomial kernel "
            f"(x.z + {s['offset']:g})^{s['degree']:g} and the RBF kernel exp(-{s['gamma']:g} "
            f"|x - z|^2), trained on the first {s['kernel_train']:.0f} training examples. "
            "Train accuracy is online: the fraction of the epoch's examples classified right "
            "before their update; validation accuracy after each epoch; test accuracy of the "
            "final model.", "")
    epochs = max(len(data[k]["train"]) for k in kernels)
    header = ["epoch"] + [f"{k} {what}" for k in kernels for what in ("train", "val")]
    rows = []
    for e in range(epochs):
        row = [e + 1]
        for k in kernels:
            h = data[k]
            row += [pct(h["train"][e]), pct(h["val"][e])] if e < len(h["train"]) else ["", ""]
        rows.append(row)
    rep.add(table(header, rows), "")
    rep.add(table(["algorithm", "test accuracy", "support (examples)", "training time (s)"],
                  [[k, pct(data[k]["test"]), f"{data[k].get('support', 0):.0f}" if k != "linear"
                    else "-", f"{data[k]['time']:.2f}"] for k in kernels]), "")
    rep.figure(fig.accuracy_per_epoch({k: data[k]["train"] for k in kernels},
                                      "Perceptron: training accuracy (online) per epoch",
                                      rep.path("perceptron_train_accuracy.png")),
               "perceptron training accuracy per epoch")
    rep.add("`test/test_course.cpp` checks that Algorithm 2 with the linear kernel ends with "
            "exactly Algorithm 1's weights.", "")


def mini_cnn(rep, step):
    data = step["runs"]["mini_cnn"]["json"]
    rep.commands(step["runs"])
    rep.add(f"`sequential<input<3>, conv1d_no_bias<1, 2>, relu, flatten, linear_no_bias<1>>` "
            f"with the `logistic` loss, SGD at rate {data['learning_rate']:g} on one random "
            f"example at a time, {data['train_count']:.0f} synthetic training examples labelled "
            "by the sign of a teacher network of the same shape. `test/test_course.cpp` checks "
            "kiln's gradients against the closed-form formulas at 1,000 random points.", "")
    rows = [[e + 1, f"{data['train_loss'][e]:.4f}", pct(data["train"][e]), pct(data["test"][e])]
            for e in range(len(data["train"]))]
    rep.add(table(["epoch", "train loss", "train accuracy", "test accuracy"], rows), "")
    names = ["w1", "w2", "v1", "v2"]
    rep.add(table(["", *names], [["learned", *[f"{v:.4f}" for v in data["weights"]]],
                                 ["teacher", *[f"{v:.4f}" for v in data["teacher"]]]]), "")
    rep.add("The learned weights need not equal the teacher's: relu is positively homogeneous, "
            "so scaling w by c > 0 and v by 1/c gives the same signs.", "")


def gradient_check_text(log):
    lines = log.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("gradient check")), None)
    end = next((i for i, l in enumerate(lines) if "first 5000 examples" in l), None)
    return lines[start:end + 1] if start is not None and end is not None else []


def batch_size(rep, step):
    runs = {int(name[1:]): r for name, r in step["runs"].items()}
    course = runs.get(5)
    if course:
        rep.add("### The course's run: batch 5, with the gradient checks", "",
                "```sh", course["command"], "```", "", "```text",
                *gradient_check_text(course["log"]), "```", "")
        data = course["json"]
        rep.add(f"Best epoch {data['best_epoch']:.0f} of {data['epochs']:.0f} (early stopping, "
                f"patience 3); test accuracy at the best epoch {pct(data['test'])}; training "
                f"time {data['time']:.2f} s.", "")
        rep.figure(fig.accuracy_per_epoch({"train": data["train"], "validation": data["val"]},
                                          "MLP, batch 5: accuracy per epoch",
                                          rep.path("mlp_train_accuracy.png")),
                   "MLP training accuracy per epoch")
    rep.add("### Batch-size study", "")
    rep.commands(step["runs"])
    rows = []
    for b in sorted(runs):
        d = runs[b]["json"]
        rows.append([b, f"{d['epochs']:.0f}", f"{d['best_epoch']:.0f}",
                     f"{d['updates_to_best']:.0f}", pct(d["test"]), f"{d['time']:.2f}"])
    rep.add("Each run stops early (patience 3 on validation accuracy, at most 200 epochs); "
            "gradient updates to the best model = best epoch x steps per epoch.", "",
            table(["batch", "epochs run", "best epoch", "updates to best", "test accuracy",
                   "training time (s)"], rows), "")
    rep.figure(fig.batch_size_study({b: r["json"] for b, r in runs.items()},
                                    rep.path("batch_size_study.png")), "batch-size study")


def early_stopping(rep, step):
    r = next(iter(step["runs"].values()))
    d = r["json"]
    rep.commands(step["runs"])
    stop, best = int(d["watch_stop_epoch"]), int(d["watch_best_epoch"])
    patience = int(d["watch_patience"])
    if stop:
        rep.add(f"Early stopping with patience {patience} would have stopped after epoch "
                f"{stop}, keeping the model of epoch {best} (validation "
                f"{pct(d['val'][best - 1])}, test {pct(d['test_each_epoch'][best - 1])}). "
                f"Trained on to epoch {len(d['val'])}, the best validation accuracy is at epoch "
                f"{int(d['best_epoch'])} (test {pct(d['test'])}).", "")
    else:
        rep.add(f"Early stopping with patience {patience} would not have stopped within "
                f"{len(d['val'])} epochs.", "")
    rows = [[e + 1, pct(d["train"][e]), pct(d["val"][e]), pct(d["test_each_epoch"][e]),
             "stop" if e + 1 == stop else ("best kept" if e + 1 == best else "")]
            for e in range(len(d["val"]))]
    rep.add(table(["epoch", "train", "validation", "test", ""], rows), "")
    rep.figure(fig.early_stopping(d, rep.path("early_stopping.png")), "early-stopping curves")


def momentum(rep, step):
    runs = {float(name[len("alpha"):]): r["json"] for name, r in step["runs"].items()}
    rep.commands(step["runs"])
    rows = [[f"{a:g}", f"{d['train_loss'][0]:.4f}", f"{d['train_loss'][-1]:.4f}",
             f"{d['best_epoch']:.0f}", pct(d["test"]), f"{d['time']:.2f}"]
            for a, d in sorted(runs.items())]
    rep.add("Test accuracy of the epoch with the best validation accuracy (no early stop).", "",
            table(["alpha", "train loss, epoch 1", "train loss, last epoch", "best epoch",
                   "test accuracy", "training time (s)"], rows), "")
    rep.figure(fig.momentum_losses(runs, rep.path("momentum_loss.png")), "momentum loss curves")


def ood(rep, step):
    d = step["runs"]["ood"]["json"]
    rep.commands(step["runs"])
    recipe = d["recipe"]
    rep.add(f"Each model: SGD, learning rate {recipe['learning_rate']:g}, batch "
            f"{recipe['minibatch_size']:g}, early stopping with patience "
            f"{recipe['early_stopping_patience']:g} on validation accuracy, at most "
            f"{recipe['num_epoch']:g} epochs; the best epoch's model is scored on the test set "
            f"as it is, moved up {recipe['shift_pixels']:g} pixels, and turned 90, 180 and 270 "
            "degrees counter-clockwise.", "")
    tests = list(next(iter(d["models"].values()))["test"])
    rows = [[name, f"{m['parameters']:.0f}", f"{m['epochs']:.0f}", f"{m['best_epoch']:.0f}",
             f"{m['time']:.1f}", *[pct(m["test"][t]) for t in tests]]
            for name, m in d["models"].items()]
    rep.add(table(["model", "parameters", "epochs", "best", "time (s)", *tests], rows), "")
    rep.figure(fig.ood_bars(d, rep.path("ood_accuracy.png")), "OOD accuracy")


def gpt(rep, step):
    runs = step["runs"]
    rep.commands(runs)
    rows = []
    for name, r in runs.items():
        d = r["json"]
        rows.append([name, f"{d['train'][-1]:.4f}", f"{d['val'][-1]:.4f}", f"{d['time']:.1f}"])
    rep.add(table(["run", "final train loss", "final validation loss", "time (s)"], rows), "")
    base_name = next(iter(runs))
    base = runs[base_name]["json"]
    rep.figure(fig.gpt_losses({base_name: base}, rep.path("gpt_loss.png"),
                              "Transformer: loss curves"), "transformer loss curves")
    blocks = {n: r["json"] for n, r in runs.items() if n.endswith("_heads4")}
    heads = {n: r["json"] for n, r in runs.items() if n.startswith("block32_")}
    rep.figure(fig.gpt_losses(blocks, rep.path("gpt_block_sweep.png"),
                              "Transformer: block-size sweep"), "block-size sweep")
    rep.figure(fig.gpt_losses(heads, rep.path("gpt_heads_sweep.png"), "Transformer: heads sweep"),
               "heads sweep")
    for name, r in runs.items():
        rep.add(f"#### Samples, {name}", "")
        for when in ("before", "after"):
            sample = r["json"].get(f"sample_{when}")
            if sample is not None:
                rep.add(f"{when} training:", "", "```text", sample.rstrip("\n"), "```", "")


SECTIONS = [
    ("perceptron", "A. Multiclass perceptron, linear and kernelized", perceptron),
    ("mini_cnn", "B. The mini CNN", mini_cnn),
    ("batch_size", "C. Fashion-MNIST MLP", batch_size),
    ("early_stopping", "D. Early stopping", early_stopping),
    ("momentum", "D. Momentum", momentum),
    ("ood", "E. Out-of-distribution tests, CNNs", ood),
    ("gpt", "F. Tiny transformer on tiny Shakespeare", gpt),
]


def write(done, context, doc, figures):
    rep = Report(doc, figures)
    mode = " (quick mode: a few epochs each, a pipeline check, not results)" if context["quick"] else ""
    rep.add("# Results", "",
            f"Every number and figure below was produced by `{context['command']}`{mode} on "
            f"{context['date']}, which ran every experiment of the course (SEED.md parts A to F) "
            "with kiln's example programs, wrote each run's JSON and log under `results/`, and "
            "wrote this page from them. Each section shows the commands it ran.", "",
            f"- Machine: {context['machine']}.",
            f"- Wall time of all the runs: {context['wall_seconds']:.0f} s "
            f"({context['wall_seconds'] / 60:.1f} min); load average "
            f"{context['load'][0]:.1f} before and {context['load'][1]:.1f} after (the machine is "
            "shared: times move with the load, accuracies do not).",
            "- Seed 42 everywhere; a second run gives the same accuracies.",
            "- kiln against PyTorch on the same recipes, and step timings: "
            "[comparisons.md](comparisons.md).", "")
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
    rep.add("## Time per run", "")
    rows = [[f"{key}/{name}", f"{r['seconds']:.1f}"]
            for key, step in done.items() for name, r in step.get("runs", {}).items()]
    rep.add(table(["run", "wall time (s)"], rows), "")
    text = "\n".join(rep.lines).rstrip("\n") + "\n"
    pathlib.Path(doc).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(doc).write_text(text)
    return text, rep.figures
