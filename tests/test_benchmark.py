"""The on-device benchmark tool: measurements, interleaving, reports, per-op
profile and bad input, on tiny `.tflite` files converted here from Keras models.
"""

import csv
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from keras_shufflenet.tflite.device import benchmark, benchmark_report, graph, op_profile, runtime
from keras_shufflenet.tflite.device.benchmark import Result, RunConfig, Setting

INPUT = (32, 32, 3)


def _tiny_keras_model():
    import keras

    inputs = keras.Input(INPUT)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.Conv2D(16, 1, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """{"float": path, "int8": path} of one tiny CNN, float32 and full-int8 (float I/O)."""
    import tensorflow as tf

    folder = tmp_path_factory.mktemp("tflite")
    model = _tiny_keras_model()
    paths = {}
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    paths["float"] = folder / "tiny_float.tflite"
    paths["float"].write_bytes(converter.convert())

    def representative():
        rng = np.random.default_rng(0)
        for _ in range(4):
            yield [rng.uniform(0, 255, (1, *INPUT)).astype("float32")]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    paths["int8"] = folder / "tiny_int8.tflite"
    paths["int8"].write_bytes(converter.convert())
    return {k: str(v) for k, v in paths.items()}


@pytest.fixture
def bad_files(tmp_path, models):
    missing = tmp_path / "missing.tflite"
    not_tflite = tmp_path / "notes.tflite"
    not_tflite.write_text("this is not a flatbuffer\n")
    truncated = tmp_path / "truncated.tflite"
    data = open(models["float"], "rb").read()
    truncated.write_bytes(data[: len(data) // 2])
    return {"missing": str(missing), "not_tflite": str(not_tflite), "truncated": str(truncated)}


def _quiet(_line):
    pass


def test_measures_every_model_and_setting(models):
    paths = [models["float"], models["int8"]]
    settings = [Setting(1, True), Setting(2, True), Setting(1, False)]
    results = benchmark.benchmark_models(paths, settings, RunConfig(warmup=1, runs=12), progress=_quiet)
    assert [(r.name, r.threads, r.xnnpack) for r in results] == [
        ("tiny_float", 1, True), ("tiny_int8", 1, True),
        ("tiny_float", 2, True), ("tiny_int8", 2, True),
        ("tiny_float", 1, False), ("tiny_int8", 1, False),
    ]
    for r in results:
        assert r.error is None
        assert r.runs == 12 and len(r.latencies_ms) == 12
        assert r.min_ms <= r.median_ms <= r.p90_ms <= r.p99_ms <= r.max_ms
        assert r.median_ms == pytest.approx(float(np.median(r.latencies_ms)))
        assert r.throughput == pytest.approx(1000 / r.mean_ms)
        assert r.load_ms > 0 and r.first_ms > 0
        assert r.size_mb == pytest.approx(os.path.getsize(r.path) / 1e6)
        assert r.rss_delta_mb >= 0 and r.peak_rss_mb >= r.rss_delta_mb
        # XNNPACK takes the whole float graph as one partition; built-in kernels have none.
    assert [r.partitions for r in results if r.name == "tiny_float"] == [1, 1, 0]


def test_models_are_interleaved_round_robin(models, monkeypatch):
    order = []
    original = benchmark._Runner.invoke

    def recording(self):
        order.append(self.result.name)
        return original(self)

    monkeypatch.setattr(benchmark._Runner, "invoke", recording)
    benchmark.benchmark_models(
        [models["float"], models["int8"]], [Setting()], RunConfig(warmup=1, runs=3), progress=_quiet
    )
    f, q = "tiny_float", "tiny_int8"
    # First inference of each at load, one warmup round, then rounds whose first model rotates.
    assert order == [f, q, f, q, f, q, q, f, f, q]


def test_duration_budget(models):
    start = time.perf_counter()
    (result,) = benchmark.benchmark_models(
        [models["float"]], [Setting()], RunConfig(warmup=0, duration=0.3), progress=_quiet
    )
    elapsed = time.perf_counter() - start
    assert result.error is None and result.runs > 1
    assert elapsed >= 0.3 and sum(result.latencies_ms) / 1000 <= 0.3 + result.max_ms / 1000


def test_statistics_and_ratios():
    r = benchmark.fill_stats(Result("a", "a.tflite", 1, True), [float(v) for v in range(1, 11)])
    assert (r.median_ms, r.mean_ms, r.min_ms, r.max_ms, r.runs) == (5.5, 5.5, 1.0, 10.0, 10)
    assert r.p90_ms == pytest.approx(9.1)
    assert r.p99_ms == pytest.approx(9.91)
    assert r.std_ms == pytest.approx(3.02765, rel=1e-5)
    assert r.throughput == pytest.approx(1000 / 5.5)
    base = Result("base", "b", 1, True, median_ms=4.0)
    other = Result("other", "o", 1, True, median_ms=3.0)
    two = Result("other", "o", 2, True, median_ms=3.0)  # no baseline at 2 threads
    failed = Result("bad", "x", 1, True, error="no such file")
    benchmark.add_ratios([base, other, two, failed], "base")
    assert (base.ratio, other.ratio, two.ratio, failed.ratio) == (1.0, 0.75, None, None)
    # Where only the mean is known (benchmark_model without percentiles), ratios use it.
    assert Result("m", "m", 1, True, mean_ms=2.0).latency_ms == 2.0


def test_parse_settings_and_errors():
    settings = benchmark.parse_settings("1,2", "on,off", "none,libx.so")
    assert len(settings) == 8
    assert settings[0] == Setting(1, True, None) and settings[-1] == Setting(2, False, "libx.so")
    assert benchmark.parse_settings("4") == [Setting(4, True, None)]
    with pytest.raises(ValueError, match=r"--threads: '0' is not a positive integer"):
        benchmark.parse_settings("1,0")
    with pytest.raises(ValueError, match=r"--xnnpack: 'maybe' is not one of on, off"):
        benchmark.parse_settings("1", "maybe")
    with pytest.raises(ValueError, match="runs must be an integer >= 1"):
        RunConfig(runs=0)
    with pytest.raises(ValueError, match="duration must be > 0"):
        RunConfig(duration=-1.0)
    with pytest.raises(ValueError, match="input must be 'random' or a folder"):
        RunConfig(input="/no/such/folder")


def test_parse_accuracy(tmp_path):
    names = ["a", "b"]
    assert benchmark.parse_accuracy("a=0.69,b=0.7", names) == {"a": 0.69, "b": 0.7}
    report = tmp_path / "acc.json"
    report.write_text(json.dumps({"a": {"top1": 0.5}, "b": 0.25}))
    assert benchmark.parse_accuracy(str(report), names) == {"a": 0.5, "b": 0.25}
    with pytest.raises(ValueError, match=r"'c' is not one of the models \(a, b\)"):
        benchmark.parse_accuracy("c=0.1", names)
    with pytest.raises(ValueError, match="is not a number"):
        benchmark.parse_accuracy("a=high", names)
    with pytest.raises(ValueError, match="is not NAME=VALUE"):
        benchmark.parse_accuracy("a", names)


def test_bad_models_fail_alone_with_one_line_errors(models, bad_files):
    paths = [bad_files["missing"], models["float"], bad_files["not_tflite"], bad_files["truncated"]]
    results = benchmark.benchmark_models(paths, [Setting()], RunConfig(warmup=0, runs=3), progress=_quiet)
    by_name = {r.name: r for r in results}
    assert by_name["tiny_float"].error is None and by_name["tiny_float"].runs == 3
    expected = {
        "missing": "missing.tflite: no such file",
        "notes": "notes.tflite: not a TFLite model",
        "truncated": "truncated.tflite: cannot be loaded by LiteRT",
    }
    for name, message in expected.items():
        error = by_name[name].error
        assert message in error and "\n" not in error and by_name[name].median_ms is None


def test_unknown_delegate_fails_only_its_setting(models):
    settings = benchmark.parse_settings("1", "on", "none,libno_such_delegate.so")
    results = benchmark.benchmark_models(
        [models["float"]], settings, RunConfig(warmup=0, runs=2), progress=_quiet
    )
    assert results[0].error is None and results[0].runs == 2
    assert results[1].delegate == "libno_such_delegate.so"
    assert results[1].error.startswith("delegate 'libno_such_delegate.so' cannot be loaded (")
    assert "\n" not in results[1].error


def _write_png(path, shape):
    from PIL import Image

    pixels = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def test_real_images_and_wrong_shape(tmp_path, models):
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    _write_png(good / "a.png", INPUT)
    np.save(good / "b.npy", np.full(INPUT, 128.0, np.float32))
    _write_png(bad / "small.png", (20, 20, 3))
    results = benchmark.benchmark_models(
        [models["float"], models["int8"]], [Setting()], RunConfig(warmup=1, runs=4, input=str(good)),
        progress=_quiet,
    )
    assert all(r.error is None and r.runs == 4 for r in results)
    (wrong,) = benchmark.benchmark_models(
        [models["float"]], [Setting()], RunConfig(warmup=0, runs=2, input=str(bad)), progress=_quiet
    )
    assert "small.png: input is 20x20x3 but tiny_float.tflite expects 32x32x3" in wrong.error


def test_images_are_fed_as_the_classifier_would(tmp_path, models):
    """The benchmark's input path (read, quantize) gives the runtime classifier's scores."""
    folder = tmp_path / "img"
    folder.mkdir()
    _write_png(folder / "x.png", INPUT)
    (pixels,) = [benchmark.read_input_file(str(folder / "x.png"))]
    classifier = runtime.TFLiteClassifier(models["int8"])
    interpreter = runtime.make_interpreter(models["int8"])
    (inputs,) = benchmark.make_inputs(
        interpreter, models["int8"], RunConfig(input=str(folder)), np.random.default_rng(0), {}
    )
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], inputs[0])
    interpreter.invoke()
    scores = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(scores[0], classifier.predict(pixels[None])[0], atol=1e-6)


def test_images_of_any_size_are_prepared_by_the_files_input_contract(tmp_path, models):
    """`--input=DIR` resizes, centre-crops and normalizes photos as the contract packed in
    the `.tflite` says, close to the data pipeline's own transform of the same photo."""
    import tensorflow as tf
    from PIL import Image

    from keras_shufflenet.input_contract import InputContract
    from keras_shufflenet.pipelines import augment
    from keras_shufflenet.tflite import metadata

    contract = InputContract(image_size=32, crop_fraction=0.5, mean=(120.0, 110.0, 100.0), std=(60.0, 50.0, 40.0))
    with open(models["float"], "rb") as f:
        packed = tmp_path / "with_contract.tflite"
        packed.write_bytes(metadata.append_files(f.read(), {"input_contract.json": contract.to_json()}))
    folder = tmp_path / "photos"
    folder.mkdir()
    # A smooth 50x70 photo-like image (a real photo would do; gradients keep resizers comparable).
    yy, xx = np.mgrid[0:50, 0:70]
    photo = np.stack([yy * 5, xx * 3, (yy + xx) * 2], axis=-1).clip(0, 255).astype(np.uint8)
    Image.fromarray(photo).save(folder / "photo.png")

    interpreter = runtime.make_interpreter(str(packed))
    (inputs,) = benchmark.make_inputs(interpreter, str(packed), RunConfig(input=str(folder)),
                                      np.random.default_rng(0), {})
    ours = inputs[0][0]
    assert ours.shape == (32, 32, 3)
    pipeline = augment.center_crop(tf.constant(photo), 32, 0.5).numpy()
    expected = (pipeline - np.float32(contract.mean)) / np.float32(contract.std)
    # Pillow and TensorFlow resize alike up to rounding: within 2 pixel levels.
    assert np.abs(ours - expected).max() < 2.0 / min(contract.std)
    # Without a contract the same photo is refused (not the model's input size).
    (plain,) = benchmark.benchmark_models(
        [models["float"]], [Setting()], RunConfig(warmup=0, runs=1, input=str(folder)), progress=_quiet
    )
    assert "photo.png: input is 50x70x3 but tiny_float.tflite expects 32x32x3" in plain.error


def test_single_op_models_reproduce_every_op(models):
    """Each one-op model cut out for the profile computes exactly what that op does in the graph."""
    for path in (models["float"], models["int8"]):
        full = Interpreter(
            model_path=path, experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        full.allocate_tensors()
        detail = full.get_input_details()[0]
        full.set_tensor(detail["index"], op_profile.random_value(detail, np.random.default_rng(2), (0, 255)))
        full.invoke()
        model = graph.read_model(path)
        subgraph = model.subgraphs[0]
        assert len(subgraph.operators) >= 5
        for index, op in enumerate(subgraph.operators):
            content = op_profile.single_op_model(model, index)
            one = Interpreter(
                model_content=content,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            )
            one.allocate_tensors()
            feeds = [i for i in op.inputs if i >= 0 and not graph.is_constant(model, subgraph.tensors[i])]
            for detail, tensor in zip(one.get_input_details(), feeds):
                one.set_tensor(detail["index"], full.get_tensor(tensor))
            one.invoke()
            (out,) = one.get_output_details()
            np.testing.assert_array_equal(one.get_tensor(out["index"]), full.get_tensor(op.outputs[0]))


def test_profile_shares_and_delegation(models):
    results = benchmark.benchmark_models(
        [models["float"], models["int8"]], [Setting(1, True), Setting(1, False)],
        RunConfig(warmup=1, runs=5, profile=True, profile_runs=5), progress=_quiet,
    )
    for r in results:
        profile = r.profile
        ops = runtime.make_interpreter(r.path, use_xnnpack=False)._get_ops_details()
        assert [op.op_type for op in profile.ops] == [op["op_name"] for op in ops]
        assert sum(op.share for op in profile.ops) == pytest.approx(1.0)
        assert sum(t.count for t in profile.by_type) == len(profile.ops)
        assert sum(t.ms for t in profile.by_type) == pytest.approx(profile.total_ms)
        assert profile.model_ms == r.median_ms and profile.partitions == r.partitions
        assert all(op.ms >= 0 and op.error is None for op in profile.ops)
        if not r.xnnpack:
            assert {op.delegated for op in profile.ops} == {None} and r.partitions == 0
    by_key = {(r.name, r.xnnpack): r.profile for r in results}
    assert all(op.delegated for op in by_key["tiny_float", True].ops)
    assert by_key["tiny_float", True].partitions == 1
    # The XNNPACK delegate takes SOFTMAX in float only, so the plain converter's int8
    # SOFTMAX runs on the built-in kernels and splits the graph: the isolated-op
    # verdicts and the whole-graph partition count must tell the same story.
    int8 = by_key["tiny_int8", True]
    left_out = [op for op in int8.ops if not op.delegated]
    assert {op.op_type for op in left_out} <= {"SOFTMAX"}
    assert int8.partitions == (2 if left_out else 1)
    text = benchmark_report.format_profile("tiny_int8", "1 thread, XNNPACK", int8)
    assert ("not taken by the delegate: #" in text) == bool(left_out)
    whole = [note for note in int8.notes if note.startswith("whole graph: XNNPACK: ")]
    assert whole and f"{int8.partitions} partition(s)" in whole[0]


def test_cli_reports(tmp_path, models, capsys):
    out_json, out_csv, out_png = tmp_path / "r.json", tmp_path / "r.csv", tmp_path / "r.png"
    code = benchmark.main([
        models["float"], models["int8"], "--threads=1,2", "--warmup=1", "--runs=5",
        "--baseline=tiny_float", "--accuracy=tiny_float=0.61,tiny_int8=0.6",
        f"--json={out_json}", f"--csv={out_csv}", f"--plot={out_png}",
    ])
    assert code == 0
    table = capsys.readouterr().out
    assert "x tiny_float" in table and table.count("tiny_int8") == 2
    payload = json.loads(out_json.read_text())
    results = payload["results"]
    assert len(results) == 4 and payload["meta"]["baseline"] == "tiny_float"
    assert payload["meta"]["interleaved"] is True and "runtime" in payload["meta"]["environment"]
    if os.path.exists("/proc/cpuinfo"):  # the CPU and its ISA flags beside every number
        assert {"cpu", "isa"} <= set(payload["meta"]["environment"])
    assert all(len(r["latencies_ms"]) == 5 for r in results)
    assert [r["ratio"] for r in results if r["name"] == "tiny_float"] == [1.0, 1.0]
    assert {r["name"]: r["accuracy"] for r in results} == {"tiny_float": 0.61, "tiny_int8": 0.6}
    rows = list(csv.DictReader(out_csv.open()))
    assert list(rows[0]) == list(benchmark_report.CSV_FIELDS) and len(rows) == 4
    assert float(rows[1]["median_ms"]) == pytest.approx(results[1]["median_ms"])
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]


def test_cli_exit_status_and_one_line_errors(models, bad_files, capsys):
    code = benchmark.main([models["float"], bad_files["missing"], "--runs=2", "--warmup=0"])
    captured = capsys.readouterr()
    assert code == 1
    assert "FAILED: " in captured.out and "tiny_float" in captured.out
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: missing (1 thread, XNNPACK): {bad_files['missing']}: no such file"]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--threads=two"], "--threads: 'two' is not a positive integer"),
        (["--baseline=other"], "--baseline: 'other' is not one of the models"),
        (["--xnnpack=sometimes"], "--xnnpack: 'sometimes' is not one of on, off"),
        (["--runs=3", "--duration=2"], "not allowed with argument"),
    ],
)
def test_cli_rejects_bad_flags(models, flags, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        benchmark.main([models["float"], *flags])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_tool_imports_neither_tensorflow_nor_keras(models):
    """`python -m keras_shufflenet.tflite.benchmark` runs and loads no TF/Keras/JAX/torch."""
    code = (
        "import sys, runpy\n"
        "sys.argv = ['benchmark', sys.argv[1], '--runs=2', '--warmup=0']\n"
        "try:\n"
        "    runpy.run_module('keras_shufflenet.tflite.benchmark', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "import keras_shufflenet.tflite.device.adb\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'jax', 'torch', 'tf_keras'))\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, models["float"]], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout
    assert "tiny_float" in done.stdout
