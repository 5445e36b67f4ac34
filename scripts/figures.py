"""The course's plots, drawn from the JSON the example programs write (see
scripts/reproduce.py, which calls these). Each function takes the loaded JSON and
the PNG path to write; it draws one figure and returns the path."""
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


def _epochs(values):
    return list(range(1, len(values) + 1))


def accuracy_per_epoch(curves, title, path, ylabel="accuracy"):
    """curves: {label: [value per epoch]}."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, values in curves.items():
        ax.plot(_epochs(values), values, marker="o", markersize=3, label=label)
    return _finish(fig, ax, path, "epoch", ylabel, title)


def batch_size_study(runs, path):
    """runs: {batch size: MLP JSON}; test accuracy and training time against batch size."""
    sizes = sorted(runs)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(sizes, [runs[b]["test"] for b in sizes], marker="o")
    left.set_ylabel("test accuracy (best epoch)")
    right.plot(sizes, [runs[b]["time"] for b in sizes], marker="o", color="tab:red")
    right.set_ylabel("training time (s)")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("mini-batch size")
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(b) for b in sizes])
        ax.grid(alpha=0.3)
    fig.suptitle("Fashion-MNIST MLP: batch-size study")
    return _save(fig, path)


def early_stopping(run, path):
    """The train, validation and test curves of a run without stopping, with the
    epoch where early stopping (run['watch_patience']) would have stopped."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label in (("train", "train"), ("val", "validation"), ("test_each_epoch", "test")):
        ax.plot(_epochs(run[key]), run[key], marker="o", markersize=3, label=label)
    stop = int(run.get("watch_stop_epoch", 0))
    best = int(run.get("watch_best_epoch", 0))
    if stop:
        ax.axvline(stop, color="gray", linestyle="--",
                   label=f"patience {int(run['watch_patience'])} stops (epoch {stop})")
    if best:
        ax.plot([best], [run["val"][best - 1]], marker="*", markersize=14, color="black",
                linestyle="none", label=f"best model kept (epoch {best})")
    return _finish(fig, ax, path, "epoch", "accuracy", "MLP, batch 5, no early stopping")


def momentum_losses(runs, path):
    """runs: {alpha: MLP JSON}; training loss per epoch, one curve per alpha."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for alpha in sorted(runs):
        losses = runs[alpha]["train_loss"]
        ax.plot(_epochs(losses), losses, marker="o", markersize=3, label=f"alpha = {alpha:g}")
    ax.set_yscale("log")
    return _finish(fig, ax, path, "epoch", "training loss (cross-entropy)",
                   "MLP, SGD with momentum, lr 0.01, batch 5")


def ood_bars(study, path):
    """The OOD table as grouped bars: one group per test set, one bar per model."""
    models = list(study["models"])
    tests = list(study["models"][models[0]]["test"])
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(8, 4))
    for m, name in enumerate(models):
        values = [study["models"][name]["test"][t] for t in tests]
        positions = [i + (m - (len(models) - 1) / 2) * width for i in range(len(tests))]
        bars = ax.bar(positions, values, width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(range(len(tests)))
    ax.set_xticklabels(tests)
    ax.set_ylabel("test accuracy (best epoch)")
    ax.set_ylim(0, 1)
    ax.set_title("Out-of-distribution test sets")
    ax.legend()
    return _save(fig, path)


def gpt_losses(runs, path, title):
    """runs: {label: gpt JSON}; train (dashed) and validation (solid) loss against
    the iteration, one colour per run."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (label, run) in enumerate(runs.items()):
        colour = f"C{i}"
        ax.plot(run["iteration"], run["train"], linestyle="--", color=colour, label=f"{label} train")
        ax.plot(run["iteration"], run["val"], color=colour, label=f"{label} validation")
    return _finish(fig, ax, path, "iteration", "loss (cross-entropy)", title, legend_size=8)
