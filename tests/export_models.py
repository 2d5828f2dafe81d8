"""Small ShuffleNets on real images (scikit-learn's digits, upscaled) and their
`.tflite` exports, built once per test session and shared by the export,
metadata, accuracy-report and MediaPipe tests (converting takes seconds each).
"""

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

SIZE = 32
CLASSES = 10
CALIBRATION = 64
WORK = tempfile.mkdtemp(prefix="keras-shufflenet-export-tests-")
atexit.register(shutil.rmtree, WORK, True)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def path(name):
    return os.path.join(WORK, name)


@functools.lru_cache(maxsize=None)
def digits(split, limit=None):
    """`(float32 images [N, 32, 32, 3] in [0, 255], int labels, class names)` in the
    evaluation preprocessing of the data pipeline."""
    from keras_shufflenet.pipelines.data import build_dataset

    dataset, info = build_dataset(
        "digits", split, training=False, image_size=SIZE, batch_size=128, limit=limit, cache=False
    )
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
    return np.concatenate(images), np.concatenate(labels), tuple(info.class_names)


def calibrate_batchnorm(model, images):
    """Sets every BatchNorm's moving statistics to those of `images` (one pass with
    momentum 0), so a freshly built network has realistic activation ranges."""
    import keras

    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0
    model(images, training=True)
    for layer, momentum in zip(norms, saved):
        layer.momentum = momentum


def build(family="v2", activation="softmax", include_preprocessing=True, seed=0, head_scale=8.0):
    """A width-0.5 ShuffleNet for 32x32 digits: BatchNorm statistics from real
    images and a classifier scaled by `head_scale` so its probabilities are
    peaked (few ties after 8-bit quantization)."""
    import keras

    import keras_shufflenet

    keras.utils.set_random_seed(seed)
    kwargs = dict(
        input_shape=(SIZE, SIZE, 3), small_inputs=True, classes=CLASSES,
        include_preprocessing=include_preprocessing, classifier_activation=activation,
    )
    if family == "v1":
        model = keras_shufflenet.ShuffleNetV1(0.5, groups=3, **kwargs)
    else:
        model = keras_shufflenet.ShuffleNetV2(0.5, **kwargs)
    images = digits("train", 256)[0]
    if not include_preprocessing:
        images = keras_shufflenet.preprocess_input(images)
    calibrate_batchnorm(model, images)
    fc = model.get_layer("fc")
    kernel, bias = fc.get_weights()
    fc.set_weights([kernel * head_scale, bias])
    return model


@functools.lru_cache(maxsize=None)
def keras_file():
    """The shared V2 model saved as `.keras`."""
    target = path("digits_v2.keras")
    build().save(target)
    return target


@functools.lru_cache(maxsize=None)
def model():
    from keras_shufflenet.pipelines.evaluate import load_keras_model

    return load_keras_model(keras_file())


def run_module(module, *args, timeout=300):
    """Runs `python -m module args...` in the repo; returns the CompletedProcess."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=timeout,
    )


@functools.lru_cache(maxsize=None)
def int8_file():
    """The README's main job: the program exports the shared model to int8 with
    uint8 input/output and Android metadata, calibrated on the digits pipeline.
    Returns the file and everything the program printed (stdout, then stderr)."""
    target = path("digits_v2_int8.tflite")
    result = run_module(
        "keras_shufflenet.tflite.export", f"--model={keras_file()}", f"--output={target}",
        "--mode=int8", "--io_dtype=uint8", "--data=digits", f"--num_calibration={CALIBRATION}",
        "--name=digits-shufflenet", "--author=keras-shufflenet tests", "--license=Apache-2.0",
        "--version=0.1",
    )
    if result.returncode != 0:
        raise RuntimeError(f"export program failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    return target, result.stdout + result.stderr


@functools.lru_cache(maxsize=None)
def float32_file():
    from keras_shufflenet.tflite import export, metadata

    target = path("digits_v2_float32.tflite")
    labels = digits("train")[2]
    export.export_tflite(
        model(), target, mode="float32", metadata=metadata.ClassifierMetadata(labels=labels)
    )
    return target


@functools.lru_cache(maxsize=None)
def int8_body():
    """The converter's own full-integer graph of the shared model's logits, with
    float input and output (what `boundary` rewrites)."""
    from keras_shufflenet.tflite import export

    body, softmax = export.split_softmax(model())
    assert softmax
    images = digits("train", CALIBRATION)[0]
    return export.convert(export.batch_one(body, (SIZE, SIZE, 3)), mode="int8", calibration=images)
