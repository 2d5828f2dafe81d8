"""Fine-tuning a (pretrained) ShuffleNet on new classes.

`finetune_model` keeps a ShuffleNet's backbone, puts a new head for
`num_classes` on it (global average pool, optional dropout, `fc`) and
chooses which stages train. Stages, from the input side:

| stage    | layers                                   |
|----------|------------------------------------------|
| `stem`   | `preprocessing`, `conv1_*`, `maxpool*`    |
| `stage2` | `stage2_unit*`                           |
| `stage3` | `stage3_unit*`                           |
| `stage4` | `stage4_unit*`                           |
| `conv5`  | `conv5_*` (ShuffleNetV2 only)            |

The usual two-phase recipe: train the head alone, then unfreeze the last
stages with a lower learning rate (recompile after every change of
`trainable`; frozen BatchNormalization layers run in inference mode, so their
ImageNet statistics are kept).

    import keras_shufflenet
    from keras_shufflenet.finetune import finetune_model, set_trainable_stages

    base = keras_shufflenet.ShuffleNetV2(1.0, weights="imagenet", include_top=False,
                                         include_preprocessing=True)
    model = finetune_model(base, num_classes=5, trainable_stages=0, dropout=0.2)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(train, epochs=3)
    set_trainable_stages(model, 2)                  # now stage4 and conv5 too
    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(train, epochs=5)
"""

import keras

from keras_shufflenet import features

STAGES = ("stem", "stage2", "stage3", "stage4", "conv5")
_STEM_PREFIXES = ("preprocessing", "conv1_", "maxpool")


def stage_of(layer_name):
    """The backbone stage a layer belongs to (see the table), or None."""
    if layer_name.startswith(_STEM_PREFIXES):
        return "stem"
    for stage in STAGES[1:]:
        if layer_name.startswith(f"{stage}_"):
            return stage
    return None


def model_stages(model):
    """The stages `model` has, input side first."""
    present = {stage_of(layer.name) for layer in model.layers}
    return tuple(stage for stage in STAGES if stage in present)


def set_trainable_stages(model, trainable_stages="all"):
    """Freezes or unfreezes the backbone's stages; other layers (the head) train.

    Args:
        model: a ShuffleNet model, e.g. from `finetune_model`.
        trainable_stages: `"all"`; `"none"` or `0` (only the head trains);
            an integer `k`: the last `k` stages train (with ShuffleNetV2,
            `1` is `conv5`, `2` adds `stage4`); or a sequence of stage names.

    Returns:
        The tuple of stages that now train. Recompile the model afterwards.

    Raises:
        ValueError: an unknown stage name or an out-of-range count.
    """
    stages = model_stages(model)
    chosen = _resolve(trainable_stages, stages)
    for layer in model.layers:
        stage = stage_of(layer.name)
        layer.trainable = stage is None or stage in chosen
    return tuple(stage for stage in stages if stage in chosen)


def finetune_model(
    base,
    num_classes,
    *,
    trainable_stages="all",
    dropout=0.0,
    classifier_activation="softmax",
    name=None,
):
    """A new classifier on `base`'s backbone, with some stages frozen.

    Args:
        base: a `ShuffleNetV1`/`ShuffleNetV2` model, with or without its head
            (any head it has is dropped). Its layers and weights are shared.
        num_classes: classes of the new `fc` layer.
        trainable_stages: which backbone stages train; see
            `set_trainable_stages`. Default: all of them.
        dropout: dropout rate before `fc`, in [0, 1); 0 adds none.
        classifier_activation: activation of `fc`; `None` returns logits.
        name: model name; defaults to `<base name>_finetune`.

    Returns:
        An uncompiled `keras.Model` from `base`'s input to `num_classes` scores.
    """
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"`num_classes` must be a positive integer; got {num_classes!r}.")
    if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1); got {dropout!r}.")
    pyramid = features.pyramid_layer_names(base)
    x = base.get_layer(pyramid[max(pyramid, key=features.level_stride)]).output
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation=classifier_activation, name="fc")(x)
    model = keras.Model(base.input, outputs, name=name or f"{base.name}_finetune")
    set_trainable_stages(model, trainable_stages)
    return model


def _resolve(trainable_stages, stages):
    if trainable_stages == "all":
        return set(stages)
    if trainable_stages == "none":
        return set()
    if isinstance(trainable_stages, int) and not isinstance(trainable_stages, bool):
        if not 0 <= trainable_stages <= len(stages):
            raise ValueError(
                f"`trainable_stages` as a count must be from 0 to {len(stages)} (this model's "
                f"stages: {stages}); got {trainable_stages}."
            )
        return set(stages[len(stages) - trainable_stages :])
    if not isinstance(trainable_stages, str):
        try:
            chosen = set(trainable_stages)
        except TypeError:
            chosen = None
        if chosen is not None and chosen <= set(stages):
            return chosen
    raise ValueError(
        "`trainable_stages` must be 'all', 'none', a count of last stages, or stage names "
        f"from {stages}; got {trainable_stages!r}."
    )
