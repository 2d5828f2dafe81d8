"""Pretrained weights: `weights="imagenet"` and weight files.

`ShuffleNetV2(width, weights="imagenet")` uses torchvision's published
ImageNet weights (and `ShuffleNetV1(1.0, groups=3, ...)` OpenMMLab
mmpretrain's). The first call downloads the published `.pth` file with
`keras.utils.get_file` into the Keras cache (`$KERAS_HOME/models`, by default
`~/.keras/models`), checks that its sha256 starts with the hex digits in its
name (the convention of both projects), converts it without PyTorch
(`keras_shufflenet.pth` and the converters in `LAYOUTS`) and
caches the result as a Keras `.weights.h5` next to it, with its sha256 in a
`.sha256` file written after it. Later calls read only that file, once its
hash matches: a damaged or half-written entry is deleted and rebuilt from the
`.pth`, never loaded. A download whose hash does not match is deleted and
refused, and nothing is cached.

The published files, with their publishers' ImageNet accuracy (their
numbers, not measured here) and evaluation transforms, are data in
`keras_shufflenet.catalogue` (`PUBLISHED`, also reachable from here).

This module knows no architecture: the builders pass their family (which
names the converter) and, for the first conversion of a published file, a
function that builds the full reference model the converted file is saved
from.

    import keras_shufflenet
    model = keras_shufflenet.ShuffleNetV2(1.0, weights="imagenet")
    backbone = keras_shufflenet.ShuffleNetV2(1.0, weights="imagenet", include_top=False)
    model = keras_shufflenet.ShuffleNetV2(1.0, weights="my_torchvision_finetune.pth", classes=5)
    model = keras_shufflenet.ShuffleNetV1(1.0, groups=8, weights="snetv1_group8_1.0x.pth.tar")

A `.pth` file's layout is told by its keys (`state_dict_layout`): torchvision's
(ShuffleNet V2), mmpretrain's or the V1 authors' (megvii-model's, whose
checkpoints are downloaded by hand: `catalogue.MANUAL_DOWNLOADS`).
"""

import dataclasses
import hashlib
import os
import re
import tempfile
import warnings

import h5py
import keras

from keras_shufflenet import (
    _files, input_contract, megvii_weights, mmpretrain_weights, preprocessing, pth, torchvision_weights,
)
from keras_shufflenet.catalogue import (  # noqa: F401  (re-exported: the table lives there)
    _HASH_IN_NAME,
    MMPRETRAIN_URL,
    PUBLISHED,
    TORCHVISION_URL,
    PublishedWeights,
)



@dataclasses.dataclass(frozen=True)
class Layout:
    """A state-dict layout we convert: the family it fits, a key only it has
    (after a `module.` prefix is removed), its converter and its name in messages."""

    family: str
    marker: str
    load_into: object
    description: str


LAYOUTS = {
    "torchvision": Layout(
        "v2", torchvision_weights.MARKER, torchvision_weights.load_into,
        "torchvision's ShuffleNet V2",
    ),
    "mmpretrain": Layout(
        "v1", mmpretrain_weights.MARKER, mmpretrain_weights.load_into,
        "OpenMMLab mmpretrain's ShuffleNet V1",
    ),
    "megvii": Layout(
        "v1", megvii_weights.MARKER, megvii_weights.load_into,
        "megvii-model/ShuffleNet-Series' (the V1 authors') ShuffleNet V1",
    ),
}  # fmt: skip
# The layout tried for a state dict that has no layout's marker: its converter
# says which tensors are missing.
DEFAULT_LAYOUT = {"v2": "torchvision", "v1": "mmpretrain"}
CACHE_SUBDIR = "models"
# Part of the converted file's name: bump it when the conversion changes.
CONVERSION_VERSION = 1
TORCH_SUFFIXES = (".pth", ".pt", ".pth.tar")
KERAS_SUFFIX = ".weights.h5"
HASH_SUFFIX = ".sha256"  # beside a converted cache entry: its sha256


class WeightsFileError(ValueError):
    """A Keras `.weights.h5` file that cannot be read: not HDF5, truncated or damaged.
    The message names the file. (`.pth` files raise `pth.PthFormatError`.)"""

_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")


def load_imagenet_weights(model, *, family, width, groups=None, build_reference):
    """Loads the published ImageNet weights into a ShuffleNet model.

    Called by the builders for `weights="imagenet"`; downloads and converts on
    first use (see the module docstring). A model without the head
    (`include_top=False`) gets every weight but the head's. The model gets
    the entry's input contract (`imagenet_input_contract`,
    `keras_shufflenet.input_contract.get(model)`), which the evaluation, the
    int8 export and its metadata read.

    Args:
        model: the model to load into.
        family, width, groups: which published checkpoint (a key of
            `PUBLISHED`); groups is None for V2.
        build_reference: a function of no arguments returning the full
            classifier of this family, width and groups, with random weights.

    Raises:
        ValueError: no ImageNet weights for this family, width and groups,
            or the downloaded file's hash does not match its name.
    """
    path = imagenet_weights_path(family, width, groups, build_reference=build_reference)
    load_weights_file(model, path, family=family)
    shape = tuple(model.inputs[0].shape[1:3])
    contract = imagenet_input_contract(
        PUBLISHED[(family, float(width), groups)].eval_transform,
        image_size=shape[0] if shape[0] is not None and shape[0] == shape[1] else None,
        takes_raw_pixels=preprocessing.takes_raw_pixels(model),
        include_top=any(layer.name == "fc" for layer in model.layers),
    )
    return input_contract.attach(model, contract)


def imagenet_input_contract(transform, *, image_size=None, takes_raw_pixels=False, include_top=True):
    """The input contract of a model with published ImageNet weights.

    Args:
        transform: the entry's `catalogue.EvalTransform` (the publisher's
            evaluation: resize 256, centre crop 224, ImageNet mean and std).
        image_size: the model's input size (default: the transform's crop;
            other sizes keep its crop fraction).
        takes_raw_pixels: the model normalizes itself (`include_preprocessing=True`):
            mean 0, std 1 outside it.
        include_top: the model has the ImageNet classifier: the 1000 class names.
    """
    image_size = transform.crop_size if image_size is None else int(image_size)
    mean, std = ((0.0,), (1.0,)) if takes_raw_pixels else (transform.mean, transform.std)
    labels = tuple(name for _, name in preprocessing.imagenet_class_index()) if include_top else None
    return input_contract.InputContract(
        image_size=image_size, crop_fraction=transform.crop_fraction, mean=mean, std=std, labels=labels,
        source=f"weights='imagenet' (publisher's evaluation: resize {transform.resize_size}, "
        f"centre crop {transform.crop_size})",
    )


def imagenet_weights_path(family, width, groups=None, cache_dir=None, *, build_reference=None):
    """The converted `.weights.h5` of a published checkpoint, downloading and
    converting it on first use.

    Args:
        family: "v2" or "v1".
        width: the width multiplier (V2: 0.5, 1.0, 1.5, 2.0; V1: 1.0).
        groups: V1's group count (3); None for V2.
        cache_dir: where the Keras cache is; defaults to `$KERAS_HOME` or
            `~/.keras` (as `keras.utils.get_file`). Files go to its `models/`.
        build_reference: as for `load_imagenet_weights`; needed only when the
            converted file is not cached yet.

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
    if _cache_entry_is_whole(converted):
        return converted
    for damaged in (converted, converted + HASH_SUFFIX):
        if os.path.exists(damaged):
            os.remove(damaged)
    if build_reference is None:
        raise ValueError(
            f"{converted!r} is not cached yet: converting {name!r} needs `build_reference`, "
            "a function building the full model it is saved from."
        )
    source = keras.utils.get_file(
        name, published.url, cache_subdir=CACHE_SUBDIR, cache_dir=cache_dir
    )
    verify_hash_in_name(source)
    model = build_reference()
    _load_state_dict(model, pth.load_state_dict(source), family, source=f"The weights in {name!r}")
    save_weights_atomic(model, converted)
    _write_atomic(converted + HASH_SUFFIX, sha256_of(converted) + "\n")
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


def _cache_entry_is_whole(path):
    """Whether the converted weights at `path` are as written: their sha256 is the
    one recorded beside them. Without a record (a run killed between the two
    writes, or a file copied in by hand for a machine without internet) a file
    that HDF5 reads through is adopted and its hash recorded."""
    if not os.path.exists(path):
        return False
    try:
        with open(path + HASH_SUFFIX, encoding="ascii") as f:
            return sha256_of(path) == f.read().strip()
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError):
        return False
    try:
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, item: item[()] if isinstance(item, h5py.Dataset) else None)
    except Exception:  # HDF5 raises many types on a damaged file; any means rebuild
        return False
    _write_atomic(path + HASH_SUFFIX, sha256_of(path) + "\n")
    return True


def _write_atomic(path, text):
    with _files.atomic_path(path) as tmp:
        with open(tmp, "w", encoding="ascii") as f:
            f.write(text)


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


def load_weights_file(model, path, *, family):
    """Loads a weights file into a ShuffleNet model.

    Args:
        model: a model from `ShuffleNetV2` or `ShuffleNetV1`.
        path: a Keras `.weights.h5` file (as `model.save_weights` writes),
            or a PyTorch state dict `.pth`/`.pt`/`.pth.tar` in one of
            `LAYOUTS` (told by its keys): torchvision's (for ShuffleNetV2),
            mmpretrain's or megvii's (for ShuffleNetV1), read without
            PyTorch and without running code from it. With
            `include_top=False` the file's head is skipped; its other layers
            must fit the model.
        family: the model's family, "v2" or "v1": the `.pth` layout must be
            one of its own.

    Raises:
        ValueError: unsupported suffix, a state dict of the other family, or
            the file does not fit the model (the message names the layer, or
            both configurations, or both class counts).
        WeightsFileError: a `.weights.h5` file that is not HDF5 or is damaged.
        pth.PthFormatError, pth.UnsafePickleError: a `.pth` file that is
            damaged or asks to run code.
    """
    path = os.fspath(path)
    if is_torch_file(path):
        state_dict = pth.load_state_dict(path)
        return _load_state_dict(model, state_dict, family, source=f"The weights in {path!r}")
    if path.lower().endswith(KERAS_SUFFIX):
        return _load_keras_weights(model, path)
    raise ValueError(
        f"Unsupported weights file {path!r}: expected a Keras '{KERAS_SUFFIX}' file or a "
        f"PyTorch state dict ({', '.join(TORCH_SUFFIXES)})."
    )


def save_weights_atomic(model, path):
    """`model.save_weights(path)` through a temporary file and `os.replace`: on any
    error the previous file stays as it was and no temporary is left; a full disk
    raises `DiskFullError` saying so."""
    with _files.atomic_path(path) as tmp:
        model.save_weights(tmp, overwrite=True)
    return path


def _load_keras_weights(model, path):
    # A `.weights.h5` file addresses layers by position among layers of the
    # same class, so a file with the head loads into a model without it; the
    # pre-check turns a misfit into a message that names the layer.
    try:
        mismatch = _describe_mismatch(model, path)
    except FileNotFoundError:
        raise
    except (OSError, KeyError, TypeError, ValueError, RuntimeError) as error:
        raise WeightsFileError(f"{path!r} is not a readable Keras weights file: {_first_line(error)}") from error
    if mismatch:
        raise ValueError(mismatch)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model.load_weights(path)
    except (OSError, KeyError, TypeError, ValueError, RuntimeError, IndexError) as error:
        raise WeightsFileError(f"{path!r} is damaged: {_first_line(error)}") from error
    return model


def _first_line(error):
    text = str(error).strip()
    return (text.splitlines()[0][:300] if text else "") or type(error).__name__


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


def is_torch_file(path):
    """Whether `path` names a PyTorch file by its suffix (`.pth`, `.pt`, `.pth.tar`)."""
    return isinstance(path, (str, os.PathLike)) and os.fspath(path).lower().endswith(TORCH_SUFFIXES)


def state_dict_layout(state_dict):
    """The name (a key of `LAYOUTS`) of a state dict's layout, or None if unknown.

    Told by a key only that layout has; `state_dict` may be a checkpoint
    holding it under `state_dict`, with or without the `module.` prefix.
    """
    keys = torchvision_weights.unwrap_state_dict(state_dict).keys()
    for name, layout in LAYOUTS.items():
        if layout.marker in keys:
            return name
    return None


def torch_file_layout(path):
    """The layout of a PyTorch weights file (see `state_dict_layout`); None
    for other files. Builders use it to pick the variant a file needs."""
    if not is_torch_file(path):
        return None
    return state_dict_layout(pth.load_state_dict(path))


def _load_state_dict(model, state_dict, family, source):
    """Converts with the converter of the state dict's layout, which must fit `family`."""
    if family not in DEFAULT_LAYOUT:
        raise ValueError(f"Unknown family {family!r}; expected one of {sorted(DEFAULT_LAYOUT)}.")
    name = state_dict_layout(state_dict)
    if name is None:
        if megvii_weights.V2_MARKER in torchvision_weights.unwrap_state_dict(state_dict):
            raise ValueError(
                f"{source} are a megvii-model/ShuffleNet-Series ShuffleNet V2 (or V2+) checkpoint: "
                "a different network from torchvision's (its first units are wider, its "
                "classifier has no bias), which keras_shufflenet does not build. Use "
                "ShuffleNetV2(width, weights='imagenet') for torchvision's V2 weights."
            )
        name = DEFAULT_LAYOUT[family]
    layout = LAYOUTS[name]
    if layout.family != family:
        raise ValueError(
            f"{source} are a {layout.description} state dict, but the model is a "
            f"ShuffleNet{family.upper()}. Build ShuffleNet{layout.family.upper()}(...) to load "
            "them."
        )
    return layout.load_into(model, state_dict, source=source)
