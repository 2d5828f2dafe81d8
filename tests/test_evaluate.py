"""Evaluation of Keras models and .tflite files through the same input pipeline."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_shufflenet.pipelines import evaluate
from keras_shufflenet.pipelines.data import build_dataset
from keras_shufflenet.tflite import export

SIZE = 16


def test_accuracy_report_counts_top1_and_top5():
    scores = np.array(
        [
            [0.9, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0],  # label 0: top-1 hit
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],  # label 2: 5th best -> top-5 hit only
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],  # label 1: 6th best -> miss
            [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],  # label 3: hit
        ]
    )
    report = evaluate.accuracy_report(scores, np.array([0, 2, 1, 3]))
    assert report["top1"] == 0.5 and report["top5"] == 0.75 and report["num_examples"] == 4
    np.testing.assert_array_equal(report["predictions"], [0, 6, 6, 3])
    three_classes = evaluate.accuracy_report(scores[:, :3], np.array([0, 2, 1, 1]))
    assert three_classes["top5"] == 1.0  # top-min(5, classes)
    with pytest.raises(ValueError, match="scores must be"):
        evaluate.accuracy_report(scores, np.array([0, 1]))


def test_confusion_matrix_and_per_class_table(tmp_path):
    scores = np.eye(3)[[0, 1, 1, 2, 2, 2]]  # predictions 0 1 1 2 2 2
    result = evaluate.accuracy_report(scores, np.array([0, 0, 1, 2, 2, 1]))
    matrix = evaluate.confusion_matrix(result, 3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 1], [0, 0, 2]])
    lines = evaluate.per_class_table(result, ["cat", "dog", "owl"]).splitlines()
    assert lines[1].split() == ["cat", "2", "50.00%", "dog", "(1)"]
    assert lines[2].split() == ["dog", "2", "50.00%", "owl", "(1)"]
    assert lines[3].split() == ["owl", "2", "100.00%", "-"]
    with pytest.raises(ValueError, match="outside 0..1"):
        evaluate.confusion_matrix(result, 2)
    from keras_shufflenet.pipelines import plots

    path = plots.plot_confusion_matrix(matrix, ["cat", "dog", "owl"], str(tmp_path / "cm.png"))
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="must be 2x2"):
        plots.plot_confusion_matrix(matrix, ["cat", "dog"], str(tmp_path / "bad.png"))


@pytest.fixture(scope="module")
def small_classifier():
    """A small trained-for-a-moment classifier on raw [0, 255] pixels (quick to convert)."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            keras.layers.Rescaling(1 / 255.0),
            keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
            keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    train, _ = build_dataset("digits", "train", training=False, image_size=SIZE, batch_size=32)
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    model.fit(train, epochs=3, verbose=0, shuffle=False)
    return model


@pytest.fixture(scope="module")
def test_data():
    return build_dataset("digits", "test", training=False, image_size=SIZE, batch_size=32, limit=96)


def test_keras_and_float_tflite_agree_exactly(small_classifier, test_data, tmp_path):
    dataset, info = test_data
    path = export.export_tflite(small_classifier, str(tmp_path / "m.tflite"), mode="float32")
    keras_result = evaluate.evaluate_keras(small_classifier, dataset)
    eager_result = evaluate.evaluate_keras(small_classifier, dataset, run_eagerly=True)
    tflite_result = evaluate.evaluate_tflite(path, dataset)
    assert keras_result["num_examples"] == tflite_result["num_examples"] == info.num_examples == 96
    assert keras_result["top1"] > 0.3  # learned something (chance: 0.1)
    np.testing.assert_array_equal(keras_result["predictions"], tflite_result["predictions"])
    np.testing.assert_array_equal(keras_result["predictions"], eager_result["predictions"])
    assert evaluate.top1_agreement(keras_result, tflite_result) == 1.0
    assert keras_result["top5"] == tflite_result["top5"]


def test_int8_tflite_with_uint8_input_through_the_same_path(small_classifier, test_data, tmp_path):
    dataset, _ = test_data
    calibration, _ = build_dataset("digits", "train", training=False, image_size=SIZE, batch_size=32, limit=64)
    path = export.export_tflite(
        small_classifier, str(tmp_path / "m_int8.tflite"), mode="int8",
        representative_images=calibration, io_dtype="uint8",
    )
    float_result = evaluate.evaluate_keras(small_classifier, dataset)
    int8_result = evaluate.evaluate_tflite(path, dataset)
    assert evaluate.top1_agreement(float_result, int8_result) >= 0.85
    assert abs(float_result["top1"] - int8_result["top1"]) <= 0.1


def test_one_hot_labels_and_empty_data(small_classifier):
    images = np.zeros((3, SIZE, SIZE, 3), "float32")
    one_hot = tf.data.Dataset.from_tensors((images, tf.one_hot([1, 2, 3], 10)))
    assert evaluate.evaluate_keras(small_classifier, one_hot)["labels"].tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="no examples"):
        evaluate.evaluate_keras(small_classifier, one_hot.take(0))
    with pytest.raises(ValueError, match="different data"):
        evaluate.top1_agreement({"predictions": np.zeros(2)}, {"predictions": np.zeros(3)})


def test_evaluate_program_prints_top1_and_top5(small_classifier, test_data, tmp_path):
    path = str(tmp_path / "m.keras")
    small_classifier.save(path)
    expected = evaluate.evaluate_keras(evaluate.load_keras_model(path), test_data[0])
    out = subprocess.run(
        [sys.executable, "-m", "keras_shufflenet.pipelines.evaluate", f"--model={path}",
         "--data=digits", "--split=test", "--limit=96", "--batch_size=32", "--per_class",
         f"--confusion_plot={tmp_path / 'confusion.png'}"],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert f"top-1 {100 * expected['top1']:.2f}%" in out.stdout
    assert f"top-5 {100 * expected['top5']:.2f}%" in out.stdout and "(96 images, 0 skipped)" in out.stdout
    assert evaluate.per_class_table(expected, [str(d) for d in range(10)]) in out.stdout
    assert (tmp_path / "confusion.png").read_bytes()[:4] == b"\x89PNG"
