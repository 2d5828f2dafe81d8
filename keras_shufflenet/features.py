"""Multi-scale feature maps for detection and segmentation heads.

Detectors (FPN, SSD, the ShuffleNet papers' COCO experiments) read a backbone
at several strides. `feature_model` turns a ShuffleNet classifier or
backbone into a model with one output per pyramid level, keyed like
KerasHub's `pyramid_outputs`: `"P3"` is stride 8, `"P4"` stride 16, `"P5"`
stride 32.

| level | stride | ShuffleNetV2 layer        | ShuffleNetV1 layer     |
|-------|--------|---------------------------|------------------------|
| P3    | 8      | end of stage 2            | end of stage 2         |
| P4    | 16     | end of stage 3            | end of stage 3         |
| P5    | 32     | `conv5` (1x1 conv + ReLU) | end of stage 4         |

    import keras_shufflenet
    from keras_shufflenet.features import feature_model

    backbone = keras_shufflenet.ShuffleNetV2(1.0, weights="imagenet", include_top=False,
                                             input_shape=(512, 512, 3))
    pyramid = feature_model(backbone)               # {"P3", "P4", "P5"}
    maps = pyramid(images)   # P3 (B, 64, 64, 116), P4 (B, 32, 32, 232), P5 (B, 16, 16, 1024)

The feature model shares its layers (and weights) with `model`. Built with
`small_inputs=True` the network down-samples 4x less, and the levels are
named by their true stride: P1, P2, P3.
"""

import keras

STAGES = (2, 3, 4)


def pyramid_layer_names(model):
    """`{level: layer name}` of the feature maps of a ShuffleNet V1 or V2 model.

    Raises:
        ValueError: `model` is not a model built by `ShuffleNetV1`/`ShuffleNetV2`.
    """
    names = {layer.name for layer in model.layers}
    stage_ends = {}
    for stage in STAGES:
        units = sorted(
            int(name.split("_")[1][len("unit") :])
            for name in names
            if name.startswith(f"stage{stage}_unit") and name.endswith(("_shuffle", "_relu"))
        )
        if not units:
            raise ValueError(
                f"Model {model.name!r} has no 'stage{stage}_unit*' layers: feature_model needs a "
                "model built by keras_shufflenet.ShuffleNetV1 or ShuffleNetV2."
            )
        last = f"stage{stage}_unit{units[-1]}"
        # V1 units end in a ReLU (after the add or concat), V2 units in a shuffle.
        stage_ends[stage] = f"{last}_relu" if f"{last}_relu" in names else f"{last}_shuffle"
    if "conv5_relu" in names:
        stage_ends[4] = "conv5_relu"
    # Stage 2 runs at stride 8, or 2 without the stem's two stride-2 layers.
    first_level = 3 if "maxpool" in names else 1
    return {f"P{first_level + i}": stage_ends[stage] for i, stage in enumerate(STAGES)}


def feature_model(model, levels=None, name=None):
    """A model from `model`'s input to its pyramid feature maps.

    Args:
        model: a `ShuffleNetV1` or `ShuffleNetV2` model, with or without its
            head (its layers and weights are shared, not copied).
        levels: which levels to output, e.g. `("P4", "P5")`; default all
            three (see `pyramid_layer_names`).
        name: the new model's name; defaults to `<model name>_features`.

    Returns:
        A `keras.Model` whose output is a dict `{level: feature map}` in NHWC.

    Raises:
        ValueError: not a ShuffleNet model, or an unknown level.
    """
    available = pyramid_layer_names(model)
    if levels is None:
        levels = tuple(available)
    if isinstance(levels, str) or not levels or any(level not in available for level in levels):
        raise ValueError(
            f"`levels` must be a non-empty sequence drawn from {tuple(available)}; "
            f"got levels={levels!r}."
        )
    outputs = {level: model.get_layer(available[level]).output for level in levels}
    return keras.Model(model.input, outputs, name=name or f"{model.name}_features")


def level_stride(level):
    """`"P3"` -> 8: the down-sampling factor of a pyramid level."""
    if not (isinstance(level, str) and level[:1] == "P" and level[1:].isdigit()):
        raise ValueError(f"A pyramid level looks like 'P3'; got {level!r}.")
    return 2 ** int(level[1:])
