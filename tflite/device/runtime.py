"""Running a `.tflite` classifier with only numpy and the LiteRT runtime.

No TensorFlow or Keras import here: this module goes to devices with the
benchmark tool. `ai-edge-litert` is preferred; `tflite-runtime` is the fallback.
"""

import contextlib
import functools
import os
import struct
import sys
import zipfile

import numpy as np


def load_interpreter_class():
    """The LiteRT `Interpreter` class, from ai-edge-litert or tflite-runtime."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError as error:
            raise ImportError(
                "No LiteRT runtime: install `ai-edge-litert` (or `tflite-runtime`)."
            ) from error
    return Interpreter


TFLITE_IDENTIFIER = b"TFL3"


class TFLiteFileError(ValueError):
    """A `.tflite` file that is not TFLite, is truncated or damaged, or that LiteRT
    cannot load. The one-line message starts with the file's name."""


# What reading a damaged flatbuffer (offsets or lengths pointing anywhere) can raise.
_PARSE_ERRORS = (
    ValueError, TypeError, IndexError, KeyError, AttributeError, struct.error, UnicodeDecodeError,
    OverflowError, RecursionError, MemoryError, zipfile.BadZipFile, EOFError,
    NotImplementedError, RuntimeError,  # zipfile: unknown version or method, "encrypted"
)


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


def source_name(source):
    """How error messages name a model given as a path or as bytes."""
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<model bytes>"


@contextlib.contextmanager
def reading(source):
    """Turns what parsing a damaged `.tflite` raises into a `TFLiteFileError` that
    names `source` (a path, or bytes)."""
    name = source_name(source)
    try:
        yield
    except TFLiteFileError as error:
        if name in str(error):
            raise
        raise TFLiteFileError(f"{name}: {error}") from error
    except _PARSE_ERRORS as error:
        raise TFLiteFileError(
            f"{name}: damaged TFLite file ({type(error).__name__}: {_first_line(error)})"
        ) from error


def reads_tflite(function):
    """Decorates a reader whose first argument is a `.tflite` path or its bytes:
    damaged input raises `TFLiteFileError` naming it (see `reading`)."""

    @functools.wraps(function)
    def reader(source, *args, **kwargs):
        with reading(source):
            return function(source, *args, **kwargs)

    return reader


def check_tflite_file(path):
    """Raises a one-line TFLiteFileError/FileNotFoundError if `path` is not a readable `.tflite`."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        header = f.read(8)
    if size < 8 or header[4:8] != TFLITE_IDENTIFIER:
        raise TFLiteFileError(
            f"{path}: not a TFLite model (no 'TFL3' flatbuffer identifier; {size} bytes)"
        )


def load_delegate(library):
    """An external TFLite delegate from the shared library `library` (a path or a
    name the dynamic loader finds, e.g. `libedgetpu.so.1`), with a one-line error."""
    import ctypes

    try:
        # Checked first: LiteRT's own failure here also prints a traceback from a destructor.
        _ = ctypes.CDLL(library).tflite_plugin_create_delegate
        module = sys.modules[load_interpreter_class().__module__]
        return module.load_delegate(library)
    except (OSError, ValueError, RuntimeError, AttributeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"delegate {library!r} cannot be loaded ({reason}); give the path of a TFLite "
            "delegate shared library, e.g. libedgetpu.so.1"
        ) from error


# An input may declare at most this many bytes more than any other tensor of its graph...
INPUT_RATIO_LIMIT = 16
# ...once it is over this size: below it, any input is accepted.
INPUT_BYTES_FLOOR = 16 << 20


def _declared_bytes(detail):
    return int(np.prod([max(int(d), 1) for d in detail["shape"]], dtype=np.float64)) * np.dtype(detail["dtype"]).itemsize


def check_declared_inputs(interpreter, path):
    """Refuses, before LiteRT allocates anything, a graph input whose declared shape
    is out of all proportion to the rest of its graph.

    LiteRT recomputes every activation's shape from the inputs' when it allocates,
    so one damaged dimension of an input (a flipped bit: 16 -> 4194320) makes it
    allocate gigabytes. The graph's other tensors (weights and the activations the
    converter recorded) are its own measure: an input over `INPUT_BYTES_FLOOR` and
    more than `INPUT_RATIO_LIMIT` times the largest of them is refused.
    """
    inputs = {detail["index"] for detail in interpreter.get_input_details()}
    details = interpreter.get_tensor_details()
    largest_other = max([_declared_bytes(d) for d in details if d["index"] not in inputs], default=0)
    for detail in details:
        if detail["index"] not in inputs:
            continue
        size = _declared_bytes(detail)
        if size > max(INPUT_BYTES_FLOOR, INPUT_RATIO_LIMIT * largest_other):
            shape = [int(d) for d in detail["shape"]]
            raise TFLiteFileError(
                f"{path}: input {detail['name']!r} declares shape {shape} ({size / 2**20:.0f} MiB), "
                f"over {INPUT_RATIO_LIMIT}x the largest other tensor of the graph "
                f"({largest_other / 2**20:.2f} MiB): a damaged shape, refused before allocation"
            )


def make_interpreter(path, num_threads=1, use_xnnpack=True, delegates=()):
    """A ready (tensors allocated) LiteRT interpreter for `path`, with clear errors.

    `use_xnnpack=False` runs LiteRT's built-in kernels without the default XNNPACK
    delegate; `delegates` are extra delegates from `load_delegate`.
    """
    check_tflite_file(path)
    Interpreter = load_interpreter_class()
    kwargs = {"model_path": str(path), "num_threads": num_threads}
    if delegates:
        kwargs["experimental_delegates"] = list(delegates)
    if not use_xnnpack:
        OpResolverType = sys.modules[Interpreter.__module__].OpResolverType
        kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    try:
        interpreter = Interpreter(**kwargs)
        check_declared_inputs(interpreter, path)
        interpreter.allocate_tensors()
    except TFLiteFileError:
        raise
    except (ValueError, RuntimeError) as error:
        raise TFLiteFileError(f"{path}: cannot be loaded by LiteRT ({_first_line(error)})") from error
    return interpreter


def quantize(values, detail, path=""):
    """Float `values` in the tensor's real-valued range, converted to the dtype of the
    tensor described by `detail` (an entry of `get_input_details()`): cast for float
    tensors, quantized with its scale and zero point (rounded, clipped) for integer ones."""
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return np.asarray(values).astype(dtype)
    scale, zero_point = detail["quantization"]
    if scale == 0:
        raise ValueError(f"{path}: quantized input without quantization parameters")
    info = np.iinfo(dtype)
    q = np.round(np.asarray(values) / scale + zero_point)
    return np.clip(q, info.min, info.max).astype(dtype)


class TFLiteClassifier:
    """Runs a single-input, single-output image classifier `.tflite` on float pixels.

    `predict(images)` takes float pixels shaped `[N, H, W, C]` in the value range
    the exported model's float input expects (raw [0, 255] pixels for models built
    with `include_preprocessing=True`), quantizes them for int8/uint8 inputs, runs
    one image at a time (the exported graph has batch 1) and returns float scores
    `[N, classes]`, dequantized when the output is quantized.
    """

    def __init__(self, path, num_threads=1):
        self.path = str(path)
        self.interpreter = make_interpreter(path, num_threads=num_threads)
        with reading(self.path):  # tensor names and shapes come from the file
            inputs, outputs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(
                f"{self.path}: a classifier has one input and one output; this model has "
                f"{len(inputs)} and {len(outputs)}"
            )
        (self.input,), (self.output,) = inputs, outputs

    @property
    def input_shape(self):
        return tuple(int(d) for d in self.input["shape"])

    @property
    def input_dtype(self):
        return np.dtype(self.input["dtype"])

    def quantize_input(self, images):
        return quantize(images, self.input, self.path)

    def dequantize_output(self, raw):
        scale, zero_point = self.output["quantization"]
        if np.dtype(self.output["dtype"]).kind == "f" or scale == 0:
            return raw.astype("float32")
        return (raw.astype("float32") - zero_point) * scale

    def predict(self, images):
        images = np.asarray(images)
        expected = self.input_shape[1:]
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"{self.path}: expects images shaped [N, {', '.join(map(str, expected))}]; "
                f"got {list(images.shape)}"
            )
        outputs = []
        for image in self.quantize_input(images):
            self.interpreter.set_tensor(self.input["index"], image[None])
            try:
                self.interpreter.invoke()
            except RuntimeError as error:
                raise TFLiteFileError(f"{self.path}: LiteRT cannot run it ({_first_line(error)})") from error
            outputs.append(self.dequantize_output(self.interpreter.get_tensor(self.output["index"]))[0])
        return np.stack(outputs)
