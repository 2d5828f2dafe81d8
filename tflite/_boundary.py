"""The input/output boundary of a full-integer graph, rewritten so XNNPACK runs it all.

The TFLite converter's full-integer graphs leave work to LiteRT's reference
kernels that XNNPACK (the CPU delegate Android and MediaPipe use) does not take:
the uint8 <-> int8 QUANTIZE at a uint8 input/output, and an int8 SOFTMAX. So the
int8 body is converted with float input and output, and this module rewrites
the boundary with ops XNNPACK does take:

    uint8/int8 image -> DEQUANTIZE -> [QUANTIZE -> int8 body -> DEQUANTIZE]
        -> SOFTMAX (float, if the model ends in one) -> QUANTIZE -> uint8/int8 scores

The numbers are those of the converter's own boundary (a requantization is a
dequantize followed by a quantize), and the softmax runs in float on the int8
logits instead of in 8 bits.
"""

import numpy as np

from keras_shufflenet.tflite.device import graph

# Quantization of probabilities in [0, 1], as TFLite's own 8-bit softmax writes them.
PROBABILITY_SCALE = 1.0 / 256.0
ZERO_POINT_SHIFT = {"uint8": 0, "int8": -128}  # int8 value = uint8 value - 128


def _opcode(model, name):
    fb = graph.schema()
    code = getattr(fb.BuiltinOperator, name)
    for index, c in enumerate(model.operatorCodes):
        if max(c.builtinCode, c.deprecatedBuiltinCode) == code:
            return index
    c = fb.OperatorCodeT()
    c.builtinCode = code
    c.deprecatedBuiltinCode = min(code, fb.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
    c.version = 1
    model.operatorCodes.append(c)
    return len(model.operatorCodes) - 1


def _add_tensor(model, like, name, dtype, quantization=None):
    """A new activation tensor shaped like tensor `like`; returns its index."""
    fb = graph.schema()
    subgraph = model.subgraphs[0]
    template = subgraph.tensors[like]
    tensor = fb.TensorT()
    tensor.name = name.encode()
    tensor.shape = np.array(template.shape, np.int32)
    if template.shapeSignature is not None:
        tensor.shapeSignature = np.array(template.shapeSignature, np.int32)
    tensor.type = {"float32": fb.TensorType.FLOAT32, "uint8": fb.TensorType.UINT8, "int8": fb.TensorType.INT8}[dtype]
    model.buffers.append(fb.BufferT())
    tensor.buffer = len(model.buffers) - 1
    if quantization is not None:
        q = fb.QuantizationParametersT()
        q.scale = np.array([quantization[0]], np.float32)
        q.zeroPoint = np.array([quantization[1]], np.int64)
        tensor.quantization = q
    subgraph.tensors.append(tensor)
    return len(subgraph.tensors) - 1


def _op(model, name, inputs, outputs, options=None):
    fb = graph.schema()
    op = fb.OperatorT()
    op.opcodeIndex = _opcode(model, name)
    op.inputs = np.array(inputs, np.int32)
    op.outputs = np.array(outputs, np.int32)
    if options is not None:
        op.builtinOptionsType, op.builtinOptions = options
    return op


def _quantization(model, index):
    q = model.subgraphs[0].tensors[index].quantization
    return float(q.scale[0]), int(q.zeroPoint[0])


def _rename(tensor, suffix):
    name = tensor.name
    tensor.name = name + suffix.encode()
    return name.decode()


def _retarget_signatures(model, old, new):
    for signature in model.signatureDefs or []:
        for entry in list(signature.inputs or []) + list(signature.outputs or []):
            if entry.tensorIndex == old:
                entry.tensorIndex = new


def _boundary_ops(model):
    """The converter's float boundary: (input QUANTIZE op, output DEQUANTIZE op)."""
    subgraph = model.subgraphs[0]
    (input_index,), (output_index,) = subgraph.inputs, subgraph.outputs
    first = [op for op in subgraph.operators if input_index in op.inputs]
    last = [op for op in subgraph.operators if output_index in op.outputs]
    if (
        len(first) != 1 or graph.op_name(model, first[0]) != "QUANTIZE"
        or len(last) != 1 or graph.op_name(model, last[0]) != "DEQUANTIZE"
    ):
        raise ValueError("not a full-integer graph with float input and output (QUANTIZE ... DEQUANTIZE)")
    return first[0], last[0]


def finish_integer_graph(data, *, io_dtype, softmax, input_quantization=None):
    """Rewrites the boundary of a full-integer `.tflite` converted with float I/O.

    Args:
        data: `.tflite` bytes: float input -> QUANTIZE -> int8 ops -> DEQUANTIZE
            -> float output (logits when `softmax`).
        io_dtype: "float32", "int8" or "uint8": the new input and output type.
        softmax: append a float SOFTMAX to the logits.
        input_quantization: `(scale, zero_point)` of a uint8/int8 input; by
            default the int8 body's own input quantization (shifted by 128
            for uint8). `(1, 0)` for uint8 makes the input the pixel itself.

    Returns:
        The rewritten `.tflite` bytes, with the signature pointing at the new
        input and output tensors.
    """
    if io_dtype not in ZERO_POINT_SHIFT and io_dtype != "float32":
        raise ValueError(f"io_dtype must be 'float32', 'int8' or 'uint8'; got {io_dtype!r}")
    fb = graph.schema()
    model = graph.read_model(data)
    subgraph = model.subgraphs[0]
    quantize, dequantize = _boundary_ops(model)
    operators = list(subgraph.operators)
    (float_input,), (output,) = subgraph.inputs, subgraph.outputs

    if softmax:
        name = _rename(subgraph.tensors[output], "/logits")
        probabilities = _add_tensor(model, output, name, "float32")
        options = fb.SoftmaxOptionsT()
        options.beta = 1.0
        operators.append(
            _op(model, "SOFTMAX", [output], [probabilities], (fb.BuiltinOptions.SoftmaxOptions, options))
        )
        _retarget_signatures(model, output, probabilities)
        output = probabilities

    if io_dtype != "float32":
        shift = ZERO_POINT_SHIFT[io_dtype]
        if input_quantization is None:
            scale, zero_point = _quantization(model, quantize.outputs[0])
            input_quantization = (scale, zero_point + 128 + shift)
        name = _rename(subgraph.tensors[float_input], "/dequantized")
        new_input = _add_tensor(model, float_input, name, io_dtype, input_quantization)
        operators.insert(0, _op(model, "DEQUANTIZE", [new_input], [float_input]))
        _retarget_signatures(model, float_input, new_input)

        if softmax:
            output_quantization = (PROBABILITY_SCALE, shift)
        else:
            scale, zero_point = _quantization(model, dequantize.inputs[0])
            output_quantization = (scale, zero_point + 128 + shift)
        name = _rename(subgraph.tensors[output], "/float")
        new_output = _add_tensor(model, output, name, io_dtype, output_quantization)
        operators.append(_op(model, "QUANTIZE", [output], [new_output]))
        _retarget_signatures(model, output, new_output)
        subgraph.inputs = np.array([new_input], np.int32)
        output = new_output

    subgraph.operators = operators
    subgraph.outputs = np.array([output], np.int32)
    return graph.pack_model(model)
