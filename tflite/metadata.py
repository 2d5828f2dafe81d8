"""Android model metadata for image classifier `.tflite` files.

The metadata is the standard TFLite model metadata (schema `metadata_schema.fbs`,
identifier "M001") that Android's MediaPipe Tasks (`tasks-vision` ImageClassifier),
the TFLite Task Library and Android Studio's ML Model Binding read: model name,
description, version, author and licence; for the input image, RGB colour space,
the per-channel normalization `(pixel - mean) / std` and value statistics; for the
output, what the scores are and the labels file (`TENSOR_AXIS_LABELS`); and,
packed beside the labels, the model's input contract `input_contract.json`
(the resize and centre-crop rule, which the standard fields cannot say:
`keras_shufflenet.input_contract`), listed as a model-level associated file.

It is packed exactly as the reference `MetadataPopulator` packs it: the
serialized `ModelMetadata` goes into a model buffer named by a model `metadata`
entry called "TFLITE_METADATA", and the associated files (the labels) are
appended to the model file as a zip archive, which leaves the flatbuffer readable
at offset 0.

Why not the reference writers: `tflite-support`'s writer pins protobuf<4 and
cannot be installed beside TensorFlow 2.21, and MediaPipe's copy of it fails to
import (it needs a compiled module its wheel no longer ships) and needs a newer
absl than tensorflow-model-optimization allows. The schema is public, so this
module writes it with the `flatbuffers` package and the flatc-generated schema
code (`_metadata_schema_py_generated.py`, vendored and trimmed), the same code
the reference writers use. Only schema 1.0.0 features are used, so the minimum
parser version recorded is "1.0.0".

    from keras_shufflenet.tflite import metadata
    info = metadata.ClassifierMetadata(labels=["cat", "dog"], name="pets", author="me")
    data = metadata.populate(tflite_bytes, info, mean=(0.0,), std=(1.0,), probabilities=True)
    print(metadata.read_metadata(data)["labels"])
"""

import dataclasses
import io
import math
import zipfile

import flatbuffers
import numpy as np

from keras_shufflenet import input_contract
from keras_shufflenet.tflite import _metadata_schema_py_generated as md
from keras_shufflenet.tflite.device import graph, runtime

METADATA_NAME = "TFLITE_METADATA"
METADATA_IDENTIFIER = b"M001"
MIN_PARSER_VERSION = "1.0.0"
PIXEL_RANGE = (0.0, 255.0)
DEFAULT_NAME = "ShuffleNet image classifier"
DEFAULT_DESCRIPTION = "Identifies the most prominent object in the image from a known set of categories."


@dataclasses.dataclass(frozen=True)
class ClassifierMetadata:
    """What an image classifier's metadata says about it.

    Attributes:
        labels: class names, index = class id; one per model output.
        name: the model's name, as apps show it.
        description: what the model does.
        version: the model's version string.
        author: who made it.
        license: its licence (e.g. "Apache-2.0").
        labels_file: name of the packed labels file.
    """

    labels: tuple
    name: str = DEFAULT_NAME
    description: str = DEFAULT_DESCRIPTION
    version: str = "1"
    author: str = ""
    license: str = ""
    labels_file: str = "labels.txt"

    def __post_init__(self):
        labels = tuple(self.labels) if not isinstance(self.labels, str) else None
        if not labels or not all(isinstance(x, str) for x in labels):
            raise ValueError(
                f"ClassifierMetadata.labels must be a non-empty sequence of strings; got {self.labels!r}"
            )
        bad = [x for x in labels if not x.strip() or "\n" in x or "\r" in x]
        if bad:
            raise ValueError(
                f"ClassifierMetadata.labels must be non-blank single-line strings; got {bad[:3]!r}"
            )
        for field in ("name", "description", "version", "author", "license", "labels_file"):
            if not isinstance(getattr(self, field), str):
                raise ValueError(f"ClassifierMetadata.{field} must be a string; got {getattr(self, field)!r}")
        if not self.labels_file or "/" in self.labels_file or "\\" in self.labels_file:
            raise ValueError(f"labels_file must be a plain file name; got {self.labels_file!r}")
        object.__setattr__(self, "labels", labels)


def _check_normalization(mean, std):
    mean, std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
    if len(mean) not in (1, 3) or len(std) != len(mean):
        raise ValueError(f"normalization mean/std need 1 or 3 values each, alike; got mean={mean}, std={std}")
    if not all(math.isfinite(v) for v in mean + std) or min(std) <= 0:
        raise ValueError(f"normalization std must be positive and finite; got mean={mean}, std={std}")
    return mean, std


def _stats(min_values, max_values):
    stats = md.StatsT()
    stats.min, stats.max = min_values, max_values
    return stats


def _input_metadata(tensor, mean, std, contract):
    image = md.ImagePropertiesT()
    image.colorSpace = md.ColorSpaceType.RGB
    image.defaultSize = md.ImageSizeT()
    image.defaultSize.height, image.defaultSize.width = int(tensor.shape[1]), int(tensor.shape[2])
    content = md.ContentT()
    content.contentPropertiesType = md.ContentProperties.ImageProperties
    content.contentProperties = image
    normalization = md.ProcessUnitT()
    normalization.optionsType = md.ProcessUnitOptions.NormalizationOptions
    normalization.options = md.NormalizationOptionsT()
    normalization.options.mean, normalization.options.std = list(mean), list(std)

    meta = md.TensorMetadataT()
    meta.name = "image"
    meta.description = (
        f"RGB image, {tensor.shape[1]}x{tensor.shape[2]}, {tensor.dtype}. Pixels p in [0, 255] "
        "become the model's input as (p - mean) / std per channel"
        + (", then quantized with the tensor's scale and zero point." if tensor.dtype == "int8" else ".")
        + (
            f" Camera images: resize the shorter side to {contract.resize_size} (bilinear), crop the "
            f"centre {contract.image_size}x{contract.image_size} ({input_contract.FILE_NAME})."
            if contract is not None else ""
        )
    )
    meta.content = content
    meta.processUnits = [normalization]
    if tensor.dtype == "uint8":
        meta.stats = _stats([0.0], [255.0])
    elif tensor.dtype == "float32":
        meta.stats = _stats(
            [(PIXEL_RANGE[0] - m) / s for m, s in zip(mean, std)],
            [(PIXEL_RANGE[1] - m) / s for m, s in zip(mean, std)],
        )
    return meta


def _output_metadata(tensor, info, probabilities):
    labels = md.AssociatedFileT()
    labels.name = info.labels_file
    labels.description = "Class names, one per line; line i names output score i."
    labels.type = md.AssociatedFileType.TENSOR_AXIS_LABELS
    content = md.ContentT()
    content.contentPropertiesType = md.ContentProperties.FeatureProperties
    content.contentProperties = md.FeaturePropertiesT()

    meta = md.TensorMetadataT()
    meta.name = "probability" if probabilities else "score"
    meta.description = (
        f"{'Probabilities' if probabilities else 'Scores (logits)'} of the {len(info.labels)} classes"
        + (", quantized" if tensor.dtype in ("uint8", "int8") else "")
        + "."
    )
    meta.content = content
    meta.associatedFiles = [labels]
    if tensor.dtype == "uint8":
        meta.stats = _stats([0.0], [255.0])
    elif tensor.dtype == "float32" and probabilities:
        meta.stats = _stats([0.0], [1.0])
    return meta


def _contract_file():
    entry = md.AssociatedFileT()
    entry.name = input_contract.FILE_NAME
    entry.description = (
        "The model's input contract (JSON): input size, resize and centre-crop rule, "
        "normalization, channel order, labels (keras_shufflenet.input_contract)."
    )
    entry.type = md.AssociatedFileType.DESCRIPTIONS
    return entry


def build_metadata(summary, info, *, mean, std, probabilities, contract=None):
    """The serialized `ModelMetadata` ("M001") for a classifier whose graph is `summary`."""
    (image,) = summary.inputs
    (scores,) = summary.outputs
    subgraph = md.SubGraphMetadataT()
    subgraph.name = info.name
    subgraph.inputTensorMetadata = [_input_metadata(image, mean, std, contract)]
    subgraph.outputTensorMetadata = [_output_metadata(scores, info, probabilities)]

    model = md.ModelMetadataT()
    model.name = info.name
    model.description = info.description
    model.version = info.version
    model.author = info.author
    model.license = info.license
    model.subgraphMetadata = [subgraph]
    if contract is not None:
        model.associatedFiles = [_contract_file()]
    model.minParserVersion = MIN_PARSER_VERSION
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), METADATA_IDENTIFIER)
    return bytes(builder.Output())


def strip_associated_files(data):
    """The flatbuffer part of `.tflite` bytes, without an appended zip of associated files."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            first = min((i.header_offset for i in zf.infolist()), default=len(data))
        return data[:first]
    return data


def append_files(model_bytes, named_files):
    """`.tflite` bytes with `{name: bytes}` packed after the flatbuffer (zip), replacing
    any files packed before."""
    out = io.BytesIO()
    out.write(strip_associated_files(bytes(model_bytes)))
    with zipfile.ZipFile(out, "a") as zf:
        for name, data in named_files.items():
            zf.writestr(name, data)
    return out.getvalue()


def populate(model_bytes, info, *, mean, std, probabilities, contract=None):
    """`.tflite` bytes with `info` written as Android model metadata.

    Args:
        model_bytes: a single-input, single-output image classifier `.tflite`.
        info: a `ClassifierMetadata`; one label per output class.
        mean, std: the per-channel (or single) normalization taking pixels in
            [0, 255] to the model's float input: `(pixel - mean) / std`. Use
            mean 0, std 1 for models that normalize inside (built with
            `include_preprocessing=True`).
        probabilities: whether the output scores are probabilities (softmax).
        contract: the model's `InputContract`, packed as `input_contract.json`
            (with the crop rule in the input's description), or None.

    Existing metadata and associated files are replaced.

    Returns:
        The new model bytes: the model flatbuffer with a "TFLITE_METADATA"
        buffer, followed by a zip archive holding the labels file.
    """
    if not isinstance(info, ClassifierMetadata):
        raise ValueError(f"metadata must be a ClassifierMetadata; got {type(info).__name__}")
    mean, std = _check_normalization(mean, std)
    model = graph.read_model(strip_associated_files(bytes(model_bytes)))
    summary = graph.summarize(graph.pack_model(model))
    if len(summary.inputs) != 1 or len(summary.outputs) != 1:
        raise ValueError(
            f"classifier metadata needs one input and one output; the model has "
            f"{len(summary.inputs)} and {len(summary.outputs)}"
        )
    (image,), (scores,) = summary.inputs, summary.outputs
    if image.rank != 4 or image.shape[-1] not in (1, 3) or len(mean) not in (1, image.shape[-1]):
        raise ValueError(
            f"classifier metadata needs an image input [1, H, W, 3] and {image.shape[-1]} or 1 "
            f"normalization values; got input {list(image.shape)} and {len(mean)} values"
        )
    num_classes = scores.shape[-1] if scores.shape else 0
    if len(info.labels) != num_classes:
        raise ValueError(
            f"metadata has {len(info.labels)} labels but the model outputs {num_classes} scores "
            f"(shape {list(scores.shape)}); give one label per class"
        )

    buffer = graph.schema().BufferT()
    buffer.data = np.frombuffer(
        build_metadata(summary, info, mean=mean, std=std, probabilities=probabilities, contract=contract),
        np.uint8,
    )
    entries = [m for m in (model.metadata or []) if (m.name or b"").decode() == METADATA_NAME]
    if entries:
        model.buffers[entries[0].buffer] = buffer
    else:
        model.buffers.append(buffer)
        entry = graph.schema().MetadataT()
        entry.name = METADATA_NAME
        entry.buffer = len(model.buffers) - 1
        model.metadata = list(model.metadata or []) + [entry]

    packed = {info.labels_file: "\n".join(info.labels) + "\n"}
    if contract is not None:
        packed[input_contract.FILE_NAME] = contract.to_json()
    return append_files(graph.pack_model(model), packed)


def _as_bytes(source):
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    with open(source, "rb") as f:
        return f.read()


@runtime.reads_tflite
def metadata_buffer(source):
    """The raw "TFLITE_METADATA" buffer of a `.tflite` (path or bytes), or None."""
    data = _as_bytes(source)
    model = graph.read_model(strip_associated_files(data))
    for entry in model.metadata or []:
        if (entry.name or b"").decode() == METADATA_NAME:
            return bytes(bytearray(model.buffers[entry.buffer].data))
    return None


@runtime.reads_tflite
def associated_files(source):
    """The files packed after the model flatbuffer: `{name: bytes}` (empty if none)."""
    data = _as_bytes(source)
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def _floats(values):
    return None if values is None else [float(v) for v in values]


@runtime.reads_tflite
def read_metadata(source):
    """The model metadata of a `.tflite` (path or bytes) as plain Python, or None.

    A damaged file raises `TFLiteFileError` (a `ValueError` naming the file).

    Returns a dict with `name`, `description`, `version`, `author`, `license`,
    `min_parser_version`, `input` (`name`, `mean`, `std`, `color_space`,
    `stats_min`, `stats_max`, `default_size` [height, width]), `output` (`name`,
    `description`, `labels_file`, `stats_min`, `stats_max`), `labels` read from
    the packed labels file and `input_contract` (an `InputContract` or None).
    """
    buf = metadata_buffer(source)
    if buf is None:
        return None
    if not md.ModelMetadata.ModelMetadataBufferHasIdentifier(buf, 0):
        raise ValueError("the TFLITE_METADATA buffer is not model metadata (no 'M001' identifier)")
    meta = md.ModelMetadataT.InitFromPackedBuf(buf, 0)
    (subgraph,) = meta.subgraphMetadata
    (image,), (scores,) = subgraph.inputTensorMetadata, subgraph.outputTensorMetadata
    norm = next(
        (u.options for u in image.processUnits or [] if u.optionsType == md.ProcessUnitOptions.NormalizationOptions),
        None,
    )
    props = image.content.contentProperties if image.content is not None else None
    label_files = [
        f for f in scores.associatedFiles or [] if f.type == md.AssociatedFileType.TENSOR_AXIS_LABELS
    ]
    labels_file = _text(label_files[0].name) if label_files else None
    packed = associated_files(source)
    labels = None
    if labels_file in packed:
        labels = packed[labels_file].decode("utf-8").splitlines()
    color_names = {v: k for k, v in vars(md.ColorSpaceType).items() if not k.startswith("_")}
    return {
        "name": _text(meta.name),
        "description": _text(meta.description),
        "version": _text(meta.version),
        "author": _text(meta.author),
        "license": _text(meta.license),
        "min_parser_version": _text(meta.minParserVersion),
        "input": {
            "name": _text(image.name),
            "mean": _floats(norm.mean) if norm is not None else None,
            "std": _floats(norm.std) if norm is not None else None,
            "color_space": color_names.get(getattr(props, "colorSpace", None)),
            "stats_min": _floats(image.stats.min) if image.stats else None,
            "stats_max": _floats(image.stats.max) if image.stats else None,
            "default_size": (
                [props.defaultSize.height, props.defaultSize.width]
                if getattr(props, "defaultSize", None) is not None else None
            ),
        },
        "output": {
            "name": _text(scores.name),
            "description": _text(scores.description),
            "labels_file": labels_file,
            "stats_min": _floats(scores.stats.min) if scores.stats else None,
            "stats_max": _floats(scores.stats.max) if scores.stats else None,
        },
        "labels": labels,
        "input_contract": input_contract.read_bytes(_as_bytes(source)),
    }
