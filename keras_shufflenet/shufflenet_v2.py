"""ShuffleNet V2 (Ma et al., ECCV 2018, arXiv 1807.11164), laid out as torchvision's.

Reference:
  - [ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design](
    https://arxiv.org/abs/1807.11164)
"""

import functools

from keras import layers

from keras_shufflenet import _builder
from keras_shufflenet.layers import ChannelShuffle, ChannelSplit
from keras_shufflenet.stages import V2_STAGE_CHANNELS as STAGE_CHANNELS
from keras_shufflenet.stages import V2_STAGE_REPEATS as STAGE_REPEATS


def shufflenet_v2_unit(x, out_channels, strides, name):
    """One ShuffleNet V2 unit (paper Fig. 3c, 3d); `name` like `stage3_unit2`."""
    branch_channels = out_channels // 2
    if strides == 1:
        left, right = ChannelSplit(2, name=f"{name}_split")(x)
    else:
        left = _builder.depthwise_bn(x, strides, name=f"{name}_branch1_0")
        left = _builder.conv_bn(left, branch_channels, 1, name=f"{name}_branch1_1")
        right = x
    right = _builder.conv_bn(right, branch_channels, 1, name=f"{name}_branch2_0")
    right = _builder.depthwise_bn(right, strides, name=f"{name}_branch2_1")
    right = _builder.conv_bn(right, branch_channels, 1, name=f"{name}_branch2_2")
    x = layers.Concatenate(name=f"{name}_concat")([left, right])
    return ChannelShuffle(2, name=f"{name}_shuffle")(x)


def ShuffleNetV2(
    width=1.0,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
    small_inputs=False,
    include_preprocessing=False,
):
    """Instantiates the ShuffleNet V2 architecture.

    Reference:
    - [ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture
      Design](https://arxiv.org/abs/1807.11164) (ECCV 2018)

    The layout is torchvision's `shufflenet_v2_x*`: no convolution biases,
    BatchNorm epsilon 1e-5, symmetric padding on every 3x3, so the trainable
    parameter count is torchvision's exactly and its weights port one to one.

    | width | MFLOPs (224) | params    | top-1 (paper) |
    |-------|--------------|-----------|---------------|
    | 0.5   | 41           | 1,366,792 | 60.3          |
    | 1.0   | 146          | 2,278,604 | 69.4          |
    | 1.5   | 299          | 3,503,624 | 72.6          |
    | 2.0   | 591          | 7,393,996 | 74.9          |

    Example:

    ```python
    import keras_shufflenet
    model = keras_shufflenet.ShuffleNetV2(1.0)                     # ImageNet-sized
    cifar = keras_shufflenet.ShuffleNetV2(
        0.5, input_shape=(32, 32, 3), small_inputs=True, classes=10)
    ```

    Args:
        width: channel width multiplier, one of 0.5, 1.0, 1.5, 2.0.
        include_top: whether to include the global pooling and the
            fully-connected classifier `fc`.
        weights: `None` (random initialization), `"imagenet"` (torchvision's
            weights, converted), or the path to a `.weights.h5` file or a
            torchvision-format `.pth` file.
        input_tensor: optional Keras tensor to use as the model's input.
        input_shape: optional `(height, width, 3)`; any size from 32x32 up
            (8x8 with `small_inputs=True`), square or not. Defaults to
            `(None, None, 3)`.
        pooling: feature pooling when `include_top=False`: `None` (4D
            feature map from `conv5`), `"avg"` or `"max"` (2D output).
        classes: number of classes when `include_top=True` and no pretrained
            head is loaded.
        classifier_activation: activation of `fc`; `None` returns logits.
        name: model name; defaults to `shufflenet_v2_x1_0` style names.
        small_inputs: if `True`, the stem keeps full resolution (Conv1 at
            stride 1, no max pool): an overall stride of 8 instead of 32, for
            small images such as 32x32 CIFAR. Weights are unchanged in shape.
        include_preprocessing: if `True`, the model starts with the ImageNet
            normalization and takes RGB pixels in [0, 255]; otherwise apply
            `keras_shufflenet.preprocess_input` to the images first.

    Returns:
        A `keras.Model`.
    """
    width = _check_width(width)
    _builder.validate_common_args(
        weights=weights,
        include_top=include_top,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        small_inputs=small_inputs,
    )
    stem_channels, *stage_channels, conv5_channels = STAGE_CHANNELS[width]

    img_input, source_tensor = _builder.make_inputs(input_tensor, input_shape)
    x = _builder.stem(img_input, stem_channels, small_inputs, include_preprocessing)
    for stage, (repeats, channels) in enumerate(zip(STAGE_REPEATS, stage_channels), start=2):
        for unit in range(repeats):
            x = shufflenet_v2_unit(
                x, channels, strides=2 if unit == 0 else 1, name=f"stage{stage}_unit{unit}"
            )
    x = _builder.conv_bn(x, conv5_channels, 1, name="conv5")
    x = _builder.head(x, include_top, pooling, classes, classifier_activation)

    if name is None:
        name = f"shufflenet_v2_x{_builder.width_tag(width)}"
    model = _builder.finish_model(img_input, source_tensor, x, name)
    return _builder.load_weights(
        model,
        weights,
        family="v2",
        width=width,
        build_reference=functools.partial(ShuffleNetV2, width, weights=None),
    )


def _check_width(width):
    if width not in STAGE_CHANNELS:
        raise ValueError(
            f"ShuffleNetV2 width must be one of {sorted(STAGE_CHANNELS)}; got width={width!r}."
        )
    return float(width)
