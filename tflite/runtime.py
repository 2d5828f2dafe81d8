"""Running a `.tflite` classifier with only numpy and the LiteRT runtime.

No TensorFlow or Keras import here: this module goes to devices with the
benchmark tool. `ai-edge-litert` is preferred; `tflite-runtime` is the fallback.
"""

import os

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


def check_tflite_file(path):
    """Raises a one-line ValueError/FileNotFoundError if `path` is not a readable `.tflite`."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        header = f.read(8)
    if size < 8 or header[4:8] != TFLITE_IDENTIFIER:
        raise ValueError(
            f"{path}: not a TFLite model (no 'TFL3' flatbuffer identifier; {size} bytes)"
        )


def make_interpreter(path, num_threads=1, use_xnnpack=True):
    """A ready (tensors allocated) LiteRT interpreter for `path`, with clear errors."""
    check_tflite_file(path)
    Interpreter = load_interpreter_class()
    kwargs = {"model_path": str(path), "num_threads": num_threads}
    if not use_xnnpack:
        from ai_edge_litert.interpreter import OpResolverType

        kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    try:
        interpreter = Interpreter(**kwargs)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{path}: cannot be loaded by LiteRT ({first_line})") from error
    return interpreter


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
        (self.input,) = self.interpreter.get_input_details()
        (self.output,) = self.interpreter.get_output_details()

    @property
    def input_shape(self):
        return tuple(int(d) for d in self.input["shape"])

    @property
    def input_dtype(self):
        return np.dtype(self.input["dtype"])

    def quantize_input(self, images):
        dtype = self.input_dtype
        if dtype.kind == "f":
            return images.astype(dtype)
        scale, zero_point = self.input["quantization"]
        if scale == 0:
            raise ValueError(f"{self.path}: quantized input without quantization parameters")
        info = np.iinfo(dtype)
        q = np.round(images / scale + zero_point)
        return np.clip(q, info.min, info.max).astype(dtype)

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
            self.interpreter.invoke()
            outputs.append(self.dequantize_output(self.interpreter.get_tensor(self.output["index"]))[0])
        return np.stack(outputs)
