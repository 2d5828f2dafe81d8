"""int8 activation ranges: the least-error ("mse") range clips a heavy tail and
keeps a bounded distribution whole; exported through the converter's own
quantizer it stores that range as the tensor's scale; "minmax" is the converter's own result.
(What it does to accuracy on real images is measured in the README: ShuffleNet V1
on CIFAR-10.)"""

import keras
import numpy as np
import pytest
from export_models import path

from keras_shufflenet.tflite import export, ranges
from keras_shufflenet.tflite.device import graph


def quantization_mse(values, low, high):
    step = (high - low) / 255
    quantized = np.clip(np.round((values - low) / step), 0, 255) * step + low
    return float(np.mean((values - quantized) ** 2))


def least_error_range(values):
    low, high = min(values.min(), 0.0), max(values.max(), 0.0)
    histograms = ranges.Histograms({"t": (low, high)})
    histograms.add("t", values)
    return histograms.ranges("mse")["t"], (low, high)


def test_heavy_tail_is_clipped_and_the_error_falls():
    rng = np.random.default_rng(0)
    # Student's t with 3 degrees of freedom: the peak of 200,000 values is 57 standard deviations.
    values = np.abs(rng.standard_t(3, 200_000)).astype(np.float32)
    (low, high), (_, peak) = least_error_range(values)
    assert low == 0.0 and high < 0.9 * peak
    assert quantization_mse(values, low, high) < 0.85 * quantization_mse(values, 0.0, peak)


def test_bounded_distribution_keeps_its_range():
    values = np.random.default_rng(1).uniform(-3.0, 5.0, 100_000).astype(np.float32)
    (low, high), (min_, max_) = least_error_range(values)
    assert (low, high) == pytest.approx((min_, max_), rel=0.02)
    assert ranges.Histograms({"t": (min_, max_)}).ranges("minmax")["t"] == (min_, max_)


def test_nearly_constant_tensor_keeps_its_range():
    low, high = 5.0, float(np.nextafter(np.float32(5.0), np.float32(6.0)) * np.float32(1.0000005))
    histograms = ranges.Histograms({"t": (low, high)})
    histograms.add("t", np.full(1000, low, np.float32))
    (clipped_low, clipped_high), = histograms.ranges("mse").values()
    assert clipped_low == 0.0 and clipped_high > 0.0


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="must be one of"):
        ranges.check_method("percentile")
    with pytest.raises(export.ExportError, match="int8_ranges must be one of"):
        export.export_tflite(keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 1)]),
                             path("x.tflite"), representative_images=np.zeros((1, 4, 4, 3)), int8_ranges="max")


def spiky_network():
    """Conv -> ReLU whose output is small except at rare spikes of the input."""
    keras.utils.set_random_seed(3)
    image = keras.Input((16, 16, 3), batch_size=1)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv_relu")(image)
    x = keras.layers.Conv2D(16, 1, activation="relu", name="pointwise_relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(image, keras.layers.Dense(10)(x))


def spiky_images(n, seed):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 1, (n, 16, 16, 3)).astype(np.float32)
    spikes = rng.random(images.shape) < 2e-4
    return np.where(spikes, 80.0, images).astype(np.float32)


def test_export_stores_the_least_error_range_of_each_activation():
    """The int8 scale of each hidden ReLU output is its "mse" range over the
    calibration images, as `Histograms` computes it from the Keras model's own
    activations; "minmax" keeps the converter's min/max."""
    model = spiky_network()
    calibration = spiky_images(100, 0)
    hidden = ["conv_relu", "pointwise_relu"]
    probe = keras.Model(model.inputs, [model.get_layer(name).output for name in hidden])
    activations = dict(zip(hidden, probe.predict(calibration, batch_size=1, verbose=0)))
    histograms = ranges.Histograms({name: (0.0, float(a.max())) for name, a in activations.items()})
    for name, a in activations.items():
        histograms.add(name, a)
    expected = {method: histograms.ranges(method) for method in ranges.METHODS}
    for method in ranges.METHODS:
        target = path(f"ranges_{method}.tflite")
        export.write_atomically(target, export.convert(model, mode="int8", calibration=calibration, int8_ranges=method))
        summary = graph.summarize(target)
        for name in hidden:
            (tensor,) = [t for t in summary.tensors if f"/{name}_1/Relu" in t.name and t.dtype == "int8"]
            low, high = expected[method][name]
            assert low == 0.0 and tensor.zero_points == (-128,)
            assert tensor.scales[0] == pytest.approx(high / 255, rel=1e-3), (method, name)
        if method == "mse":
            narrowed = [expected["mse"][n][1] / expected["minmax"][n][1] for n in hidden]
            assert max(narrowed) < 0.97, narrowed  # the spikes are clipped
