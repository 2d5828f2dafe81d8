"""Top-1 / top-5 accuracy of a Keras model or a `.tflite` file, through the same input path.

Library:

    from keras_shufflenet.pipelines.data import build_dataset
    from keras_shufflenet.pipelines.evaluate import evaluate_keras, evaluate_tflite
    ds, info = build_dataset("digits", "test", training=False, image_size=16, batch_size=64)
    print(evaluate_keras(model, ds)["top1"], evaluate_tflite("model.tflite", ds)["top1"])

Program:

    python -m keras_shufflenet.pipelines.evaluate --model=runs/digits/model.keras --data=digits
    python -m keras_shufflenet.pipelines.evaluate --model=model_int8.tflite --data=digits --recipe=digits
"""

import os
import sys

import numpy as np
from absl import app, flags

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


def load_keras_model(path):
    import keras

    import keras_shufflenet.layers  # noqa: F401  (registers the custom layers)

    return keras.saving.load_model(path, compile=False)


FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("model", None, "A .keras model or a .tflite file.")
    flags.DEFINE_string("data", "digits", "'digits', 'tfds:<name>' or an image folder.")
    flags.DEFINE_string("data_dir", None, "tensorflow-datasets data folder.")
    flags.DEFINE_string("split", "test", "Split to evaluate.")
    flags.DEFINE_string("recipe", None, "Take the evaluation crop (and image size) from this recipe.")
    flags.DEFINE_integer("image_size", None, "Input size (default: the model's).")
    flags.DEFINE_float("center_crop_fraction", None, "Evaluation crop fraction (default: recipe or 0.875).")
    flags.DEFINE_integer("batch_size", 64, "Batch size.")
    flags.DEFINE_integer("limit", None, "Evaluate only the first N examples.")
    flags.DEFINE_integer("num_threads", None, "TFLite interpreter threads (default: all CPUs).")
    flags.DEFINE_bool("per_class", False, "Also print each class's accuracy and its commonest confusion.")
    flags.DEFINE_string("confusion_plot", None, "Write the confusion matrix as a PNG here.")
    flags.mark_flag_as_required("model")


def main(argv):
    del argv
    import dataclasses

    from keras_shufflenet.pipelines import recipes
    from keras_shufflenet.pipelines.augment import AugmentConfig
    from keras_shufflenet.pipelines.data import build_dataset

    augment = recipes.get(FLAGS.recipe).augment if FLAGS.recipe else AugmentConfig()
    if FLAGS.center_crop_fraction is not None:
        augment = dataclasses.replace(augment, center_crop_fraction=FLAGS.center_crop_fraction)
    is_tflite = FLAGS.model.endswith(".tflite")
    model = None if is_tflite else load_keras_model(FLAGS.model)
    image_size = FLAGS.image_size or (
        model_input_size(FLAGS.model) if is_tflite else model.input_shape[1]
    )
    if image_size is None:
        raise app.UsageError(f"{FLAGS.model} takes any input size: pass --image_size.")
    dataset, info = build_dataset(
        FLAGS.data, FLAGS.split, training=False, image_size=image_size,
        batch_size=FLAGS.batch_size, data_dir=FLAGS.data_dir, augment=augment, limit=FLAGS.limit,
    )
    if is_tflite:
        result = evaluate_tflite(FLAGS.model, dataset, num_threads=FLAGS.num_threads)
    else:
        result = evaluate_keras(model, dataset)
    info.report_skipped()
    print(
        f"{FLAGS.model} on {FLAGS.data}/{FLAGS.split} ({image_size}x{image_size}): "
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
    app.run(main)


if __name__ == "__main__":
    sys.exit(run())
