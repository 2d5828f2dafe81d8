"""Keras model -> `.tflite`: float32, float16, dynamic-range or full-integer int8.

    from keras_shufflenet.tflite.export import export_tflite
    export_tflite(model, "model.tflite", mode="int8", representative_images=images,
                  io_dtype="uint8", metadata=ClassifierMetadata(labels=names))

or from the shell, calibrating on the evaluation pipeline of a data set:

    python -m keras_shufflenet.tflite.export --model=run/model.keras --data=digits \\
        --mode=int8 --io_dtype=uint8 --output=model_int8.tflite

The graph is converted with TFLite builtin operators only (no Flex/TF Select
ops; `model.export(format="litert")` would allow them) from a batch-1 copy of
the model, so every shape is static: channel shuffles and splits lower to plain
RESHAPE/TRANSPOSE/SPLIT with no SHAPE/STRIDED_SLICE/PACK left over. Full-integer
graphs are made so that XNNPACK, the CPU delegate of Android apps and MediaPipe,
runs all of them in one partition: see `rewrite` (V1's shortcut average pool and
ReLU after concatenation) and `boundary` (uint8/int8 input and output, float
softmax). `graph.describe(path)` shows what came out.
"""

import contextlib
import io
import os
import sys
import warnings

import numpy as np
from absl import logging

from keras_shufflenet import input_contract
from keras_shufflenet.pipelines import files, tool_output

# As a program, TensorFlow's own lines go to a log from its import on (`tool_output`).
PROGRAM_OUTPUT = tool_output.program_output(__name__)

from keras_shufflenet.tflite import _boundary as boundary  # noqa: E402 (after the redirect)
from keras_shufflenet.tflite import channel_tracking  # noqa: E402
from keras_shufflenet.tflite import metadata as metadata_lib  # noqa: E402
from keras_shufflenet.tflite import ranges as int8_ranges_lib  # noqa: E402
from keras_shufflenet.tflite.device import graph  # noqa: E402

MODES = ("float32", "float16", "dynamic", "int8")
IO_DTYPES = ("float32", "int8", "uint8")
DEFAULT_NUM_CALIBRATION = 300
CALIBRATION_LOG_EVERY = 100
# Quantize/dequantize at the model's float boundary are expected in int8 graphs.
BOUNDARY_OPS = ("QUANTIZE", "DEQUANTIZE")


class ExportError(ValueError):
    """The model cannot be exported as asked; the message says why in one line."""


def _one_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def check_output_path(path):
    """Raises `ExportError` when `path` cannot be written as a file; checked before
    the slow conversion, without creating anything (missing folders are made
    when the file is written)."""
    path = os.fspath(path)
    if not path or os.path.isdir(path):
        raise ExportError(f"output path {path!r} is a directory or empty; give a file path like model.tflite")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise ExportError(f"cannot write {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write {path}: no permission to write in {parent}")


def write_atomically(path, data):
    """Writes `data` to `path` through a temporary file in the same folder and
    `os.replace`: readers never see a half-written model, and a failure leaves
    nothing behind."""
    try:
        with files.atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                f.write(data)
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error.strerror or _one_line(error)}") from error


# ---------------------------------------------------------------------------- models


def load_model(path, arch=None, *, classes=None, image_size=None, small_inputs=False):
    """Loads a model to export: a saved `.keras` model, or a `.weights.h5` file.

    Args:
        path: a `.keras` file (architecture and weights), or the
            `.weights.h5` file of a whole model (e.g. saved by
            `model.save_weights`).
        arch, classes, image_size, small_inputs: for a weights file, the
            architecture it fits, as the training programs name it
            (`keras_shufflenet.pipelines.models.build_model`: "v2_0.5",
            "v1_1.0_g3", ...; RGB [0, 255] input).

    Returns:
        A `keras.Model`.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"model file {path!r} does not exist")
    if path.endswith(".keras"):
        from keras_shufflenet.pipelines.evaluate import load_keras_model

        try:
            return load_keras_model(path)
        except (ValueError, OSError, TypeError) as error:
            raise ValueError(f"cannot load {path} as a Keras model: {_one_line(error)}") from error
    if path.endswith(".weights.h5"):
        if arch is None or classes is None or image_size is None:
            raise ValueError(
                f"{path} holds weights only: give the architecture (arch such as 'v2_0.5', "
                "classes, image_size, small_inputs)"
            )
        from keras_shufflenet.pipelines.models import build_model

        model = build_model(arch, classes=classes, image_size=image_size, small_inputs=small_inputs)
        try:
            model.load_weights(path)
        except (ValueError, OSError) as error:
            raise ValueError(f"{path} does not fit {arch} ({classes} classes): {_one_line(error)}") from error
        return model
    raise ValueError(f"{path}: expected a .keras model or a .weights.h5 weights file")


def _is_softmax(activation):
    return getattr(activation, "__name__", None) == "softmax"


def final_softmax(model):
    """The model's last layer when it ends in a softmax over the last axis, else None."""
    import keras

    layer = model.layers[-1] if model.layers else None
    if isinstance(layer, keras.layers.Softmax) and layer.axis in (-1, [-1], (-1,)):
        return layer
    if isinstance(layer, (keras.layers.Activation, keras.layers.Dense)) and _is_softmax(layer.activation):
        return layer
    return None


def outputs_probabilities(model):
    """Whether the model's output is a softmax over classes."""
    return final_softmax(model) is not None


def split_softmax(model):
    """`(logits_model, True)` for a model ending in a softmax, else `(model, False)`.

    The logits model shares the weights; a final `Dense(activation="softmax")`
    becomes a linear `Dense` with the same kernel and bias.
    """
    import keras

    layer = final_softmax(model)
    if layer is None:
        return model, False
    if isinstance(layer, keras.layers.Dense):
        config = {**layer.get_config(), "activation": None, "name": f"{layer.name}_logits"}
        head = keras.layers.Dense.from_config(config)
        logits = head(layer.input)
        head.set_weights(layer.get_weights())
    else:
        logits = layer.input
    return keras.Model(model.inputs, logits, name=model.name), True


def static_input_shape(model):
    """`(H, W, C)` of the model's single image input; raises if not fully known."""
    if len(model.inputs) != 1:
        raise ExportError(f"export takes single-input models; {model.name} has {len(model.inputs)} inputs")
    shape = tuple(model.inputs[0].shape[1:])
    if len(shape) != 3 or any(d is None for d in shape):
        raise ExportError(
            f"model input shape {tuple(model.inputs[0].shape)} is not a fixed image size; build the "
            "model with input_shape=(height, width, 3) so the exported graph has static shapes"
        )
    return tuple(int(d) for d in shape)


def batch_one(model, input_shape):
    """The model called on a batch-1 input: every shape in the graph is static."""
    import keras

    image = keras.Input(input_shape, batch_size=1, name="image")
    outputs = model(image, training=False)
    return keras.Model(image, outputs, name=model.name)


# ---------------------------------------------------------------------- calibration


def _items(images):
    if isinstance(images, np.ndarray):
        yield images
        return
    try:
        iterator = iter(images)
    except TypeError as error:
        raise ExportError(
            f"representative_images must be an array [N, H, W, C] or an iterable of images or "
            f"batches; got {type(images).__name__}"
        ) from error
    for item in iterator:
        if isinstance(item, tuple):  # (images, labels) from a labelled dataset
            item = item[0]
        yield item


def calibration_images(images, input_shape, num_calibration=DEFAULT_NUM_CALIBRATION):
    """Up to `num_calibration` float32 images `[N, H, W, C]` from `images`, checked.

    `images` is an array `[N, H, W, C]`, or an iterable (a tf.data dataset, a
    generator, a list) of images `[H, W, C]`, batches `[B, H, W, C]` or
    `(batch, labels)` pairs, holding real numbers in the range the model's
    float input takes. Raises `ExportError` (one line) for an empty set,
    a shape that does not match `input_shape`, non-numeric or non-finite values.
    """
    if images is None:
        raise ExportError(
            "mode='int8' needs representative_images: real images (a few hundred) to calibrate "
            "the activation ranges"
        )
    chunks, count = [], 0
    for item in _items(images):
        array = np.asarray(item)
        if array.dtype.kind not in "fiu":
            raise ExportError(
                f"representative_images must hold real numbers (float or integer pixels); got dtype {array.dtype}"
            )
        if array.ndim == 3:
            array = array[None]
        if array.ndim != 4 or tuple(array.shape[1:]) != tuple(input_shape):
            raise ExportError(
                f"representative_images have shape {list(array.shape)} but the model takes images "
                f"[{', '.join(map(str, input_shape))}] (give [N, {', '.join(map(str, input_shape))}])"
            )
        array = array[: num_calibration - count].astype(np.float32)
        chunks.append(array)
        count += len(array)
        if count >= num_calibration:
            break
    if count == 0:
        raise ExportError("representative_images is empty; int8 calibration needs at least one image")
    calibration = np.concatenate(chunks)
    if not np.isfinite(calibration).all():
        raise ExportError("representative_images contain NaN or infinite values")
    return calibration


def _check_pixel_range(calibration, model):
    from keras_shufflenet.preprocessing import takes_raw_pixels

    if takes_raw_pixels(model) and calibration.max() <= 1.0 and calibration.min() >= -1.0:
        raise ExportError(
            f"representative_images lie in [-1, 1] (max {calibration.max():.3g}) but the model takes raw "
            "pixels in [0, 255] (it normalizes itself); pass the images unscaled"
        )


# ----------------------------------------------------------------------- conversion


def _float_compute_ops(summary):
    """Ops of a full-integer graph that still compute in float, by name (boundary
    QUANTIZE/DEQUANTIZE on the model's own float input/output excepted)."""
    float_io = {t.name for t in summary.inputs + summary.outputs if t.dtype == "float32"}
    names = []
    for op in summary.ops:
        tensors = [summary.tensors[i] for i in op.inputs + op.outputs if i >= 0]
        floats = [t for t in tensors if t.dtype in ("float32", "float16")]
        if not floats:
            continue
        if op.name in BOUNDARY_OPS and all(t.name in float_io for t in floats):
            continue
        if op.name not in BOUNDARY_OPS and op.name not in names:
            names.append(op.name)
    return names


def gpu_compatibility_problems(source):
    """What TFLite's own model analyzer finds the GPU delegate cannot run in a
    `.tflite` file (a path) or its bytes, one line each; empty when it finds
    the model compatible. (It does not check tensor ranks: see
    `graph.graph_problems(max_rank=4)`.)"""
    import tensorflow as tf

    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            source = f.read()
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        tf.lite.experimental.Analyzer.analyze(model_content=bytes(source), gpu_compatibility=True)
    text = text.getvalue()
    if "looks compatible with GPU delegate" in text:
        return []
    warnings_ = [line.strip() for line in text.splitlines() if "GPU COMPATIBILITY WARNING" in line]
    return warnings_ or ["TFLite's model analyzer does not find the model compatible with the GPU delegate"]


def _converter_error(error, mode):
    text = str(error)
    for marker in ("TF Select ops:", "Custom ops:", "Flex ops:"):
        if marker in text:
            ops = text.split(marker, 1)[1].strip().splitlines()[0].strip()
            return ExportError(
                f"mode={mode!r}: the model uses ops that are not TFLite builtins ({ops}); "
                "replace the layers that use them (only builtin ops are exported)"
            )
    return ExportError(f"mode={mode!r}: TFLite conversion failed: {_one_line(error)}")


def convert(model, *, mode="int8", calibration=None, int8_ranges=int8_ranges_lib.DEFAULT_METHOD):
    """The `.tflite` bytes of a batch-1, static-shape `model` (see `export_tflite`),
    with float input and output; "int8" graphs quantize inside, with ranges
    calibrated on `calibration` (by `int8_ranges`, see `keras_shufflenet.tflite.ranges`)
    or, when None, those of the model's fake-quant ops (a quantization-aware
    tf_keras model, `keras_shufflenet.tflite.qat`)."""
    import tensorflow as tf
    from tensorflow.lite.python import convert as tf_convert

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if type(model).__module__.startswith("tf_keras"):
        # A tf_keras model (quantization-aware training) converts faster from its
        # traced call than through a SavedModel of every layer.
        converter.experimental_lower_to_saved_model = False
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        # Per-channel weights are the converter's default for (depthwise) convolutions.
        converter.optimizations = [tf.lite.Optimize.DEFAULT]

        def representative_dataset():
            for i, image in enumerate(calibration):
                if i and i % CALIBRATION_LOG_EVERY == 0:
                    logging.info("calibrating: %d/%d images", i, len(calibration))
                yield [image[None]]

        # Without calibration images the ranges are the model's fake-quant ops'
        # (the converter only checks for int8 kernels when it calibrates; the
        # caller checks the graph for float ops either way).
        if calibration is not None:
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.representative_dataset = representative_dataset
    clipped = mode == "int8" and calibration is not None and int8_ranges_lib.check_method(int8_ranges) == "mse"
    # For clipped ranges the converter stops after calibrating; its quantizer
    # then runs on the rewritten statistics, as the converter would have run it.
    converter._experimental_calibrate_only = clipped
    try:
        # Keras' SavedModel export prints its endpoints; the quantizer warns that
        # quantized inputs come without statistics (they are calibrated).
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
            data = converter.convert()
            if clipped:
                data, narrowed = int8_ranges_lib.clip_calibrated_model(data, calibration)
                logging.info("int8 ranges: %d activation ranges clipped to their least-error range", narrowed)
                data = tf_convert.mlir_quantize(data, input_data_type=tf.float32, output_data_type=tf.float32)
            return data
    except Exception as error:  # the converter raises several private error types
        raise _converter_error(error, mode) from error


def export_tflite(
    model,
    path,
    *,
    mode="int8",
    representative_images=None,
    num_calibration=DEFAULT_NUM_CALIBRATION,
    io_dtype="float32",
    gpu_friendly=False,
    metadata=None,
    contract=None,
    optimize_graph=True,
    int8_converter=None,
    int8_ranges=int8_ranges_lib.DEFAULT_METHOD,
):
    """Converts a Keras image classifier to a `.tflite` file for phones.

    Args:
        model: a `keras.Model` with one image input of fixed size (build it with
            `input_shape=(H, W, 3)`).
        path: the `.tflite` file to write (atomically; parent folders are
            created; nothing is left behind on failure).
        mode: "float32"; "float16" (float16 weights, float compute);
            "dynamic" (int8 weights, float activations); or "int8" (full
            integer: int8 weights, per channel for convolutions, and int8
            activations calibrated on `representative_images`).
        representative_images: for "int8", real images in the value range the
            model's float input takes (raw [0, 255] pixels for models built
            with `include_preprocessing=True`): an array `[N, H, W, C]`, or an
            iterable of images, batches or `(batch, labels)` pairs (e.g. the
            evaluation dataset of `keras_shufflenet.pipelines.data`).
        num_calibration: how many of them to calibrate on.
        io_dtype: the input/output type of an "int8" model: "float32"
            (quantize inside); "uint8" (camera pixels as they come: needs a
            model that normalizes itself, and the input is the pixel value
            itself); or "int8" (for such models, pixel - 128). Softmax outputs
            are quantized with scale 1/256. Other modes take "float32" only.
            Either way the whole int8 graph runs in one XNNPACK partition
            (see `keras_shufflenet.tflite._boundary`).
        gpu_friendly: guarantee that the graph suits the TFLite GPU delegate:
            TFLite's model analyzer finds it GPU-compatible, and no tensor is
            above rank 4 (the GPU delegate rejects the 5-D reshape and
            transpose of a textbook channel shuffle, which the analyzer lets pass). keras_shufflenet's layers
            already lower to rank 4, so for its models the graph is the default
            one; a model that would break the guarantee is refused.
        metadata: a `keras_shufflenet.tflite.metadata.ClassifierMetadata`
            (labels, name, author, ...) to embed as Android model metadata; the
            input normalization written with it is the contract's (mean 0,
            std 1 for models that normalize themselves).
        contract: the model's `InputContract` (default: the one the model
            carries, else the defaults, which is reported). It is packed into
            the file as `input_contract.json`, so every later reader (the
            evaluation, the benchmark's `--input=DIR`, an app) prepares images
            the same way. Calibrate on images it prepared:
            `build_dataset(..., training=False, contract=contract)`.
        optimize_graph: export ShuffleNet V2 through exact rewrites that make
            it faster and compute the same function: channel shuffles become
            channel bookkeeping, no TRANSPOSE is left (see
            `keras_shufflenet.tflite.channel_tracking`). Other models are
            exported as they are. False exports the graph layer by layer.
        int8_converter: for "int8", instead of calibrating `model`: a function
            of the input shape `(H, W, C)` returning the `.tflite` bytes of the
            int8 body (float input -> QUANTIZE ... DEQUANTIZE -> float logits)
            of `int8_body(model)`; how `keras_shufflenet.tflite.qat` exports a
            quantization-aware trained copy (layer by layer: `optimize_graph`
            does not apply to it). The checks, boundary and metadata that
            follow are the same.
        int8_ranges: how calibration sets each activation's int8 range: "mse"
            (the range with the least rounding plus clipping error on the
            calibration images' histogram) or "minmax" (the min and max seen;
            what the TFLite converter does by itself). See
            `keras_shufflenet.tflite.ranges`.

    Returns:
        `path`.

    Raises:
        ExportError (a ValueError) with a one-line reason: bad arguments, an
        unwritable path, representative images that do not fit the model, ops
        that are not TFLite builtins or have no int8 kernel, a graph that
        breaks `gpu_friendly`.
    """
    if mode not in MODES:
        raise ExportError(f"mode must be one of {MODES}; got {mode!r}")
    if io_dtype not in IO_DTYPES:
        raise ExportError(f"io_dtype must be one of {IO_DTYPES}; got {io_dtype!r}")
    if mode != "int8" and io_dtype != "float32":
        raise ExportError(f"io_dtype={io_dtype!r} needs mode='int8'; mode={mode!r} models take float32")
    if not isinstance(num_calibration, int) or isinstance(num_calibration, bool) or num_calibration < 1:
        raise ExportError(f"num_calibration must be a positive integer; got {num_calibration!r}")
    if int8_ranges not in int8_ranges_lib.METHODS:
        raise ExportError(f"int8_ranges must be one of {int8_ranges_lib.METHODS}; got {int8_ranges!r}")
    if metadata is not None and not isinstance(metadata, metadata_lib.ClassifierMetadata):
        raise ExportError(f"metadata must be a ClassifierMetadata or None; got {type(metadata).__name__}")
    # Keras is imported when a model is exported, not when the program starts (tool_output).
    from keras_shufflenet.preprocessing import model_input_contract, takes_raw_pixels

    raw_pixels = takes_raw_pixels(model)
    if io_dtype == "uint8" and not raw_pixels:
        raise ExportError(
            "io_dtype='uint8' feeds camera pixels as they are, so the model must take raw [0, 255] pixels: "
            "build it with include_preprocessing=True, or export with io_dtype='int8' or 'float32'"
        )
    check_output_path(path)
    input_shape = static_input_shape(model)
    if contract is None:
        contract = model_input_contract(model)
    if not isinstance(contract, input_contract.InputContract):
        raise ExportError(f"contract must be an InputContract or None; got {type(contract).__name__}")
    if (contract.image_size, contract.image_size) != input_shape[:2]:
        raise ExportError(
            f"the input contract's image size {contract.image_size} does not match the model's input "
            f"{input_shape[0]}x{input_shape[1]}"
        )

    calibration = None
    if mode == "int8" and int8_converter is None:
        calibration = calibration_images(representative_images, input_shape, num_calibration)
        _check_pixel_range(calibration, model)
        logging.info("int8: calibrating on %d images", len(calibration))

    if mode == "int8":
        data = _convert_int8(
            model, input_shape, calibration, io_dtype, raw_pixels, optimize_graph, int8_converter, int8_ranges
        )
    else:
        data = convert(export_graph(model, input_shape, optimize_graph), mode=mode)
    summary = graph.summarize(data)
    if gpu_friendly:
        problems = graph.graph_problems(summary, max_rank=graph.GPU_MAX_RANK) + gpu_compatibility_problems(data)
        if problems:
            raise ExportError(f"gpu_friendly: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    if metadata is not None:
        if contract.labels is not None and tuple(metadata.labels) != contract.labels:
            input_contract.report_to_stderr(
                f"warning: metadata labels {list(metadata.labels)[:5]}... override the model's recorded "
                f"labels {list(contract.labels)[:5]}... ({contract.source})"
            )
        data = metadata_lib.populate(
            data, metadata, mean=contract.mean, std=contract.std,
            probabilities=outputs_probabilities(model), contract=contract.replace(labels=metadata.labels),
        )
    else:
        data = metadata_lib.append_files(data, {input_contract.FILE_NAME: contract.to_json()})
    write_atomically(path, data)
    logging.info("wrote %s (%s, %.1f kB)", path, mode, len(data) / 1e3)
    return path


def export_graph(model, input_shape, optimize_graph=True):
    """The batch-1 Keras graph the converter sees: `model` itself, or with
    `optimize_graph` its exact rewrite (`channel_tracking.shuffle_free`)."""
    if optimize_graph:
        model, changes = channel_tracking.shuffle_free(model, input_shape)
        for change in changes:
            logging.info("optimized graph: %s", change)
    return batch_one(model, input_shape)


def int8_body(model, calibration=None):
    """`(body, softmax)`: the Keras model an int8 conversion quantizes (`model`
    without its final softmax, rewritten for XNNPACK, see `rewrite`, and with
    its ReLU ranges equalized on the `calibration` images when given, see
    `equalize`), and whether `model` ended in a softmax (it runs in float after
    the body). The same function as `model`'s, up to float rounding."""
    from keras_shufflenet.tflite import _rewrite as rewrite
    from keras_shufflenet.tflite import equalize

    body, softmax = split_softmax(model)
    body, changes = rewrite.xnnpack_int8_friendly(body)
    for change in changes:
        logging.info("int8 graph for XNNPACK: %s", change)
    if calibration is not None:
        body, changes = equalize.equalize_ranges(body, calibration)
        for change in changes:
            logging.info("int8 ranges: %s", change)
    return body, softmax


def _convert_int8(model, input_shape, calibration, io_dtype, raw_pixels, optimize_graph, int8_converter=None,
                  int8_ranges=int8_ranges_lib.DEFAULT_METHOD):
    """Full-integer conversion; see `rewrite` and `boundary` for what is changed
    around the converter so that XNNPACK runs the whole graph."""
    if int8_converter is None:
        body, softmax = int8_body(model, calibration)
        data = convert(
            export_graph(body, input_shape, optimize_graph), mode="int8", calibration=calibration,
            int8_ranges=int8_ranges,
        )
        if optimize_graph and channel_tracking.applies_to(body):
            data = channel_tracking.unify_stage_scales(data)
    else:
        data, softmax = int8_converter(input_shape), outputs_probabilities(model)
    float_ops = _float_compute_ops(graph.summarize(data))
    if float_ops:
        raise ExportError(
            f"mode='int8': op(s) {', '.join(float_ops)} have no int8 kernel and would run in float "
            "between DEQUANTIZE/QUANTIZE; replace those layers or export with mode='dynamic' or 'float16'"
        )
    pixels = (1.0, boundary.ZERO_POINT_SHIFT[io_dtype]) if raw_pixels and io_dtype != "float32" else None
    return boundary.finish_integer_graph(data, io_dtype=io_dtype, softmax=softmax, input_quantization=pixels)


# -------------------------------------------------------------------------- program


def define_flags(flag_values=None):
    """Defines the program's flags (in `flag_values`, default the global FLAGS)."""
    from absl import flags

    fv = flags.FLAGS if flag_values is None else flag_values
    flags.DEFINE_string("model", None, "A .keras model, or a .weights.h5 file (see --arch).", flag_values=fv)
    flags.DEFINE_string("output", None, "The .tflite file to write.", flag_values=fv)
    flags.DEFINE_enum("mode", "int8", MODES, "Conversion mode.", flag_values=fv)
    flags.DEFINE_enum("io_dtype", "float32", IO_DTYPES, "Input/output type of int8 models.", flag_values=fv)
    flags.DEFINE_string("data", "digits", "Calibration images and labels: 'digits', 'tfds:<name>' "
                        "or an image folder.", flag_values=fv)
    flags.DEFINE_string("split", "train", "Split to calibrate on.", flag_values=fv)
    flags.DEFINE_string("data_dir", None, "tensorflow-datasets data folder.", flag_values=fv)
    flags.DEFINE_integer("num_calibration", DEFAULT_NUM_CALIBRATION, "Calibration images.", flag_values=fv)
    flags.DEFINE_enum("int8_ranges", int8_ranges_lib.DEFAULT_METHOD, int8_ranges_lib.METHODS,
                      "int8 activation ranges: least rounding + clipping error on the calibration "
                      "histogram, or the min/max seen.", flag_values=fv)
    flags.DEFINE_bool("gpu_friendly", False, "Refuse graphs the GPU delegate cannot take.", flag_values=fv)
    flags.DEFINE_bool("optimize_graph", True, "Exact speed rewrites of ShuffleNet V2 (no shuffle "
                      "transposes); --nooptimize_graph exports layer by layer.", flag_values=fv)
    flags.DEFINE_bool("metadata", True, "Embed Android metadata (labels: the model's recorded ones, "
                      "else --data's classes).", flag_values=fv)
    flags.DEFINE_string("name", None, "Model name in the metadata (default: the model's).", flag_values=fv)
    flags.DEFINE_string("description", metadata_lib.DEFAULT_DESCRIPTION, "Metadata description.", flag_values=fv)
    flags.DEFINE_string("version", "1", "Metadata version.", flag_values=fv)
    flags.DEFINE_string("author", "", "Metadata author.", flag_values=fv)
    flags.DEFINE_string("license", "", "Metadata licence.", flag_values=fv)
    flags.DEFINE_string("recipe", None, "Override the model's recorded evaluation crop with this "
                        "training recipe's.", flag_values=fv)
    flags.DEFINE_float("center_crop_fraction", None, "Override the model's recorded evaluation crop "
                       "fraction (without a record: 0.875).", flag_values=fv)
    flags.DEFINE_string("arch", None, "Architecture of a weights file, e.g. v2_0.5 or v1_1.0_g3.", flag_values=fv)
    flags.DEFINE_integer("classes", None, "Classes, for a weights file.", flag_values=fv)
    flags.DEFINE_integer("image_size", None, "Input size, for a weights file.", flag_values=fv)
    flags.DEFINE_bool("small_inputs", False, "Stride-1 stem (CIFAR-sized inputs), for a weights file.", flag_values=fv)
    flags.mark_flags_as_required(["model", "output"], flag_values=fv)


def calibration_dataset(data, *, split, num_calibration, contract=None, image_size=None, recipe=None,
                        data_dir=None):
    """The first `num_calibration` images of `data` prepared by the model's input
    `contract` (the evaluation transform), for int8 calibration, and the `DatasetInfo`.

    Without a contract, `image_size` and the evaluation crop of `recipe` (a
    training recipe name; default crop 0.875) state one, for models that record none.
    """
    from keras_shufflenet.pipelines import recipes
    from keras_shufflenet.pipelines.data import build_dataset

    if contract is None:
        if image_size is None:
            raise ValueError("calibration_dataset needs the model's contract, or an image_size")
        crop = recipes.get(recipe).augment.center_crop_fraction if recipe else input_contract.DEFAULT_CROP_FRACTION
        contract = input_contract.InputContract(image_size=image_size, crop_fraction=crop)
    return build_dataset(
        data, split, training=False, contract=contract, batch_size=32,
        data_dir=data_dir, cache=False, limit=num_calibration,
    )


def main(argv, flag_values=None):
    """The program: `python -m keras_shufflenet.tflite.export --model=... --output=...`."""
    from absl import flags

    del argv
    logging.set_verbosity(logging.INFO)
    try:
        path = _export_from_flags(flags.FLAGS if flag_values is None else flag_values)
    except ValueError as error:  # ExportError included: one line, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(graph.describe(path))
    return 0


def _export_from_flags(FLAGS):
    model = load_model(
        FLAGS.model, FLAGS.arch, classes=FLAGS.classes, image_size=FLAGS.image_size,
        small_inputs=FLAGS.small_inputs,
    )
    from keras_shufflenet.pipelines.evaluate import check_labels, resolve_contract

    height, width, _ = static_input_shape(model)
    if height != width:
        raise ExportError(f"the data pipeline makes square images; the model takes {height}x{width}")
    contract = resolve_contract(model, recipe=FLAGS.recipe, center_crop_fraction=FLAGS.center_crop_fraction)
    dataset = info = None
    if FLAGS.mode == "int8" or (FLAGS.metadata and contract.labels is None):
        dataset, info = calibration_dataset(
            FLAGS.data, split=FLAGS.split, contract=contract, num_calibration=FLAGS.num_calibration,
            data_dir=FLAGS.data_dir,
        )
        check_labels(contract, info.class_names)
    info_md = None
    if FLAGS.metadata:
        info_md = metadata_lib.ClassifierMetadata(
            labels=contract.labels or tuple(info.class_names), name=FLAGS.name or model.name,
            description=FLAGS.description, version=FLAGS.version, author=FLAGS.author,
            license=FLAGS.license,
        )
    return export_tflite(
        model, FLAGS.output, mode=FLAGS.mode, representative_images=dataset,
        num_calibration=FLAGS.num_calibration, io_dtype=FLAGS.io_dtype,
        gpu_friendly=FLAGS.gpu_friendly, metadata=info_md, contract=contract, optimize_graph=FLAGS.optimize_graph,
        int8_ranges=FLAGS.int8_ranges,
    )


def run():
    from absl import app

    define_flags()
    with tool_output.framework_logs_to():
        app.run(main)


if __name__ == "__main__":
    with PROGRAM_OUTPUT:
        run()
