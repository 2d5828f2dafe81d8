import keras
import numpy as np
import pytest

from keras_shufflenet.layers import (
    BatchNormalization,
    ChannelShuffle,
    ChannelSplit,
    GroupedPointwiseConv2D,
    PointwiseConv2D,
)


def shuffle_by_definition(x, groups):
    """Channel i * n + j moves to position j * groups + i (SPEC.md)."""
    channels = x.shape[-1]
    n = channels // groups
    out = np.empty_like(x)
    for i in range(groups):
        for j in range(n):
            out[..., j * groups + i] = x[..., i * n + j]
    return out


@pytest.mark.parametrize("groups,channels", [(2, 8), (3, 12), (4, 8), (8, 16), (1, 6)])
def test_channel_shuffle_matches_definition(groups, channels):
    x = np.random.default_rng(0).normal(size=(2, 3, 5, channels)).astype("float32")
    got = keras.ops.convert_to_numpy(ChannelShuffle(groups)(x))
    np.testing.assert_array_equal(got, shuffle_by_definition(x, groups))


def test_channel_shuffle_known_permutation():
    x = np.arange(6, dtype="float32").reshape(1, 1, 1, 6)
    got = keras.ops.convert_to_numpy(ChannelShuffle(2)(x)).ravel()
    np.testing.assert_array_equal(got, [0, 3, 1, 4, 2, 5])
    got = keras.ops.convert_to_numpy(ChannelShuffle(3)(x)).ravel()
    np.testing.assert_array_equal(got, [0, 2, 4, 1, 3, 5])


def test_channel_shuffle_rejects_indivisible_channels():
    with pytest.raises(ValueError, match="10 channels do not divide into 3 groups"):
        ChannelShuffle(3)(np.zeros((1, 2, 2, 10), "float32"))
    with pytest.raises(ValueError, match="positive integer"):
        ChannelShuffle(0)


def test_channel_split_halves():
    x = np.random.default_rng(1).normal(size=(2, 4, 4, 6)).astype("float32")
    left, right = ChannelSplit(2)(x)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(left), x[..., :3])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(right), x[..., 3:])
    with pytest.raises(ValueError, match="do not split into 2"):
        ChannelSplit(2)(np.zeros((1, 2, 2, 5), "float32"))


def test_grouped_pointwise_equals_blockwise_matmul():
    groups, cin, cout = 3, 12, 6
    layer = GroupedPointwiseConv2D(cout, groups)
    x = np.random.default_rng(2).normal(size=(2, 4, 5, cin)).astype("float32")
    y = keras.ops.convert_to_numpy(layer(x))
    kernel = keras.ops.convert_to_numpy(layer.kernel)[0, 0]  # (cin / g, cout)
    expected = np.concatenate(
        [
            x[..., g * 4 : (g + 1) * 4] @ kernel[:, g * 2 : (g + 1) * 2]
            for g in range(groups)
        ],
        axis=-1,
    )
    np.testing.assert_allclose(y, expected, atol=1e-5)


def test_grouped_pointwise_matches_keras_conv2d_groups():
    x = np.random.default_rng(3).normal(size=(1, 3, 3, 8)).astype("float32")
    ours = GroupedPointwiseConv2D(4, groups=2)
    ours.build(x.shape)
    reference = keras.layers.Conv2D(4, 1, groups=2, use_bias=False)
    reference.build(x.shape)
    reference.set_weights(ours.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(ours(x)), keras.ops.convert_to_numpy(reference(x)), atol=1e-5
    )


def test_grouped_pointwise_rejects_bad_groups():
    with pytest.raises(ValueError, match="filters=10 is not divisible by groups=3"):
        GroupedPointwiseConv2D(10, groups=3)
    with pytest.raises(ValueError, match="10 input channels are not divisible by groups=4"):
        GroupedPointwiseConv2D(8, groups=4)(np.zeros((1, 2, 2, 10), "float32"))


@pytest.mark.parametrize(
    "layer",
    [ChannelShuffle(4, name="s"), ChannelSplit(2, name="p"), GroupedPointwiseConv2D(8, 2, name="g"),
     PointwiseConv2D(8, use_bias=True, activation="relu", name="c"),
     BatchNormalization(epsilon=1e-5, momentum=0.9, name="b")],
)
def test_layers_round_trip_config(layer):
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize(
    "layer",
    [GroupedPointwiseConv2D(12, groups=3), GroupedPointwiseConv2D(12, groups=1),
     PointwiseConv2D(12, use_bias=True, bias_initializer="random_normal", activation="relu")],
    ids=["grouped", "grouped-1", "pointwise"],
)
def test_pointwise_training_formulation_matches_inference_and_conv2d(layer):
    """Training runs matrix products on TF (faster); outputs and gradients must not change."""
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(4).normal(size=(2, 7, 7, 24)).astype("float32"))
    results = []
    for training in (True, False):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=training)
        results.append((y.numpy(), *[g.numpy() for g in tape.gradient(y, [x, *layer.trainable_weights])]))
    for trained, inferred in zip(*results):
        np.testing.assert_allclose(trained, inferred, atol=1e-5)
    if isinstance(layer, PointwiseConv2D):
        assert isinstance(layer, keras.layers.Conv2D) and layer.kernel.shape == (1, 1, 24, 12)


def test_pointwise_conv_rejects_other_shapes():
    with pytest.raises(ValueError, match="1x1 with stride 1"):
        PointwiseConv2D(8, kernel_size=3)
    with pytest.raises(ValueError, match="1x1 with stride 1"):
        PointwiseConv2D(8, strides=2)
    with pytest.raises(ValueError, match="GroupedPointwiseConv2D"):
        PointwiseConv2D(8, groups=2)


def _batch_norm_step(layer, x, upstream, training):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=training)
    grads = tape.gradient(y, [x, layer.gamma, layer.beta], output_gradients=upstream)
    return [y.numpy(), *[g.numpy() for g in grads], layer.moving_mean.numpy(), layer.moving_variance.numpy()]


@pytest.mark.parametrize("shape", [(4, 6, 6, 8), (16, 3, 3, 40), (5, 12)])
def test_batch_norm_training_step_matches_keras(shape):
    """The written-out TF training path: outputs, all gradients and moving statistics equal Keras'."""
    import tensorflow as tf

    rng = np.random.default_rng(7)
    # An offset mean and uneven scales, so E[x^2] - E[x]^2 is not the easy case.
    x = tf.constant((rng.normal(size=shape) * rng.uniform(0.1, 3, shape[-1]) + 2.5).astype("float32"))
    upstream = tf.constant(rng.normal(size=shape).astype("float32"))
    channels = shape[-1]
    gamma, beta = rng.normal(size=channels), rng.normal(size=channels)
    results = []
    for cls in (BatchNormalization, keras.layers.BatchNormalization):
        layer = cls(epsilon=1e-5, momentum=0.9)
        layer.build(shape)
        layer.set_weights([gamma, beta, np.full(channels, 0.3), np.full(channels, 1.7)])
        steps = [_batch_norm_step(layer, x, upstream, training=True) for _ in range(2)]
        results.append(steps + [_batch_norm_step(layer, x, upstream, training=False)])
    for ours_step, keras_step in zip(*results):
        for name, ours, theirs in zip(
            ["outputs", "d_inputs", "d_gamma", "d_beta", "moving_mean", "moving_variance"], ours_step, keras_step
        ):
            scale = max(1.0, float(np.abs(theirs).max()))
            np.testing.assert_allclose(ours, theirs, atol=2e-5 * scale, err_msg=name)


def test_batch_norm_uses_keras_path_where_the_fast_one_does_not_apply():
    x = np.random.default_rng(1).normal(size=(4, 3, 3, 6)).astype("float32")
    synced = BatchNormalization(synchronized=True)
    frozen = BatchNormalization()
    frozen.trainable = False
    inputs = keras.Input((3, 3, 6))
    assert not synced._has_fast_training_path(inputs, True, None)
    frozen(x)
    assert not frozen._has_fast_training_path(inputs, True, None)
    assert not BatchNormalization()._has_fast_training_path(inputs, False, None)
    assert not BatchNormalization(axis=1)._has_fast_training_path(inputs, True, None)
    assert BatchNormalization()._has_fast_training_path(inputs, True, None)
