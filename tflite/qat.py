"""Quantization-aware training (QAT): int8 that keeps the float model's accuracy.

    from keras_shufflenet.tflite import qat
    aware = qat.quantization_aware(model)          # a trained Keras 3 ShuffleNet
    qat.compile_for_training(aware, recipes.get("qat"), steps_per_epoch, classes)
    aware.model.fit(train_ds, epochs=2)            # the pipeline's tf.data batches
    qat.export_int8(aware, "model_qat_int8.tflite", io_dtype="uint8", metadata=...)

or `python -m keras_shufflenet.pipelines.train --qat=runs/cifar10 --recipe=qat ...`.

How: the model's int8 body (`export.int8_body`: the network without its final
softmax, rewritten for XNNPACK as post-training int8 rewrites it) is
translated to tf_keras (`tf_keras_bridge`, the one definition of the network
stays the Keras 3 one), and tensorflow-model-optimization's default 8-bit
scheme inserts the fake quantization TFLite's int8 kernels will do: per-channel
weights for (depthwise) convolutions, one range after each Conv -> BatchNorm
(-> ReLU), after additions, pooling and the classifier, and one shared range
after each concatenation. Channel shuffle and split only move channels, so
`PermutationQuantizeConfig` gives them no quantizer of their own, like tfmot's
Reshape and Permute. The activation ranges are post-training int8's
least-error ranges (`keras_shufflenet.tflite.ranges`), kept while the weights
train. The fine-tuned model is converted without calibration (the ranges are
the fake-quant ops') and finished by `export.export_tflite`: the
same uint8/int8 boundary, float softmax, metadata, single-XNNPACK-partition
graph and checks as post-training int8.
"""

import dataclasses
import functools
import os

import keras
import numpy as np

from keras_shufflenet import layers as shufflenet_layers
from keras_shufflenet.preprocessing import takes_raw_pixels
from keras_shufflenet.pipelines import schedules
from keras_shufflenet.pipelines.run_dir import RunDir
from keras_shufflenet.tflite import export
from keras_shufflenet.tflite import metadata as metadata_lib
from keras_shufflenet.tflite import ranges as int8_ranges_lib

try:
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    import tf_keras

    from keras_shufflenet.tflite import tf_keras_bridge
    # Not in tfmot's public API; the layer quantizing the model's input.
    from tensorflow_model_optimization.python.core.quantization.keras.quantize_layer import QuantizeLayer
except ImportError as error:  # optional: only quantization-aware training needs them
    tfmot = tf_keras = tf_keras_bridge = None
    _IMPORT_ERROR = error
else:
    _IMPORT_ERROR = None

# What makes a model one of ours: every ShuffleNet keras_shufflenet builds has some.
SHUFFLENET_LAYERS = (
    shufflenet_layers.ChannelShuffle,
    shufflenet_layers.ChannelSplit,
    shufflenet_layers.GroupedPointwiseConv2D,
)


class QatError(ValueError):
    """The model cannot be trained quantization-aware; the message says why."""


def require_tfmot():
    """Raises ImportError, saying what to install, when tfmot or tf_keras is missing."""
    if _IMPORT_ERROR is not None:
        raise ImportError(
            "quantization-aware training needs tensorflow-model-optimization and tf_keras "
            f"(pip install tensorflow-model-optimization tf_keras); {_IMPORT_ERROR}"
        ) from _IMPORT_ERROR


if tfmot is not None:

    class PermutationQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
        """No quantizers: the layer only moves int8 values (channel shuffle, split),
        so its outputs keep the quantization of its input, as Reshape's do."""

        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return []

        def get_config(self):
            return {}

    class _Schedule(tf_keras.optimizers.schedules.LearningRateSchedule):
        """A Keras 3 learning-rate schedule (`pipelines.schedules.WarmupDecay`) for a tf_keras optimizer."""

        def __init__(self, schedule):
            self.schedule = schedule

        def __call__(self, step):
            return tf.convert_to_tensor(self.schedule(step))

        def get_config(self):
            return self.schedule.get_config()

    class _QuantizeScheme(tfmot.quantization.keras.default_8bit.Default8BitQuantizeScheme):
        """tfmot's default 8-bit scheme, with the bridge's `Conv2D` quantized as tf_keras' is."""

        def get_quantize_registry(self):
            registry = super().get_quantize_registry()
            # The registry looks layers up by exact class (a private map).
            registry._layer_quantize_map[tf_keras_bridge.Conv2D] = registry._layer_quantize_map[
                tf_keras.layers.Conv2D
            ]
            return registry

    class FrozenQuantizeWrapper(tfmot.quantization.keras.QuantizeWrapperV2):
        """A quantized layer whose weights are constants (the wrapped layer is not
        trainable): tfmot's wrapper trains every weight it quantizes; this one
        trains none, and keeps each weight once in its `weights` (so checkpoints
        save and load them as any other)."""

        @property
        def trainable_weights(self):
            return []

        @property
        def non_trainable_weights(self):
            return self._dedup_weights(self.layer.weights + self._trainable_weights + self._non_trainable_weights)

    class _FixedRange:
        """A tfmot activation quantizer that keeps the range it was given: training
        fake-quantizes with it, as inference does, instead of moving it to the
        batches' min and max (PyTorch's `disable_observer`)."""

        def __call__(self, inputs, training, weights, **kwargs):
            return super().__call__(inputs, False, weights, **kwargs)

    class FixedMovingAverageQuantizer(_FixedRange, tfmot.quantization.keras.quantizers.MovingAverageQuantizer):
        pass

    class FixedAllValuesQuantizer(_FixedRange, tfmot.quantization.keras.quantizers.AllValuesQuantizer):
        pass

    _FIXED_QUANTIZERS = {
        tfmot.quantization.keras.quantizers.MovingAverageQuantizer: FixedMovingAverageQuantizer,
        tfmot.quantization.keras.quantizers.AllValuesQuantizer: FixedAllValuesQuantizer,
    }

    CUSTOM_OBJECTS = {
        "Conv2D": tf_keras_bridge.Conv2D,
        "Keras3Computation": tf_keras_bridge.Keras3Computation,
        "PermutationQuantizeConfig": PermutationQuantizeConfig,
    }


@dataclasses.dataclass
class QuantizationAware:
    """A Keras 3 model's quantization-aware twin.

    Attributes:
        source: the Keras 3 model it was made from; its input (raw pixels or
            normalized) and head (softmax or not) decide the export, as for
            post-training int8.
        model: the tf_keras model with fake quantization, computing the int8
            body: logits where `source` ends in a softmax.
        softmax: whether `source` ends in a softmax (applied after the body).
    """

    source: object
    model: object
    softmax: bool

    @property
    def input_shape(self):
        return export.static_input_shape(self.source)


def check_shufflenet(model):
    """Raises `QatError` unless `model` is a functional ShuffleNet of this project's layers."""
    try:
        tf_keras_bridge.check_translatable(model)
    except tf_keras_bridge.BridgeError as error:
        raise QatError(f"cannot train quantization-aware: {error}") from error
    if not any(isinstance(layer, SHUFFLENET_LAYERS) for layer in model.layers):
        raise QatError(
            f"{model.name} is not a ShuffleNet built by keras_shufflenet (no ChannelShuffle, "
            "ChannelSplit or GroupedPointwiseConv2D layer); quantization-aware training here takes "
            "keras_shufflenet.ShuffleNetV1/V2 models, e.g. a training run's model.keras"
        )
    export.static_input_shape(model)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if norms and all(_statistics_at_initial_values(layer) for layer in norms):
        raise QatError(
            f"{model.name} looks untrained: every BatchNormalization still has its initial statistics "
            "(mean 0, variance 1). Quantization-aware training fine-tunes a trained model (its ranges "
            "are calibrated on the trained activations); train it first, e.g. with "
            "`python -m keras_shufflenet.pipelines.train`"
        )


def _statistics_at_initial_values(layer):
    mean, variance = (keras.ops.convert_to_numpy(v) for v in (layer.moving_mean, layer.moving_variance))
    return not mean.any() and bool((variance == 1).all())


def _annotate(layer):
    if isinstance(layer, tf_keras_bridge.Keras3Computation):
        return tfmot.quantization.keras.quantize_annotate_layer(layer, PermutationQuantizeConfig())
    return tfmot.quantization.keras.quantize_annotate_layer(layer)


def quantization_aware(model, representative_images, num_calibration=export.DEFAULT_NUM_CALIBRATION,
                       int8_ranges=int8_ranges_lib.DEFAULT_METHOD):
    """The quantization-aware tf_keras twin of a Keras 3 ShuffleNet, float weights copied.

    The fake-quant ranges start where post-training int8 would put them, on
    `representative_images`, not at tfmot's default [-6, 6], which its moving
    averages (decay 0.999) would take thousands of steps to leave. With
    `int8_ranges="mse"` they are each tensor's least-error range (see
    `keras_shufflenet.tflite.ranges`) and stay there while training, so the
    weights learn to live with the clipping; with "minmax" they start at the
    min/max and follow tfmot's moving averages of the batches' min and max.

    Args:
        model: a trained functional `keras_shufflenet.ShuffleNetV1` or `V2`
            (any width and groups) with a fixed input size, e.g. a training
            run's `model.keras`.
        representative_images: images in the range the model takes, as for
            `export.export_tflite` (an array, or batches / `(images, labels)`
            pairs such as the training dataset).
        num_calibration: how many of them to read.
        int8_ranges: "mse" or "minmax", as for `export.export_tflite`.

    Returns:
        A `QuantizationAware`; train `.model` with `compile_for_training`.

    Raises:
        QatError for models that are not this project's functional ShuffleNets
        (subclassed, Lambda layers, other layers), ImportError without tfmot.
    """
    require_tfmot()
    int8_ranges_lib.check_method(int8_ranges)
    check_shufflenet(model)
    calibration = export.calibration_images(representative_images, export.static_input_shape(model), num_calibration)
    body, softmax = export.int8_body(model, calibration)
    legacy = tf_keras_bridge.translate(body, affine_inputs=True)
    with tfmot.quantization.keras.quantize_scope(CUSTOM_OBJECTS):
        annotated = tf_keras.models.clone_model(legacy, clone_function=lambda layer: _annotate(
            layer.__class__.from_config(layer.get_config())
        ))
    annotated.set_weights(legacy.get_weights())
    with tfmot.quantization.keras.quantize_scope(CUSTOM_OBJECTS):
        aware = tfmot.quantization.keras.quantize_apply(annotated, scheme=_QuantizeScheme())
    frozen = {layer.name for layer in legacy.layers if not layer.trainable}
    for layer in aware.layers:
        # quantize_apply makes every quantized weight trainable; the frozen ones (the input
        # normalization, V1's pool as a depthwise convolution) must stay as they are.
        if isinstance(layer, tfmot.quantization.keras.QuantizeWrapperV2) and layer.layer.name in frozen:
            layer.__class__ = FrozenQuantizeWrapper
    _initialize_ranges(aware, legacy, calibration, int8_ranges)
    if int8_ranges == "mse":
        for _, quantizer, _ in _activation_quantizers(aware):
            quantizer.__class__ = _FIXED_QUANTIZERS[type(quantizer)]
    return QuantizationAware(source=model, model=aware, softmax=softmax)


def _activation_quantizers(aware):
    """`[(name of the float layer whose output is quantized, quantizer, its variables)]`
    for every activation quantizer of the quantization-aware model (None: its input)."""
    found = []
    for layer in aware.layers:
        if isinstance(layer, QuantizeLayer):
            found.append((None, layer.quantizer, layer.quantizer_vars))
        if not isinstance(layer, tfmot.quantization.keras.QuantizeWrapperV2):
            continue
        if layer._output_quantizers:
            found.append((layer.layer.name, layer._output_quantizers[0], layer._output_quantizer_vars))
        for activation in layer._quantize_activations:
            if activation._should_post_quantize():
                found.append((layer.layer.name, activation.quantizer, activation._post_activation_vars))
    return found


def _initialize_ranges(aware, legacy, calibration, int8_ranges, batch_size=32):
    """Sets the weight ranges from the weights and each activation range to that
    tensor's range by `int8_ranges` (0 included) in the float model over `calibration`."""
    for layer in aware.layers:
        for weight, quantizer, variables in getattr(layer, "_weight_vars", []):
            quantizer(weight, True, weights=variables)  # the last-value quantizer records the range
    targets = _activation_quantizers(aware)
    names = sorted({name for name, _, _ in targets if name is not None})
    probe = tf_keras.Model(legacy.inputs, [legacy.get_layer(n).output for n in names])

    def tensors():
        for start in range(0, len(calibration), batch_size):
            images = calibration[start : start + batch_size]
            outputs = probe(images, training=False)
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            yield from zip(names + [None], [np.asarray(t) for t in outputs] + [images])

    bounds = {name: [0.0, 0.0] for name in names + [None]}
    for name, tensor in tensors():
        bounds[name] = [min(bounds[name][0], float(tensor.min())), max(bounds[name][1], float(tensor.max()))]
    histograms = int8_ranges_lib.Histograms(bounds)
    if int8_ranges != "minmax":
        for name, tensor in tensors():
            histograms.add(name, tensor)
    chosen = histograms.ranges(int8_ranges)
    for name, _, variables in targets:
        low, high = chosen[name]
        variables["min_var"].assign(tf.fill(variables["min_var"].shape, low))
        variables["max_var"].assign(tf.fill(variables["max_var"].shape, high))


def compile_for_training(aware, recipe, steps_per_epoch, num_classes, run_eagerly=False):
    """Compiles `aware.model` as the training program compiles float models:
    `recipe`'s SGD and schedule (`pipelines.schedules`), label-smoothed cross
    entropy (the body gives logits), top-1 and top-5 accuracy; L2 weight decay on kernels."""
    model = aware.model
    if recipe.weight_decay:
        kernels = [v for v in model.trainable_weights if len(v.shape) > 1]
        scale = recipe.weight_decay / 2.0
        model.add_loss(lambda: scale * tf.add_n([tf.reduce_sum(tf.square(k)) for k in kernels]))
    optimizer = tf_keras.optimizers.SGD(
        learning_rate=_Schedule(schedules.make_schedule(recipe, steps_per_epoch, recipe.batch_size)),
        momentum=recipe.momentum, nesterov=recipe.nesterov,
    )
    model.compile(
        optimizer=optimizer,
        loss=tf_keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=recipe.label_smoothing
        ),
        metrics=[
            tf_keras.metrics.CategoricalAccuracy(name="accuracy"),
            tf_keras.metrics.TopKCategoricalAccuracy(k=min(5, num_classes), name="top5"),
        ],
        run_eagerly=run_eagerly,
    )
    return model


def predict(aware, images, batch_size=64):
    """Scores of the quantization-aware model (fake-quantized float), softmax applied
    where the source model has one: what its int8 export should reproduce."""
    outputs = aware.model.predict(np.asarray(images, np.float32), batch_size=batch_size, verbose=0)
    return tf.nn.softmax(outputs).numpy() if aware.softmax else outputs


def int8_tflite_body(aware, input_shape):
    """`.tflite` bytes of the int8 body, converted with the trained ranges (float I/O)."""
    image = tf_keras.Input(input_shape, batch_size=1, name="image")
    batch_one = tf_keras.Model(image, aware.model(image, training=False), name=aware.source.name)
    return export.convert(batch_one, mode="int8", calibration=None)


def export_int8(aware, path, *, io_dtype="float32", metadata=None, gpu_friendly=False):
    """Writes the full-integer `.tflite` of a quantization-aware trained model.

    The same code as post-training int8 (`export.export_tflite(mode="int8")`),
    with the trained fake-quant ranges instead of calibration: `io_dtype`
    "float32", "int8" or "uint8" (camera pixels), float softmax, `metadata`,
    one XNNPACK partition, the same graph checks. Returns `path`.
    """
    return export.export_tflite(
        aware.source, path, mode="int8", io_dtype=io_dtype, metadata=metadata,
        gpu_friendly=gpu_friendly, int8_converter=functools.partial(int8_tflite_body, aware),
    )


# ---------------------------------------------------------------- training program


INT8_FILE = "model_qat_int8.tflite"


def load_trained(source, *, arch=None, classes=None, image_size=None, small_inputs=False):
    """The trained Keras 3 model QAT starts from: a training run's directory (its
    `model.keras`), a `.keras` file, or a `.weights.h5` file of `arch`."""
    source = os.fspath(source)
    if os.path.isdir(source):
        candidate = RunDir(source).model
        if not os.path.isfile(candidate):
            raise QatError(f"{source} holds no model.keras: give a finished training run's directory or a model file")
        source = candidate
    return export.load_model(source, arch, classes=classes, image_size=image_size, small_inputs=small_inputs)


def start_training(source, recipe, train_dataset, num_classes, steps_per_epoch, run_eagerly=False):
    """The program's `--qat` model step: loads the trained model at `source`,
    checks it fits the data, builds its quantization-aware twin with ranges
    calibrated on `train_dataset` and compiles it for `recipe`."""
    model = load_trained(
        source, arch=recipe.model, classes=num_classes, image_size=recipe.image_size,
        small_inputs=recipe.small_inputs,
    )
    height, width, _ = export.static_input_shape(model)
    if (height, width) != (recipe.image_size, recipe.image_size):
        raise QatError(
            f"{source} takes {height}x{width} images but the recipe feeds {recipe.image_size}x"
            f"{recipe.image_size}: pass --image_size={height}"
        )
    if model.output_shape[-1] != num_classes:
        raise QatError(f"{source} has {model.output_shape[-1]} classes; the data has {num_classes}")
    aware = quantization_aware(model, train_dataset)
    compile_for_training(aware, recipe, steps_per_epoch, num_classes, run_eagerly)
    return aware


def save_int8(aware, model_dir, class_names):
    """Writes the run's int8 `.tflite` (uint8 camera pixels in, uint8 scores out,
    labels in its metadata) and returns its path."""
    info = metadata_lib.ClassifierMetadata(labels=tuple(class_names), name=f"{aware.source.name}_qat")
    return export_int8(aware, os.path.join(model_dir, INT8_FILE), io_dtype=_camera_io(aware), metadata=info)


def _camera_io(aware):
    return "uint8" if takes_raw_pixels(aware.source) else "float32"


if tfmot is not None:

    class KerasCallbacks(tf_keras.callbacks.Callback):
        """The training program's Keras 3 callbacks (checkpoints, history, NaN guard)
        run by a tf_keras `fit`; Keras 3's TensorBoard becomes tf_keras'."""

        def __init__(self, callbacks):
            super().__init__()
            self.callbacks = [cb for cb in callbacks if not isinstance(cb, keras.callbacks.TensorBoard)]
            self.boards = [
                tf_keras.callbacks.TensorBoard(cb.log_dir, update_freq=cb.update_freq)
                for cb in callbacks if isinstance(cb, keras.callbacks.TensorBoard)
            ]

        def set_model(self, model):
            super().set_model(model)
            for cb in self.callbacks:
                cb.set_model(model)

        def set_params(self, params):
            super().set_params(params)
            for cb in self.callbacks:
                cb.set_params(params)

    def _forward(name):
        def hook(self, *args, **kwargs):
            for cb in self.callbacks:
                getattr(cb, name)(*args, **kwargs)

        hook.__name__ = name
        return hook

    for _hook in (
        "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
        "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
    ):
        setattr(KerasCallbacks, _hook, _forward(_hook))

    def tf_keras_callbacks(callbacks):
        """`callbacks` (Keras 3) as a list a tf_keras `fit` takes."""
        adapter = KerasCallbacks(callbacks)
        return [adapter, *adapter.boards]
