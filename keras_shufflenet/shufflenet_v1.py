"""ShuffleNet V1 (Zhang et al., CVPR 2018, arXiv 1707.01083).

The unit follows the paper's Fig. 2 and megvii's official code; the classifier
keeps a bias, as mmpretrain's does. The "megvii" variant is the network the
authors trained their released checkpoints as (their channel shuffle order
and input); see `keras_shufflenet.megvii_weights`.
"""

import functools

from keras import layers

from keras_shufflenet import _builder, catalogue, preprocessing, pretrained, stages
from keras_shufflenet.layers import ChannelShuffle, GroupedPointwiseConv2D

# The stage tables live in `keras_shufflenet.stages`, which the converters read too.
STAGE_REPEATS = stages.V1_STAGE_REPEATS
GROUPS = stages.V1_GROUPS
WIDTHS = stages.V1_WIDTHS
VARIANTS = ("paper", "megvii")


def shufflenet_v1_unit(
    x, out_channels, groups, strides, first_group_conv, name, shuffle=True, shuffle_order="paper"
):
    """One ShuffleNet V1 unit (paper Fig. 2b, 2c); `name` like `stage3_unit2`.

    `shuffle_order="megvii"` shuffles in the authors' released code's order,
    the inverse permutation of the paper's: channels viewed as (channels per
    group, groups) rather than (groups, channels per group) are transposed.
    """
    in_channels = x.shape[-1]
    bottleneck = stages.v1_bottleneck_channels(out_channels, groups)
    branch_out = out_channels - in_channels if strides == 2 else out_channels
    first_groups = groups if first_group_conv else 1

    y = GroupedPointwiseConv2D(bottleneck, first_groups, name=f"{name}_gconv1")(x)
    y = _builder.batch_norm(f"{name}_gconv1_bn")(y)
    y = layers.ReLU(name=f"{name}_gconv1_relu")(y)
    if groups > 1 and shuffle:
        shuffle_groups = groups if shuffle_order == "paper" else bottleneck // groups
        y = ChannelShuffle(shuffle_groups, name=f"{name}_shuffle")(y)
    y = _builder.depthwise_bn(y, strides, name=f"{name}_dw")
    y = GroupedPointwiseConv2D(branch_out, groups, name=f"{name}_gconv2")(y)
    y = _builder.batch_norm(f"{name}_gconv2_bn")(y)
    if strides == 1:
        y = layers.Add(name=f"{name}_add")([x, y])
    else:
        shortcut = layers.ZeroPadding2D(1, name=f"{name}_shortcut_pad")(x)
        # PyTorch's AvgPool2d(3, 2, padding=1) counts the padding: so does this.
        shortcut = layers.AveragePooling2D(3, strides=2, name=f"{name}_shortcut_pool")(shortcut)
        y = layers.Concatenate(name=f"{name}_concat")([shortcut, y])
    return layers.ReLU(name=f"{name}_relu")(y)


def ShuffleNetV1(
    width=1.0,
    groups=3,
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
    shuffle=True,
    variant=None,
):
    """Instantiates the ShuffleNet V1 architecture.

    Reference:
    - [ShuffleNet: An Extremely Efficient Convolutional Neural Network for
      Mobile Devices](https://arxiv.org/abs/1707.01083) (CVPR 2018)

    Stage channels are the paper's Table 1 (1x: g=1 144, g=2 200, g=3 240,
    g=4 272, g=8 384 at stage 2, doubling per stage), scaled by `width` and
    rounded so every grouped convolution divides evenly; for g=3 and g=8 at
    0.5x-2.0x they are megvii's released lists exactly.

    Example:

    ```python
    import keras_shufflenet
    model = keras_shufflenet.ShuffleNetV1(1.0, groups=3)   # 137 MFLOPs at 224
    ```

    Args:
        width: channel width multiplier, one of 0.25, 0.5, 1.0, 1.5, 2.0.
        groups: groups of the pointwise convolutions, one of 1, 2, 3, 4, 8.
        include_top: whether to include the global pooling and the
            fully-connected classifier `fc`.
        weights: `None` (random initialization), `"imagenet"` (width 1.0,
            groups 3 only: OpenMMLab mmpretrain's weights, converted), or
            the path to a `.weights.h5` file, an mmpretrain-format `.pth`,
            or one of the V1 authors' checkpoints as downloaded by hand
            from megvii-model/ShuffleNet-Series (`.pth.tar`, groups 3 and 8
            at 0.5x-2.0x; see docs/pretrained.md).
        input_tensor: optional Keras tensor to use as the model's input.
        input_shape: optional `(height, width, 3)`; any size from 32x32 up
            (8x8 with `small_inputs=True`), square or not.
        pooling: feature pooling when `include_top=False`: `None`, `"avg"` or
            `"max"`.
        classes: number of classes when `include_top=True`.
        classifier_activation: activation of `fc`; `None` returns logits.
        name: model name; defaults to `shufflenet_v1_g3_x1_0` style names.
        small_inputs: if `True`, Conv1 runs at stride 1 and the max pool is
            dropped (overall stride 8), for small images such as CIFAR.
        include_preprocessing: if `True`, the model normalizes RGB pixels in
            [0, 255] itself.
        shuffle: `False` removes the channel shuffles (the paper's ablation,
            Table 3); for experiments only.
        variant: `"paper"` or `"megvii"`; by default `"megvii"` when
            `weights` is one of the authors' checkpoints, else `"paper"`.
            `"megvii"` builds the network as the authors trained it: their
            channel shuffle order (the inverse of the paper's) and a first
            layer, `to_pixels`, that undoes `preprocess_input` because their
            network reads pixels in [0, 255] (with
            `include_preprocessing=True` the model reads pixels directly).
            Pass it to reload a `.weights.h5` saved from such a model.

    Returns:
        A `keras.Model`.
    """
    if groups not in GROUPS:
        raise ValueError(f"ShuffleNetV1 groups must be one of {GROUPS}; got groups={groups!r}.")
    if width not in WIDTHS:
        raise ValueError(f"ShuffleNetV1 width must be one of {WIDTHS}; got width={width!r}.")
    width = float(width)
    _builder.validate_common_args(
        weights=weights,
        include_top=include_top,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        small_inputs=small_inputs,
    )
    if weights == "imagenet" and (("v1", width, groups) not in catalogue.PUBLISHED or not shuffle):
        raise ValueError(_no_imagenet_weights(width, groups, shuffle))
    variant = _resolve_variant(variant, weights, shuffle)
    stem_channels, *channels_per_stage = stages.v1_stage_channels(groups, width)

    img_input, source_tensor = _builder.make_inputs(input_tensor, input_shape)
    x = img_input
    if variant == "megvii" and not include_preprocessing:
        x = preprocessing.normalization_layer(name="to_pixels", invert=True)(x)
    x = _builder.stem(x, stem_channels, small_inputs, include_preprocessing and variant == "paper")
    for stage, (repeats, channels) in enumerate(zip(STAGE_REPEATS, channels_per_stage), start=2):
        for unit in range(repeats):
            x = shufflenet_v1_unit(
                x,
                channels,
                groups=groups,
                strides=2 if unit == 0 else 1,
                # Stage 2's first 1x1 sees only the stem's few channels: ungrouped.
                first_group_conv=not (stage == 2 and unit == 0),
                name=f"stage{stage}_unit{unit}",
                shuffle=shuffle,
                shuffle_order=variant,
            )
    x = _builder.head(x, include_top, pooling, classes, classifier_activation)

    if name is None:
        name = f"shufflenet_v1_g{groups}_x{_builder.width_tag(width)}"
        name += "_megvii" if variant == "megvii" else ""
    model = _builder.finish_model(img_input, source_tensor, x, name)
    return _builder.load_weights(
        model,
        weights,
        family="v1",
        width=width,
        groups=groups,
        build_reference=functools.partial(ShuffleNetV1, width, groups=groups, weights=None),
    )


def _no_imagenet_weights(width, groups, shuffle):
    published = " or ".join(f"width={w}, groups={g}" for f, w, g in catalogue.PUBLISHED if f == "v1")
    message = (
        f"ShuffleNetV1 has weights='imagenet' only for {published}, with shuffle=True (see "
        f"docs/pretrained.md); got width={width}, groups={groups}, shuffle={shuffle}."
    )
    manual = catalogue.MANUAL_DOWNLOADS.get(("v1", width, groups))
    if manual is not None and shuffle:
        message += (
            f" The V1 authors' checkpoint for this configuration is downloaded by hand: "
            f"{manual.file_name} from {manual.url}; pass its path as `weights`."
        )
    return message + " Otherwise pass None or a weights file."


def _resolve_variant(variant, weights, shuffle):
    """The variant to build: `variant`, or the one the weights file needs."""
    if variant not in (None, *VARIANTS):
        raise ValueError(f"`variant` must be one of {VARIANTS} or None; got variant={variant!r}.")
    megvii_file = weights not in (None, "imagenet") and pretrained.torch_file_layout(weights) == "megvii"
    if megvii_file and variant not in (None, "megvii"):
        raise ValueError(
            f"{weights!r} is a checkpoint of the V1 authors (megvii-model/ShuffleNet-Series), "
            "trained with their channel shuffle order and raw-pixel input: it needs "
            f"variant='megvii' (the default picks it for such files); got variant={variant!r}."
        )
    variant = variant or ("megvii" if megvii_file else "paper")
    if variant == "megvii" and weights == "imagenet":
        raise ValueError(
            "weights='imagenet' are mmpretrain's weights, for variant='paper'; the authors' "
            "checkpoints for variant='megvii' are downloaded by hand (docs/pretrained.md) and "
            "passed as a path."
        )
    if variant == "megvii" and not shuffle:
        raise ValueError("variant='megvii' is the authors' network, which shuffles: keep shuffle=True.")
    return variant
