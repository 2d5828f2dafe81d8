"""Exact per-channel range equalization before int8 quantization.

Full-integer TFLite gives each activation tensor one scale, so one channel
whose values run far above the others' sets the step for all of them. ShuffleNet
V1 1.0x g3 trained on CIFAR-10 has such a tensor: one channel of
`stage2_unit1_gconv1_relu` reaches 1131 on training images while the median
channel peaks at 4.9, so the other 59 channels keep two or three int8 levels,
and post-training int8 falls from 67.7% to 19.8% top-1.

ReLU is positively homogeneous (Nagel et al., "Data-Free Quantization Through
Weight Equalization and Bias Correction", ICCV 2019, section 4.1), and in both
ShuffleNets the tensor after a pointwise convolution's BatchNorm and ReLU feeds
only a depthwise convolution (through V1's channel shuffle, a permutation). So
channel `c` may be multiplied by `s_c > 0` (the BatchNorm's gamma and beta) and
the depthwise kernel of the channel it lands on divided by `s_c`: the depthwise
output, and so the whole network, is unchanged up to float rounding. The
depthwise kernel is quantized per channel, so its new scale costs nothing.

`s_c` brings each channel's largest value on the calibration images to the
median channel's; channels that never fire (largest value 0) are left alone,
and no factor goes beyond `MAX_FACTOR` either way.
"""

import numpy as np

import keras

from keras_shufflenet.layers import ChannelShuffle
from keras_shufflenet.tflite._rewrite import is_plain_relu

MAX_FACTOR = 1e3


def _single_consumers(model):
    """`{id(layer): consumer layer}` for layers called once whose output feeds exactly
    one layer call and is not a model output."""
    nodes = [node for depth in model._nodes_by_depth.values() for node in depth]
    calls, consumers = {}, {}
    for node in nodes:
        calls[id(node.operation)] = calls.get(id(node.operation), 0) + 1
        for parent in node.parent_nodes:
            consumers.setdefault(id(parent.operation), []).append(node.operation)
    outputs = {id(t) for t in model.outputs}
    found = {}
    for node in nodes:
        users = consumers.get(id(node.operation), [])
        if (
            calls[id(node.operation)] == 1
            and len(users) == 1
            and calls[id(users[0])] == 1
            and not any(id(t) in outputs for t in node.output_tensors)
        ):
            found[id(node.operation)] = users[0]
    return found


def equalizable_chains(model):
    """`[(batch_norm, relu, shuffle or None, depthwise)]`: every BatchNormalization ->
    ReLU -> (ChannelShuffle) -> (ZeroPadding2D) -> DepthwiseConv2D chain of
    `model` in which each tensor has that one consumer, channels last, depth
    multiplier 1."""
    if not isinstance(model, keras.src.models.Functional):
        return []
    consumer = _single_consumers(model)
    chains = []
    for layer in model.layers:
        if not isinstance(layer, keras.layers.BatchNormalization) or layer.axis not in (-1, 3) or not layer.scale:
            continue
        relu = consumer.get(id(layer))
        if relu is None or not is_plain_relu(relu):
            continue
        nxt = consumer.get(id(relu))
        shuffle = nxt if isinstance(nxt, ChannelShuffle) else None
        if shuffle is not None:
            nxt = consumer.get(id(shuffle))
        if isinstance(nxt, keras.layers.ZeroPadding2D) and nxt.data_format == "channels_last":
            nxt = consumer.get(id(nxt))  # zeros stay zeros under any scale
        if (
            isinstance(nxt, keras.layers.DepthwiseConv2D)
            and nxt.depth_multiplier == 1
            and nxt.data_format == "channels_last"
        ):
            chains.append((layer, relu, shuffle, nxt))
    return chains


def channel_peaks(model, tensors_of, images, batch_size=32):
    """Per-channel largest value of each layer output in `tensors_of` over `images`.

    The layers' outputs in `model`'s own graph: a model that shares layers with
    another (as `export.int8_body` does) has its own call of each."""
    outputs_of = {
        id(node.operation): node.output_tensors[0]
        for depth in model._nodes_by_depth.values() for node in depth
    }
    tensors = [outputs_of[id(layer)] for layer in tensors_of]
    probe = keras.Model(model.inputs[0], tensors)
    peaks = [np.zeros(tensor.shape[-1], np.float64) for tensor in tensors]
    for start in range(0, len(images), batch_size):
        outputs = probe.predict_on_batch(images[start : start + batch_size])  # one trace, not one per call
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for k, output in enumerate(outputs):
            output = keras.ops.convert_to_numpy(output)
            peaks[k] = np.maximum(peaks[k], output.reshape(-1, output.shape[-1]).max(axis=0))
    return peaks


def factors(peaks):
    """`s_c`: the median firing channel's peak over each channel's, clipped to
    `[1 / MAX_FACTOR, MAX_FACTOR]`; 1 for channels that never fire."""
    firing = peaks > 0
    if not firing.any():
        return np.ones_like(peaks)
    target = np.median(peaks[firing])
    scale = np.ones_like(peaks)
    scale[firing] = np.clip(target / peaks[firing], 1.0 / MAX_FACTOR, MAX_FACTOR)
    return scale


def _shuffle_destination(shuffle, channels):
    """`dest[c]`: the position channel `c` moves to through `shuffle`."""
    moved = keras.ops.convert_to_numpy(shuffle(np.arange(channels, dtype=np.float32).reshape(1, 1, 1, -1)))
    source_at = moved.reshape(-1).astype(int)  # position j holds channel source_at[j]
    destination = np.empty(channels, int)
    destination[source_at] = np.arange(channels)
    return destination


def equalize_ranges(model, images, min_ratio=4.0):
    """`(model, changes)`: `model` with its ReLU ranges equalized (see the module
    docstring), computing the same function, and what was changed.

    Only chains whose largest channel peak is at least `min_ratio` times the
    median channel's are rescaled: elsewhere one scale already fits. The result
    shares every other layer's weights with `model`, whose own weights are not
    touched; it is `model` itself when nothing needs rescaling.
    """
    chains = equalizable_chains(model)
    if not chains:
        return model, []
    peaks = channel_peaks(model, [relu for _, relu, _, _ in chains], np.asarray(images, np.float32))
    new_weights, changes = {}, []
    for (norm, relu, shuffle, depthwise), peak in zip(chains, peaks):
        firing = peak[peak > 0]
        if not firing.size or peak.max() < min_ratio * np.median(firing):
            continue
        scale = factors(peak)
        gamma_beta = [keras.ops.convert_to_numpy(w) for w in norm.weights]
        norm_weights = []
        for variable, value in zip(norm.weights, gamma_beta):
            leaf = variable.path.rsplit("/", 1)[-1]
            norm_weights.append(value * scale if leaf in ("gamma", "beta") else value)
        destination = _shuffle_destination(shuffle, len(scale)) if shuffle is not None else np.arange(len(scale))
        per_position = np.empty_like(scale)
        per_position[destination] = scale
        dw_weights = [keras.ops.convert_to_numpy(w) for w in depthwise.weights]
        dw_weights[0] = dw_weights[0] / per_position.reshape(1, 1, -1, 1).astype(dw_weights[0].dtype)
        new_weights[id(norm)] = [w.astype(np.float32) for w in norm_weights]
        new_weights[id(depthwise)] = dw_weights
        changes.append(
            f"{relu.name}: channel peaks {peak.max():.3g} (largest) / {np.median(firing):.3g} (median) "
            f"equalized into {depthwise.name}"
        )
    if not changes:
        return model, []

    def call(layer, *args, **kwargs):
        if id(layer) not in new_weights:
            return layer(*args, **kwargs)
        copy = layer.__class__.from_config(layer.get_config())
        output = copy(*args, **kwargs)
        copy.set_weights(new_weights[id(layer)])
        return output

    rewritten = keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)
    return rewritten, changes
