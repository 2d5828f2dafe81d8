"""A Keras 3 ShuffleNet as a tf_keras model with the same weights and outputs.

    from keras_shufflenet.tflite import tf_keras_bridge
    legacy = tf_keras_bridge.translate(model)      # a tf_keras functional model
    tf_keras_bridge.copy_weights(legacy, model)    # back again, after training

Why a translation: tensorflow-model-optimization (tfmot), the library that
builds quantization-aware models, accepts only tf_keras models (Keras 2), and
this project's networks are Keras 3. Writing the networks a second time in
tf_keras would leave two definitions to keep equal; parameterising the
builders by a layers module would still need tf_keras twins of our custom
layers and would not cover models a user has already rewired. Instead the
functional graph of any Keras 3 model this project builds is walked node by
node and each layer is replaced by its tf_keras equivalent, configured from
the Keras 3 layer's own attributes, weights copied. The network stays defined
once (`keras_shufflenet.ShuffleNetV1/V2`, and whatever `tflite.export` does
to them before conversion), and the translation is checked by comparing
outputs (`tests/test_qat.py`: at most 1e-5 apart for V1 and V2).

What each layer becomes:

* stock layers (Conv2D, DepthwiseConv2D, BatchNormalization, ReLU, Dense,
  padding, pooling, Concatenate, Add): the same tf_keras layer, so tfmot's
  default 8-bit scheme recognises its patterns (Conv -> BatchNorm -> ReLU);
* `PointwiseConv2D` -> `Conv2D(filters, 1)` (what it is in every exported
  graph), `GroupedPointwiseConv2D` -> `Conv2D(filters, 1, groups=g)` (same
  kernel layout; one grouped CONV_2D in TFLite), where `Conv2D` is tf_keras'
  with `GroupedPointwiseConv2D`'s faster training path for grouped 1x1s;
* `ChannelShuffle`, `ChannelSplit` and the input `Normalization`/`Rescaling`
  (weightless) -> `Keras3Computation`, a tf_keras layer that runs the Keras 3
  layer's own `call` (keras.ops on TensorFlow tensors): the one
  implementation, not a copy;
* with `affine_inputs=True` (quantization-aware training), `Normalization`/
  `Rescaling` instead -> a frozen 1x1 `DepthwiseConv2D` with bias, `x * scale
  + offset`: the same map up to float rounding, as one op, so an int8 graph
  has no unquantized tensor inside it (Normalization lowers to SUB then MUL,
  and tfmot cannot place a fake-quant between the two).

BatchNormalization runs unfused, with Keras 3's arithmetic, so outputs are
equal to the bit on CPU (the fused kernel rounds differently).

Anything else (Lambda layers, subclassed or nested models, layers of other
libraries) is refused with `BridgeError`, naming the layer.
"""

import keras
import numpy as np
import tensorflow as tf
import tf_keras

from keras_shufflenet import layers as shufflenet_layers

BRIDGE_PACKAGE = "keras_shufflenet_bridge"


class BridgeError(ValueError):
    """The model cannot be translated to tf_keras; the message says which layer and why."""


@tf_keras.saving.register_keras_serializable(package=BRIDGE_PACKAGE)
class Keras3Computation(tf_keras.layers.Layer):
    """A weightless Keras 3 layer (channel shuffle, split) inside a tf_keras model.

    Runs the Keras 3 layer's `call` on the TensorFlow tensors tf_keras passes
    (keras.ops lower to the same TensorFlow ops), so the computation has one
    definition. Serializes as the Keras 3 layer's config.

    Args:
        keras3_layer: the Keras 3 layer, or its serialized config.
    """

    def __init__(self, keras3_layer, **kwargs):
        super().__init__(**kwargs)
        if isinstance(keras3_layer, dict):
            keras3_layer = keras.saving.deserialize_keras_object(keras3_layer)
        if keras3_layer.weights:
            raise BridgeError(f"{keras3_layer.name}: Keras3Computation takes weightless layers only")
        # Kept out of tf_keras' attribute tracking: it is not a tf_keras layer.
        self.__dict__["_keras3_layer"] = keras3_layer

    @property
    def keras3_layer(self):
        return self.__dict__["_keras3_layer"]

    def build(self, input_shape):
        if not self.keras3_layer.built:
            self.keras3_layer.build(tuple(input_shape))
        super().build(input_shape)

    # Keras 3 code is plain TensorFlow ops here; AutoGraph would rewrite its Python.
    @tf.autograph.experimental.do_not_convert
    def call(self, inputs, training=None):
        return self.keras3_layer.call(inputs)

    def compute_output_shape(self, input_shape):
        shapes = self.keras3_layer.compute_output_shape(tuple(input_shape))
        if isinstance(shapes, list):
            return [tf.TensorShape(s) for s in shapes]
        return tf.TensorShape(shapes)

    def get_config(self):
        return {**super().get_config(), "keras3_layer": keras.saving.serialize_keras_object(self.keras3_layer)}


class Conv2D(tf_keras.layers.Conv2D):
    """tf_keras' `Conv2D`, except that a grouped 1x1 convolution trains as one matrix
    product per group.

    TensorFlow's CPU kernels for grouped convolutions take many times longer,
    above all backwards; this is `GroupedPointwiseConv2D`'s own training path
    (its `_split_matmul`, called here). Inference, and so every exported
    graph, is the grouped CONV_2D. The class keeps the name `Conv2D` so that
    tfmot's patterns (Conv2D -> BatchNorm -> ReLU) recognise it.
    """

    def call(self, inputs, training=None):
        if not (training is True and self.groups > 1 and self.kernel_size == (1, 1) and self.strides == (1, 1)):
            return super().call(inputs)
        outputs = shufflenet_layers.GroupedPointwiseConv2D._split_matmul(self, inputs)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)


def _activation(layer):
    name = keras.activations.serialize(layer.activation)
    if not isinstance(name, str) or name not in ("linear", "relu", "softmax"):
        raise BridgeError(f"{layer.name}: activation {name!r} has no translation (linear, relu, softmax)")
    return name


def _conv2d(layer):
    return Conv2D(
        layer.filters, layer.kernel_size, strides=layer.strides, padding=layer.padding,
        dilation_rate=layer.dilation_rate, groups=layer.groups, activation=_activation(layer),
        use_bias=layer.use_bias, name=layer.name,
    )


def _pointwise(layer):
    return Conv2D(
        layer.filters, 1, activation=_activation(layer), use_bias=layer.use_bias, name=layer.name
    )


def _grouped_pointwise(layer):
    return Conv2D(
        layer.filters, 1, groups=layer.groups, use_bias=layer.use_bias, name=layer.name
    )


def _depthwise(layer):
    return tf_keras.layers.DepthwiseConv2D(
        layer.kernel_size, strides=layer.strides, padding=layer.padding,
        depth_multiplier=layer.depth_multiplier, dilation_rate=layer.dilation_rate,
        activation=_activation(layer), use_bias=layer.use_bias, name=layer.name,
    )


def _batch_norm(layer):
    return tf_keras.layers.BatchNormalization(
        axis=layer.axis, momentum=layer.momentum, epsilon=layer.epsilon, center=layer.center,
        scale=layer.scale, name=layer.name,
        # Keras 3's arithmetic (x * inv + (beta - mean * inv)), not the fused kernel's,
        # which rounds differently by up to 1e-4 over the network.
        fused=False,
    )


def _dense(layer):
    return tf_keras.layers.Dense(
        layer.units, activation=_activation(layer), use_bias=layer.use_bias, name=layer.name
    )


def _relu(layer):
    return tf_keras.layers.ReLU(
        max_value=layer.max_value, negative_slope=layer.negative_slope, threshold=layer.threshold,
        name=layer.name,
    )


def _pool(cls):
    def translate(layer):
        return cls(layer.pool_size, strides=layer.strides, padding=layer.padding, name=layer.name)

    return translate


def _global_pool(cls):
    def translate(layer):
        return cls(keepdims=layer.keepdims, name=layer.name)

    return translate


def _affine_scale_offset(layer, channels):
    """`(scale, offset)` per channel with layer(x) == x * scale + offset."""
    if isinstance(layer, keras.layers.Normalization):
        if tuple(layer.axis) not in ((-1,), (3,)):
            raise BridgeError(f"{layer.name}: only a Normalization over channels (axis -1) translates")
        mean = np.broadcast_to(np.asarray(keras.ops.convert_to_numpy(layer.mean)).reshape(-1), (channels,))
        variance = np.asarray(keras.ops.convert_to_numpy(layer.variance)).reshape(-1)
        std = np.maximum(np.sqrt(np.broadcast_to(variance, (channels,))), keras.backend.epsilon())
        return (std, mean) if layer.invert else (1.0 / std, -mean / std)
    scale = np.broadcast_to(np.asarray(layer.scale, np.float64).reshape(-1), (channels,))
    offset = np.broadcast_to(np.asarray(layer.offset, np.float64).reshape(-1), (channels,))
    return scale, offset


def _affine(layer):
    return tf_keras.layers.DepthwiseConv2D(1, use_bias=True, trainable=False, name=layer.name)


def _affine_weights(layer, channels):
    scale, offset = _affine_scale_offset(layer, channels)
    return [scale.reshape(1, 1, channels, 1).astype(np.float32), offset.astype(np.float32)]


def _computation(layer):
    return Keras3Computation(layer, name=layer.name)


# Exact types: a subclass may compute something else, so it is refused.
TRANSLATIONS = {
    keras.layers.Conv2D: _conv2d,
    shufflenet_layers.PointwiseConv2D: _pointwise,
    shufflenet_layers.GroupedPointwiseConv2D: _grouped_pointwise,
    keras.layers.DepthwiseConv2D: _depthwise,
    keras.layers.BatchNormalization: _batch_norm,
    shufflenet_layers.BatchNormalization: _batch_norm,
    keras.layers.Dense: _dense,
    keras.layers.ReLU: _relu,
    keras.layers.ZeroPadding2D: lambda layer: tf_keras.layers.ZeroPadding2D(layer.padding, name=layer.name),
    keras.layers.MaxPooling2D: _pool(tf_keras.layers.MaxPooling2D),
    keras.layers.AveragePooling2D: _pool(tf_keras.layers.AveragePooling2D),
    keras.layers.GlobalAveragePooling2D: _global_pool(tf_keras.layers.GlobalAveragePooling2D),
    keras.layers.GlobalMaxPooling2D: _global_pool(tf_keras.layers.GlobalMaxPooling2D),
    keras.layers.Concatenate: lambda layer: tf_keras.layers.Concatenate(axis=layer.axis, name=layer.name),
    keras.layers.Add: lambda layer: tf_keras.layers.Add(name=layer.name),
    keras.layers.Normalization: _computation,
    keras.layers.Rescaling: _computation,
    shufflenet_layers.ChannelShuffle: _computation,
    shufflenet_layers.ChannelSplit: _computation,
}
AFFINE_INPUTS = (keras.layers.Normalization, keras.layers.Rescaling)


def check_translatable(model):
    """Raises `BridgeError` unless `model` is a Keras 3 functional model of translatable layers."""
    if isinstance(model, tf_keras.Model):
        raise BridgeError(f"{model.name} is already a tf_keras model; translate takes Keras 3 models")
    if not isinstance(model, keras.Model):
        raise BridgeError(f"expected a Keras 3 model; got {type(model).__name__}")
    if type(model) is not keras.src.models.Functional:
        raise BridgeError(
            f"{model.name} is a {type(model).__name__} model; only functional models (as "
            "keras_shufflenet builds them) can be translated: their graph is data, a subclassed "
            "model's call() is Python code"
        )
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if type(layer).__name__ == "Lambda":
            raise BridgeError(
                f"layer {layer.name!r} is a Lambda layer: its Python function cannot be translated or "
                "quantized; use keras_shufflenet's layers (ChannelShuffle, ChannelSplit, ...)"
            )
        if isinstance(layer, keras.Model):
            raise BridgeError(f"layer {layer.name!r} is a nested model; build the network as one functional model")
        if type(layer) not in TRANSLATIONS:
            raise BridgeError(
                f"layer {layer.name!r} ({type(layer).__name__}) has no tf_keras translation; supported: "
                f"{', '.join(sorted(t.__name__ for t in TRANSLATIONS))}"
            )


def _ordered_nodes(model):
    return [node for depth in sorted(model._nodes_by_depth, reverse=True) for node in model._nodes_by_depth[depth]]


def translate(model, affine_inputs=False):
    """The tf_keras functional model computing what Keras 3 `model` computes.

    Layers keep their names; weights are copied. `affine_inputs`: input
    normalization as one 1x1 depthwise convolution (see the module
    docstring). Raises `BridgeError` for models that cannot be translated.
    """
    check_translatable(model)
    tensors = {}
    pairs = []
    for node in _ordered_nodes(model):
        layer = node.operation
        if isinstance(layer, keras.layers.InputLayer):
            (tensor,) = node.output_tensors
            tensors[id(tensor)] = tf_keras.Input(
                batch_shape=tuple(tensor.shape), dtype=tensor.dtype, name=layer.name
            )
            continue
        args, kwargs = node.arguments.convert(
            lambda x: tensors[id(x)] if isinstance(x, keras.KerasTensor) else x
        )
        kwargs.pop("training", None)
        affine = affine_inputs and type(layer) in AFFINE_INPUTS
        legacy = _affine(layer) if affine else TRANSLATIONS[type(layer)](layer)
        outputs = legacy(*args, **kwargs)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for keras_tensor, legacy_tensor in zip(node.output_tensors, outputs):
            tensors[id(keras_tensor)] = legacy_tensor
        pairs.append((layer, legacy, affine))
    legacy_model = tf_keras.Model(
        [tensors[id(t)] for t in model.inputs] if len(model.inputs) > 1 else tensors[id(model.inputs[0])],
        [tensors[id(t)] for t in model.outputs] if len(model.outputs) > 1 else tensors[id(model.outputs[0])],
        name=model.name,
    )
    for layer, legacy, affine in pairs:
        if affine:
            legacy.set_weights(_affine_weights(layer, int(legacy.input_shape[-1])))
        elif layer.weights:
            legacy.set_weights([keras.ops.convert_to_numpy(w) for w in layer.weights])
    return legacy_model
