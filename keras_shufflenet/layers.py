"""The building blocks ShuffleNet needs beyond stock Keras: channel shuffle,
channel split, and pointwise (1x1) convolutions, grouped or not, and a
BatchNormalization, that train faster on TensorFlow.

All are plain `keras.ops` code, registered for serialization, so a saved
model loads with `safe_mode=True` on every Keras backend.
"""

import keras
from keras import ops

PACKAGE = "keras_shufflenet"


def _channels(input_shape, layer_name):
    channels = input_shape[-1]
    if channels is None:
        raise ValueError(f"{layer_name} needs a known channel count; got input shape {input_shape}.")
    return int(channels)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ChannelShuffle(keras.layers.Layer):
    """Channel shuffle (ShuffleNet V1, Sec. 3.1) for channels-last tensors.

    With `c = groups * n` channels, channel `i * n + j` moves to position
    `j * groups + i`: the channels, viewed as a (groups, n) matrix, are
    transposed. The permutation has no weights and is its own gradient.

    The reshape keeps every tensor at rank 4 (`[batch, h * w, groups, n]`)
    instead of the textbook rank-5 `[batch, h, w, groups, n]`, because the
    TFLite GPU delegate rejects tensors above rank 4. The numbers are the same.

    Args:
        groups: number of groups; must divide the channel count.
    """

    def __init__(self, groups, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"`groups` must be a positive integer; got {groups!r}.")
        self.groups = groups

    def build(self, input_shape):
        channels = _channels(input_shape, "ChannelShuffle")
        if channels % self.groups:
            raise ValueError(
                f"ChannelShuffle: {channels} channels do not divide into {self.groups} groups."
            )
        self.built = True

    def call(self, inputs):
        if self.groups == 1:
            return inputs
        shape = ops.shape(inputs)
        channels = inputs.shape[-1]
        height, width = shape[1], shape[2]
        x = ops.reshape(inputs, (-1, height * width, self.groups, channels // self.groups))
        x = ops.transpose(x, (0, 1, 3, 2))
        return ops.reshape(x, (-1, height, width, channels))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ChannelSplit(keras.layers.Layer):
    """Splits the channel axis into `num_splits` equal parts (ShuffleNet V2's split)."""

    def __init__(self, num_splits=2, **kwargs):
        super().__init__(**kwargs)
        self.num_splits = num_splits

    def build(self, input_shape):
        channels = _channels(input_shape, "ChannelSplit")
        if channels % self.num_splits:
            raise ValueError(
                f"ChannelSplit: {channels} channels do not split into {self.num_splits} equal parts."
            )
        self.built = True

    def call(self, inputs):
        return ops.split(inputs, self.num_splits, axis=-1)

    def compute_output_shape(self, input_shape):
        part = tuple(input_shape[:-1]) + (input_shape[-1] // self.num_splits,)
        return [part] * self.num_splits

    def get_config(self):
        return {**super().get_config(), "num_splits": self.num_splits}


def _trains_on_tensorflow(training):
    return bool(training) and keras.backend.backend() == "tensorflow"


def _matmul_1x1(inputs, kernel):
    """`[N, H, W, C]` times a `[1, 1, C, F]` kernel, as one matrix product over the pixels.

    The same numbers as a 1x1 convolution; TensorFlow's CPU kernels run its
    forward and backward pass about 1.4x faster than Conv2D's
    (`benchmarks/layer_formulations.py`).
    """
    shape = ops.shape(inputs)
    in_channels, out_channels = kernel.shape[2], kernel.shape[3]
    outputs = ops.matmul(ops.reshape(inputs, (-1, in_channels)), ops.reshape(kernel, (in_channels, out_channels)))
    return ops.reshape(outputs, (-1, shape[1], shape[2], out_channels))


@keras.saving.register_keras_serializable(package=PACKAGE)
class PointwiseConv2D(keras.layers.Conv2D):
    """A 1x1, stride-1 `keras.layers.Conv2D` that trains faster on TensorFlow.

    While training on the TensorFlow backend it runs as a matrix product over
    the pixels; otherwise, and in every exported graph, it is the `Conv2D` it
    subclasses (one CONV_2D in TFLite). Same weights, same outputs (to float32
    rounding).

    Args:
        filters: output channels.
        **kwargs: as for `Conv2D`; `kernel_size` and `strides` must stay 1.
    """

    def __init__(self, filters, **kwargs):
        kwargs.setdefault("kernel_size", 1)
        super().__init__(filters, **kwargs)
        if self.kernel_size != (1, 1) or self.strides != (1, 1) or self.dilation_rate != (1, 1):
            raise ValueError(
                "PointwiseConv2D is 1x1 with stride 1 and no dilation; got "
                f"kernel_size={self.kernel_size}, strides={self.strides}, "
                f"dilation_rate={self.dilation_rate}."
            )
        if self.groups != 1 or self.data_format != "channels_last":
            raise ValueError(
                "PointwiseConv2D takes groups=1 and channels_last data (use "
                "GroupedPointwiseConv2D for groups)."
            )

    def call(self, inputs, training=None):
        if not _trains_on_tensorflow(training):
            return super().call(inputs)
        outputs = _matmul_1x1(inputs, self.kernel)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package=PACKAGE)
class GroupedPointwiseConv2D(keras.layers.Layer):
    """A 1x1 convolution whose channels are cut into `groups` independent groups.

    Output group `i` sees only input group `i`. The kernel has the layout of
    `keras.layers.Conv2D(filters, 1, groups=groups)`, `(1, 1, in / groups,
    filters)`, so weights move between the two unchanged and the TFLite
    converter emits one grouped CONV_2D.

    Args:
        filters: output channels; must be divisible by `groups`.
        groups: number of groups; must divide the input channels too.
        use_bias: whether to add a bias (ShuffleNet's convolutions have none).
        kernel_initializer, kernel_regularizer: as for `Conv2D`.
    """

    def __init__(
        self,
        filters,
        groups=1,
        use_bias=False,
        kernel_initializer="he_normal",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"`groups` must be a positive integer; got {groups!r}.")
        if filters % groups:
            raise ValueError(
                f"GroupedPointwiseConv2D: filters={filters} is not divisible by groups={groups}."
            )
        self.filters = filters
        self.groups = groups
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        channels = _channels(input_shape, "GroupedPointwiseConv2D")
        if channels % self.groups:
            raise ValueError(
                f"GroupedPointwiseConv2D: {channels} input channels are not divisible by "
                f"groups={self.groups}."
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(1, 1, channels // self.groups, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
            if self.use_bias
            else None
        )
        self.built = True

    def call(self, inputs, training=None):
        if _trains_on_tensorflow(training):
            outputs = self._split_matmul(inputs)
        else:
            outputs = ops.conv(inputs, self.kernel, strides=1, padding="valid")
        if self.bias is not None:
            outputs = outputs + self.bias
        return outputs

    def _split_matmul(self, inputs):
        # TensorFlow's CPU kernels for grouped convolution are several times slower
        # than one ordinary 1x1 product per group (its backward pass above all), so
        # training runs the groups separately, each as a matrix product. Same
        # weights, same numbers; the exported graph (inference) keeps the single
        # grouped CONV_2D.
        if self.groups == 1:
            return _matmul_1x1(inputs, self.kernel)
        input_groups = ops.split(inputs, self.groups, axis=-1)
        kernel_groups = ops.split(self.kernel, self.groups, axis=-1)
        return ops.concatenate(
            [_matmul_1x1(x, k) for x, k in zip(input_groups, kernel_groups)], axis=-1
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "groups": self.groups,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }


def _batch_norm_train_tf(inputs, gamma, beta, epsilon):
    """Training-mode batch norm of channels-last `inputs` over every axis but the last.

    Returns `(outputs, mean, variance)`, the biased batch variance as in
    `keras.layers.BatchNormalization`. Column sums are matrix-vector products
    and the backward pass is written out: two column sums and one per-channel affine map
    of the upstream gradient and the input. TensorFlow's automatic gradient of
    the textbook graph takes 1.2-1.6x as long on ShuffleNet's shapes
    (`benchmarks/layer_formulations.py`).
    """
    import tensorflow as tf

    channels = inputs.shape[-1]
    rows = tf.reshape(inputs, (-1, channels))
    count = tf.cast(tf.shape(rows)[0], rows.dtype)
    ones = tf.ones(tf.shape(rows)[:1], rows.dtype)

    def column_sum(t):
        return tf.linalg.matvec(t, ones, transpose_a=True)

    constant_rows = tf.stop_gradient(rows)
    mean = column_sum(constant_rows) / count
    variance = column_sum(tf.math.squared_difference(constant_rows, mean)) / count
    inv_std = tf.math.rsqrt(variance + epsilon)

    @tf.custom_gradient
    def normalize(rows, gamma, beta):
        scale = gamma * inv_std
        outputs = rows * scale + (beta - mean * scale)

        def grad(upstream):
            d_beta = column_sum(upstream)
            d_gamma = inv_std * (column_sum(upstream * rows) - mean * d_beta)
            # d_rows = scale * (upstream - d_beta / n - x_hat * d_gamma / n), with
            # x_hat = (rows - mean) * inv_std, gathered into per-channel coefficients.
            rows_coefficient = -scale * inv_std * d_gamma / count
            offset = -scale * d_beta / count - mean * rows_coefficient
            return upstream * scale + (rows * rows_coefficient + offset), d_gamma, d_beta

        return outputs, grad

    outputs = normalize(rows, gamma, beta)
    return tf.reshape(outputs, tf.shape(inputs)), mean, variance


@keras.saving.register_keras_serializable(package=PACKAGE)
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` with a faster training step on TensorFlow.

    While training on the TensorFlow backend (float32, channels-last, with
    `center` and `scale`, not synchronized, no mask) the batch statistics and
    the gradient are computed by `_batch_norm_train_tf`; everything else,
    inference and every exported graph included, is the layer it subclasses.
    Same weights, same outputs, gradients and moving statistics (to float32
    rounding).
    """

    def _has_fast_training_path(self, inputs, training, mask):
        return (
            _trains_on_tensorflow(training)
            and self.trainable
            and mask is None
            and self.axis in (-1, len(inputs.shape) - 1)
            and self.center
            and self.scale
            and not self.synchronized
            and not self.renorm
            and inputs.dtype == "float32"
            and self.compute_dtype == "float32"
        )

    def call(self, inputs, training=None, mask=None):
        if not self._has_fast_training_path(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        outputs, mean, variance = _batch_norm_train_tf(
            inputs, self.gamma.value, self.beta.value, self.epsilon
        )
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + variance * (1.0 - self.momentum)
        )
        return outputs
