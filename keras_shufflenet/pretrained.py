"""Pretrained weights: `weights="imagenet"` and weight files.

`ShuffleNetV2(width, weights="imagenet")` uses torchvision's published
ImageNet weights (and `ShuffleNetV1(1.0, groups=3, ...)` OpenMMLab
mmpretrain's). The first call downloads the published `.pth` file with
`keras.utils.get_file` into the Keras cache (`$KERAS_HOME/models`, by default
`~/.keras/models`), checks that its sha256 starts with the hex digits in its
name (the convention of both projects), converts it without PyTorch
(`keras_shufflenet.pth`, `torchvision_weights`, `mmpretrain_weights`) and
caches the result as a Keras `.weights.h5` next to it. Later calls read only
that file. A download whose hash does not match is deleted and refused, and
nothing is cached.

`PUBLISHED` lists the files with their publishers' ImageNet accuracy (their
numbers, not measured here).

    import keras_shufflenet
    model = keras_shufflenet.ShuffleNetV2(1.0, weights="imagenet")
    backbone = keras_shufflenet.ShuffleNetV2(1.0, weights="imagenet", include_top=False)
    model = keras_shufflenet.ShuffleNetV2(1.0, weights="my_torchvision_finetune.pth", classes=5)
"""

import dataclasses
import hashlib
import os
import re
import tempfile
import warnings

import h5py
import keras

from keras_shufflenet import mmpretrain_weights, pth, torchvision_weights


@dataclasses.dataclass(frozen=True)
class PublishedWeights:
    """One published ImageNet checkpoint and what its publisher reports for it.

    Attributes:
        url: where it is downloaded from; the file name ends in
            `-<sha256 prefix>.pth`.
        layout: `"torchvision"` (ShuffleNet V2) or `"mmpretrain"` (V1).
        top1, top5: ImageNet validation accuracy (%) as published, with the
            publisher's evaluation (resize 256, centre crop 224).
    """

    url: str
    layout: str
    top1: float
    top5: float

    @property
    def name(self):
        return self.url.rsplit("/", 1)[-1]


TORCHVISION_URL = "https://download.pytorch.org/models/"
MMPRETRAIN_URL = "https://download.openmmlab.com/mmclassification/v0/shufflenet_v1/"
# (family, width, groups) -> checkpoint; groups is None for V2.
PUBLISHED = {
    ("v2", 0.5, None): PublishedWeights(
        TORCHVISION_URL + "shufflenetv2_x0.5-f707e7126e.pth", "torchvision", 60.552, 81.746
    ),
    ("v2", 1.0, None): PublishedWeights(
        TORCHVISION_URL + "shufflenetv2_x1-5666bf0f80.pth", "torchvision", 69.362, 88.316
    ),
    ("v2", 1.5, None): PublishedWeights(
        TORCHVISION_URL + "shufflenetv2_x1_5-3c479a10.pth", "torchvision", 72.996, 91.086
    ),
    ("v2", 2.0, None): PublishedWeights(
        TORCHVISION_URL + "shufflenetv2_x2_0-8be3c8ee.pth", "torchvision", 76.230, 93.006
    ),
    ("v1", 1.0, 3): PublishedWeights(
        MMPRETRAIN_URL + "shufflenet_v1_batch1024_imagenet_20200804-5d6cec73.pth",
        "mmpretrain",
        68.13,
        87.81,
    ),
}
CACHE_SUBDIR = "models"
# Part of the converted file's name: bump it when the conversion changes.
CONVERSION_VERSION = 1
TORCH_SUFFIXES = (".pth", ".pt")
KERAS_SUFFIX = ".weights.h5"
_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")


def load_imagenet_weights(model, *, family, width, include_top):
    """Loads the published ImageNet weights into a ShuffleNet model.

    Called by the builders for `weights="imagenet"`; downloads and converts on
    first use (see the module docstring). With `include_top=False` the head
    is skipped. For ShuffleNetV1 the group count is read from the model.

    Raises:
        ValueError: no ImageNet weights for this family, width and groups,
            or the downloaded file's hash does not match its name.
    """
    del include_top  # Read from the model: loading skips a head it lacks.
    groups = _groups(model) if family == "v1" else None
    return load_weights_file(model, imagenet_weights_path(family, width, groups))


def imagenet_weights_path(family, width, groups=None, cache_dir=None):
    """The converted `.weights.h5` of a published checkpoint, downloading and
    converting it on first use.

    Args:
        family: "v2" or "v1".
        width: the width multiplier (V2: 0.5, 1.0, 1.5, 2.0; V1: 1.0).
        groups: V1's group count (3); None for V2.
        cache_dir: where the Keras cache is; defaults to `$KERAS_HOME` or
            `~/.keras` (as `keras.utils.get_file`). Files go to its `models/`.

    Returns:
        The path of a weights file for the model with its head.
    """
    key = (family, float(width), groups)
    if key not in PUBLISHED:
        available = ", ".join(
            f"ShuffleNet{f.upper()}({w}" + (f", groups={g})" if g else ")") for f, w, g in PUBLISHED
        )
        raise ValueError(
            f"No ImageNet weights for ShuffleNet{family.upper()} width {width}"
            + (f", groups={groups}" if groups else "")
            + f". Published ones: {available}."
        )
    published = PUBLISHED[key]
    cache_dir = _cache_dir(cache_dir)
    name = published.name
    converted = converted_weights_path(published, cache_dir)
    if os.path.exists(converted):
        return converted
    source = keras.utils.get_file(
        name, published.url, cache_subdir=CACHE_SUBDIR, cache_dir=cache_dir
    )
    verify_hash_in_name(source)
    model = _reference_model(family, width, groups)
    _load_state_dict(model, pth.load_state_dict(source), source=f"The weights in {name!r}")
    save_weights_atomic(model, converted)
    return converted


def converted_weights_path(published, cache_dir=None):
    """Where the converted `.weights.h5` of `published` (a `PublishedWeights`)
    is cached: `<cache>/models/<checkpoint stem>.keras<CONVERSION_VERSION>.weights.h5`.

    A file there is used as is, without download; this is also how to provide
    the weights on a machine without internet (copy the cached file).
    """
    stem = published.name[: -len(".pth")]
    return os.path.join(
        _cache_dir(cache_dir), CACHE_SUBDIR, f"{stem}.keras{CONVERSION_VERSION}{KERAS_SUFFIX}"
    )


def verify_hash_in_name(path):
    """Checks a file's sha256 against the hex prefix in its name (`name-<hex>.ext`).

    On a mismatch the file is deleted, so that a corrupt or tampered download
    is never used nor kept in the cache.

    Raises:
        ValueError: the name has no hash, or the hash does not match.
    """
    match = _HASH_IN_NAME.search(os.path.basename(path))
    if match is None:
        raise ValueError(f"{path!r} has no '-<sha256 prefix>.' in its name to check.")
    prefix = match.group(1)
    digest = sha256_of(path)
    if not digest.startswith(prefix):
        os.remove(path)
        raise ValueError(
            f"Downloaded {os.path.basename(path)!r} is corrupt or not the published file: "
            f"its sha256 is {digest}, which does not start with {prefix}. The file was "
            "deleted and nothing was cached; try again, or check your network or proxy."
        )
    return digest


def sha256_of(path, chunk_size=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_weights_file(model, path):
    """Loads a weights file into a ShuffleNet model.

    Args:
        model: a model from `ShuffleNetV2` or `ShuffleNetV1`.
        path: a Keras `.weights.h5` file (as `model.save_weights` writes),
            or a PyTorch state dict `.pth`/`.pt` in torchvision's layout (for
            ShuffleNetV2) or mmpretrain's (for ShuffleNetV1), read without
            PyTorch and without running code from it. With
            `include_top=False` the file's head is skipped; its other layers
            must fit the model.

    Raises:
        ValueError: unsupported suffix, or the file does not fit the model
            (the message names the layer, or both class counts).
    """
    path = os.fspath(path)
    lower = path.lower()
    if lower.endswith(TORCH_SUFFIXES):
        state_dict = pth.load_state_dict(path)
        return _load_state_dict(model, state_dict, source=f"The weights in {path!r}")
    if lower.endswith(KERAS_SUFFIX):
        return _load_keras_weights(model, path)
    raise ValueError(
        f"Unsupported weights file {path!r}: expected a Keras '{KERAS_SUFFIX}' file or a "
        f"PyTorch state dict ({', '.join(TORCH_SUFFIXES)})."
    )


def save_weights_atomic(model, path):
    """`model.save_weights(path)` through a temporary file and `os.replace`."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=KERAS_SUFFIX)
    os.close(fd)
    try:
        model.save_weights(tmp, overwrite=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _load_keras_weights(model, path):
    # A `.weights.h5` file addresses layers by position among layers of the
    # same class, so a file with the head loads into a model without it; the
    # pre-check turns a misfit into a message that names the layer.
    mismatch = _describe_mismatch(model, path)
    if mismatch:
        raise ValueError(mismatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.load_weights(path)
    return model


def _describe_mismatch(model, path):
    """The first layer of `model` whose weights the file lacks or shapes differently."""
    with h5py.File(path, "r") as f:
        for key, layer in _weights_keys(model):
            expected = [tuple(w.shape) for w in layer.weights]
            if not expected:
                continue
            group = f.get(f"layers/{key}/vars")
            got = [] if group is None else [tuple(group[str(i)].shape) for i in range(len(group))]
            if got == expected:
                continue
            if layer.name == "fc" and len(got) == 2 and len(expected) == 2:
                return (
                    f"The weights file {path!r} has a {got[1][0]}-class head, but the model was "
                    f"built with classes={expected[1][0]}. Build it with classes={got[1][0]}, "
                    "or with include_top=False to skip the head."
                )
            if not got:
                return f"The weights file {path!r} has no weights for layer {layer.name!r}."
            return (
                f"The weights file {path!r} does not fit layer {layer.name!r}: it holds shapes "
                f"{got}, the layer has {expected}. Was it saved from another width or variant?"
            )
    return None


def _weights_keys(model):
    """(key in a `.weights.h5` file, layer) for each layer, as Keras names them:
    the class name in snake case, numbered by order among layers of that class."""
    counts = {}
    for layer in model.layers:
        base = _snake_case(type(layer).__name__)
        counts[base] = counts.get(base, -1) + 1
        yield (base if counts[base] == 0 else f"{base}_{counts[base]}"), layer


def _snake_case(name):
    # keras.src.utils.naming.to_snake_case, which Keras uses for these keys.
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _cache_dir(cache_dir=None):
    """The Keras cache, created: `cache_dir`, else `$KERAS_HOME` (read now;
    Keras reads it at import), else `~/.keras`; `/tmp/.keras` if not writable,
    as `keras.utils.get_file` falls back."""
    base = cache_dir or os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    base = os.path.expanduser(base)
    try:
        os.makedirs(os.path.join(base, CACHE_SUBDIR), exist_ok=True)
    except OSError:
        pass
    if not os.access(base, os.W_OK):
        base = os.path.join(tempfile.gettempdir(), ".keras")
        os.makedirs(os.path.join(base, CACHE_SUBDIR), exist_ok=True)
    return base


def _load_state_dict(model, state_dict, source):
    """torchvision's layout for ShuffleNetV2 models, mmpretrain's for V1."""
    if any(layer.name == "stage2_unit0_gconv1" for layer in model.layers):
        return mmpretrain_weights.load_into(model, state_dict, source=source)
    return torchvision_weights.load_into(model, state_dict, source=source)


def _groups(model):
    return model.get_layer("stage2_unit1_gconv1").groups


def _reference_model(family, width, groups):
    """The model a converted file is saved from: the full classifier."""
    if family == "v1":
        from keras_shufflenet.shufflenet_v1 import ShuffleNetV1

        return ShuffleNetV1(width, groups=groups, weights=None)
    from keras_shufflenet.shufflenet_v2 import ShuffleNetV2

    return ShuffleNetV2(width, weights=None)
