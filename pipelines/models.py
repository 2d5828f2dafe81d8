"""Model specs for the programs: "v2_1.0", "v1_1.0_g3", "mobilenet_v2_1.0".

Every model built here takes RGB pixels in [0, 255] (the normalization is
inside), which is what `build_dataset` yields and what the int8 export feeds.
"""

import contextlib
import dataclasses
import re

import keras

import keras_shufflenet

SPEC_PATTERN = re.compile(
    r"^(?:(?P<family>v2)_(?P<w2>[\d.]+)|(?P<v1>v1)_(?P<w1>[\d.]+)_g(?P<groups>\d+)"
    r"|(?P<mobilenet>mobilenet_v2)_(?P<alpha>[\d.]+))$"
)
SPEC_HELP = "'v2_<width>' (e.g. v2_0.5), 'v1_<width>_g<groups>' (e.g. v1_1.0_g3) or 'mobilenet_v2_<alpha>'"


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    family: str  # "v1", "v2" or "mobilenet_v2"
    width: float
    groups: int = None


def parse_spec(spec):
    """A `ModelSpec` from a string such as "v2_1.0"; ValueError naming the allowed forms."""
    match = SPEC_PATTERN.match(str(spec))
    if not match:
        raise ValueError(f"Unknown model {spec!r}; expected {SPEC_HELP}.")
    if match["family"]:
        return ModelSpec("v2", float(match["w2"]))
    if match["v1"]:
        return ModelSpec("v1", float(match["w1"]), int(match["groups"]))
    return ModelSpec("mobilenet_v2", float(match["alpha"]))


@contextlib.contextmanager
def dtype_policy(name):
    """Keras' global dtype policy is `name` inside the block (None: left as it is), then restored.

    Layers take the global policy when they are built, so this decides the
    precision of the models built inside the block and of nothing else.
    """
    previous = keras.mixed_precision.global_policy()
    if name is not None:
        keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def build_model(spec, *, classes, image_size, small_inputs=False, weights=None):
    """Builds `spec` for `classes` classes on `image_size` square RGB [0, 255] input.

    With `weights` ("imagenet" or a weights file) the pretrained backbone is
    loaded without its head and gets a new softmax head `fc` for `classes`.
    """
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    shape = (image_size, image_size, 3)
    if spec.family == "mobilenet_v2":
        if small_inputs or weights is not None:
            raise ValueError("mobilenet_v2 is for speed comparisons: no small_inputs or weights.")
        inputs = keras.Input(shape, name="input")
        x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocessing")(inputs)
        base = keras.applications.MobileNetV2(
            input_tensor=x, alpha=spec.width, weights=None, classes=classes
        )
        return keras.Model(inputs, base.output, name=f"mobilenetv2_{spec.width}")
    kwargs = dict(input_shape=shape, small_inputs=small_inputs, include_preprocessing=True)
    if spec.family == "v1":
        build, kwargs["groups"] = keras_shufflenet.ShuffleNetV1, spec.groups
    else:
        build = keras_shufflenet.ShuffleNetV2
    if weights is None:
        return build(spec.width, classes=classes, **kwargs)
    backbone = build(spec.width, include_top=False, weights=weights, pooling="avg", **kwargs)
    outputs = keras.layers.Dense(classes, activation="softmax", name="fc")(backbone.output)
    return keras.Model(backbone.input, outputs, name=backbone.name)
