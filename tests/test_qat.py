"""Quantization-aware training: QAT trains a trained ShuffleNet on the pipeline's
batches, and its int8 export is the post-training export's graph (one XNNPACK
partition, float only at the boundary) that agrees with the QAT model; the training
program's --qat resumes; models it cannot take are refused clearly. (The bridge's
exactness is tests/test_tf_keras_bridge.py.)

The networks are trained for a few epochs first (about 95% top-1 on the digits at
16x16): QAT fine-tunes trained models, and on a random network 8-bit rounding is
amplified layer after layer, so that int8 and fake-quantized top-1 agree on only
75-90% of images whatever the simulation's fidelity."""

import functools
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from export_models import REPO, path

import keras_shufflenet
from keras_shufflenet.pipelines import recipes
from keras_shufflenet.pipelines.data import build_dataset
from keras_shufflenet.tflite import accuracy, export, metadata, qat
from keras_shufflenet.tflite.device import graph, runtime

SIZE = 16
TRAIN_EPOCHS = 8
ALLOWED_OPS = {
    "CONV_2D", "DEPTHWISE_CONV_2D", "CONCATENATION", "RESHAPE", "TRANSPOSE", "SPLIT", "PAD", "SUB",
    "MUL", "ADD", "MEAN", "FULLY_CONNECTED", "SOFTMAX", "QUANTIZE", "DEQUANTIZE",
}
# What post-training int8 keeps in float: the uint8 input's DEQUANTIZE and QUANTIZE,
# the body's DEQUANTIZE of the logits, the softmax and the uint8 output's QUANTIZE.
PTQ_FLOAT_OPS = ["DEQUANTIZE", "QUANTIZE", "DEQUANTIZE", "SOFTMAX", "QUANTIZE"]


def float_ops(summary):
    return [op.name for op in summary.ops if any(
        summary.tensors[i].dtype == "float32" for i in op.inputs + op.outputs if i >= 0)]


def pipeline(split, training=False, batch_size=32, limit=None):
    return build_dataset("digits", split, training=training, image_size=SIZE, batch_size=batch_size,
                         limit=limit, cache=False)


@functools.lru_cache(maxsize=None)
def digits(split):
    """`(pixels [N, 16, 16, 3] in [0, 255], labels, class names)` in the evaluation transform."""
    dataset, info = pipeline(split, batch_size=256)
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
    return np.concatenate(images), np.concatenate(labels), tuple(info.class_names)


@functools.lru_cache(maxsize=None)
def trained(family):
    """V2 0.5x or V1 0.5x g3 (raw pixels in, softmax out) trained TRAIN_EPOCHS on the digits."""
    keras.utils.set_random_seed(0)
    kwargs = dict(input_shape=(SIZE, SIZE, 3), small_inputs=True, classes=10, include_preprocessing=True)
    if family == "v1":
        model = keras_shufflenet.ShuffleNetV1(0.5, groups=3, **kwargs)
    else:
        model = keras_shufflenet.ShuffleNetV2(0.5, **kwargs)
    images, labels, _ = digits("train")
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    model.fit(images, labels, epochs=TRAIN_EPOCHS, batch_size=64, verbose=0)
    return model


def activation_ranges(aware):
    return [(float(v["min_var"].numpy().min()), float(v["max_var"].numpy().max()))
            for _, _, v in qat._activation_quantizers(aware.model)]


@functools.lru_cache(maxsize=None)
def qat_export(family):
    """`(model, aware, int8 path, class names)`: `trained(family)` made quantization-aware,
    trained 3 steps on the pipeline's batches, exported with uint8 camera input."""
    model = trained(family)
    train, info = pipeline("train", limit=96)
    aware = qat.quantization_aware(model, train, num_calibration=96)
    recipe = recipes.get("qat").replace(batch_size=32, epochs=1)
    qat.compile_for_training(aware, recipe, steps_per_epoch=3, num_classes=10)
    before = [w.copy() for w in aware.model.get_weights()]
    ranges_before = activation_ranges(aware)
    history = aware.model.fit(train.map(lambda x, y: (x, keras.ops.one_hot(y, 10))), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert any(not np.array_equal(a, b) for a, b in zip(before, aware.model.get_weights()))
    # The default ("mse") ranges stay where calibration put them while the weights train.
    assert activation_ranges(aware) == ranges_before
    target = path(f"qat_{family}_int8.tflite")
    labels = metadata.ClassifierMetadata(labels=tuple(info.class_names), name=model.name)
    qat.export_int8(aware, target, io_dtype="uint8", metadata=labels)
    return model, aware, target, tuple(info.class_names)


@pytest.mark.parametrize("family", ["v2", "v1"])
def test_qat_trains_and_exports_the_post_training_graph(family):
    model, aware, target, class_names = qat_export(family)
    summary = graph.summarize(target)
    assert set(summary.op_counts) <= ALLOWED_OPS, summary.op_counts
    assert float_ops(summary) == PTQ_FLOAT_OPS
    (image,), (scores,) = summary.inputs, summary.outputs
    assert (image.dtype, image.scales, image.zero_points, image.shape) == ("uint8", (1.0,), (0,), (1, SIZE, SIZE, 3))
    assert (scores.dtype, scores.scales) == ("uint8", (1 / 256,))
    for op in summary.ops:
        if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            weights = summary.tensors[op.inputs[1]]
            assert weights.dtype == "int8" and len(weights.scales) == weights.shape[weights.quantized_dimension]
    if family == "v1":  # each grouped 1x1 stays one grouped CONV_2D, as in post-training int8
        assert summary.op_counts["CONV_2D"] == 33
    report = graph.xnnpack_report(target)
    assert report.whole_graph and report.partitions == 1, str(report)
    written = metadata.read_metadata(target)
    assert written["labels"] == list(class_names) and written["input"]["mean"] == [0.0]

    images, labels, _ = digits("test")
    reference = qat.predict(aware, images)
    int8 = runtime.TFLiteClassifier(target).predict(images)
    agreement = np.mean(int8.argmax(1) == reference.argmax(1))
    float_top1 = np.mean(model.predict(images, verbose=0).argmax(1) == labels)
    print(f"{family}: float top-1 {float_top1:.3f}, QAT {np.mean(reference.argmax(1) == labels):.3f}, "
          f"QAT int8 {np.mean(int8.argmax(1) == labels):.3f}, agreement {agreement:.3f} on {len(labels)}")
    assert float_top1 >= 0.85  # a trained network, not a coin toss
    assert agreement >= 0.98


def test_accuracy_report_has_a_qat_row():
    model, _, qat_path, _ = qat_export("v2")
    images, labels, _ = digits("test")
    ptq_path = path("qat_report_ptq_int8.tflite")
    export.export_tflite(model, ptq_path, mode="int8", representative_images=digits("train")[0][:64], io_dtype="uint8")
    float_path = path("qat_report_float32.tflite")
    export.export_tflite(model, float_path, mode="float32")
    batches = [(images[i : i + 64], labels[i : i + 64]) for i in range(0, len(labels), 64)]
    report = accuracy.compare(model, float_path, ptq_path, batches, qat_int8_path=qat_path)
    qat_scores = runtime.TFLiteClassifier(qat_path).predict(images)
    keras_top1 = float(np.mean(model.predict(images, verbose=0).argmax(1) == labels))
    qat_top1 = float(np.mean(qat_scores.argmax(1) == labels))
    assert report.num_examples == len(labels)
    assert report.qat_int8["top1"] == qat_top1
    assert report.qat_int8_drop == pytest.approx(100 * (keras_top1 - qat_top1))
    assert report.qat_int8_bytes == os.path.getsize(qat_path)
    text = accuracy.format_report(report)
    assert "QAT int8 .tflite" in text and f"QAT int8 top-1 drop {report.qat_int8_drop:+.2f} points" in text


def test_refuses_models_it_cannot_take():
    image = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(8, 3)(image)
    plain = keras.Model(image, keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(x)))
    images = np.zeros((2, SIZE, SIZE, 3), np.float32)
    with pytest.raises(qat.QatError, match="not a ShuffleNet built by keras_shufflenet"):
        qat.quantization_aware(plain, images)
    fresh = keras_shufflenet.ShuffleNetV2(0.5, input_shape=(SIZE, SIZE, 3), small_inputs=True, classes=10)
    with pytest.raises(qat.QatError, match="looks untrained: every BatchNormalization still has its initial"):
        qat.quantization_aware(fresh, images)
    lambda_model = keras.Model(fresh.input, keras.layers.Lambda(lambda t: t * 2.0)(fresh.output))
    with pytest.raises(qat.QatError, match="cannot train quantization-aware: .*Lambda layer"):
        qat.quantization_aware(lambda_model, images)


def test_missing_tfmot_says_what_to_install():
    code = (
        "import sys; sys.modules['tensorflow_model_optimization'] = None\n"
        "from keras_shufflenet.tflite import qat\n"
        "try:\n    qat.quantization_aware(None, None)\n"
        "except ImportError as error:\n    print(error)\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert "needs tensorflow-model-optimization and tf_keras (pip install tensorflow-model-optimization" in result.stdout, result.stderr


def test_training_program_qat_resumes_and_writes_the_int8_file(tmp_path):
    from keras_shufflenet.pipelines import checkpoint, history
    from keras_shufflenet.pipelines.train import DataConfig, RuntimeConfig, TrainConfig, train

    source = tmp_path / "trained.keras"
    trained("v2").save(source)
    recipe = recipes.get("qat").replace(image_size=SIZE, batch_size=32, epochs=1)
    run_dir = tmp_path / "qat_run"
    config = dict(
        model_dir=str(run_dir), data=DataConfig(limit=64, eval_limit=64), verbose=0, qat=str(source),
        runtime=RuntimeConfig(run_eagerly=True),
    )
    first = train(TrainConfig(recipe=recipe, **config))
    assert first.initial_epoch == 0 and checkpoint.read_state(str(run_dir / "checkpoints"))["epoch"] == 1
    # Run again with one more epoch: it resumes from the checkpoint.
    second = train(TrainConfig(recipe=recipe.replace(epochs=2), **config))
    assert second.initial_epoch == 1
    assert history.read_history(second.history_path)["epoch"] == [1, 2]
    assert second.model_path == str(run_dir / qat.INT8_FILE)
    assert graph.xnnpack_report(second.model_path).whole_graph
    assert float_ops(graph.summarize(second.model_path)) == PTQ_FLOAT_OPS
    # Evaluated as trained (fake-quantized), on the qat recipe's evaluation transform.
    assert second.metrics["num_examples"] == 64 and second.metrics["top1"] >= 0.7
    # result.json names the model fine-tuned, not the qat recipe's default spec.
    assert json.loads((run_dir / "result.json").read_text())["model"] == trained("v2").name
