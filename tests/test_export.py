"""Export to .tflite: the four modes, a clean batch-1 graph that XNNPACK runs in one
piece, the int8 boundary, gpu_friendly, the program, and clear errors."""

import os

import keras
import numpy as np
import pytest
from export_models import SIZE, build, digits, float32_file, int8_body, int8_file, model, path

from keras_shufflenet.tflite import _boundary as boundary, export, _rewrite as rewrite
from keras_shufflenet.tflite.device import graph, runtime

ALLOWED_OPS = {
    "CONV_2D", "DEPTHWISE_CONV_2D", "CONCATENATION", "RESHAPE", "TRANSPOSE", "SPLIT", "SLICE", "PAD", "SUB",
    "MUL", "ADD", "MEAN", "FULLY_CONNECTED", "SOFTMAX", "QUANTIZE", "DEQUANTIZE",
}  # what ShuffleNet V1/V2 lower to (V1's float graph adds AVERAGE_POOL_2D and RELU)


def pixels(n=8, split="test"):
    return digits(split, 64)[0][:n]


def predict(path_, images):
    return runtime.TFLiteClassifier(path_).predict(images)


def softmax(logits):
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def assert_clean_and_whole(path_):
    summary = graph.summarize(path_)
    assert graph.graph_problems(summary, max_rank=4) == []
    assert set(summary.op_counts) <= ALLOWED_OPS, summary.op_counts
    assert summary.inputs[0].shape == (1, SIZE, SIZE, 3)
    assert all(t.shape_signature[0] == 1 for t in summary.inputs + summary.outputs)
    report = graph.xnnpack_report(path_)
    assert report.whole_graph, str(report)
    assert report.num_ops == len(summary.ops) > 50
    return summary


# ------------------------------------------------------------------ graphs


def test_float32_and_int8_graphs_are_clean_and_one_xnnpack_partition():
    float_summary = assert_clean_and_whole(float32_file())
    int8_summary = assert_clean_and_whole(int8_file()[0])
    # V2's shuffles and splits are channel bookkeeping (tflite/channel_tracking.py):
    # no data moves but the slices and concatenations a branch reads.
    for summary in (float_summary, int8_summary):
        assert not {"TRANSPOSE", "RESHAPE", "SPLIT"} & set(summary.op_counts), summary.op_counts
        assert summary.op_counts["SLICE"] > 0 and summary.op_counts["CONV_2D"] == 37
    assert float_summary.max_rank == int8_summary.max_rank == 4


def test_xnnpack_report_names_the_ops_left_out():
    # XNNPACK has no 8-bit average pooling; "same" padding (which does not count
    # the padding) is not rewritten, so the report must name it.
    image = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(image)
    x = keras.layers.AveragePooling2D(3, strides=2, padding="same")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    target = path("avgpool_int8.tflite")
    images = np.random.default_rng(0).uniform(0, 1, (8, 8, 8, 3))
    export.export_tflite(keras.Model(image, keras.layers.Dense(3)(x)), target, representative_images=images)
    report = graph.xnnpack_report(target)
    assert not report.whole_graph
    assert [name for _, name in report.undelegated] == ["AVERAGE_POOL_2D"]
    assert report.partitions == 2 and "left to LiteRT kernels: AVERAGE_POOL_2D (op" in str(report)


def test_int8_is_full_integer_with_per_channel_weights():
    int8_path = int8_file()[0]
    summary = graph.summarize(int8_path)
    (image,), (scores,) = summary.inputs, summary.outputs
    assert (image.dtype, image.scales, image.zero_points) == ("uint8", (1.0,), (0,))
    assert (scores.dtype, scores.scales, scores.zero_points) == ("uint8", (1 / 256,), (0,))
    convs = [op for op in summary.ops if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    for op in convs:
        weights = summary.tensors[op.inputs[1]]
        channels = weights.shape[weights.quantized_dimension]
        assert weights.dtype == "int8" and len(weights.scales) == channels > 1, (op, weights)
        assert summary.tensors[op.outputs[0]].dtype == "int8"
    # Float only at the boundary: DEQUANTIZE (input), the softmax head, QUANTIZE (output).
    float_ops = [op.name for op in summary.ops if any(
        summary.tensors[i].dtype == "float32" for i in op.inputs + op.outputs if i >= 0)]
    assert float_ops == ["DEQUANTIZE", "QUANTIZE", "DEQUANTIZE", "SOFTMAX", "QUANTIZE"]
    assert os.path.getsize(int8_path) < 0.4 * os.path.getsize(float32_file())


def test_int8_agrees_with_keras_on_real_images():
    # A guard against gross errors (a wrong input scale or zero point, a broken
    # boundary): these test networks are untrained, and an untrained network
    # amplifies 8-bit rounding layer after layer, so closeness is measured on a
    # trained model by benchmarks/int8_cifar10.py, not here.
    images = pixels(48)
    reference = model().predict(images, verbose=0)
    scores = predict(int8_file()[0], images)
    assert np.mean(scores.argmax(1) == reference.argmax(1)) >= 0.5
    np.testing.assert_allclose(scores.sum(1), 1.0, atol=0.05)


def test_boundary_rewrite_matches_the_converters_float_boundary():
    body = int8_body()
    body_path, uint8_path, int8_path, float_path = (
        path(f"boundary_{name}.tflite") for name in ("body", "uint8", "int8", "float")
    )
    for target, data in (
        (body_path, body),
        (uint8_path, boundary.finish_integer_graph(body, io_dtype="uint8", softmax=True, input_quantization=(1.0, 0))),
        (int8_path, boundary.finish_integer_graph(body, io_dtype="int8", softmax=True, input_quantization=(1.0, -128))),
        (float_path, boundary.finish_integer_graph(body, io_dtype="float32", softmax=True)),
    ):
        with open(target, "wb") as f:
            f.write(data)
    images = np.round(pixels(16))  # what a camera gives: whole pixel values
    expected = softmax(predict(body_path, images))
    np.testing.assert_allclose(predict(float_path, images), expected, atol=1e-6)
    as_uint8 = predict(uint8_path, images)
    assert np.abs(as_uint8 - expected).max() <= 1 / 256 + 1e-6
    np.testing.assert_array_equal(predict(int8_path, images), as_uint8)
    # Without a softmax the quantized output carries the logits, on the body's own scale.
    logits_path = path("boundary_logits_uint8.tflite")
    with open(logits_path, "wb") as f:
        f.write(boundary.finish_integer_graph(body, io_dtype="uint8", softmax=False))
    (scale, zero_point), = [(t.scales[0], t.zero_points[0]) for t in graph.summarize(logits_path).outputs]
    logits = predict(body_path, images)
    assert np.abs(predict(logits_path, images) - logits).max() <= scale + 1e-6
    assert 0 <= zero_point <= 255
    for target in (uint8_path, int8_path, float_path, logits_path):
        assert graph.xnnpack_report(target).whole_graph
        interpreter = runtime.make_interpreter(target)
        runner = interpreter.get_signature_runner()
        (input_name,) = runner.get_input_details()
        detail = runner.get_input_details()[input_name]
        assert detail["index"] == interpreter.get_input_details()[0]["index"]


def test_v1_int8_rewrite_keeps_numbers_and_xnnpack_whole():
    v1 = build("v1")
    rewritten, changes = rewrite.xnnpack_int8_friendly(v1)
    assert len(changes) == 6  # 3 shortcut pools + 3 ReLUs after concat
    images = pixels(48)
    reference = v1.predict(images, verbose=0)
    np.testing.assert_allclose(rewritten.predict(images, verbose=0), reference, atol=1e-5)
    target = path("v1_int8.tflite")
    export.export_tflite(v1, target, mode="int8", representative_images=pixels(32, "train"), io_dtype="uint8")
    summary = assert_clean_and_whole(target)
    assert summary.op_counts["CONV_2D"] == 33 and summary.op_counts["TRANSPOSE"] == 16
    assert np.mean(predict(target, images).argmax(1) == reference.argmax(1)) >= 0.5


def small_cnn():
    image = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(32, 3, activation="relu")(image)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = keras.layers.Conv2D(128, 1)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(image, keras.layers.Dense(10, activation="softmax")(x))


def test_float16_and_dynamic_range():
    keras.utils.set_random_seed(1)
    cnn = small_cnn()
    images = np.random.default_rng(0).uniform(0, 1, (8, 16, 16, 3)).astype("float32")
    reference = cnn.predict(images, verbose=0)
    targets = {mode: path(f"cnn_{mode}.tflite") for mode in ("float32", "float16", "dynamic")}
    for mode, target in targets.items():
        export.export_tflite(cnn, target, mode=mode)
    fp16 = graph.summarize(targets["float16"])
    halves = [t for t in fp16.tensors if t.dtype == "float16"]
    assert len(halves) == fp16.op_counts["DEQUANTIZE"] >= 4  # weights stored in float16
    dynamic = graph.summarize(targets["dynamic"])
    kernels = [dynamic.tensors[op.inputs[1]] for op in dynamic.ops if op.name in ("CONV_2D", "FULLY_CONNECTED")]
    # int8 weights, float activations; the converter keeps tensors under 1024 values in float.
    assert [k.dtype for k in kernels] == ["float32", "int8", "int8", "int8"]
    for summary in (fp16, dynamic):
        assert summary.inputs[0].dtype == summary.outputs[0].dtype == "float32"
        assert graph.graph_problems(summary) == []
    for mode, tolerance in (("float32", 1e-6), ("float16", 1e-3), ("dynamic", 0.05)):
        assert np.abs(predict(targets[mode], images) - reference).max() < tolerance, mode
    sizes = {mode: os.path.getsize(target) for mode, target in targets.items()}
    assert sizes["float16"] < 0.7 * sizes["float32"] and sizes["dynamic"] < 0.5 * sizes["float32"]


# ------------------------------------------------------------- gpu_friendly


def textbook_shuffle_model():
    """A model with the textbook 5-D channel shuffle (the GPU delegate rejects it)."""
    image = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(8, 1)(image)
    x = keras.layers.Reshape((8, 8, 2, 4))(x)
    x = keras.layers.Permute((1, 2, 4, 3))(x)
    x = keras.layers.Reshape((8, 8, 8))(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(image, keras.layers.Dense(3)(x))


def test_gpu_friendly_identical_outputs_and_refuses_rank5():
    friendly = path("v2_gpu.tflite")
    export.export_tflite(model(), friendly, mode="float32", gpu_friendly=True)
    images = pixels(8)
    np.testing.assert_array_equal(predict(friendly, images), predict(float32_file(), images))
    assert graph.summarize(friendly).max_rank <= graph.GPU_MAX_RANK

    textbook = textbook_shuffle_model()
    plain = path("textbook.tflite")
    export.export_tflite(textbook, plain, mode="float32")
    assert graph.summarize(plain).max_rank == 5
    with pytest.raises(export.ExportError, match=r"gpu_friendly: tensor .* has rank 5 > 4 .*made by"):
        export.export_tflite(textbook, path("textbook_gpu.tflite"), mode="float32", gpu_friendly=True)
    assert not os.path.exists(path("textbook_gpu.tflite"))


# ----------------------------------------------------------------- program


def test_program_exports_int8_with_metadata_and_reports_the_graph():
    int8_path, stdout = int8_file()
    assert os.path.getsize(int8_path) > 100_000
    assert "clean graph" in stdout
    # Reads like a tool: the graph report and one note (the shared model records no
    # input contract), none of TensorFlow's own lines.
    assert "note: no input contract recorded with the model; using 32x32 RGB" in stdout
    # (TensorFlow's native start-up lines, oneDNN and the CUDA stub, print while it is
    # imported, before the program can redirect anything; they are not checked here.)
    for noise in ("Using new converter", "fingerprint", "Assets written", "fully_quantize"):
        assert noise not in stdout
    assert "XNNPACK: 1 partition(s)" in stdout and "left to LiteRT kernels: none" in stdout
    assert "uint8 [1, 32, 32, 3], scale 1 zero point 0" in stdout


def test_load_model_keras_file_and_weights_file():
    from export_models import keras_file

    loaded = export.load_model(keras_file())
    images = pixels(4)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model().predict(images, verbose=0), atol=1e-6)
    weights = path("digits_v2.weights.h5")
    model().save_weights(weights)
    rebuilt = export.load_model(weights, "v2_0.5", classes=10, image_size=SIZE, small_inputs=True)
    np.testing.assert_allclose(rebuilt.predict(images, verbose=0), model().predict(images, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="holds weights only: give the architecture"):
        export.load_model(weights)
    with pytest.raises(ValueError, match="does not exist"):
        export.load_model(path("missing.keras"))


# ------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(mode="int4"), r"mode must be one of \('float32', 'float16', 'dynamic', 'int8'\); got 'int4'"),
        (dict(mode="float32", io_dtype="uint8"), "io_dtype='uint8' needs mode='int8'"),
        (dict(io_dtype="int16"), "io_dtype must be one of"),
        (dict(num_calibration=0), "num_calibration must be a positive integer; got 0"),
        (dict(representative_images=None), "mode='int8' needs representative_images"),
        (dict(representative_images=np.zeros((0, SIZE, SIZE, 3))), "representative_images is empty"),
        (dict(representative_images=iter([])), "representative_images is empty"),
        (dict(representative_images=np.zeros((4, 16, 16, 3))),
         r"representative_images have shape \[4, 16, 16, 3\] but the model takes images \[32, 32, 3\]"),
        (dict(representative_images=[np.zeros((SIZE, SIZE))]), "representative_images have shape"),
        (dict(representative_images=np.full((2, SIZE, SIZE, 3), "x")), "must hold real numbers .* got dtype <U1"),
        (dict(representative_images=np.full((2, SIZE, SIZE, 3), np.nan)), "NaN or infinite"),
        (dict(representative_images=np.random.default_rng(0).uniform(0, 1, (4, SIZE, SIZE, 3))),
         r"lie in \[-1, 1\] \(max 1\) but the model takes raw pixels in \[0, 255\]"),
        (dict(representative_images=42), "must be an array .* or an iterable"),
        (dict(metadata={"labels": ["a"]}), "metadata must be a ClassifierMetadata"),
    ],
)
def test_bad_arguments_fail_fast_with_one_line(kwargs, message):
    target = path("bad.tflite")
    with pytest.raises(export.ExportError, match=message) as info:
        export.export_tflite(model(), target, **{"mode": "int8", **kwargs})
    assert "\n" not in str(info.value)
    assert not os.path.exists(target)


def test_uint8_needs_a_model_that_takes_pixels():
    normalized = build(include_preprocessing=False)
    with pytest.raises(export.ExportError, match="must take raw \\[0, 255\\] pixels: build it with include_preprocessing=True"):
        export.export_tflite(normalized, path("x.tflite"), representative_images=pixels(4), io_dtype="uint8")
    dynamic = keras.Input((None, None, 3))
    with pytest.raises(export.ExportError, match="is not a fixed image size; build the model with input_shape"):
        export.export_tflite(keras.Model(dynamic, keras.layers.Conv2D(2, 1)(dynamic)), path("x.tflite"), mode="float32")


def test_unwritable_output_paths(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for target, message in (
        (blocker / "model.tflite", "cannot write .*model.tflite: .*file is a file, not a folder"),
        (blocker / "sub" / "model.tflite", "cannot write .*model.tflite: .*file is a file, not a folder"),
        (tmp_path, "is a directory or empty"),
    ):
        with pytest.raises(export.ExportError, match=message):
            export.export_tflite(model(), target, mode="float32")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
    if os.path.isdir("/proc/self"):  # a folder that takes no new files: fails at the final write
        with pytest.raises(export.ExportError, match="cannot write /proc/model.tflite: "):
            export.export_tflite(small_cnn(), "/proc/model.tflite", mode="float32")


def small_model(op):
    image = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3)(image)
    x = keras.layers.Lambda(op)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(image, keras.layers.Dense(3)(x))


def test_ops_without_int8_kernel_or_outside_builtins_leave_the_old_file(tmp_path):
    target = tmp_path / "model.tflite"
    target.write_bytes(b"previous model")
    images = np.random.default_rng(0).uniform(0, 1, (4, 8, 8, 3))
    with pytest.raises(export.ExportError, match=r"mode='int8': op\(s\) SIN have no int8 kernel") as info:
        export.export_tflite(small_model(keras.ops.sin), target, representative_images=images)
    assert "\n" not in str(info.value)
    with pytest.raises(export.ExportError, match=r"not TFLite builtins \(Erfinv\)"):
        export.export_tflite(small_model(keras.ops.erfinv), target, mode="float32")
    assert target.read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tflite"]


def test_graph_program(capsys):
    assert graph.main([float32_file()]) == 0
    out = capsys.readouterr().out
    assert "clean graph" in out and "input 'serving_default_image:0': float32 [1, 32, 32, 3]" in out
    assert "metadata: " in out and "TFLITE_METADATA" in out
    assert graph.main([path("missing.tflite")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert graph.main([]) == 2
