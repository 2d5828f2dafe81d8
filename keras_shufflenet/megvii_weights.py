"""The ShuffleNet V1 authors' checkpoints (megvii-model/ShuffleNet-Series) ->
the layers of `ShuffleNetV1(width, groups, variant="megvii")`.

The authors released V1 ImageNet weights for groups 3 and 8 at 0.5x, 1.0x,
1.5x and 2.0x (`catalogue.MANUAL_DOWNLOADS`): `torch.save` files of
`{"state_dict": ...}` with `nn.DataParallel`'s `module.` prefix on every key.
Their network (ShuffleNetV1/network.py and blocks.py) is the paper's with
these differences, each handled exactly here or by the "megvii" variant of
the builder:

- Input: BGR pixels in [0, 255], not normalized (their `ToBGRTensor`). The
  Keras model takes the library's usual input (`preprocess_input`'s RGB
  normalization): its first layer (`to_pixels`) undoes the normalization and
  the first convolution's input channels are reversed here (BGR -> RGB).
  With `include_preprocessing=True` the model takes RGB pixels directly.
- Channel shuffle: they reshape the channels as (channels per group, groups)
  before the transpose, the paper as (groups, channels per group), so theirs
  is the inverse permutation. No permutation of grouped weights turns one
  into the other in general (the groups must stay contiguous), so the
  "megvii" variant uses their order: `ChannelShuffle(channels // groups)`.
- They shuffle after the depthwise 3x3 + BatchNorm, the builder before it.
  Both are per-channel, so the depthwise kernel and its BatchNorm are
  permuted here by the shuffle moved in front of them.
- The classifier has no bias: it gets a zero bias.
- A stride-2 unit applies its ReLU to the branch before concatenating the
  average-pooled shortcut (first) with it; the shortcut pools a ReLU or
  max-pool output, which is >= 0, so the builder's ReLU after the concat is
  the same. The first 1x1 of stage 2's first unit is ungrouped in both.
- Global pooling: `AvgPool2d(7)`, the global mean at their 224x224 input.

Unit `k` of their `features` is stage `s`, unit `i` of ours
(`k` counts units across stages); the tables below give the rest.
"""

import numpy as np

from keras_shufflenet import torchvision_weights
from keras_shufflenet.mmpretrain_weights import shuffle_permutation
from keras_shufflenet.stages import V1_OFFICIAL_CHANNELS
from keras_shufflenet.stages import V1_STAGE_REPEATS as STAGE_REPEATS
from keras_shufflenet.torchvision_weights import (
    BATCHNORM,
    CONV,
    DEPTHWISE,
    LINEAR_NO_BIAS,
)

# A key only this layout has (after the `module.` prefix is removed).
MARKER = "features.0.branch_main_1.0.weight"
# The authors' ShuffleNet V2 (and V2+) checkpoints: another network.
V2_MARKER = "features.0.branch_main.0.weight"

# megvii module          Keras layer        kind
STEM = (
    ("first_conv.0",      "conv1_conv",      CONV),
    ("first_conv.1",      "conv1_bn",        BATCHNORM),
)  # fmt: skip
UNIT = (
    ("branch_main_1.0",   "gconv1",          CONV),
    ("branch_main_1.1",   "gconv1_bn",       BATCHNORM),
    ("branch_main_1.3",   "dw_dwconv",       DEPTHWISE),
    ("branch_main_1.4",   "dw_bn",           BATCHNORM),
    ("branch_main_2.0",   "gconv2",          CONV),
    ("branch_main_2.1",   "gconv2_bn",       BATCHNORM),
)  # fmt: skip
HEAD = (
    ("classifier.0",      "fc",              LINEAR_NO_BIAS),
)  # fmt: skip
# Layers whose channels are permuted by the shuffle moved in front of them.
SHUFFLED = ("dw_dwconv", "dw_bn")


def mapping(stage_repeats=STAGE_REPEATS):
    """The full table: `[(megvii module, Keras layer, kind), ...]`."""
    rows = list(STEM)
    index = 0
    for stage, repeats in enumerate(stage_repeats, start=2):
        for unit in range(repeats):
            for torch_name, keras_name, kind in UNIT:
                rows.append(
                    (f"features.{index}.{torch_name}", f"stage{stage}_unit{unit}_{keras_name}", kind)
                )
            index += 1
    rows.extend(HEAD)
    return rows


def megvii_shuffle_groups(channels, groups):
    """The `ChannelShuffle` groups that give megvii's shuffle of `groups` groups."""
    return channels // groups


def checkpoint_config(state_dict):
    """`(groups, channels)` of a megvii V1 state dict, channels as (stem,
    stage2, stage3, stage4); None where the keys to tell are missing."""
    state_dict = torchvision_weights.unwrap_state_dict(state_dict)
    keys = ["first_conv.0.weight", "features.1.branch_main_1.0.weight"]
    first = 0
    for repeats in STAGE_REPEATS:
        keys.append(f"features.{first + 1}.branch_main_2.0.weight")  # stride 1: the stage's width
        first += repeats
    if not all(key in state_dict and np.ndim(state_dict[key]) == 4 for key in keys):
        return None
    stem = state_dict[keys[0]].shape[0]
    stage_channels = tuple(state_dict[key].shape[0] for key in keys[2:])
    in_per_group = state_dict[keys[1]].shape[1]
    if not in_per_group or stage_channels[0] % in_per_group:
        return None
    return stage_channels[0] // in_per_group, (stem, *stage_channels)


def describe(groups, channels):
    """`ShuffleNetV1 1.0x g=3` for a released configuration, else its channels."""
    for (g, width), official in V1_OFFICIAL_CHANNELS.items():
        if (g, official) == (groups, tuple(channels)):
            return f"ShuffleNetV1 {width}x g={groups}"
    return f"ShuffleNetV1 g={groups} with channels {tuple(channels)}"


def _model_config(model):
    stem = model.get_layer("conv1_conv").filters
    stages = tuple(model.get_layer(f"stage{s}_unit1_gconv2").filters for s in (2, 3, 4))
    return model.get_layer("stage2_unit1_gconv1").groups, (stem, *stages)


def load_into(model, state_dict, *, source="The weights"):
    """Loads a megvii ShuffleNet V1 state dict (or checkpoint) into `model`.

    Args:
        model: a `keras_shufflenet.ShuffleNetV1(..., variant="megvii")` of
            the checkpoint's width and groups, with or without its head.
        state_dict: name -> numpy array, or the checkpoint holding one under
            `state_dict` (with or without the `module.` prefix).
        source: how error messages name the weights.

    Raises:
        ValueError: the model is not the "megvii" variant, the checkpoint is
            of another configuration (both are named), tensors are missing,
            unexpected or of the wrong shape, or hold NaN or infinity.
    """
    names = {layer.name for layer in model.layers}
    if "stage2_unit0_gconv1" not in names:
        raise ValueError(
            f"Model {model.name!r} is not a ShuffleNetV1; megvii's ShuffleNet V1 checkpoints fit "
            "only ShuffleNetV1."
        )
    groups, channels = _model_config(model)
    config = checkpoint_config(state_dict)
    if config is not None and config != (groups, channels):
        file_groups, file_channels = config
        build = describe(*config)
        hint = ""
        for (g, width), official in V1_OFFICIAL_CHANNELS.items():
            if (g, official) == (file_groups, file_channels):
                hint = f" Build ShuffleNetV1({width}, groups={g}, ...) for it."
        raise ValueError(
            f"{source} are megvii's {build} checkpoint, but the model is "
            f"{describe(groups, channels)}.{hint}"
        )
    _check_variant(model, names, groups)
    converted = torchvision_weights.convert_state_dict(
        state_dict, mapping(), include_top="fc" in names
    )
    for layer_name, weights in converted.items():
        for weight in weights:
            if not np.all(np.isfinite(weight)):
                raise ValueError(
                    f"{source} hold NaN or infinite values (layer {layer_name!r}): the file is "
                    "corrupt. Download it again (the authors replaced corrupt V1 uploads in "
                    "August 2019, megvii-model/ShuffleNet-Series issue #4)."
                )
    # Their first convolution reads BGR, ours RGB: reverse its input channels.
    converted["conv1_conv"] = [np.ascontiguousarray(converted["conv1_conv"][0][:, :, ::-1, :])]
    for layer_name, weights in converted.items():
        axis = 2 if layer_name.endswith("_dwconv") else 0  # kernel (3, 3, C, 1) or (C,)
        channels_here = model.get_layer(layer_name).weights[0].shape[axis]
        # A misfit is left for `assign` to report, with the layer named.
        if layer_name.endswith(SHUFFLED) and weights[0].shape[axis] == channels_here:
            perm = shuffle_permutation(channels_here, megvii_shuffle_groups(channels_here, groups))
            converted[layer_name] = [np.take(w, perm, axis=axis) for w in weights]
    return torchvision_weights.assign(model, converted, source=source)


def _check_variant(model, names, groups):
    if "preprocessing" in names:
        raise ValueError(
            f"Model {model.name!r} normalizes its input for torchvision-style weights "
            "(a 'preprocessing' layer); build it with variant='megvii' to load megvii's "
            "checkpoints."
        )
    if groups == 1:
        return
    mid = model.get_layer("stage2_unit1_gconv1").filters
    shuffle = model.get_layer("stage2_unit1_shuffle") if "stage2_unit1_shuffle" in names else None
    if shuffle is None or shuffle.groups != megvii_shuffle_groups(mid, groups):
        raise ValueError(
            f"Model {model.name!r} shuffles channels in the paper's order; megvii's checkpoints "
            "were trained with the inverse order. Build it with "
            "ShuffleNetV1(..., variant='megvii') (chosen by itself when `weights` is such a file)."
        )
