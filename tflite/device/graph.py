"""What is inside a `.tflite` file: operators, tensor shapes, and how XNNPACK runs it.

    from keras_shufflenet.tflite.device import graph
    summary = graph.summarize("model.tflite")
    print(summary.op_counts, summary.max_rank, graph.graph_problems(summary))
    print(graph.xnnpack_report("model.tflite"))

or from the shell: `python -m keras_shufflenet.tflite.device.graph model.tflite`.

The model is read with the LiteRT flatbuffer schema (`ai_edge_litert`); nothing
here imports TensorFlow.
"""

import collections
import dataclasses
import functools
import os
import sys

import numpy as np

try:
    from . import runtime
except ImportError:  # copied next to runtime.py with the benchmark tool (no package installed)
    import runtime

# Operators a converted graph keeps when a reshape's target shape is computed at run
# time (a dynamic batch or spatial size) instead of being folded to a constant.
DYNAMIC_SHAPE_OPS = ("SHAPE", "STRIDED_SLICE", "PACK")
# The TFLite GPU delegate takes tensors of at most this rank.
GPU_MAX_RANK = 4
_TYPE_NAMES = {
    0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16",
    9: "int8", 10: "float64",
}


def schema():
    """The generated Python module of the TFLite flatbuffer schema."""
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError as error:
        raise ImportError(
            "Reading .tflite files needs the flatbuffer schema from `ai-edge-litert` "
            "(pip install ai-edge-litert)."
        ) from error
    return schema_py_generated


@runtime.reads_tflite
def read_model(source):
    """The mutable `ModelT` of a `.tflite` file (a path) or of its bytes.

    Buffers stored after the flatbuffer (models over 2 GB) are read in, so
    `pack_model(read_model(x))` is a self-contained model.

    Raises:
        TFLiteFileError: not TFLite, or damaged (the message names the file).
    """
    if isinstance(source, (str, os.PathLike)):
        runtime.check_tflite_file(source)
        with open(source, "rb") as f:
            data = f.read()
    else:
        data = bytes(source)
        if data[4:8] != runtime.TFLITE_IDENTIFIER:
            raise runtime.TFLiteFileError("not a TFLite model (no 'TFL3' flatbuffer identifier)")
    fb = schema()
    model = fb.ModelT.InitFromObj(fb.Model.GetRootAs(data, 0))
    for buffer in model.buffers or ():
        if buffer.offset:
            if buffer.offset + buffer.size > len(data):
                raise runtime.TFLiteFileError(
                    f"a buffer of {buffer.size} bytes at {buffer.offset} lies past the "
                    f"end of the {len(data)}-byte file"
                )
            buffer.data = np.frombuffer(data[buffer.offset : buffer.offset + buffer.size], np.uint8)
            buffer.offset = buffer.size = 0
    return model


# The schema asks for 16-byte aligned buffers (`force_align: 16`), as the converter
# writes them; flatc's Python code ignores that, so the builder aligns byte vectors.
BUFFER_ALIGNMENT = 16


def pack_model(model):
    """Serializes a `ModelT` back to `.tflite` bytes, weight buffers 16-byte aligned."""
    import flatbuffers

    class AlignedBuilder(flatbuffers.Builder):
        def CreateNumpyVector(self, x):
            if x.dtype != np.uint8 or x.ndim != 1:
                return super().CreateNumpyVector(x)
            self.StartVector(1, x.size, BUFFER_ALIGNMENT)
            self.head -= x.size
            self.Bytes[self.head : self.head + x.size] = x.tobytes()
            self.vectorNumElems = x.size
            return self.EndVector()

    for buffer in model.buffers:
        if buffer.data is not None and not isinstance(buffer.data, np.ndarray):
            buffer.data = np.asarray(buffer.data, np.uint8)
    builder = AlignedBuilder(1024)
    builder.Finish(model.Pack(builder), file_identifier=runtime.TFLITE_IDENTIFIER)
    return bytes(builder.Output())


def buffer_offsets(data):
    """`(buffer index, byte offset, size)` of every non-empty buffer in `.tflite` bytes."""
    fb = schema()
    model = fb.Model.GetRootAs(data, 0)
    offsets = []
    for i in range(model.BuffersLength()):
        buffer = model.Buffers(i)
        if buffer.DataLength():
            offsets.append((i, buffer._tab.Vector(buffer._tab.Offset(4)), buffer.DataLength()))
    return offsets


def op_name(model, op):
    """`CONV_2D`-style name of operator `op`; custom ops (Flex ones included) by their code."""
    fb = schema()
    code = model.operatorCodes[op.opcodeIndex]
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    if builtin == fb.BuiltinOperator.CUSTOM:
        return (code.customCode or b"CUSTOM").decode(errors="replace")
    return _builtin_names().get(builtin, f"OP_{builtin}")


@functools.lru_cache(maxsize=1)
def _builtin_names():
    return {v: k for k, v in vars(schema().BuiltinOperator).items() if not k.startswith("_")}


def is_constant(model, tensor):
    """Whether `tensor` (a `TensorT`) holds constant data (weights)."""
    data = model.buffers[tensor.buffer].data
    return data is not None and len(data) > 0


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """One tensor: name, static shape, shape signature (-1 = dynamic), dtype and
    quantization (per-tensor: one scale; per-channel: one per channel)."""

    name: str
    shape: tuple
    shape_signature: tuple
    dtype: str
    scales: tuple = ()
    zero_points: tuple = ()
    quantized_dimension: int = 0

    @property
    def rank(self):
        return len(self.shape)

    @property
    def dynamic(self):
        return any(d < 0 for d in self.shape_signature)


def tensor_info(tensor):
    q = tensor.quantization
    scales = tuple(float(s) for s in q.scale) if q is not None and q.scale is not None else ()
    zps = tuple(int(z) for z in q.zeroPoint) if q is not None and q.zeroPoint is not None else ()
    shape = tuple(int(d) for d in tensor.shape) if tensor.shape is not None else ()
    signature = tuple(int(d) for d in tensor.shapeSignature) if tensor.shapeSignature is not None else shape
    return TensorInfo(
        name=(tensor.name or b"").decode(errors="replace"),
        shape=shape,
        shape_signature=signature,
        dtype=_TYPE_NAMES.get(tensor.type, f"type{tensor.type}"),
        scales=scales,
        zero_points=zps,
        quantized_dimension=int(q.quantizedDimension) if q is not None else 0,
    )


@dataclasses.dataclass(frozen=True)
class OpInfo:
    """One operator of the main subgraph, with its input and output tensors."""

    index: int
    name: str
    inputs: tuple
    outputs: tuple


@dataclasses.dataclass(frozen=True)
class GraphSummary:
    """The main subgraph of a `.tflite` model, as read from the flatbuffer.

    Attributes:
        ops: the operators in execution order (`OpInfo`).
        op_counts: operator name -> count.
        inputs, outputs: `TensorInfo` of the model's inputs and outputs.
        tensors: every tensor's `TensorInfo`, by tensor index.
        num_subgraphs: subgraphs in the file (1 for a plain classifier).
        metadata_names: names of the model's metadata entries
            (`TFLITE_METADATA` once Android metadata is added).
    """

    ops: tuple
    op_counts: dict
    inputs: tuple
    outputs: tuple
    tensors: tuple
    num_subgraphs: int
    metadata_names: tuple

    @property
    def max_rank(self):
        return max((t.rank for t in self.tensors), default=0)

    def tensors_above_rank(self, rank):
        return [t for t in self.tensors if t.rank > rank]

    @property
    def dynamic_tensors(self):
        return [t for t in self.tensors if t.dynamic]

    @property
    def custom_ops(self):
        """Operators outside the TFLite builtins (custom and Flex ones)."""
        builtin = set(_builtin_names().values())
        return sorted({op.name for op in self.ops if op.name not in builtin})

    def producer(self, tensor_index):
        """The `OpInfo` producing tensor `tensor_index`, or None (inputs, constants)."""
        for op in self.ops:
            if tensor_index in op.outputs:
                return op
        return None


@runtime.reads_tflite
def summarize(source):
    """A `GraphSummary` of a `.tflite` file (a path) or of its bytes.

    Raises:
        TFLiteFileError: not TFLite, or damaged (the message names the file).
    """
    model = read_model(source)
    graph = model.subgraphs[0]
    ops = tuple(
        OpInfo(
            index=i,
            name=op_name(model, op),
            inputs=tuple(int(t) for t in (op.inputs if op.inputs is not None else ())),
            outputs=tuple(int(t) for t in (op.outputs if op.outputs is not None else ())),
        )
        for i, op in enumerate(graph.operators or ())
    )
    tensors = tuple(tensor_info(t) for t in graph.tensors)
    return GraphSummary(
        ops=ops,
        op_counts=dict(collections.Counter(op.name for op in ops)),
        inputs=tuple(tensors[i] for i in graph.inputs),
        outputs=tuple(tensors[i] for i in graph.outputs),
        tensors=tensors,
        num_subgraphs=len(model.subgraphs),
        metadata_names=tuple((m.name or b"").decode() for m in (model.metadata or ())),
    )


def graph_problems(summary, *, max_rank=None):
    """What keeps a graph from being a clean on-device graph, one line each.

    Clean means: one subgraph; batch 1 and static shapes everywhere; no
    SHAPE / STRIDED_SLICE / PACK operators (what a dynamic reshape leaves
    behind); only TFLite builtin operators (no Flex or custom ones); with
    `max_rank`, no tensor of higher rank (4 for the GPU delegate).
    An empty list means clean.
    """
    problems = []
    if summary.num_subgraphs != 1:
        problems.append(f"{summary.num_subgraphs} subgraphs (control flow); expected 1")
    for t in summary.inputs + summary.outputs:
        if not t.shape or t.shape[0] != 1:
            problems.append(f"tensor {t.name!r} has batch size {t.shape[:1]} (expected 1)")
    for t in summary.dynamic_tensors:
        problems.append(f"tensor {t.name!r} has a dynamic shape {list(t.shape_signature)}")
    for name in DYNAMIC_SHAPE_OPS:
        if summary.op_counts.get(name):
            problems.append(f"{summary.op_counts[name]} {name} op(s), left over from a dynamic reshape")
    for name in summary.custom_ops:
        problems.append(f"op {name} is not a TFLite builtin (Flex/custom ops need extra runtimes)")
    if max_rank is not None:
        for i, t in enumerate(summary.tensors):
            if t.rank <= max_rank:
                continue
            producer = summary.producer(i)
            made_by = f", made by {producer.name} (op {producer.index})" if producer else ""
            problems.append(f"tensor {t.name!r} has rank {t.rank} > {max_rank} {list(t.shape)}{made_by}")
    return problems


@dataclasses.dataclass(frozen=True)
class XnnpackReport:
    """How LiteRT's default XNNPACK delegate takes a model.

    Attributes:
        partitions: XNNPACK partitions (delegate nodes); 1 when the delegated
            part of the graph is one piece.
        num_ops: operators in the model.
        undelegated: `(index, name)` of the operators left to LiteRT's own
            kernels, in execution order.
    """

    partitions: int
    num_ops: int
    undelegated: tuple

    @property
    def whole_graph(self):
        """True when every operator runs inside one XNNPACK partition."""
        return self.partitions == 1 and not self.undelegated

    def __str__(self):
        left = ", ".join(f"{name} (op {i})" for i, name in self.undelegated) or "none"
        return (
            f"XNNPACK: {self.partitions} partition(s); {self.num_ops - len(self.undelegated)} of "
            f"{self.num_ops} ops delegated; left to LiteRT kernels: {left}"
        )


def _closure(start_tensors, edges):
    """Nodes reachable from `start_tensors`; `edges(tensor)` -> [(node, next_tensors)]."""
    seen, stack = set(), list(start_tensors)
    visited_tensors = set(stack)
    while stack:
        for node, next_tensors in edges(stack.pop()):
            seen.add(node)
            for t in next_tensors:
                if t not in visited_tensors:
                    visited_tensors.add(t)
                    stack.append(t)
    return seen


def xnnpack_report(path, num_threads=1):
    """An `XnnpackReport` for the `.tflite` at `path`, from LiteRT's own decision.

    The model is loaded the way applications load it (default delegates on).
    LiteRT appends one DELEGATE node per XNNPACK partition after the model's
    own nodes; an operator belongs to partition D when it lies on a path from
    D's inputs (weights included) to D's outputs and does not itself feed D
    (partitions are convex).
    """
    model = read_model(path)
    summary = summarize(path)
    interpreter = runtime.make_interpreter(path, num_threads=num_threads, use_xnnpack=True)
    nodes = interpreter._get_ops_details()  # the only Python view of delegate nodes
    num_ops = len(summary.ops)
    delegates = [n for n in nodes[num_ops:] if n["op_name"] == "DELEGATE"]
    constants = {i for i, t in enumerate(model.subgraphs[0].tensors) if is_constant(model, t)}

    consumers = collections.defaultdict(list)
    producers = {}
    for op in summary.ops:
        for t in op.inputs:
            if t >= 0:
                consumers[t].append(op)
        for t in op.outputs:
            producers[t] = op

    def forward(t):
        return [(op.index, op.outputs) for op in consumers.get(t, ())]

    def backward(t):
        op = producers.get(t)
        return [] if op is None else [(op.index, [i for i in op.inputs if i >= 0])]

    delegated = set()
    for node in delegates:
        inputs = [int(t) for t in node["inputs"] if t >= 0]
        outputs = [int(t) for t in node["outputs"]]
        # Weights are inputs too: XNNPACK takes in the DEQUANTIZE of float16 weights.
        feeding = _closure([t for t in inputs if t not in constants], backward)
        delegated |= (_closure(inputs, forward) & _closure(outputs, backward)) - feeding
    undelegated = tuple((op.index, op.name) for op in summary.ops if op.index not in delegated)
    return XnnpackReport(partitions=len(delegates), num_ops=num_ops, undelegated=undelegated)


def describe(path):
    """A readable report of a `.tflite` file: I/O, operators, problems, XNNPACK."""
    summary = summarize(path)
    lines = [f"{path}: {os.path.getsize(path) / 1e6:.3f} MB, {len(summary.ops)} ops"]
    for kind, tensors in (("input", summary.inputs), ("output", summary.outputs)):
        for t in tensors:
            quant = f", scale {t.scales[0]:.6g} zero point {t.zero_points[0]}" if t.scales else ""
            lines.append(f"  {kind} {t.name!r}: {t.dtype} {list(t.shape)}{quant}")
    lines.append("  ops: " + ", ".join(f"{n} x{c}" for n, c in sorted(summary.op_counts.items())))
    lines.append(f"  max tensor rank: {summary.max_rank}")
    if summary.metadata_names:
        lines.append("  metadata: " + ", ".join(summary.metadata_names))
    problems = graph_problems(summary)
    lines.append("  clean graph" if not problems else "  problems:\n" + "\n".join(f"    - {p}" for p in problems))
    lines.append("  " + str(xnnpack_report(path)))
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or any(a.startswith("-") for a in argv):
        print("usage: python -m keras_shufflenet.tflite.device.graph MODEL.tflite [MODEL.tflite ...]", file=sys.stderr)
        return 2
    status = 0
    for path in argv:
        try:
            print(describe(path))
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
