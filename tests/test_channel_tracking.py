"""The exact ShuffleNet V2 export graph (`keras_shufflenet.tflite.channel_tracking`):
same outputs as the layer-by-layer export, at every width and in every mode,
with no TRANSPOSE, one XNNPACK partition and a GPU-compatible graph."""

import functools

import keras
import numpy as np
import pytest
from export_models import calibrate_batchnorm, path

import keras_shufflenet
from keras_shufflenet import finetune
from keras_shufflenet.tflite import channel_tracking, export, ranges
from keras_shufflenet.tflite.device import graph, runtime

SIZE = 64  # the standard stem at a small size: every stride-2 unit and the max pool stay
WIDTHS = (0.5, 1.0, 1.5, 2.0)


@functools.lru_cache(maxsize=None)
def images(split="test", count=24):
    """Real images (scikit-learn's digits at 64x64), pixels in [0, 255]."""
    from keras_shufflenet.pipelines.data import build_dataset

    dataset, _ = build_dataset(
        "digits", split, training=False, image_size=SIZE, batch_size=count, limit=count, cache=False
    )
    return next(iter(dataset))[0].numpy()


LOGIT_RANGE = 3.0


@functools.lru_cache(maxsize=None)
def v2(width, include_preprocessing=False, seed=0):
    """A ShuffleNet V2 with random weights and BatchNorm statistics of real images,
    scales and shifts perturbed so that no BatchNorm is close to the identity, and
    the classifier scaled so the logits span about +-LOGIT_RANGE."""
    keras.utils.set_random_seed(seed)
    model = keras_shufflenet.ShuffleNetV2(
        width, input_shape=(SIZE, SIZE, 3), classes=10, classifier_activation=None,
        include_preprocessing=include_preprocessing,
    )
    pixels = images("train", 32)
    inputs = pixels if include_preprocessing else keras_shufflenet.preprocess_input(pixels)
    calibrate_batchnorm(model, inputs)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([gamma * rng.uniform(0.7, 1.3, gamma.shape), beta + rng.normal(0, 0.1, beta.shape),
                               mean, variance])
    fc = model.get_layer("fc")
    kernel, bias = fc.get_weights()
    scale = LOGIT_RANGE / np.abs(model.predict(inputs, verbose=0)).max()
    fc.set_weights([kernel * scale, bias * scale])
    return model


@functools.lru_cache(maxsize=None)
def exported(width, mode, optimize_graph=True, include_preprocessing=False, io_dtype="float32",
             int8_ranges=ranges.DEFAULT_METHOD):
    """The path of `v2(width, include_preprocessing)` exported in `mode`."""
    kwargs = {}
    if mode == "int8":
        calibration = images("train", 16)
        kwargs = dict(io_dtype=io_dtype, int8_ranges=int8_ranges, representative_images=(
            calibration if include_preprocessing else keras_shufflenet.preprocess_input(calibration)))
    target = path(f"v2_{width}_{mode}_{io_dtype}_{'pre' if include_preprocessing else 'bare'}"
                  f"_{'fast' if optimize_graph else 'plain'}_{int8_ranges}.tflite")
    export.export_tflite(v2(width, include_preprocessing), target, mode=mode, optimize_graph=optimize_graph, **kwargs)
    return target


def outputs(path_, inputs, use_xnnpack=True):
    interpreter = runtime.make_interpreter(path_, 1, use_xnnpack)
    interpreter.allocate_tensors()
    (image,), (result,) = interpreter.get_input_details(), interpreter.get_output_details()
    rows = []
    for x in inputs:
        interpreter.set_tensor(image["index"], x[None].astype(image["dtype"]))
        interpreter.invoke()
        rows.append(interpreter.get_tensor(result["index"])[0].astype(np.float32))
    scale, zero_point = result["quantization"]
    return (np.array(rows) - zero_point) * scale if scale else np.array(rows)


def assert_int8_agrees(plain, fast, inputs):
    """Logits within one quantization step, or within what running the
    layer-by-layer graph on LiteRT's reference kernels instead of XNNPACK moves
    them (these random networks amplify 8-bit rounding layer after layer), and
    the same top-1 but where that rounding can flip close logits."""
    expected, got = outputs(plain, inputs), outputs(fast, inputs)
    reference = outputs(plain, inputs, use_xnnpack=False)
    noise = np.abs(reference - expected).max()
    assert np.abs(got - expected).max() <= max(logit_step(fast), noise) * 1.001
    agreement = np.mean(got.argmax(1) == expected.argmax(1))
    kernel_agreement = np.mean(reference.argmax(1) == expected.argmax(1))
    print(f"top-1 agreement: rewrite {agreement:.3f}, reference kernels {kernel_agreement:.3f}")
    assert agreement >= min(0.9, kernel_agreement), (agreement, kernel_agreement)


def int8_quantizations(path_, image=True):
    """The (scale, zero point) pairs of a graph's per-tensor int8 activations
    (without `image`: but those of 3-channel image tensors before conv1)."""
    return {(t.scales[0], t.zero_points[0]) for t in graph.summarize(path_).tensors
            if t.dtype == "int8" and len(t.scales) == 1 and (image or t.shape[-1] != 3)}


def assert_same_quantizations(a, b):
    """Each pair in one set has one in the other with its zero point and its scale
    to 1e-5 (float rounding moves the 7th digit between two graphs)."""
    for one, other in ((a, b), (b, a)):
        for scale, zero_point in one:
            assert any(z == zero_point and abs(s - scale) <= 1e-5 * scale for s, z in other), (scale, zero_point)


def logit_step(path_):
    """One quantization step of an int8 graph's logits: the scale of the tensor its
    final DEQUANTIZE (float output) reads, or of its integer output."""
    summary = graph.summarize(path_)
    if summary.outputs[0].scales:
        return summary.outputs[0].scales[0]
    dequantize = [op for op in summary.ops if op.name == "DEQUANTIZE"][-1]
    return summary.tensors[dequantize.inputs[0]].scales[0]


def subtracted_shapes(summary):
    """The shapes of the constants the graph's SUB ops subtract."""
    return [summary.tensors[op.inputs[1]].shape for op in summary.ops if op.name == "SUB"]


def assert_fast_graph(path_):
    summary = graph.summarize(path_)
    assert "TRANSPOSE" not in summary.op_counts and "RESHAPE" not in summary.op_counts, summary.op_counts
    assert graph.graph_problems(summary, max_rank=graph.GPU_MAX_RANK) == []
    assert export.gpu_compatibility_problems(path_) == []
    report = graph.xnnpack_report(path_)
    assert report.whole_graph, str(report)
    return summary


@pytest.mark.parametrize("width", WIDTHS)
def test_float32_export_is_exact_without_transposes(width):
    plain, fast = exported(width, "float32", optimize_graph=False), exported(width, "float32")
    assert graph.summarize(plain).op_counts["TRANSPOSE"] == 16
    summary = assert_fast_graph(fast)
    assert summary.op_counts["CONV_2D"] == graph.summarize(plain).op_counts["CONV_2D"]
    inputs = keras_shufflenet.preprocess_input(images())
    expected = outputs(plain, inputs)
    assert np.abs(expected).max() > 1.0  # logits with something to lose
    # Only the order of float32 sums changes: logits agree to 1e-5 of their range.
    np.testing.assert_allclose(outputs(fast, inputs), expected, rtol=0, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize("width", [0.5, 1.0])  # the same rewrite as float32's; CI time
def test_int8_export_matches_the_layer_by_layer_int8(width):
    plain, fast = exported(width, "int8", optimize_graph=False), exported(width, "int8")
    summary = assert_fast_graph(fast)
    assert_int8_agrees(plain, fast, keras_shufflenet.preprocess_input(images()))
    # The same int8 scales (the least-error ranges see the same values in both graphs);
    # the requantizations the converter puts between pieces of different scales are gone.
    assert_same_quantizations(int8_quantizations(fast), int8_quantizations(plain))
    assert summary.op_counts["QUANTIZE"] == 1


def test_shipped_uint8_form_matches_the_layer_by_layer_one():
    """The layer-by-layer graph rounds the normalized image to int8 before conv1,
    which the rewrite folds the normalization into. With min/max ranges that
    rounding stays within the bound of `assert_int8_agrees`; the least-error
    ranges clip the body's tensors, and that random network amplifies the
    difference past it. So the logits are compared with min/max ranges, and the
    default ranges are checked to give both graphs the same int8 quantization
    for every tensor after the image's preparation."""
    plain = exported(0.5, "int8", False, include_preprocessing=True, io_dtype="uint8", int8_ranges="minmax")
    fast = exported(0.5, "int8", include_preprocessing=True, io_dtype="uint8", int8_ranges="minmax")
    assert graph.summarize(fast).inputs[0].dtype == "uint8"
    assert_fast_graph(fast)
    assert_int8_agrees(plain, fast, np.round(images()).astype(np.uint8))
    plain_default = exported(0.5, "int8", False, include_preprocessing=True, io_dtype="uint8")
    fast_default = exported(0.5, "int8", include_preprocessing=True, io_dtype="uint8")
    assert_same_quantizations(
        int8_quantizations(fast_default, image=False), int8_quantizations(plain_default, image=False)
    )
    # The normalization's division is folded into conv1: only its subtraction is left,
    # with a mean per column, so XNNPACK subtracts whole rows (not 3 values at a time).
    summary = graph.summarize(fast)
    assert "MUL" not in summary.op_counts and "MUL" in graph.summarize(plain).op_counts
    assert subtracted_shapes(summary) == [(1, 1, SIZE, 3)]


@pytest.mark.parametrize("mode", ["float16", "dynamic"])
def test_float16_and_dynamic_exports_are_rewritten_too(mode):
    fast = exported(0.5, mode)
    assert_fast_graph(fast)
    inputs = keras_shufflenet.preprocess_input(images())
    # Against the layer-by-layer export in the same mode: both quantize their weights
    # (dynamic: also their activations), so only the rewrite's difference is measured.
    expected = outputs(exported(0.5, mode, optimize_graph=False), inputs)
    got = outputs(fast, inputs)
    assert np.abs(got - expected).max() <= 0.05 * LOGIT_RANGE
    assert np.mean(got.argmax(1) == expected.argmax(1)) >= 0.9


def test_fine_tuned_model_with_preprocessing_and_softmax_is_exact():
    model = finetune.finetune_model(v2(0.5, include_preprocessing=True), 4, dropout=0.2)
    fast = path("v2_finetuned.tflite")
    export.export_tflite(model, fast, mode="float32")
    assert subtracted_shapes(assert_fast_graph(fast)) == [(1, 1, SIZE, 3)]
    # 1/std folded into conv1 reorders float32 rounding: probabilities agree to 2e-5
    # (measured 1.04e-5 at most on this test's images).
    np.testing.assert_allclose(outputs(fast, images()), model.predict(images(), verbose=0), rtol=0, atol=2e-5)


def test_only_shufflenet_v2_is_rewritten():
    v1 = keras_shufflenet.ShuffleNetV1(0.5, groups=3, input_shape=(SIZE, SIZE, 3), classes=10)
    assert not channel_tracking.applies_to(v1)
    assert channel_tracking.shuffle_free(v1, (SIZE, SIZE, 3)) == (v1, [])
    image = keras.Input((8, 8, 4))
    plain = keras.Model(image, keras.layers.Conv2D(4, 1)(image))
    assert not channel_tracking.applies_to(plain)
    assert channel_tracking.applies_to(v2(0.5))


def test_rewritten_keras_model_computes_the_same_function():
    model = v2(0.5)
    rewritten, changes = channel_tracking.shuffle_free(model, (SIZE, SIZE, 3))
    assert changes and changes[0].startswith("16 channel shuffles folded")
    assert rewritten.inputs[0].shape == (1, SIZE, SIZE, 3)
    x = keras_shufflenet.preprocess_input(images()[:2])
    np.testing.assert_allclose(rewritten.predict(x, batch_size=1, verbose=0), model.predict(x, verbose=0),
                               rtol=0, atol=1e-5)
