"""A model's input contract: what an image must go through before the model sees it.

    from keras_shufflenet import input_contract      # this module, by its package name
    contract = input_contract.read("runs/digits/model.keras")   # or a .tflite, or None
    print(contract.describe())
    height, width, top, left = contract.resize_and_crop_box(480, 640)

The contract is decided once, where the model is trained or built, and travels
with the model; every later step (evaluation, int8 calibration, the accuracy
report, the demo, the benchmark tool's `--input=DIR`, the Android metadata)
reads it instead of asking again:

- the training program writes it from its recipe (`Recipe.input_contract`);
- `ShuffleNetV1/V2(weights="imagenet")` models carry the publisher's
  evaluation transform (resize 256, centre crop 224, ImageNet mean and std);
- `keras_shufflenet.tflite.export` writes it into the `.tflite`.

Where it is stored. In a `.keras` file it is the archive member
`input_contract.json`, beside Keras' own `config.json` and `metadata.json`
(Keras ignores members it does not know, so the file loads as before). It
lives inside the file rather than beside it because a `.keras` file is what
people copy, attach and upload: a side file would be left behind, and the
model config cannot hold it (a Functional model's config is its layers). In a
`.tflite` it is a member of the zip archive appended after the flatbuffer, the
place where the TFLite metadata already packs `labels.txt`, and the standard
metadata fields (normalization, image size, labels) say the same for clients
that read only those. On a live Keras model, `attach`/`get` keep it on the
model object; `save_model` saves a model with it.

The rule, for pixels in `pixel_range` (RGB, [0, 255]): resize the shorter side
to `resize_size = round(image_size / crop_fraction)` (bilinear, antialiased),
crop the centre `image_size` square, then feed `(pixel - mean) / std` per
channel. A `crop_fraction` of 1.0 resizes the shorter side to the input size.
This module imports only the standard library. It lives in `tflite/device/`
because it runs there too: the benchmark tool's `--input=DIR` prepares images by
it on devices that have only numpy and LiteRT (and it is one of the files copied
to a bare device); everywhere else it is imported as `keras_shufflenet.input_contract`.
"""

import dataclasses
import io
import json
import math
import os
import shutil
import sys
import tempfile
import zipfile

__all__ = [
    "DEFAULT_CROP_FRACTION", "FILE_NAME", "InputContract", "OVERRIDABLE", "attach", "get", "read",
    "read_bytes", "report_to_stderr", "resolve", "save_model", "write_into_archive",
]

FILE_NAME = "input_contract.json"
FORMAT_VERSION = 1
# ImageNet's 224 / 256 (torchvision, both ShuffleNet papers): the crop used when
# nothing is recorded.
DEFAULT_CROP_FRACTION = 0.875
CHANNEL_ORDERS = ("RGB",)
INTERPOLATIONS = ("bilinear",)
_ATTRIBUTE = "_keras_shufflenet_input_contract"
# Overridable fields and what the programs call them.
OVERRIDABLE = ("image_size", "crop_fraction", "mean", "std", "labels")


@dataclasses.dataclass(frozen=True)
class InputContract:
    """How images become a model's input, and what its outputs are called.

    Attributes:
        image_size: the square input size (height = width) the model takes.
        crop_fraction: evaluation resizes the shorter side to
            `image_size / crop_fraction` and crops the centre; in (0, 1].
        mean, std: per-channel (3 values) or shared (1 value) normalization
            `(pixel - mean) / std` applied to pixels in `pixel_range` before
            the model; (0,), (1,) for models that normalize inside
            (`include_preprocessing=True`).
        pixel_range: the range of the pixels `mean`/`std` apply to.
        channel_order: "RGB".
        interpolation, antialias: how the resize is done.
        labels: class names, index = output index; None when unknown (e.g. a
            feature extractor).
        source: where the contract was decided, e.g. "training recipe digits".
    """

    image_size: int
    crop_fraction: float = DEFAULT_CROP_FRACTION
    mean: tuple = (0.0,)
    std: tuple = (1.0,)
    pixel_range: tuple = (0.0, 255.0)
    channel_order: str = "RGB"
    interpolation: str = "bilinear"
    antialias: bool = True
    labels: tuple = None
    source: str = ""

    def __post_init__(self):
        size = self.image_size
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"InputContract.image_size must be a positive integer; got {size!r}.")
        fraction = self.crop_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 < fraction <= 1.0:
            raise ValueError(f"InputContract.crop_fraction must be in (0, 1]; got {fraction!r}.")
        object.__setattr__(self, "crop_fraction", float(fraction))
        mean, std = _floats(self.mean, "mean"), _floats(self.std, "std")
        if len(mean) not in (1, 3) or len(std) != len(mean):
            raise ValueError(
                f"InputContract mean and std need 1 or 3 values each, alike; got mean={mean}, std={std}."
            )
        if not all(math.isfinite(v) for v in mean + std) or min(std) <= 0:
            raise ValueError(f"InputContract std must be positive and finite; got mean={mean}, std={std}.")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        low, high = _floats(self.pixel_range, "pixel_range")
        object.__setattr__(self, "pixel_range", (low, high))
        if self.channel_order not in CHANNEL_ORDERS:
            raise ValueError(
                f"InputContract.channel_order must be one of {CHANNEL_ORDERS}; got {self.channel_order!r}."
            )
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"InputContract.interpolation must be one of {INTERPOLATIONS}; got {self.interpolation!r}."
            )
        if self.labels is not None:
            labels = tuple(self.labels) if not isinstance(self.labels, str) else ()
            if not labels or not all(isinstance(x, str) and x.strip() and "\n" not in x for x in labels):
                raise ValueError(
                    "InputContract.labels must be None or a non-empty sequence of single-line names; "
                    f"got {str(self.labels)[:80]}."
                )
            object.__setattr__(self, "labels", labels)
        if not isinstance(self.source, str):
            raise ValueError(f"InputContract.source must be a string; got {self.source!r}.")

    @property
    def resize_size(self):
        """The shorter side before the centre crop: round(image_size / crop_fraction)."""
        return int(round(self.image_size / self.crop_fraction))

    @property
    def normalizes(self):
        """Whether `(pixel - mean) / std` changes anything (False for mean 0, std 1)."""
        return any(m != 0.0 for m in self.mean) or any(s != 1.0 for s in self.std)

    def resize_and_crop_box(self, height, width):
        """`(resized_height, resized_width, top, left)` for an image of `height` x `width`.

        The same rule, rounding included, as the data pipeline's
        `keras_shufflenet.pipelines.augment.eval_resize_shape` and `center_crop`.
        """
        scale = self.resize_size / min(height, width)
        new_h = max(int(round(height * scale)), self.image_size)
        new_w = max(int(round(width * scale)), self.image_size)
        return new_h, new_w, (new_h - self.image_size) // 2, (new_w - self.image_size) // 2

    def describe(self):
        """One line: size, crop, normalization, labels and where it came from."""
        norm = (
            f"(pixel - {_short(self.mean)}) / {_short(self.std)}" if self.normalizes
            else "pixels as they are (the model normalizes)"
        )
        labels = f"{len(self.labels)} labels" if self.labels else "no labels"
        origin = f" [{self.source}]" if self.source else ""
        return (
            f"{self.image_size}x{self.image_size} {self.channel_order}, shorter side resized to "
            f"{self.resize_size} then centre crop (fraction {self.crop_fraction:g}), "
            f"{norm}, {labels}{origin}"
        )

    def replace(self, **changes):
        """A copy with `changes` (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self):
        fields = dataclasses.asdict(self)
        for key in ("mean", "std", "pixel_range", "labels"):
            if fields[key] is not None:
                fields[key] = list(fields[key])
        return {"format_version": FORMAT_VERSION, **fields}

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict):
            raise ValueError(f"an input contract must be a JSON object; got {type(data).__name__}")
        data = dict(data)
        version = data.pop("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ValueError(
                f"input contract format_version {version!r} is not supported (this version reads "
                f"{FORMAT_VERSION}); upgrade keras-shufflenet"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"input contract has unknown field(s) {unknown}; known: {sorted(known)}")
        if "image_size" not in data:
            raise ValueError("input contract has no image_size")
        return cls(**data)

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"input contract is not valid JSON: {error}") from None
        return cls.from_dict(data)


def _floats(values, name):
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"InputContract.{name} must be a sequence of numbers; got {values!r}.") from None
    if name == "pixel_range" and (len(out) != 2 or not out[0] < out[1]):
        raise ValueError(f"InputContract.pixel_range must be (low, high) with low < high; got {values!r}.")
    return out


def _short(values):
    text = ", ".join(f"{v:.4g}" for v in values)
    return text if len(values) == 1 else f"({text})"


# ------------------------------------------------------------------ on models


def attach(model, contract):
    """Keeps `contract` on a live model object (`get(model)` returns it); returns `model`."""
    if contract is not None and not isinstance(contract, InputContract):
        raise ValueError(f"contract must be an InputContract or None; got {type(contract).__name__}")
    object.__setattr__(model, _ATTRIBUTE, contract)
    return model


def get(model):
    """The contract attached to `model` (by training, `weights="imagenet"` or loading), or None."""
    return getattr(model, _ATTRIBUTE, None)


def save_model(model, path, contract=None):
    """`model.save(path)` (a `.keras` file) with its contract (`contract`, else
    the attached one) stored inside. Returns `path`."""
    contract = contract if contract is not None else get(model)
    model.save(path)
    if contract is not None:
        write_into_archive(path, contract)
    return path


# ----------------------------------------------------------------- in files


def write_into_archive(path, contract):
    """Stores `contract` as the member `input_contract.json` of the zip archive
    `path` (a `.keras` file), replacing an earlier one. The archive is rewritten
    through a temporary file, so a failure leaves it as it was."""
    if not isinstance(contract, InputContract):
        raise ValueError(f"contract must be an InputContract; got {type(contract).__name__}")
    path = os.fspath(path)
    with zipfile.ZipFile(path) as source:
        names = source.namelist()
    if FILE_NAME not in names:
        with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(FILE_NAME, contract.to_json())
        return path
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".tmp-", suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                if info.filename != FILE_NAME:
                    target.writestr(info, source.read(info))
            target.writestr(FILE_NAME, contract.to_json())
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def read(path):
    """The contract recorded in a `.keras` file, a `.tflite` file, a training
    model directory (its `model.keras`) or an `input_contract.json`; None when
    the file records none. Raises FileNotFoundError / ValueError (one line)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "model.keras")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            return _parse(f.read(), path)
    with open(path, "rb") as f:
        data = f.read()
    return read_bytes(data, path)


def read_bytes(data, where="model"):
    """`read` for the bytes of a `.keras` or `.tflite` file."""
    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        return None
    try:
        with zipfile.ZipFile(buffer) as archive:
            if FILE_NAME not in archive.namelist():
                return None
            text = archive.read(FILE_NAME).decode("utf-8")
    except (zipfile.BadZipFile, UnicodeDecodeError) as error:
        raise ValueError(f"{where}: cannot read its {FILE_NAME}: {error}") from None
    return _parse(text, where)


def _parse(text, where):
    try:
        return InputContract.from_json(text)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{where}: bad {FILE_NAME}: {error}") from None


# ------------------------------------------------------------------ overrides


def report_to_stderr(line):
    print(line, file=sys.stderr, flush=True)


def resolve(recorded, default, *, report=report_to_stderr, names=None, **overrides):
    """The contract to use: the `recorded` one (or `default` when None), with
    `overrides` (field=value; None = not given) applied.

    Calls `report(line)` (default: print to stderr) once to say which contract
    is used when none was recorded, and once per override that contradicts the
    recorded value, naming both. `names` maps fields to what the caller calls
    them (e.g. {"crop_fraction": "--center_crop_fraction"}).
    """
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise ValueError(f"cannot override {unknown}; overridable: {list(OVERRIDABLE)}")
    names = names or {}
    given = {k: v for k, v in overrides.items() if v is not None}
    if recorded is None:
        contract = default.replace(**given)
        report(f"note: no input contract recorded with the model; using {contract.describe()}")
        return contract
    contract = recorded.replace(**given)
    for field in given:
        before, after = getattr(recorded, field), getattr(contract, field)
        if before != after:
            shown = (lambda v: f"{len(v)} labels {list(v[:3])}...") if field == "labels" else repr
            report(
                f"warning: {names.get(field, field)}={shown(after)} overrides the model's recorded "
                f"{field}={shown(before)} ({recorded.source or 'recorded contract'})"
            )
    return contract
