"""Top-1 / top-5 accuracy of a Keras model or a `.tflite` file, through the same input path.

Library:

    from keras_shufflenet.pipelines.data import build_dataset
    from keras_shufflenet.pipelines.evaluate import evaluate_keras, evaluate_tflite
    ds, info = build_dataset("digits", "test", training=False, image_size=16, batch_size=64)
    print(evaluate_keras(model, ds)["top1"], evaluate_tflite("model.tflite", ds)["top1"])

Program:

    python -m keras_shufflenet.pipelines.evaluate --model=runs/digits/model.keras --data=digits
    python -m keras_shufflenet.pipelines.evaluate --model=model_int8.tflite --data=digits

The images go through the model's input contract (size, crop, normalization:
`keras_shufflenet.input_contract`), read from the `.keras` or `.tflite` file;
`--recipe`, `--center_crop_fraction` and `--image_size` override it, with a
warning when they contradict it. A file without a contract is evaluated with
the defaults, and the program says so.
"""

import os
import sys
import zipfile

import numpy as np
from absl import app, flags

from keras_shufflenet import input_contract
from keras_shufflenet.pipelines import tool_output

TOP_K = 5


def _scores_and_labels(predict, dataset):
    scores, labels = [], []
    for images, batch_labels in dataset:
        scores.append(np.asarray(predict(images)))
        labels.append(np.asarray(batch_labels))
    if not scores:
        raise ValueError("The dataset yielded no examples (all skipped, or an empty split).")
    labels = np.concatenate(labels)
    if labels.ndim == 2:  # one-hot
        labels = labels.argmax(axis=-1)
    return np.concatenate(scores).astype(np.float32), labels.astype(np.int64)


def accuracy_report(scores, labels):
    """{"top1", "top5", "num_examples", "predictions", "labels"} from scores `[N, classes]`.

    "top5" is top-min(5, classes); "predictions" is each example's top-1 class.
    """
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    if scores.ndim != 2 or len(scores) != len(labels):
        raise ValueError(f"scores must be [N, classes] for N={len(labels)} labels; got {scores.shape}.")
    k = min(TOP_K, scores.shape[1])
    top_k = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    predictions = top_k[:, 0]
    return {
        "top1": float(np.mean(predictions == labels)),
        "top5": float(np.mean((top_k == labels[:, None]).any(axis=1))),
        "num_examples": int(len(labels)),
        "predictions": predictions,
        "labels": labels,
    }


def confusion_matrix(result, num_classes):
    """`[true class, predicted class]` counts (int64) of an evaluation result
    (`accuracy_report`, `evaluate_keras` or `evaluate_tflite`)."""
    labels, predictions = np.asarray(result["labels"]), np.asarray(result["predictions"])
    if len(labels) and (labels.min() < 0 or max(labels.max(), predictions.max()) >= num_classes):
        raise ValueError(f"The result has classes outside 0..{num_classes - 1}; is num_classes right?")
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def per_class_table(result, class_names):
    """A text table: per class, its images, top-1 accuracy and the class it is most
    often mistaken for (with how many of its images)."""
    matrix = confusion_matrix(result, len(class_names))
    width = max(len("class"), *(len(name) for name in class_names))
    lines = [f"{'class':<{width}} {'images':>6} {'top-1':>7}  most confused with"]
    for index, name in enumerate(class_names):
        row = matrix[index]
        total = int(row.sum())
        accuracy = f"{100 * row[index] / total:6.2f}%" if total else "      -"
        errors = row.copy()
        errors[index] = 0
        confused = (
            f"{class_names[int(errors.argmax())]} ({int(errors.max())})" if errors.max() else "-"
        )
        lines.append(f"{name:<{width}} {total:>6} {accuracy}  {confused}")
    return "\n".join(lines)


def evaluate_keras(model, dataset, run_eagerly=False):
    """Accuracy of a Keras model on `(images, labels)` batches (labels int or one-hot).

    Runs the model in inference mode, outside any distribution strategy (each
    process evaluates the whole dataset); `run_eagerly` skips tf.function
    tracing (quicker for a few batches).
    """
    import keras

    if keras.backend.backend() == "tensorflow" and not run_eagerly:
        import tensorflow as tf

        call = tf.function(lambda images: model(images, training=False), reduce_retracing=True)
        predict = lambda images: call(images).numpy()  # noqa: E731
    else:
        predict = lambda images: keras.ops.convert_to_numpy(  # noqa: E731
            model(np.asarray(images), training=False)
        )
    return accuracy_report(*_scores_and_labels(predict, dataset))


def evaluate_tflite(path, dataset, num_threads=None):
    """Accuracy of a `.tflite` classifier (float or quantized) on the same batches.

    Images are fed as float pixels; `TFLiteClassifier` quantizes them for
    int8/uint8 inputs and dequantizes the scores.
    """
    from keras_shufflenet.tflite.device.runtime import TFLiteClassifier

    classifier = TFLiteClassifier(path, num_threads=num_threads or os.cpu_count() or 1)
    return accuracy_report(*_scores_and_labels(lambda x: classifier.predict(np.asarray(x)), dataset))


def format_accuracy(result, num_classes):
    """'top-1 71.23%  top-5 89.10%' (top-k with k = min(5, num_classes))."""
    return (
        f"top-1 {100 * result['top1']:.2f}%  "
        f"top-{min(TOP_K, num_classes)} {100 * result['top5']:.2f}%"
    )


def top1_agreement(result_a, result_b):
    """Share of examples where two evaluations of the same data agree on the top-1 class."""
    a, b = result_a["predictions"], result_b["predictions"]
    if len(a) != len(b):
        raise ValueError(f"Evaluations of different data: {len(a)} vs {len(b)} examples.")
    return float(np.mean(a == b))


def model_input_size(path):
    """The square input size of a `.keras` or `.tflite` model (None if not fixed)."""
    if str(path).endswith(".tflite"):
        from keras_shufflenet.tflite.device.runtime import TFLiteClassifier

        return TFLiteClassifier(path).input_shape[1]
    return load_keras_model(path).input_shape[1]


class ModelFileError(ValueError):
    """A `.keras` file that cannot be loaded: not a Keras archive, truncated or
    damaged. The message names the file."""


def load_keras_model(path):
    """A `.keras` model (safe mode), with the input contract its file records attached.

    Raises:
        FileNotFoundError: no such file.
        ModelFileError: not a `.keras` archive, or damaged.
    """
    import keras

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a .keras model (a zip archive of config.json and weights)")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras' loader raises nearly any type on a damaged archive.
        text = str(error).strip()
        reason = text.splitlines()[0][:300] if text else ""
        raise ModelFileError(
            f"{path}: damaged .keras model ({type(error).__name__}{': ' + reason if reason else ''})"
        ) from error
    return input_contract.attach(model, input_contract.read(path))


def _tflite_default_contract(path, image_size=None):
    """What a `.tflite` without a recorded contract is assumed to take: its input
    size, the default crop, and the normalization its metadata states (else none)."""
    from keras_shufflenet.tflite import metadata
    from keras_shufflenet.tflite.device.runtime import TFLiteClassifier

    _, height, width, _ = TFLiteClassifier(path).input_shape
    if image_size is None and height != width:
        raise ValueError(f"{path} takes {height}x{width} images; the data pipeline makes squares")
    meta = metadata.read_metadata(path)
    norm = meta["input"] if meta and meta["input"]["mean"] else {"mean": (0.0,), "std": (1.0,)}
    return input_contract.InputContract(
        image_size=image_size or height, mean=norm["mean"], std=norm["std"],
        source="defaults: no contract recorded",
    )


def resolve_contract(model, *, recipe=None, center_crop_fraction=None, image_size=None,
                     report=input_contract.report_to_stderr):
    """The input contract to evaluate (or calibrate) `model` with: the one it
    records, else the defaults, then the programs' override flags.

    Args:
        model: a Keras model (`load_keras_model` attaches its file's contract)
            or the path of a `.tflite` file.
        recipe: a training recipe name whose evaluation crop overrides the
            recorded one (`--recipe`).
        center_crop_fraction, image_size: overrides (`--center_crop_fraction`,
            `--image_size`); `center_crop_fraction` wins over `recipe`.
        report: called with the line that says defaults are used, or that an
            override contradicts the recorded contract (naming both).
    """
    from keras_shufflenet import preprocessing
    from keras_shufflenet.pipelines import recipes

    names = {"image_size": "--image_size", "crop_fraction": "--center_crop_fraction"}
    crop = center_crop_fraction
    if crop is None and recipe:
        crop = recipes.get(recipe).augment.center_crop_fraction
        names["crop_fraction"] = f"--recipe={recipe} (its evaluation crop fraction)"
    overrides = dict(image_size=image_size, crop_fraction=crop)
    if isinstance(model, (str, os.PathLike)):
        recorded = input_contract.read(model)
        default = None if recorded else _tflite_default_contract(model, image_size)
        return input_contract.resolve(recorded, default, report=report, names=names, **overrides)
    return preprocessing.model_input_contract(model, report=report, names=names, **overrides)


def check_labels(contract, class_names, report=input_contract.report_to_stderr):
    """Reports when the data's class names are not the contract's labels (same order)."""
    if contract.labels is not None and tuple(class_names) != tuple(contract.labels):
        report(
            f"warning: the data's classes {list(class_names)[:5]}... are not the model's recorded "
            f"labels {list(contract.labels)[:5]}... ({contract.source}); accuracy compares "
            "label indices"
        )


FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("model", None, "A .keras model or a .tflite file.")
    flags.DEFINE_string("data", "digits", "'digits', 'tfds:<name>' or an image folder.")
    flags.DEFINE_string("data_dir", None, "tensorflow-datasets data folder.")
    flags.DEFINE_string("split", "test", "Split to evaluate.")
    flags.DEFINE_string("recipe", None, "Override the model's recorded evaluation crop with this recipe's.")
    flags.DEFINE_integer("image_size", None, "Override the model's recorded input size.")
    flags.DEFINE_float("center_crop_fraction", None, "Override the model's recorded evaluation crop "
                       "fraction (without a record: 0.875).")
    flags.DEFINE_integer("batch_size", 64, "Batch size.")
    flags.DEFINE_integer("limit", None, "Evaluate only the first N examples.")
    flags.DEFINE_integer("num_threads", None, "TFLite interpreter threads (default: all CPUs).")
    flags.DEFINE_bool("per_class", False, "Also print each class's accuracy and its commonest confusion.")
    flags.DEFINE_string("confusion_plot", None, "Write the confusion matrix as a PNG here.")
    flags.mark_flag_as_required("model")


def main(argv):
    del argv
    from keras_shufflenet.pipelines.data import build_dataset

    is_tflite = FLAGS.model.endswith(".tflite")
    model = FLAGS.model if is_tflite else load_keras_model(FLAGS.model)
    try:
        contract = resolve_contract(
            model, recipe=FLAGS.recipe, center_crop_fraction=FLAGS.center_crop_fraction,
            image_size=FLAGS.image_size,
        )
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    dataset, info = build_dataset(
        FLAGS.data, FLAGS.split, training=False, contract=contract,
        batch_size=FLAGS.batch_size, data_dir=FLAGS.data_dir, limit=FLAGS.limit,
    )
    check_labels(contract, info.class_names)
    if is_tflite:
        result = evaluate_tflite(FLAGS.model, dataset, num_threads=FLAGS.num_threads)
    else:
        result = evaluate_keras(model, dataset)
    info.report_skipped()
    size = contract.image_size
    print(
        f"{FLAGS.model} on {FLAGS.data}/{FLAGS.split} ({size}x{size}, crop {contract.crop_fraction:g}): "
        f"{format_accuracy(result, info.num_classes)}  "
        f"({result['num_examples']} images, {info.skipped} skipped)"
    )
    if FLAGS.per_class:
        print(per_class_table(result, info.class_names))
    if FLAGS.confusion_plot:
        from keras_shufflenet.pipelines.plots import plot_confusion_matrix

        plot_confusion_matrix(confusion_matrix(result, info.num_classes), info.class_names, FLAGS.confusion_plot)
    return 0


def run():
    define_flags()
    with tool_output.framework_logs_to():
        app.run(main)


if __name__ == "__main__":
    sys.exit(run())
