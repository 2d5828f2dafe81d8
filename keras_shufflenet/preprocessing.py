"""The one definition of input normalization, shared by the models, the data
pipelines, the TFLite metadata and the pretrained weights, and the input
contract of a Keras model (`model_input_contract`).

ShuffleNet's torchvision weights expect RGB scaled to [0, 1], then normalized
with the ImageNet mean and standard deviation. Here the same is written for
pixels in [0, 255]: `(x - 255 * MEAN) / (255 * STD)`. The numbers are the
evaluation transform of those weights in `keras_shufflenet.catalogue`.
"""

import functools
import importlib.resources
import json

import keras
import numpy as np

from keras_shufflenet import input_contract
from keras_shufflenet.catalogue import IMAGENET_EVAL, IMAGENET_MEAN_RGB, IMAGENET_STD_RGB

MEAN_RGB = IMAGENET_MEAN_RGB
STD_RGB = IMAGENET_STD_RGB
PIXEL_MEAN = IMAGENET_EVAL.mean
PIXEL_STD = IMAGENET_EVAL.std


def normalization_layer(name="preprocessing", invert=False):
    """A Keras layer taking RGB pixels in [0, 255] to the normalized input
    (with `invert=True`, the normalized input back to pixels)."""
    # float64 arrays, not lists: Keras would round lists to float32 even in a float64 model.
    return keras.layers.Normalization(
        mean=np.asarray(PIXEL_MEAN, "float64"),
        variance=np.square(np.asarray(PIXEL_STD, "float64")),
        axis=-1,
        invert=invert,
        name=name,
    )


def preprocess_input(x, data_format=None):
    """Normalizes RGB images with pixels in [0, 255] (uint8 or float) for the model.

    Accepts a numpy array or a tensor of any backend, shaped `(..., 3)`; returns
    float32. Models built with `include_preprocessing=True` do this themselves
    and take raw pixels instead.
    """
    if data_format not in (None, "channels_last"):
        raise ValueError(f"Only channels_last is supported; got data_format={data_format!r}.")
    if isinstance(x, np.ndarray):
        x = x.astype("float32")
        return (x - np.asarray(PIXEL_MEAN, "float32")) / np.asarray(PIXEL_STD, "float32")
    x = keras.ops.cast(x, "float32")
    return (x - keras.ops.convert_to_tensor(PIXEL_MEAN)) / keras.ops.convert_to_tensor(PIXEL_STD)


def _first_layer(model):
    """The first layer applied to the model's input, looking inside nested models."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model) and layer.layers:
            return _first_layer(layer)
        return layer
    return None


def takes_raw_pixels(model):
    """Whether `model` takes raw [0, 255] pixels: its first layer normalizes or
    rescales (models built with `include_preprocessing=True`)."""
    return isinstance(_first_layer(model), (keras.layers.Normalization, keras.layers.Rescaling))


def input_normalization(model):
    """The normalization `(mean, std)` taking [0, 255] pixels to `model`'s input.

    Models that normalize inside take pixels as they are (mean 0, std 1);
    others take `preprocess_input`'s ImageNet normalization.
    """
    if takes_raw_pixels(model):
        return (0.0,), (1.0,)
    return PIXEL_MEAN, PIXEL_STD


def default_input_contract(model, image_size=None):
    """The contract assumed for a model that records none: its square input size
    (or `image_size`, for models of any size), the ImageNet-style centre crop
    (fraction 0.875) and `input_normalization`."""
    shape = tuple(model.inputs[0].shape[1:]) if len(model.inputs) == 1 else ()
    if image_size is None:
        if len(shape) != 3 or shape[0] is None or shape[0] != shape[1]:
            raise ValueError(
                f"{model.name} takes input {shape or 'of several tensors'} and records no input "
                "contract: give the image size (a square input is needed)"
            )
        image_size = int(shape[0])
    mean, std = input_normalization(model)
    return input_contract.InputContract(
        image_size=image_size, mean=mean, std=std, source="defaults: no contract recorded"
    )


def model_input_contract(model, *, report=input_contract.report_to_stderr, names=None, **overrides):
    """The input contract a consumer uses for `model`: the one it carries (from
    training, `weights="imagenet"` or its `.keras` file), else
    `default_input_contract(model)`, with `overrides` applied. Using defaults,
    and an override that contradicts the recorded contract, are reported
    (see `keras_shufflenet.input_contract.resolve`)."""
    recorded = input_contract.get(model)
    default = None if recorded is not None else default_input_contract(model, overrides.get("image_size"))
    return input_contract.resolve(recorded, default, report=report, names=names, **overrides)


def decode_predictions(preds, top=5):
    """ImageNet class names for the top predictions, as `keras.applications` gives them.

    Works offline: the 1000-class index ships with the package
    (`keras_shufflenet/data/imagenet_class_index.json`, the same WordNet ids
    and short names, in the same order, as the file
    `keras.applications.imagenet_utils.decode_predictions` downloads).

    Args:
        preds: scores of shape `(batch, 1000)` (numpy array or tensor),
            e.g. the output of `ShuffleNetV2(weights="imagenet")`.
        top: how many classes to return per image.

    Returns:
        One list per image of `top` tuples `(wordnet_id, class_name, score)`,
        highest score first.
    """
    preds = np.asarray(keras.ops.convert_to_numpy(preds))
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "decode_predictions expects ImageNet scores of shape (batch, 1000); "
            f"got shape {preds.shape}."
        )
    if not isinstance(top, int) or not 1 <= top <= 1000:
        raise ValueError(f"`top` must be an integer from 1 to 1000; got top={top!r}.")
    index = imagenet_class_index()
    return [
        [(*index[i], row[i]) for i in np.argsort(-row, kind="stable")[:top]] for row in preds
    ]


@functools.lru_cache(maxsize=1)
def imagenet_class_index():
    """The 1000 ImageNet classes as (WordNet id, short name), index = class id."""
    text = importlib.resources.files("keras_shufflenet").joinpath("data/imagenet_class_index.json")
    table = json.loads(text.read_text(encoding="utf-8"))
    return [tuple(table[str(i)]) for i in range(len(table))]
