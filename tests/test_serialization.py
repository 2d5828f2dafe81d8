import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_shufflenet

MODELS = {
    "v2": lambda: keras_shufflenet.ShuffleNetV2(0.5, input_shape=(32, 32, 3), small_inputs=True, classes=10),
    "v1": lambda: keras_shufflenet.ShuffleNetV1(0.5, groups=3, input_shape=(32, 32, 3), small_inputs=True, classes=10),
}


def _images(seed=0, n=2):
    return np.random.default_rng(seed).uniform(-2, 2, size=(n, 32, 32, 3)).astype("float32")


@pytest.mark.parametrize("family", sorted(MODELS))
def test_keras_file_round_trip_in_safe_mode(family, tmp_path):
    model = MODELS[family]()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model(_images())), keras.ops.convert_to_numpy(loaded(_images()))
    )


@pytest.mark.parametrize("family", sorted(MODELS))
def test_weights_file_round_trip(family, tmp_path):
    model = MODELS[family]()
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    other = MODELS[family]()
    other.load_weights(path)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model(_images())), keras.ops.convert_to_numpy(other(_images()))
    )
    # The builders' `weights=` argument takes the same file.
    rebuilt = keras_shufflenet.ShuffleNetV2(0.5, input_shape=(32, 32, 3), small_inputs=True, classes=10,
                                            weights=str(path)) if family == "v2" else None
    if rebuilt is not None:
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(model(_images())), keras.ops.convert_to_numpy(rebuilt(_images()))
        )


JAX_SCRIPT = r"""
import json, sys
import numpy as np
import keras
import keras_shufflenet
assert keras.backend.backend() == "jax", keras.backend.backend()
spec = json.loads(sys.argv[1])
outputs = {}
for name, (family, path) in spec["models"].items():
    if family == "v2":
        model = keras_shufflenet.ShuffleNetV2(0.5, input_shape=(32, 32, 3), small_inputs=True, classes=10)
    else:
        model = keras_shufflenet.ShuffleNetV1(0.5, groups=3, input_shape=(32, 32, 3), small_inputs=True, classes=10)
    model.load_weights(path)
    images = np.load(spec["images"])
    outputs[name] = np.asarray(model(images, training=False))
    # The saved .keras file also loads under JAX in safe mode.
    loaded = keras.saving.load_model(spec["keras_files"][name], safe_mode=True)
    outputs[name + "_loaded"] = np.asarray(loaded(images, training=False))
np.savez(spec["out"], **outputs)
"""


def test_jax_backend_gives_same_outputs_as_tensorflow(tmp_path):
    pytest.importorskip("jax")
    images = _images(seed=1, n=3)
    np.save(tmp_path / "images.npy", images)
    spec = {"models": {}, "keras_files": {}, "images": str(tmp_path / "images.npy"),
            "out": str(tmp_path / "jax_out.npz")}
    expected = {}
    for family, build in MODELS.items():
        model = build()
        # Non-trivial BatchNorm statistics, so inference-mode BN is really compared.
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                rng = np.random.default_rng(len(layer.name))
                layer.moving_mean.assign(rng.normal(0, 0.1, layer.moving_mean.shape))
                layer.moving_variance.assign(rng.uniform(0.5, 1.5, layer.moving_variance.shape))
        weights = tmp_path / f"{family}.weights.h5"
        model.save_weights(weights)
        model.save(tmp_path / f"{family}.keras")
        spec["models"][family] = (family, str(weights))
        spec["keras_files"][family] = str(tmp_path / f"{family}.keras")
        expected[family] = keras.ops.convert_to_numpy(model(images, training=False))
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    subprocess.run([sys.executable, "-c", JAX_SCRIPT, json.dumps(spec)], check=True, env=env,
                   timeout=600)
    got = np.load(spec["out"])
    for family in MODELS:
        assert np.max(np.abs(got[family] - expected[family])) < 1e-4
        assert np.max(np.abs(got[family + "_loaded"] - expected[family])) < 1e-4
