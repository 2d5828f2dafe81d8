"""Per-epoch training history as a CSV file, rewritten atomically after each epoch."""

import csv
import io
import os

from keras_shufflenet.pipelines import files

COLUMNS = (
    "epoch", "loss", "accuracy", "top5", "val_loss", "val_accuracy", "val_top5",
    "learning_rate", "seconds",
)


def read_history(path):
    """{column: [value per epoch]} with floats (None where empty); {} if no file."""
    if not os.path.exists(path):
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    columns = rows[0].keys() if rows else COLUMNS
    history = {c: [_number(r.get(c)) for r in rows] for c in columns}
    if "epoch" in history:
        history["epoch"] = [int(e) for e in history["epoch"]]
    return history


def _number(text):
    return float(text) if text not in (None, "") else None


def write_history(path, history):
    """Writes {column: [values]} (COLUMNS first, then any others) atomically."""
    columns = [c for c in COLUMNS if c in history] + sorted(set(history) - set(COLUMNS))
    rows = len(history.get("epoch", []))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for i in range(rows):
        writer.writerow(["" if history[c][i] is None else history[c][i] for c in columns])
    files.write_text(path, out.getvalue())


def truncate(history, epochs):
    """The first `epochs` epochs of `history` (what a run resumed there keeps)."""
    keep = [i for i, e in enumerate(history.get("epoch", [])) if e <= epochs]
    return {c: [values[i] for i in keep] for c, values in history.items()}
