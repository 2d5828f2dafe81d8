"""torchvision's ShuffleNet V2 state dict -> the Keras layers of `ShuffleNetV2`.

The whole correspondence is the two tables below: `STEM_AND_HEAD` and `UNIT`
(unit `i` of stage `s` is torchvision's `stage{s}.{i}` and our
`stage{s}_unit{i}_*`). `branch2.2` and `branch1.4`/`branch2.7` are ReLUs and
hold no weights. Layouts are converted once, here:

- convolution  `(out, in, kh, kw)` -> `(kh, kw, in, out)`
- depthwise    `(channels, 1, kh, kw)` -> `(kh, kw, channels, 1)`
- linear       `(out, in)` -> `(in, out)`, bias unchanged (a linear layer
  without bias gets a zero bias: the same outputs)
- BatchNorm    `weight, bias, running_mean, running_var` -> `gamma, beta,
  moving_mean, moving_variance`; `num_batches_tracked` is training state and
  is dropped. torchvision's epsilon (1e-5) is not in the file: it is checked
  against every Keras BatchNormalization layer instead.

    from keras_shufflenet import pth, torchvision_weights
    model = keras_shufflenet.ShuffleNetV2(1.0)
    torchvision_weights.load_into(model, pth.load_state_dict("shufflenetv2_x1-5666bf0f80.pth"))
"""

import numpy as np

from keras_shufflenet.stages import V2_STAGE_CHANNELS as STAGE_CHANNELS
from keras_shufflenet.stages import V2_STAGE_REPEATS as STAGE_REPEATS

TORCHVISION_BN_EPSILON = 1e-5
# A key only this layout has (after a `module.` prefix is removed).
MARKER = "stage2.0.branch2.0.weight"

# Kinds of layer, each with one layout conversion (see `convert_layer`).
CONV, DEPTHWISE, BATCHNORM, LINEAR = "conv", "depthwise", "batchnorm", "linear"
LINEAR_NO_BIAS = "linear_no_bias"
HEAD_KINDS = (LINEAR, LINEAR_NO_BIAS)

# torchvision module   Keras layer          kind
STEM_AND_HEAD = (
    ("conv1.0",         "conv1_conv",        CONV),
    ("conv1.1",         "conv1_bn",          BATCHNORM),
    ("conv5.0",         "conv5_conv",        CONV),
    ("conv5.1",         "conv5_bn",          BATCHNORM),
    ("fc",              "fc",                LINEAR),
)  # fmt: skip

# Inside `stage{s}.{i}` / `stage{s}_unit{i}_`; branch1 only in unit 0 (stride 2).
UNIT = (
    ("branch1.0",       "branch1_0_dwconv",  DEPTHWISE),
    ("branch1.1",       "branch1_0_bn",      BATCHNORM),
    ("branch1.2",       "branch1_1_conv",    CONV),
    ("branch1.3",       "branch1_1_bn",      BATCHNORM),
    ("branch2.0",       "branch2_0_conv",    CONV),
    ("branch2.1",       "branch2_0_bn",      BATCHNORM),
    ("branch2.3",       "branch2_1_dwconv",  DEPTHWISE),
    ("branch2.4",       "branch2_1_bn",      BATCHNORM),
    ("branch2.5",       "branch2_2_conv",    CONV),
    ("branch2.6",       "branch2_2_bn",      BATCHNORM),
)  # fmt: skip

# The tensors of one torchvision module of each kind, in Keras weight order.
TENSORS = {
    CONV: ("weight",),
    DEPTHWISE: ("weight",),
    BATCHNORM: ("weight", "bias", "running_mean", "running_var"),
    LINEAR: ("weight", "bias"),
    LINEAR_NO_BIAS: ("weight",),
}
# Training state with no Keras counterpart.
IGNORED_SUFFIXES = (".num_batches_tracked",)


def mapping(stage_repeats=STAGE_REPEATS):
    """The full table: `[(torchvision module, Keras layer, kind), ...]`."""
    rows = list(STEM_AND_HEAD[:2])
    for stage, repeats in enumerate(stage_repeats, start=2):
        for unit in range(repeats):
            for torch_name, keras_name, kind in UNIT:
                if torch_name.startswith("branch1") and unit > 0:
                    continue
                rows.append(
                    (f"stage{stage}.{unit}.{torch_name}",
                     f"stage{stage}_unit{unit}_{keras_name}", kind)
                )  # fmt: skip
    rows.extend(STEM_AND_HEAD[2:])
    return rows


def convert_layer(kind, tensors):
    """torchvision tensors of one module (in `TENSORS[kind]` order) -> Keras weights."""
    if kind == CONV:
        return [np.transpose(tensors[0], (2, 3, 1, 0))]
    if kind == DEPTHWISE:
        return [np.transpose(tensors[0], (2, 3, 0, 1))]
    if kind == LINEAR:
        return [np.transpose(tensors[0]), tensors[1]]
    if kind == LINEAR_NO_BIAS:
        return [np.transpose(tensors[0]), np.zeros(tensors[0].shape[0], tensors[0].dtype)]
    if kind == BATCHNORM:
        return list(tensors)
    raise ValueError(f"Unknown layer kind {kind!r}; expected one of {sorted(TENSORS)}.")


def unwrap_state_dict(checkpoint):
    """The state dict inside a checkpoint: itself, or its `state_dict`/`model` entry.

    A `module.` prefix on every key (left by `nn.DataParallel`) is removed.
    """
    state_dict = checkpoint
    for key in ("state_dict", "model"):
        if isinstance(state_dict, dict) and isinstance(state_dict.get(key), dict):
            state_dict = state_dict[key]
    if not isinstance(state_dict, dict) or not all(isinstance(k, str) for k in state_dict):
        raise ValueError(
            f"Expected a state dict (a dict of name -> tensor); got {type(state_dict).__name__}."
        )
    if state_dict and all(k.startswith("module.") for k in state_dict):
        state_dict = {k[len("module.") :]: v for k, v in state_dict.items()}
    return state_dict


def convert_state_dict(state_dict, rows, include_top=True):
    """`{Keras layer: [weights]}` from a state dict, following `rows` of a table.

    Every tensor of the state dict must be used (or be training state, like
    `num_batches_tracked`); the head's tensors are skipped when
    `include_top=False`.

    Raises:
        ValueError: keys missing from, or left over in, the state dict.
    """
    state_dict = unwrap_state_dict(state_dict)
    head = {keras_name for _, keras_name, kind in rows if kind in HEAD_KINDS}
    used, missing, converted = set(), [], {}
    for torch_name, keras_name, kind in rows:
        keys = [f"{torch_name}.{tensor}" for tensor in TENSORS[kind]]
        used.update(keys)
        if keras_name in head and not include_top:
            continue
        absent = [key for key in keys if key not in state_dict]
        if absent:
            missing.extend(absent)
            continue
        tensors = [np.asarray(state_dict[key], dtype=np.float32) for key in keys]
        converted[keras_name] = convert_layer(kind, tensors)
    unexpected = sorted(
        key for key in state_dict if key not in used and not key.endswith(IGNORED_SUFFIXES)
    )
    if missing or unexpected:
        problems = []
        if missing:
            problems.append(f"missing {len(missing)} tensors (e.g. {missing[:3]})")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected tensors (e.g. {unexpected[:3]})")
        raise ValueError(
            f"The state dict does not match the expected layout: {'; '.join(problems)}."
        )
    return converted


def assign(model, converted, *, source="The weights"):
    """Sets each named layer of `model` to its converted weights, shapes checked.

    Raises:
        ValueError: a layer is missing from the model, a shape differs (the
            head's class count is named), or a BatchNormalization layer's
            epsilon is not torchvision's.
    """
    for layer_name, weights in converted.items():
        try:
            layer = model.get_layer(layer_name)
        except ValueError:
            raise ValueError(
                f"{source} have weights for layer {layer_name!r}, which model {model.name!r} "
                "does not have."
            ) from None
        expected = [tuple(w.shape) for w in layer.weights]
        got = [tuple(w.shape) for w in weights]
        if expected != got:
            if layer_name == "fc" and len(got) == 2 and len(expected) == 2:
                raise ValueError(
                    f"{source} have a {got[1][0]}-class head, but the model was built with "
                    f"classes={expected[1][0]}. Build it with classes={got[1][0]}, or with "
                    "include_top=False to leave the head out (keras_shufflenet.finetune adds "
                    "a new one)."
                )
            raise ValueError(
                f"{source} do not fit layer {layer_name!r}: weight shapes {got}, the layer has "
                f"{expected}. Were they saved for another width or variant?"
            )
        epsilon = getattr(layer, "epsilon", None)
        if epsilon is not None and abs(epsilon - TORCHVISION_BN_EPSILON) > 1e-12:
            raise ValueError(
                f"Layer {layer_name!r} has BatchNormalization epsilon {epsilon}; the converted "
                f"weights were trained with {TORCHVISION_BN_EPSILON}."
            )
    for layer_name, weights in converted.items():
        model.get_layer(layer_name).set_weights(weights)
    return model


def width_of(state_dict):
    """The ShuffleNet V2 width a torchvision state dict was saved for, or None."""
    state_dict = unwrap_state_dict(state_dict)
    weight = state_dict.get("stage2.0.branch2.0.weight")
    conv5 = state_dict.get("conv5.0.weight")
    if weight is None or conv5 is None:
        return None
    for width, channels in STAGE_CHANNELS.items():
        if channels[1] == 2 * weight.shape[0] and channels[-1] == conv5.shape[0]:
            return width
    return None


def load_into(model, state_dict, *, source="The weights"):
    """Loads a torchvision ShuffleNet V2 state dict into `ShuffleNetV2` `model`.

    Works for every variant the builder makes: with or without the head
    (`include_top`), `pooling`, `small_inputs`, `include_preprocessing`.

    Args:
        model: a `keras_shufflenet.ShuffleNetV2` model.
        state_dict: name -> numpy array, e.g. from `pth.load_state_dict`.
        source: how error messages name the weights.

    Raises:
        ValueError: the state dict is not torchvision's ShuffleNet V2 layout,
            or is for another width or class count than the model.
    """
    include_top = _has_layer(model, "fc")
    if not _has_layer(model, "conv5_conv"):
        raise ValueError(
            f"Model {model.name!r} is not a ShuffleNetV2 (it has no 'conv5_conv' layer); "
            "torchvision state dicts fit only ShuffleNetV2."
        )
    file_width = width_of(state_dict)
    model_width = _model_width(model)
    if file_width is not None and model_width is not None and file_width != model_width:
        raise ValueError(
            f"{source} are for ShuffleNetV2 width {file_width}, but the model has width "
            f"{model_width}. Build ShuffleNetV2({file_width}, ...) instead."
        )
    converted = convert_state_dict(state_dict, mapping(), include_top=include_top)
    return assign(model, converted, source=source)


def _has_layer(model, name):
    return any(layer.name == name for layer in model.layers)


def _model_width(model):
    conv = model.get_layer("stage2_unit0_branch2_0_conv")
    conv5 = model.get_layer("conv5_conv")
    for width, channels in STAGE_CHANNELS.items():
        if channels[1] == 2 * conv.filters and channels[-1] == conv5.filters:
            return width
    return None
