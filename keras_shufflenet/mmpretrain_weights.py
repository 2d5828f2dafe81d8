"""OpenMMLab mmpretrain's ShuffleNet V1 state dict -> the layers of `ShuffleNetV1`.

mmpretrain (formerly mmcls) publishes ShuffleNet V1 1.0x, g=3 ImageNet
weights. Its unit is the paper's with two reorderings, both exact to convert:

- it shuffles channels *after* the depthwise 3x3 + BatchNorm, the paper (and
  `ShuffleNetV1`) before. Both are per-channel, so shuffle(dw(x)) equals
  dw'(shuffle(x)) where dw' is dw with its channels in shuffled order: the
  depthwise kernel and its BatchNorm tensors are permuted here, once.
- in stride-2 units it applies the ReLU to the branch before concatenating
  the average-pooled shortcut; the shortcut is already >= 0 (it pools a
  ReLU or max-pool output), so a ReLU after the concat is the same.

The correspondence is the tables `STEM`, `UNIT` and `HEAD` below (unit `i`
of stage `s` is mmpretrain's `backbone.layers.{s-2}.{i}` and our
`stage{s}_unit{i}_*`); layouts convert as in `torchvision_weights`.
"""

import numpy as np

from keras_shufflenet import torchvision_weights
from keras_shufflenet.stages import V1_STAGE_REPEATS as STAGE_REPEATS
from keras_shufflenet.torchvision_weights import BATCHNORM, CONV, DEPTHWISE, LINEAR

# A key only this layout has.
MARKER = "backbone.conv1.conv.weight"

# mmpretrain module              Keras layer        kind
STEM = (
    ("backbone.conv1.conv",       "conv1_conv",      CONV),
    ("backbone.conv1.bn",         "conv1_bn",        BATCHNORM),
)  # fmt: skip
UNIT = (
    ("g_conv_1x1_compress.conv",  "gconv1",          CONV),
    ("g_conv_1x1_compress.bn",    "gconv1_bn",       BATCHNORM),
    ("depthwise_conv3x3_bn.conv", "dw_dwconv",       DEPTHWISE),
    ("depthwise_conv3x3_bn.bn",   "dw_bn",           BATCHNORM),
    ("g_conv_1x1_expand.conv",    "gconv2",          CONV),
    ("g_conv_1x1_expand.bn",      "gconv2_bn",       BATCHNORM),
)  # fmt: skip
HEAD = (
    ("head.fc",                   "fc",              LINEAR),
)  # fmt: skip
# Layers whose channels are permuted by the shuffle moved in front of them.
SHUFFLED = ("dw_dwconv", "dw_bn")


def mapping(stage_repeats=STAGE_REPEATS):
    """The full table: `[(mmpretrain module, Keras layer, kind), ...]`."""
    rows = list(STEM)
    for stage, repeats in enumerate(stage_repeats, start=2):
        for unit in range(repeats):
            for torch_name, keras_name, kind in UNIT:
                rows.append(
                    (f"backbone.layers.{stage - 2}.{unit}.{torch_name}",
                     f"stage{stage}_unit{unit}_{keras_name}", kind)
                )  # fmt: skip
    rows.extend(HEAD)
    return rows


def shuffle_permutation(channels, groups):
    """`perm` with `shuffle(x)[k] == x[perm[k]]` for ShuffleNet's channel shuffle."""
    if channels % groups:
        raise ValueError(f"{channels} channels do not divide into {groups} groups.")
    return np.arange(channels).reshape(groups, channels // groups).T.reshape(-1)


def load_into(model, state_dict, *, source="The weights"):
    """Loads an mmpretrain ShuffleNet V1 state dict (or checkpoint) into `model`.

    Args:
        model: a `keras_shufflenet.ShuffleNetV1` model with the same groups
            and width as the checkpoint, with or without its head.
        state_dict: name -> numpy array, or a checkpoint holding one under
            `state_dict` (as mmpretrain publishes them).
        source: how error messages name the weights.

    Raises:
        ValueError: not mmpretrain's ShuffleNet V1 layout, or shapes that do
            not fit the model (another width, groups or class count).
    """
    names = {layer.name for layer in model.layers}
    if "stage2_unit0_gconv1" not in names:
        raise ValueError(
            f"Model {model.name!r} is not a ShuffleNetV1; mmpretrain ShuffleNet V1 weights fit "
            "only ShuffleNetV1."
        )
    groups = model.get_layer("stage2_unit1_gconv1").groups
    if groups > 1 and "stage2_unit1_shuffle" not in names:
        raise ValueError("mmpretrain's ShuffleNet V1 shuffles channels; build with shuffle=True.")
    converted = torchvision_weights.convert_state_dict(
        state_dict, mapping(), include_top="fc" in names
    )
    for layer_name, weights in converted.items():
        axis = 2 if layer_name.endswith("_dwconv") else 0  # kernel (3, 3, C, 1) or (C,)
        channels = model.get_layer(layer_name).weights[0].shape[axis]
        # A misfit (another width or groups) is left for `assign` to report.
        if groups > 1 and layer_name.endswith(SHUFFLED) and weights[0].shape[axis] == channels:
            perm = shuffle_permutation(channels, groups)
            converted[layer_name] = [np.take(w, perm, axis=axis) for w in weights]
    return torchvision_weights.assign(model, converted, source=source)
