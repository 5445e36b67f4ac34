"""The course's plots, drawn from the JSON the example programs write: the one
implementation behind docs/results.md (scripts/report.py) and a user's own runs
(scripts/plot_runs.py). Each course figure takes the loaded JSON of every seed's
run, the folder to write in and a suffix for its file name (to tell apart several
figures of one kind); it draws one figure, named as docs/figures names it, and
returns its path. Titles say the settings the JSON records. Over several seeds a
curve is the mean with its min-max band, and a point the mean with min-max error
bars; one seed's figure is that run's."""
import pathlib

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def _file(folder, stem, suffix):
    return pathlib.Path(folder) / f"{stem}{suffix}.png"


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _finish(fig, ax, path, xlabel, ylabel, title, legend_size=None):
    """The labels, grid and legend every line plot has, then the file."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=legend_size)
    return _save(fig, path)


def _mean(values):
    return sum(values) / len(values)


def _spread_curve(ax, curves, label, x=None, **style):
    """curves: one list of values per seed (x: their common x values, else epochs
    1, 2, ...). Draws the mean at each x over the seeds that reached it, and with
    more than one seed the band between the smallest and largest; returns the line."""
    length = max(len(c) for c in curves)
    xs = list(x[:length]) if x is not None else list(range(1, length + 1))
    columns = [[c[i] for c in curves if i < len(c)] for i in range(length)]
    line, = ax.plot(xs, [_mean(v) for v in columns], label=label, **style)
    if len(curves) > 1:
        ax.fill_between(xs, [min(v) for v in columns], [max(v) for v in columns],
                        color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def _error_bars(means, values):
    """matplotlib's yerr for min-max bars around the means (never below zero, which
    rounding in a mean of equal values could give)."""
    return [[max(0.0, m - min(v)) for m, v in zip(means, values)],
            [max(0.0, max(v) - m) for m, v in zip(means, values)]]


def _seeds_note(count):
    return "" if count == 1 else f" (mean of {count} seeds, band: min-max)"


def accuracy_per_epoch(curves, title, path, ylabel="accuracy"):
    """curves: {label: [per-epoch values of each seed]}."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, runs in curves.items():
        _spread_curve(ax, runs, label, marker="o", markersize=3)
    count = len(next(iter(curves.values())))
    return _finish(fig, ax, path, "epoch", ylabel, title + _seeds_note(count))


PERCEPTRON_KERNELS = ("linear", "polynomial", "rbf")


def perceptron_accuracy(data, folder, suffix=""):
    """data: [perceptron JSON of each seed]; every algorithm's online training
    accuracy per epoch."""
    kernels = [k for k in PERCEPTRON_KERNELS if k in data[0]]
    return accuracy_per_epoch({k: [d[k]["train"] for d in data] for k in kernels},
                              "Perceptron: training accuracy (online)",
                              _file(folder, "perceptron_train_accuracy", suffix))


def mini_cnn_accuracy(data, folder, suffix=""):
    """data: [mini_cnn JSON of each seed]; train and test accuracy per epoch."""
    return accuracy_per_epoch({"train": [d["train"] for d in data],
                               "test": [d["test"] for d in data]},
                              f"Mini CNN, learning rate {data[0]['learning_rate']:g}: "
                              "accuracy per epoch", _file(folder, "mini_cnn_accuracy", suffix))


def mlp_setting(run):
    """The MLP's batch (and momentum, when not 0) as a title says them."""
    text = f"batch {run['minibatch_size']:g}"
    return text + (f", momentum {run['momentum']:g}" if run["momentum"] else "")


def mlp_accuracy(data, folder, suffix=""):
    """data: [MLP JSON of each seed]; train and validation accuracy per epoch."""
    return accuracy_per_epoch({"train": [d["train"] for d in data],
                               "validation": [d["val"] for d in data]},
                              f"MLP, {mlp_setting(data[0])}: accuracy per epoch",
                              _file(folder, "mlp_train_accuracy", suffix))


def batch_size_study(runs, folder, suffix=""):
    """runs: {batch size: [MLP JSON of each seed]}; test accuracy and training time
    against batch size, the mean with min-max error bars."""
    sizes = sorted(runs)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, colour, label in ((left, "test", "tab:blue", "test accuracy (best epoch)"),
                                   (right, "time", "tab:red", "training time (s)")):
        values = [[d[key] for d in runs[b]] for b in sizes]
        means = [_mean(v) for v in values]
        ax.errorbar(sizes, means, yerr=_error_bars(means, values), marker="o", capsize=4, color=colour)
        ax.set_ylabel(label)
        ax.set_xscale("log")
        ax.set_xlabel("mini-batch size")
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(b) for b in sizes])
        ax.grid(alpha=0.3)
    count = len(runs[sizes[0]])
    fig.suptitle("Fashion-MNIST MLP: batch-size study" +
                 ("" if count == 1 else f" (mean of {count} seeds, bars: min-max)"))
    return _save(fig, _file(folder, "batch_size_study", suffix))


def stopping_setting(run):
    """How the MLP run stopped, as a title says it (files of older programs do not say)."""
    patience = run.get("early_stopping_patience")
    if patience is None:
        return ""
    return ", no early stopping" if patience == 0 else f", early stopping patience {patience:g}"


def early_stopping(runs, folder, suffix=""):
    """runs: [MLP JSON of each seed, with the test accuracy of every epoch
    (--test_each_epoch)]. The train, validation and test curves, each seed's test
    curve, and on it (with --watch_patience) the model early stopping with that
    patience keeps and where it stops."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for key, label in (("train", "train"), ("val", "validation"), ("test_each_epoch", "test")):
        line = _spread_curve(ax, [r[key] for r in runs], label, marker="o", markersize=3)
        if key == "test_each_epoch":
            test_colour = line.get_color()
    patience = int(runs[0].get("watch_patience", 0))
    kept_label = f"model kept by patience {patience} (on its seed's test curve)"
    stop_label = f"where patience {patience} stops"
    for r in runs:
        test = r["test_each_epoch"]
        if len(runs) > 1:
            ax.plot(range(1, len(test) + 1), test, color=test_colour, linewidth=0.6, alpha=0.5)
        if not patience:
            continue
        best, stop = int(r.get("watch_best_epoch", 0)), int(r.get("watch_stop_epoch", 0))
        if stop:
            ax.plot([stop], [test[stop - 1]], marker="x", markersize=8, color="gray",
                    linestyle="none", label=stop_label)
            stop_label = None
        if best:
            ax.plot([best], [test[best - 1]], marker="*", markersize=13, color="black",
                    linestyle="none", label=kept_label)
            kept_label = None
    title = f"MLP, {mlp_setting(runs[0])}" + stopping_setting(runs[0])
    return _finish(fig, ax, _file(folder, "early_stopping", suffix), "epoch", "accuracy",
                   title + _seeds_note(len(runs)), legend_size=8)


def momentum_losses(runs, folder, suffix=""):
    """runs: {alpha: [MLP JSON of each seed]}; training loss per epoch, one curve per alpha."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for alpha in sorted(runs):
        _spread_curve(ax, [d["train_loss"] for d in runs[alpha]], f"alpha = {alpha:g}",
                      marker="o", markersize=3)
    ax.set_yscale("log")
    first = next(iter(runs.values()))
    rate = f", lr {first[0]['learning_rate']:g}" if "learning_rate" in first[0] else ""
    return _finish(fig, ax, _file(folder, "momentum_loss", suffix), "epoch",
                   "training loss (cross-entropy)",
                   f"MLP, SGD with momentum{rate}, batch {first[0]['minibatch_size']:g}" +
                   _seeds_note(len(first)))


def ood_title(study):
    shift = study["recipe"]["shift_pixels"]
    return (f"shifted: {shift:g} pixels up, zero-filled; rotations counter-clockwise")


def ood_bars(studies, folder, suffix=""):
    """studies: [OOD JSON of each seed]. The OOD table as grouped bars, one group per
    test set, one bar per model: the mean, with min-max error bars."""
    models = list(studies[0]["models"])
    tests = list(studies[0]["models"][models[0]]["test"])
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for m, name in enumerate(models):
        values = [[s["models"][name]["test"][t] for s in studies] for t in tests]
        means = [_mean(v) for v in values]
        positions = [i + (m - (len(models) - 1) / 2) * width for i in range(len(tests))]
        errors = _error_bars(means, values) if len(studies) > 1 else None
        bars = ax.bar(positions, means, width, yerr=errors, capsize=3, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=6 if errors else 2)
    ax.set_xticks(range(len(tests)))
    ax.set_xticklabels(tests)
    ax.set_ylabel("test accuracy (best epoch)")
    ax.set_ylim(0, 1)
    count = len(studies)
    ax.set_title("Out-of-distribution test sets (" + ood_title(studies[0]) + ")" +
                 ("" if count == 1 else f"\nmean of {count} seeds, bars: min-max"), fontsize=10)
    ax.legend()
    return _save(fig, _file(folder, "ood_accuracy", suffix))


def ood_examples(study, folder, suffix=""):
    """The first images of every test set the OOD study scores (study['examples']):
    one row per set, the same examples in each column."""
    sets = list(study["examples"])
    count = int(study["example_count"])
    fig, axes = plt.subplots(len(sets), count, figsize=(1.4 * count + 1.2, 1.4 * len(sets)),
                             squeeze=False)
    for row, name in enumerate(sets):
        pixels = study["examples"][name]
        for column in range(count):
            image = pixels[column * 784:(column + 1) * 784]
            ax = axes[row][column]
            ax.imshow([image[r * 28:(r + 1) * 28] for r in range(28)], cmap="gray_r",
                      vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if column == 0:
                ax.set_ylabel(name, fontsize=9)
    fig.suptitle("The test images as scored (" + ood_title(study) + ")", fontsize=10)
    return _save(fig, _file(folder, "ood_test_images", suffix))


def sweeps(groups, studied, settings):
    """groups: [[JSON of each seed] per configuration]; settings(run): the run's
    settings as {name: hashable value}. The sets of groups that differ in the setting
    `studied` alone, each of two values or more, in the order of the groups: the
    studies a figure compares (batch sizes, momenta, block sizes, heads)."""
    alike = {}
    for group in groups:
        others = dict(settings(group[0]))
        others.pop(studied)
        alike.setdefault(tuple(sorted(others.items())), []).append(group)
    return [found for found in alike.values() if len(found) > 1]


def gpt_settings(run):
    """What sets a gpt run apart, besides its seed: the configuration and the schedule."""
    return {"block": run["block"], "heads": run["heads"], "iteration": tuple(run["iteration"])}


def gpt_label(run):
    return f"block{run['block']:g}_heads{run['heads']:g}"


def gpt_losses(configs, path, title):
    """configs: [[gpt JSON of each seed] per configuration]; train (dashed) and
    validation (solid) loss against the iteration, one colour per configuration."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, seeds in enumerate(configs):
        label = gpt_label(seeds[0])
        colour = f"C{i}"
        x = seeds[0]["iteration"]
        _spread_curve(ax, [r["train"] for r in seeds], f"{label} train", x=x, linestyle="--",
                      color=colour)
        _spread_curve(ax, [r["val"] for r in seeds], f"{label} validation", x=x, color=colour)
    return _finish(fig, ax, path, "iteration", "loss (cross-entropy)",
                   title + _seeds_note(len(configs[0])), legend_size=8)


def gpt_loss(seeds, folder, suffix=""):
    """seeds: [gpt JSON of each seed] of one configuration: its loss curves."""
    return gpt_losses([seeds], _file(folder, "gpt_loss", suffix), "Transformer: loss curves")


GPT_SWEEPS = {"block": ("gpt_block_sweep", "Transformer: block-size sweep"),
              "heads": ("gpt_heads_sweep", "Transformer: heads sweep")}


def gpt_sweep(configs, over, folder, suffix=""):
    """configs: [[gpt JSON of each seed] per configuration] that differ in `over`
    ("block" or "heads") only: their loss curves in one figure."""
    stem, title = GPT_SWEEPS[over]
    return gpt_losses(configs, _file(folder, stem, suffix), title)
