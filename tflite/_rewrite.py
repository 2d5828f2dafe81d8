"""Keras-level rewrites that let XNNPACK run a full-integer graph in one piece.

XNNPACK, the CPU delegate Android apps and MediaPipe use, has no 8-bit kernel
for two things ShuffleNet V1's stride-2 unit does, so an int8 export would
fall back to LiteRT's reference kernels there and split the XNNPACK graph:

* `AveragePooling2D` with "valid" padding (the shortcut's 3x3 pool, after
  explicit zero padding) becomes a `DepthwiseConv2D` with fixed weights
  1/(k*k): the same sums, and int8 depthwise convolutions are delegated.
* `ReLU(Concatenate([a, b]))` becomes `Concatenate([ReLU(a), ReLU(b)])`
  (ReLU is elementwise), and the converter then fuses each ReLU into the
  convolution before it instead of leaving a standalone int8 RELU.

The rewritten model shares the original's weights and computes the same
function (up to float rounding); it is only used for the int8 conversion.
"""

import keras


def is_plain_relu(layer):
    """A `ReLU` layer computing max(x, 0), nothing more."""
    return (
        isinstance(layer, keras.layers.ReLU)
        and layer.max_value is None
        and not layer.negative_slope
        and not layer.threshold
    )


def _concat_before_relu(model):
    """`{id(concat layer): relu layer}` for each Concatenate of `model` whose only
    consumer in `model` is a plain ReLU (and not a model output)."""
    nodes = [node for depth in model._nodes_by_depth.values() for node in depth]
    calls, consumers = {}, {}
    for node in nodes:
        calls[id(node.operation)] = calls.get(id(node.operation), 0) + 1
        for parent in node.parent_nodes:
            consumers.setdefault(id(parent), []).append(node)
    outputs = {id(t) for t in model.outputs}
    found = {}
    for node in nodes:
        layer = node.operation
        users = consumers.get(id(node), [])
        if (
            isinstance(layer, keras.layers.Concatenate)
            and calls[id(layer)] == 1
            and len(users) == 1
            and is_plain_relu(users[0].operation)
            and calls[id(users[0].operation)] == 1
            and not any(id(t) in outputs for t in node.output_tensors)
        ):
            found[id(layer)] = users[0].operation
    return found


def _pool_as_depthwise(layer, inputs):
    height, width = layer.pool_size
    conv = keras.layers.DepthwiseConv2D(
        (height, width),
        strides=layer.strides,
        padding="valid",
        use_bias=False,
        depthwise_initializer=keras.initializers.Constant(1.0 / (height * width)),
        trainable=False,
        name=f"{layer.name}_as_dwconv",
    )
    return conv(inputs)


def xnnpack_int8_friendly(model):
    """`(model, changes)`: `model` with the rewrites above, and what was rewritten.

    Returns the model itself (and no changes) when there is nothing to rewrite
    or it is not a functional model.
    """
    if not isinstance(model, keras.src.models.Functional):
        return model, []
    relu_concats = _concat_before_relu(model)
    pools = [
        layer for layer in model.layers
        if isinstance(layer, keras.layers.AveragePooling2D)
        and layer.padding == "valid"
        and layer.data_format == "channels_last"
    ]
    if not relu_concats and not pools:
        return model, []
    changes = []
    skipped_relus = set()

    def call(layer, *args, **kwargs):
        if any(layer is p for p in pools):
            changes.append(f"{layer.name}: AveragePooling2D -> DepthwiseConv2D")
            return _pool_as_depthwise(layer, args[0])
        if id(layer) in relu_concats:
            relu = relu_concats[id(layer)]
            skipped_relus.add(id(relu))
            changes.append(f"{relu.name}: ReLU after {layer.name} -> ReLU on each input")
            inputs = [
                keras.layers.ReLU(name=f"{relu.name}_in{i}")(x) for i, x in enumerate(args[0])
            ]
            return layer(inputs, *args[1:], **kwargs)
        if id(layer) in skipped_relus:
            return args[0]
        return layer(*args, **kwargs)

    rewritten = keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)
    return rewritten, changes
