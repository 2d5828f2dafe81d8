"""The benchmark tool against LiteRT's own benchmark, and in a venv that has only
numpy and ai-edge-litert (no TensorFlow, no Keras, package not installed)."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from keras_shufflenet.tflite import client_venv
from keras_shufflenet.tflite.device import benchmark
from keras_shufflenet.tflite.device.benchmark import RunConfig, Setting

TOOL_DIR = pathlib.Path(benchmark.__file__).resolve().parent


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    """A float32 CNN of about 0.3 GMACs: about 8 ms at 1 thread. There the two tools'
    fastest runs agree (7.85 and 7.81 ms when written); on a 3 ms model LiteRT's tool
    ran 15% slower than ours even on an idle machine, too close to the tolerance."""
    import keras
    import tensorflow as tf

    inputs = keras.Input((160, 160, 3))
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same")(x)
    x = keras.layers.Conv2D(128, 1, activation="relu")(x)
    x = keras.layers.Conv2D(128, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10)(x)
    path = tmp_path_factory.mktemp("litert") / "cnn.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(keras.Model(inputs, outputs)).convert())
    return str(path)


def _litert_fastest(path):
    """Fastest run's ms reported by `python -m ai_edge_litert.tools.benchmark_litert_model`."""
    out = pathlib.Path(path).with_suffix(".litert.json")
    done = subprocess.run(
        [sys.executable, "-m", "ai_edge_litert.tools.benchmark_litert_model", f"--model={path}",
         "--num_runs=50", "--warmup_runs=5", "--num_threads=1", f"--result_json={out}"],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(out.read_text())["latency"]["min_ms"]


def test_fastest_run_agrees_with_litert_benchmark(cnn):
    """Our fastest run within 15% of LiteRT's benchmark tool's on the same model and machine.

    Both run single-threaded with XNNPACK. The two are alternated three times and
    the fastest single run of each tool compared: load from other processes (the
    other test worker, the host) only ever slows a run down, and on CI it came in
    bursts that moved whole 50-run medians by 30% (ours 3.9 ms in every round while
    LiteRT's tool measured 3.0 ms in another), so the fastest run is the stable one.
    """
    ours, theirs = [], []
    for _ in range(3):
        theirs.append(_litert_fastest(cnn))
        (result,) = benchmark.benchmark_models(
            [cnn], [Setting(1, True)], RunConfig(warmup=5, runs=50), progress=lambda line: None
        )
        ours.append(result.min_ms)
    ratio = min(ours) / min(theirs)
    assert 0.85 <= ratio <= 1.15, f"ours {ours} ms vs benchmark_litert_model {theirs} ms"


@pytest.fixture(scope="session")
def litert_only_python():
    """Python of a venv with only numpy + ai-edge-litert (`client_venv`, cached); skips,
    saying why, when it cannot be made (a failure under CI)."""
    try:
        return client_venv.venv_python(
            client_venv.CACHE / "litert_only_venv", ("numpy", "ai-edge-litert"),
            "import numpy, ai_edge_litert.interpreter",
        )
    except client_venv.ClientUnavailable as error:
        pytest.skip(str(error))


def test_copied_files_run_with_only_numpy_and_litert(litert_only_python, cnn, tmp_path):
    python = str(litert_only_python)
    for module in ("tensorflow", "keras", "keras_shufflenet"):
        probe = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True,
                               cwd=tmp_path)
        assert f"No module named '{module}'" in probe.stderr
    device = tmp_path / "pi"
    device.mkdir()
    for name in benchmark.STANDALONE_FILES:
        shutil.copy(TOOL_DIR / name, device / name)
    report = tmp_path / "report.json"
    done = subprocess.run(
        [python, str(device / "benchmark.py"), cnn, str(tmp_path / "missing.tflite"), "--runs=5",
         "--warmup=1", "--threads=1,2", "--profile", "--profile_runs=3", f"--json={report}",
         f"--csv={tmp_path / 'report.csv'}", f"--plot={tmp_path / 'report.png'}"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr[-2000:]  # the missing model fails; cnn is measured
    assert "missing.tflite: no such file" in done.stderr
    assert "matplotlib is not installed" in done.stderr  # the plot is skipped, not a crash
    results = json.loads(report.read_text())["results"]
    measured = [r for r in results if r["name"] == "cnn"]
    assert [r["threads"] for r in measured] == [1, 2]
    assert all(r["error"] is None and r["runs"] == 5 and r["median_ms"] > 0 for r in measured)
    assert measured[0]["profile"]["method"] == "isolated ops"
    assert {op["op_type"] for op in measured[0]["profile"]["ops"]} >= {"CONV_2D", "DEPTHWISE_CONV_2D"}
    assert (tmp_path / "report.csv").exists() and not (tmp_path / "report.png").exists()
