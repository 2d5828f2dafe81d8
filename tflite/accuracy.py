"""What quantization costs: the Keras model, its float32 `.tflite` and its int8
`.tflite` evaluated on the same images through the same input path.

    from keras_shufflenet.tflite import accuracy
    report = accuracy.compare(model, "model_float32.tflite", "model_int8.tflite", dataset)
    print(accuracy.format_report(report))

or from the shell (missing `.tflite` files are exported first, the int8 one
calibrated on --calibration_split):

    python -m keras_shufflenet.tflite.accuracy --model=run/model.keras --data=digits \\
        --float32=model_float32.tflite --int8=model_int8.tflite --json=report.json --plot=report.png

The images are read once, prepared by the model's input contract (recorded in
the `.keras` file; `--recipe` or `--center_crop_fraction` override it with a
warning), and the same float pixels go to all three models (`TFLiteClassifier`
quantizes them for integer inputs); missing files are exported with the same
contract and calibrated on images it prepared.
"""

import dataclasses
import os
import sys

import numpy as np

from keras_shufflenet.pipelines import tool_output

# As a program, TensorFlow's own lines go to a log from its import on (`tool_output`).
PROGRAM_OUTPUT = tool_output.program_output(__name__)

from keras_shufflenet.pipelines import evaluate, files  # noqa: E402 (after the redirect)


@dataclasses.dataclass(frozen=True)
class AccuracyReport:
    """The three evaluations side by side.

    Attributes:
        num_examples: images evaluated.
        keras, float32, int8: `{"top1", "top5"}` (fractions) of each model.
        int8_drop: Keras top-1 minus int8 top-1, in percentage points.
        agreement: share of images where the int8 model's top-1 class equals the
            float32 `.tflite` model's.
        float32_agreement: the same for the float32 `.tflite` vs Keras.
        float32_max_abs_diff: largest |score difference| between the float32
            `.tflite` and Keras on the first batch.
        float32_bytes, int8_bytes: file sizes.
        qat_int8, qat_int8_drop, qat_int8_bytes: the same for the int8 file of
            a quantization-aware trained copy (`train --qat`), when given;
            its drop is measured from the same Keras (float) model.
    """

    num_examples: int
    keras: dict
    float32: dict
    int8: dict
    int8_drop: float
    agreement: float
    float32_agreement: float
    float32_max_abs_diff: float
    float32_bytes: int
    int8_bytes: int
    qat_int8: dict = None
    qat_int8_drop: float = None
    qat_int8_bytes: int = None

    @property
    def size_ratio(self):
        """int8 file size / float32 file size."""
        return self.int8_bytes / self.float32_bytes


def _batches(dataset):
    """The dataset as a list of numpy `(images, labels)` batches, read once."""
    batches = [(np.asarray(images, np.float32), np.asarray(labels)) for images, labels in dataset]
    if not batches:
        raise ValueError("the dataset yielded no examples")
    return batches


def _top(result):
    return {"top1": result["top1"], "top5": result["top5"]}


def compare(model, float32_path, int8_path, dataset, qat_int8_path=None):
    """An `AccuracyReport` of `model` and its two `.tflite` exports on `dataset`.

    Args:
        model: the Keras model the files were exported from.
        float32_path, int8_path: its float32 and (post-training) int8 `.tflite` files.
        dataset: `(images, labels)` batches of float pixels in the range the
            model takes (e.g. `build_dataset(..., training=False)`).
        qat_int8_path: optionally, the int8 `.tflite` of a quantization-aware
            trained copy of `model` (`model_qat_int8.tflite` of `train --qat`).
    """
    from keras_shufflenet.tflite.device.runtime import TFLiteClassifier

    for path in (float32_path, int8_path) + ((qat_int8_path,) if qat_int8_path else ()):
        if not os.path.isfile(path):
            raise ValueError(f"{path}: no such .tflite file")
    batches = _batches(dataset)
    keras_result = evaluate.evaluate_keras(model, batches)
    float_result = evaluate.evaluate_tflite(float32_path, batches)
    int8_result = evaluate.evaluate_tflite(int8_path, batches)
    qat_result = evaluate.evaluate_tflite(qat_int8_path, batches) if qat_int8_path else None

    images = batches[0][0]
    reference = np.asarray(model(images, training=False))
    diff = np.abs(TFLiteClassifier(float32_path).predict(images) - reference).max()
    return AccuracyReport(
        num_examples=keras_result["num_examples"],
        keras=_top(keras_result),
        float32=_top(float_result),
        int8=_top(int8_result),
        int8_drop=100.0 * (keras_result["top1"] - int8_result["top1"]),
        agreement=evaluate.top1_agreement(int8_result, float_result),
        float32_agreement=evaluate.top1_agreement(float_result, keras_result),
        float32_max_abs_diff=float(diff),
        float32_bytes=os.path.getsize(float32_path),
        int8_bytes=os.path.getsize(int8_path),
        qat_int8=_top(qat_result) if qat_result else None,
        qat_int8_drop=100.0 * (keras_result["top1"] - qat_result["top1"]) if qat_result else None,
        qat_int8_bytes=os.path.getsize(qat_int8_path) if qat_int8_path else None,
    )


def format_report(report):
    """A small table of the report."""
    rows = [
        ("Keras", report.keras, None),
        ("float32 .tflite", report.float32, report.float32_bytes),
        ("int8 .tflite", report.int8, report.int8_bytes),
    ]
    if report.qat_int8 is not None:
        rows.append(("QAT int8 .tflite", report.qat_int8, report.qat_int8_bytes))
    lines = [f"{'model':<16} {'top-1':>7} {'top-5':>7} {'size':>10}"]
    for name, result, size in rows:
        size_text = f"{size / 1e6:.3f} MB" if size is not None else ""
        lines.append(f"{name:<16} {100 * result['top1']:6.2f}% {100 * result['top5']:6.2f}% {size_text:>10}")
    lines.append(
        f"{report.num_examples} images; int8 top-1 drop {report.int8_drop:+.2f} points; int8/float32 "
        f"top-1 agreement {100 * report.agreement:.2f}%; int8 file {100 * report.size_ratio:.1f}% of float32; "
        f"float32 .tflite vs Keras: agreement {100 * report.float32_agreement:.2f}%, "
        f"max |diff| {report.float32_max_abs_diff:.2e}"
        + (f"; QAT int8 top-1 drop {report.qat_int8_drop:+.2f} points" if report.qat_int8 is not None else "")
    )
    return "\n".join(lines)


def to_dict(report):
    return {**dataclasses.asdict(report), "size_ratio": report.size_ratio}


def write_plot(report, path, title=None):
    """Top-1/top-5 bars of the three models and the file sizes, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    names = ["Keras", "float32", "int8"]
    results = [report.keras, report.float32, report.int8]
    if report.qat_int8 is not None:
        names.append("QAT int8")
        results.append(report.qat_int8)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [3, 2]})
    x = np.arange(len(names))
    for offset, key in ((-0.2, "top1"), (0.2, "top5")):
        values = [100 * r[key] for r in results]
        bars = ax.bar(x + offset, values, 0.4, label=key.replace("top", "top-"))
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(x, names)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 118)
    ax.legend(loc="upper left", ncol=2, fontsize=8)
    ax.set_title(f"{report.num_examples} images; int8 drop {report.int8_drop:+.2f} pts")
    sizes = [report.float32_bytes / 1e6, report.int8_bytes / 1e6]
    bars = bx.bar(["float32", "int8"], sizes, color=["tab:gray", "tab:green"])
    bx.bar_label(bars, fmt="%.2f MB", fontsize=8)
    bx.set_ylabel("file size (MB)")
    bx.set_title(f"int8 = {100 * report.size_ratio:.0f}% of float32")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with files.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path


# -------------------------------------------------------------------------- program


def define_flags(flag_values=None):
    """Defines the program's flags (in `flag_values`, default the global FLAGS)."""
    from absl import flags

    from keras_shufflenet.tflite import export

    fv = flags.FLAGS if flag_values is None else flag_values
    flags.DEFINE_string("model", None, "The .keras model.", flag_values=fv)
    flags.DEFINE_string("float32", None, "Its float32 .tflite (exported when missing).", flag_values=fv)
    flags.DEFINE_string("int8", None, "Its int8 .tflite (exported when missing).", flag_values=fv)
    flags.DEFINE_string("qat_int8", None, "The int8 .tflite of its quantization-aware training "
                        "(train --qat), for a third row.", flag_values=fv)
    flags.DEFINE_enum("io_dtype", "uint8", export.IO_DTYPES, "I/O type of an int8 file to export.", flag_values=fv)
    flags.DEFINE_string("data", "digits", "'digits', 'tfds:<name>' or an image folder.", flag_values=fv)
    flags.DEFINE_string("data_dir", None, "tensorflow-datasets data folder.", flag_values=fv)
    flags.DEFINE_string("split", "test", "Split to evaluate.", flag_values=fv)
    flags.DEFINE_string("recipe", None, "Override the model's recorded evaluation crop with this "
                        "training recipe's.", flag_values=fv)
    flags.DEFINE_float("center_crop_fraction", None, "Override the model's recorded evaluation crop "
                       "fraction (without a record: 0.875).", flag_values=fv)
    flags.DEFINE_string("calibration_split", "train", "Split to calibrate a missing int8 file on.", flag_values=fv)
    flags.DEFINE_integer("num_calibration", export.DEFAULT_NUM_CALIBRATION, "Calibration images.", flag_values=fv)
    flags.DEFINE_integer("limit", None, "Evaluate only the first N images.", flag_values=fv)
    flags.DEFINE_integer("batch_size", 64, "Evaluation batch size.", flag_values=fv)
    flags.DEFINE_string("json", None, "Write the report as JSON here.", flag_values=fv)
    flags.DEFINE_string("plot", None, "Write the report as a PNG plot here.", flag_values=fv)
    flags.mark_flags_as_required(["model", "float32", "int8"], flag_values=fv)


def _export_missing(FLAGS, model, contract):
    from keras_shufflenet.tflite import export

    if not os.path.exists(FLAGS.float32):
        print(f"exporting {FLAGS.float32} (float32)")
        export.export_tflite(model, FLAGS.float32, mode="float32", contract=contract)
    if not os.path.exists(FLAGS.int8):
        print(f"exporting {FLAGS.int8} (int8, {FLAGS.io_dtype} input/output)")
        calibration, _ = export.calibration_dataset(
            FLAGS.data, split=FLAGS.calibration_split, contract=contract,
            num_calibration=FLAGS.num_calibration, data_dir=FLAGS.data_dir,
        )
        export.export_tflite(
            model, FLAGS.int8, mode="int8", representative_images=calibration,
            num_calibration=FLAGS.num_calibration, io_dtype=FLAGS.io_dtype, contract=contract,
        )


def main(argv, flag_values=None):
    """The program: `python -m keras_shufflenet.tflite.accuracy --model=... --float32=... --int8=...`."""
    from absl import flags

    from keras_shufflenet.pipelines.data import build_dataset
    from keras_shufflenet.tflite import export

    del argv
    FLAGS = flags.FLAGS if flag_values is None else flag_values
    try:
        model = export.load_model(FLAGS.model)
        contract = evaluate.resolve_contract(
            model, recipe=FLAGS.recipe, center_crop_fraction=FLAGS.center_crop_fraction
        )
        _export_missing(FLAGS, model, contract)
        dataset, info = build_dataset(
            FLAGS.data, FLAGS.split, training=False, contract=contract, batch_size=FLAGS.batch_size,
            data_dir=FLAGS.data_dir, limit=FLAGS.limit,
        )
        evaluate.check_labels(contract, info.class_names)
        report = compare(model, FLAGS.float32, FLAGS.int8, dataset, qat_int8_path=FLAGS.qat_int8)
        info.report_skipped()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{FLAGS.model} on {FLAGS.data}/{FLAGS.split}; input: {contract.describe()}")
    print(format_report(report))
    if FLAGS.json:
        files.write_json(FLAGS.json, to_dict(report))
    if FLAGS.plot:
        write_plot(report, FLAGS.plot, title=f"{os.path.basename(FLAGS.model)} on {FLAGS.data}/{FLAGS.split}")
    return 0


def run():
    from absl import app

    define_flags()
    with tool_output.framework_logs_to():
        app.run(main)


if __name__ == "__main__":
    with PROGRAM_OUTPUT:
        run()
