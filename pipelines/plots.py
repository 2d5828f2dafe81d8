"""PNG plots of training curves and confusion matrices (matplotlib, Agg; no display needed)."""

from keras_shufflenet.pipelines import files

# (title, keys drawn on it, y scale); `val_` versions are drawn dashed in the same colour.
PANELS = (("loss", ("loss",), "log"), ("accuracy", ("accuracy", "top5"), "linear"))


def plot_history(history, path, title=None):
    """Writes loss and accuracy curves per epoch to `path` (PNG, atomically).

    `history` maps metric names ("loss", "accuracy", "val_loss", ...) to
    per-epoch lists, as `model.fit(...).history` or the CSV history has them;
    None or NaN marks an epoch without that value (e.g. not evaluated). An
    optional "epoch" list gives the epoch numbers (1-based).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not any(_present(v) for k, values in history.items() if k != "epoch" for v in values):
        raise ValueError(f"No per-epoch values to plot in history with keys {sorted(history)}.")
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    for index, (name, keys, scale) in enumerate(PANELS):
        axes = figure.add_subplot(1, len(PANELS), index + 1)
        for number, key in enumerate(keys):
            for prefix, style in (("", "-"), ("val_", "--")):
                values = history.get(prefix + key) or []
                epochs = history.get("epoch") or range(1, len(values) + 1)
                points = [(e, v) for e, v in zip(epochs, values) if _present(v)]
                if points:
                    xs, ys = zip(*points)
                    axes.plot(
                        xs, ys, style, color=f"C{number}", marker="o", markersize=3,
                        label=prefix + key,
                    )
        axes.set_yscale(scale)
        axes.set_xlabel("epoch")
        axes.set_title(name)
        axes.grid(alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    with files.atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    return path


def plot_confusion_matrix(matrix, class_names, path, title=None):
    """Writes a confusion matrix (`evaluate.confusion_matrix`: rows true, columns
    predicted) to `path` as a PNG, atomically; each cell shows its count, shaded by
    the share of its row."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape != (len(class_names), len(class_names)):
        raise ValueError(
            f"The matrix must be {len(class_names)}x{len(class_names)} for {len(class_names)} class "
            f"names; got shape {matrix.shape}."
        )
    side = min(12.0, 2.5 + 0.6 * len(class_names))
    figure = Figure(figsize=(side, side), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    ticks = range(len(class_names))
    axes.set_xticks(ticks, class_names, rotation=45, ha="right")
    axes.set_yticks(ticks, class_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    for row in ticks:
        for column in ticks:
            axes.text(column, row, int(matrix[row, column]), ha="center", va="center",
                      color="white" if shares[row, column] > 0.5 else "black", fontsize=8)
    axes.set_title(title or f"confusion matrix ({int(matrix.sum())} images)")
    with files.atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    return path


def _present(value):
    return value is not None and value == value  # NaN != NaN
