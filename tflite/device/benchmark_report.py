"""Reports of benchmark results: a text table, per-op profile tables, JSON, CSV
and a PNG plot. Needs only the standard library and numpy; matplotlib only for
the plot, imported when a plot is asked for.

Every file is written atomically (a temporary file in the same folder, then
`os.replace`), so an interrupted run never leaves half a report.
"""

import csv
import io
import json
import os
import tempfile

# Scalar fields of a `benchmark.Result`, in table and CSV order.
CSV_FIELDS = (
    "name", "path", "tool", "threads", "xnnpack", "delegate", "size_mb", "load_ms", "first_ms",
    "median_ms", "mean_ms", "p90_ms", "p99_ms", "std_ms", "min_ms", "max_ms", "runs",
    "throughput", "rss_delta_mb", "peak_rss_mb", "partitions", "ratio", "accuracy", "error",
)


def atomic_write(path, data):
    """Writes `data` (str or bytes) to `path` through a temporary file and `os.replace`."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _fmt(value, digits=2):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def setting_label(threads, xnnpack, delegate=None):
    """'1 thread, XNNPACK' / '2 threads, built-in' (+ ', <delegate library>')."""
    label = f"{threads} thread{'s' if threads != 1 else ''}, {'XNNPACK' if xnnpack else 'built-in'}"
    if delegate:
        label += f", {os.path.basename(delegate)}"
    return label


def format_table(results, baseline=None):
    """A fixed-width text table: one row per model and setting, ratios against `baseline`."""
    header = ("model", "setting", "MB", "load ms", "1st ms", "median", "mean", "p90", "p99",
              "std", "inf/s", "RSS MB", f"x {baseline}" if baseline else "ratio", "acc")
    rows = []
    for r in results:
        setting = setting_label(r.threads, r.xnnpack, r.delegate)
        if r.error:
            rows.append((r.name, setting, _fmt(r.size_mb), f"FAILED: {r.error}"))
            continue
        rows.append((
            r.name, setting, _fmt(r.size_mb), _fmt(r.load_ms, 1), _fmt(r.first_ms),
            _fmt(r.median_ms), _fmt(r.mean_ms), _fmt(r.p90_ms), _fmt(r.p99_ms), _fmt(r.std_ms),
            _fmt(r.throughput, 1), _fmt(r.rss_delta_mb, 1), _fmt(r.ratio, 3),
            _fmt(r.accuracy, 4),
        ))
    full = [row for row in rows if len(row) == len(header)]
    widths = [max([len(header[i])] + [len(row[i]) for row in full]) for i in range(len(header))]
    for row in rows:  # failed rows: only the leading columns count for the widths
        for i in range(3):
            widths[i] = max(widths[i], len(row[i]))

    def line(row):
        cells = [row[i].ljust(widths[i]) if i < 2 else row[i].rjust(widths[i]) for i in range(len(row) - 1)]
        last = row[-1] if len(row) < len(header) else row[-1].rjust(widths[len(row) - 1])
        return "  ".join(cells + [last]).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in rows]
    return "\n".join(out)


def format_profile(name, setting, profile, top=15):
    """Per-op-type and top-`top` per-op tables of one `OpProfile`."""
    out = [f"Op profile: {name} ({setting}), {profile.method}"]
    summary = f"  sum of ops {profile.total_ms:.3f} ms"
    if profile.model_ms is not None:
        summary += f", whole model median {profile.model_ms:.3f} ms"
    if profile.partitions is not None:
        summary += f", delegate partitions {profile.partitions}"
    if profile.overhead_ms:
        summary += f", per-invoke overhead subtracted {profile.overhead_ms * 1000:.1f} us"
    out.append(summary)
    out.append(f"  {'op type':<28}{'count':>6}{'ms':>10}{'share':>9}{'delegated':>11}")
    for t in profile.by_type:
        delegated = "-" if t.delegated is None else f"{t.delegated}/{t.count}"
        out.append(f"  {t.op_type[:28]:<28}{t.count:>6}{t.ms:>10.3f}{t.share:>9.1%}{delegated:>11}")
    ranked = sorted((op for op in profile.ops if op.error is None), key=lambda op: -op.ms)[:top]
    if ranked:
        out.append(f"  top {len(ranked)} ops:")
        out.append(f"  {'#':>5}  {'op type':<22}{'ms':>9}{'share':>8}  {'deleg.':<7}name")
        for op in ranked:
            delegated = "-" if op.delegated is None else ("yes" if op.delegated else "NO")
            out.append(
                f"  {op.index:>5}  {op.op_type[:22]:<22}{op.ms:>9.3f}{op.share:>8.1%}  "
                f"{delegated:<7}{op.name[:70]}"
            )
    not_delegated = [op for op in profile.ops if op.delegated is False]
    if not_delegated:
        out.append(
            "  not taken by the delegate: "
            + ", ".join(f"#{op.index} {op.op_type}" for op in not_delegated[:20])
            + (" ..." if len(not_delegated) > 20 else "")
        )
    out += [f"  note: {note}" for note in profile.notes]
    return "\n".join(out)


def to_json(results, meta=None):
    """JSON text: {"meta": ..., "results": [Result.to_dict(with latencies and profile)]}."""
    payload = {"meta": meta or {}, "results": [r.to_dict(full=True) for r in results]}
    return json.dumps(payload, indent=2, default=str) + "\n"


def to_csv(results):
    """CSV text: one row per model and setting, the scalar fields of `CSV_FIELDS`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in results:
        row = r.to_dict()
        writer.writerow({k: row.get(k) for k in CSV_FIELDS})
    return buffer.getvalue()


def write_json(results, path, meta=None):
    atomic_write(path, to_json(results, meta))


def write_csv(results, path):
    atomic_write(path, to_csv(results))


def write_plot(results, path, title=None):
    """PNG: median latency per model and setting (bars, p90 whiskers); beside it,
    latency against accuracy when any result has an accuracy.

    Returns None when written, or a one-line note why not (no matplotlib, nothing
    measured), so the caller can print it instead of failing.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return f"plot {path} skipped: matplotlib is not installed (pip install matplotlib)"
    ok = [r for r in results if r.error is None and r.latency_ms is not None]
    if not ok:
        return f"plot {path} skipped: no model was measured"
    names = list(dict.fromkeys(r.name for r in ok))
    settings = list(dict.fromkeys((r.threads, r.xnnpack, r.delegate) for r in ok))
    with_accuracy = [r for r in ok if r.accuracy is not None]
    columns = 2 if with_accuracy else 1
    width = min(14.0, max(7.0, 0.55 * len(names) + 3))
    fig, axes = plt.subplots(1, columns, figsize=(width + 6 * (columns - 1), 5.5), squeeze=False)
    ax = axes[0][0]
    width = 0.8 / len(settings)
    by_key = {(r.name, r.threads, r.xnnpack, r.delegate): r for r in ok}
    for s, setting in enumerate(settings):
        xs, heights, errors = [], [], []
        for i, name in enumerate(names):
            r = by_key.get((name, *setting))
            if r is None:
                continue
            xs.append(i + (s - (len(settings) - 1) / 2) * width)
            heights.append(r.latency_ms)
            errors.append(max((r.p90_ms or r.latency_ms) - r.latency_ms, 0.0))
        ax.bar(xs, heights, width, yerr=[[0.0] * len(errors), errors], capsize=2,
               label=setting_label(*setting))
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("median latency, ms (whisker: p90)")
    ax.set_title(title or "Latency per model and setting")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    if with_accuracy:
        ax = axes[0][1]
        for setting in settings:
            points = [r for r in with_accuracy if (r.threads, r.xnnpack, r.delegate) == setting]
            if not points:
                continue
            ax.scatter([r.latency_ms for r in points], [r.accuracy for r in points],
                       label=setting_label(*setting))
            for r in points:
                ax.annotate(r.name, (r.latency_ms, r.accuracy), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("median latency, ms")
        ax.set_ylabel("accuracy")
        ax.set_title("Latency vs accuracy")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write(path, buffer.getvalue())
    return None
