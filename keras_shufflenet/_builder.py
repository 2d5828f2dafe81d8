"""What ShuffleNet V1 and V2 share: argument checks, the input, the stem, the head
and weight loading. Layer names follow torchvision's modules (`conv1`, `stage2`,
`conv5`, `fc`) so weights map one to one.
"""

import os

import keras
from keras import layers

from keras_shufflenet import preprocessing, pretrained
from keras_shufflenet.layers import BatchNormalization, PointwiseConv2D

# torchvision's BatchNorm2d: eps 1e-5, momentum 0.1 (Keras counts the other way).
BN_EPSILON = 1e-5
BN_MOMENTUM = 0.9
POOLING_CHOICES = (None, "avg", "max")
DEFAULT_SIZE = 224
# A 32x32 image reaches the last stage at 1x1 with the standard stem (stride 32);
# with `small_inputs=True` (stride 8 overall) the minimum is 8x8.
MIN_SIZE = 32
MIN_SIZE_SMALL_INPUTS = 8


def validate_common_args(
    *, weights, include_top, input_shape, pooling, classes, classifier_activation, small_inputs
):
    if weights is not None and weights != "imagenet":
        if not isinstance(weights, (str, os.PathLike)) or not os.path.exists(weights):
            raise ValueError(
                "`weights` must be None (random initialization), 'imagenet', or the path "
                f"to an existing weights file; got weights={weights!r}."
            )
    if pooling not in POOLING_CHOICES:
        raise ValueError(f"`pooling` must be one of {POOLING_CHOICES}; got pooling={pooling!r}.")
    if not isinstance(classes, int) or classes < 1:
        raise ValueError(f"`classes` must be a positive integer; got classes={classes!r}.")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(
            "With weights='imagenet' and include_top=True, `classes` must be 1000 "
            f"(the ImageNet head); got classes={classes}. Use include_top=False and add "
            "your own head, or keras_shufflenet.finetune."
        )
    if weights == "imagenet" and include_top and classifier_activation not in (None, "softmax"):
        raise ValueError(
            "With weights='imagenet' the classifier activation must be None or 'softmax'; "
            f"got {classifier_activation!r}."
        )
    if keras.config.image_data_format() != "channels_last":
        raise ValueError(
            "keras_shufflenet builds channels-last models only; "
            f"keras.config.image_data_format() is {keras.config.image_data_format()!r}."
        )
    min_size = MIN_SIZE_SMALL_INPUTS if small_inputs else MIN_SIZE
    if input_shape is not None:
        if len(input_shape) != 3:
            raise ValueError(
                f"`input_shape` must be (height, width, channels); got input_shape={input_shape}."
            )
        height, width, channels = input_shape
        if channels != 3 and (weights is not None):
            raise ValueError(
                f"Loading weights needs 3 input channels; got input_shape={input_shape}."
            )
        for size in (height, width):
            if size is not None and size < min_size:
                raise ValueError(
                    f"Input size {height}x{width} is too small: the minimum is "
                    f"{min_size}x{min_size}"
                    + (
                        "."
                        if small_inputs
                        else " (pass small_inputs=True for images down to 8x8, e.g. CIFAR)."
                    )
                )


def width_tag(width):
    """1.0 -> '1_0', 0.25 -> '0_25': torchvision's spelling of widths in names."""
    return str(float(width)).replace(".", "_")


def make_inputs(input_tensor, input_shape):
    if input_shape is None:
        input_shape = (None, None, 3)
    if input_tensor is None:
        return layers.Input(shape=input_shape, name="input"), None
    if not keras.backend.is_keras_tensor(input_tensor):
        return layers.Input(tensor=input_tensor, shape=input_shape, name="input"), None
    return input_tensor, input_tensor


def conv_bn(x, filters, kernel_size, strides=1, relu=True, name=None):
    """Conv (no bias) + BatchNorm (+ ReLU), torchvision's padding: symmetric, k // 2."""
    if strides > 1 and kernel_size > 1:
        x = layers.ZeroPadding2D(kernel_size // 2, name=f"{name}_pad")(x)
        padding = "valid"
    else:
        padding = "same"
    if kernel_size == 1 and strides == 1:
        conv = PointwiseConv2D(filters, use_bias=False, name=f"{name}_conv")
    else:
        conv = layers.Conv2D(
            filters, kernel_size, strides=strides, padding=padding, use_bias=False, name=f"{name}_conv"
        )
    x = conv(x)
    x = batch_norm(f"{name}_bn")(x)
    if relu:
        x = layers.ReLU(name=f"{name}_relu")(x)
    return x


def batch_norm(name):
    """torchvision's BatchNorm2d settings, in the layer that trains faster on TensorFlow."""
    return BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)


def depthwise_bn(x, strides, name):
    """Depthwise 3x3 (no bias) + BatchNorm, no activation (both papers)."""
    if strides > 1:
        x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
        padding = "valid"
    else:
        padding = "same"
    x = layers.DepthwiseConv2D(
        3, strides=strides, padding=padding, use_bias=False, name=f"{name}_dwconv"
    )(x)
    return batch_norm(f"{name}_bn")(x)


def stem(x, filters, small_inputs, include_preprocessing):
    """Optional normalization, then Conv1 3x3 s2 and MaxPool 3x3 s2.

    `small_inputs=True` keeps Conv1 at stride 1 and drops the max pool, so the
    network down-samples by 8 instead of 32 (CIFAR-sized images reach the last
    stage at 4x4 rather than 1x1). The weights are the same shapes either way.
    """
    if include_preprocessing:
        x = preprocessing.normalization_layer(name="preprocessing")(x)
    x = conv_bn(x, filters, 3, strides=1 if small_inputs else 2, name="conv1")
    if not small_inputs:
        # Inputs are post-ReLU (>= 0), so zero padding equals PyTorch's -inf padding.
        x = layers.ZeroPadding2D(1, name="maxpool_pad")(x)
        x = layers.MaxPooling2D(3, strides=2, name="maxpool")(x)
    return x


def head(x, include_top, pooling, classes, classifier_activation):
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        return layers.Dense(classes, activation=classifier_activation, name="fc")(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def finish_model(img_input, source_tensor, outputs, name):
    inputs = keras.utils.get_source_inputs(source_tensor) if source_tensor is not None else img_input
    return keras.Model(inputs, outputs, name=name)


def load_weights(model, weights, *, family, width, groups=None, build_reference):
    """Loads `weights`: None, 'imagenet', a `.weights.h5` file or a `.pth` state dict.

    `family` ("v1" or "v2") names the `.pth` layout; `build_reference` builds
    the full classifier a published checkpoint is converted into on first use.
    """
    if weights is None:
        return model
    if weights == "imagenet":
        return pretrained.load_imagenet_weights(
            model, family=family, width=width, groups=groups, build_reference=build_reference
        )
    return pretrained.load_weights_file(model, weights, family=family)
