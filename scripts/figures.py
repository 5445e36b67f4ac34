"""The course's plots, drawn from the JSON the example programs write (see
scripts/reproduce.py, which calls these). Each function takes the loaded JSON of
every seed's run and the PNG path to write; it draws one figure and returns the
path. Over several seeds a curve is the mean with its min-max band, and a point
the mean with min-max error bars; one seed's figure is that run's."""
import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


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


def batch_size_study(runs, path):
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
    return _save(fig, path)


def early_stopping(runs, path):
    """runs: [MLP JSON of each seed, trained without stopping, with the test accuracy
    of every epoch]. The train, validation and test curves, each seed's test curve,
    and on it the model early stopping (run['watch_patience']) keeps and where it stops."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for key, label in (("train", "train"), ("val", "validation"), ("test_each_epoch", "test")):
        line = _spread_curve(ax, [r[key] for r in runs], label, marker="o", markersize=3)
        if key == "test_each_epoch":
            test_colour = line.get_color()
    patience = int(runs[0]["watch_patience"])
    kept_label = f"model kept by patience {patience} (on its seed's test curve)"
    stop_label = f"where patience {patience} stops"
    for r in runs:
        test = r["test_each_epoch"]
        if len(runs) > 1:
            ax.plot(range(1, len(test) + 1), test, color=test_colour, linewidth=0.6, alpha=0.5)
        best, stop = int(r.get("watch_best_epoch", 0)), int(r.get("watch_stop_epoch", 0))
        if stop:
            ax.plot([stop], [test[stop - 1]], marker="x", markersize=8, color="gray",
                    linestyle="none", label=stop_label)
            stop_label = None
        if best:
            ax.plot([best], [test[best - 1]], marker="*", markersize=13, color="black",
                    linestyle="none", label=kept_label)
            kept_label = None
    return _finish(fig, ax, path, "epoch", "accuracy",
                   "MLP, batch 5, no early stopping" + _seeds_note(len(runs)), legend_size=8)


def momentum_losses(runs, path):
    """runs: {alpha: [MLP JSON of each seed]}; training loss per epoch, one curve per alpha."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for alpha in sorted(runs):
        _spread_curve(ax, [d["train_loss"] for d in runs[alpha]], f"alpha = {alpha:g}",
                      marker="o", markersize=3)
    ax.set_yscale("log")
    count = len(next(iter(runs.values())))
    return _finish(fig, ax, path, "epoch", "training loss (cross-entropy)",
                   "MLP, SGD with momentum, lr 0.01, batch 5" + _seeds_note(count))


def ood_title(study):
    shift = study["recipe"]["shift_pixels"]
    return (f"shifted: {shift:g} pixels up, zero-filled; rotations counter-clockwise")


def ood_bars(studies, path):
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
    return _save(fig, path)


def ood_examples(study, path):
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
    return _save(fig, path)


def gpt_losses(runs, path, title):
    """runs: {label: [gpt JSON of each seed]}; train (dashed) and validation (solid)
    loss against the iteration, one colour per configuration."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (label, seeds) in enumerate(runs.items()):
        colour = f"C{i}"
        x = seeds[0]["iteration"]
        _spread_curve(ax, [r["train"] for r in seeds], f"{label} train", x=x, linestyle="--",
                      color=colour)
        _spread_curve(ax, [r["val"] for r in seeds], f"{label} validation", x=x, color=colour)
    count = len(next(iter(runs.values())))
    return _finish(fig, ax, path, "iteration", "loss (cross-entropy)", title + _seeds_note(count),
                   legend_size=8)
