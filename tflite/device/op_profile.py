"""Per-operator time of a `.tflite` model, measured with only numpy and LiteRT.

LiteRT's Python interpreter has no op profiler (the C++ `benchmark_model
--enable_op_profiling` has one; `adb.py` parses its tables into the same
`OpProfile`). So `profile_model` measures each operator on its own: it cuts
every operator out of the flatbuffer into a one-op model (the operator, its
constant inputs, its other inputs fed with random data of the right dtype and
shape), runs that model with the same threads and delegates as the whole
model, and takes the median of its timed runs. The fixed cost of one
`invoke()` call, measured on a one-element ADD model under the same setting,
is subtracted from every op.

What this tells you, and what it does not:
- `delegated` says whether the delegate (XNNPACK by default) took the op when
  it stands alone; an op it leaves to LiteRT's built-in kernels splits the
  whole graph into several delegate partitions (`partitions`). With XNNPACK
  alone, a note also gives LiteRT's own verdict on the whole graph
  (`graph.xnnpack_report`).
- Ops that the delegate fuses in the whole graph (an explicit PAD folded into
  the next convolution, a RESHAPE that becomes a no-op) are timed here as if
  they ran alone, so the sum over ops (`total_ms`) is usually above the whole
  model's median (`model_ms`); compare shares between ops, not to the model.

Reads the flatbuffer with `graph.py`, which needs the schema module of
`ai-edge-litert`; `tflite-runtime` alone cannot profile.
"""

import copy
import dataclasses
import os
import tempfile
import time

import numpy as np

try:
    from . import graph as graph_lib
    from . import runtime
except ImportError:  # run as a copied file next to graph.py and runtime.py
    import graph as graph_lib
    import runtime


@dataclasses.dataclass
class OpTiming:
    """One operator: position in the graph, type, name (its first output tensor),
    time per run in ms, share of the summed op time, and whether the delegate took it
    (None when no delegate was active, or when the source cannot tell)."""

    index: int
    op_type: str
    name: str
    ms: float
    share: float = 0.0
    delegated: bool | None = None
    error: str | None = None


@dataclasses.dataclass
class OpTypeTiming:
    """All operators of one type: how many, their summed time per run in ms, share,
    and how many of them the delegate took (None when unknown)."""

    op_type: str
    count: int
    ms: float
    share: float
    delegated: int | None = None


@dataclasses.dataclass
class OpProfile:
    """A per-operator profile of one model under one setting.

    `method` says how it was measured ("isolated ops" here, or
    "benchmark_model --enable_op_profiling"); `total_ms` is the summed op time,
    `model_ms` the whole model's median latency in the same run when known,
    `overhead_ms` the per-invoke cost subtracted from each isolated op, and
    `partitions` the number of delegate partitions in the whole graph.
    """

    method: str
    ops: list
    by_type: list
    total_ms: float
    model_ms: float | None = None
    overhead_ms: float = 0.0
    partitions: int | None = None
    notes: list = dataclasses.field(default_factory=list)

    def to_dict(self):
        return dataclasses.asdict(self)


def summarize(method, ops, **kwargs):
    """An `OpProfile` from `OpTiming`s: fills in the shares and the per-type table."""
    total = sum(op.ms for op in ops if op.error is None)
    for op in ops:
        op.share = op.ms / total if total > 0 and op.error is None else 0.0
    groups = {}
    for op in ops:
        if op.error is None:
            groups.setdefault(op.op_type, []).append(op)
    by_type = []
    for op_type, members in groups.items():
        known = [op.delegated for op in members if op.delegated is not None]
        ms = sum(op.ms for op in members)
        by_type.append(
            OpTypeTiming(
                op_type=op_type,
                count=len(members),
                ms=ms,
                share=ms / total if total > 0 else 0.0,
                delegated=sum(known) if len(known) == len(members) else None,
            )
        )
    by_type.sort(key=lambda t: -t.ms)
    return OpProfile(method=method, ops=ops, by_type=by_type, total_ms=total, **kwargs)


def count_partitions(interpreter):
    """Delegate partitions (DELEGATE nodes) in a ready interpreter's graph; None if unknown."""
    try:
        return sum(op["op_name"] == "DELEGATE" for op in interpreter._get_ops_details())
    except Exception:  # a private API; older runtimes lack it
        return None


def single_op_model(model, op_index, subgraph=0):
    """The serialized one-op model holding operator `op_index` of `subgraph` of the
    `ModelT` `model` (from `graph.read_model`)."""
    fb = graph_lib.schema()
    graph = model.subgraphs[subgraph]
    op = graph.operators[op_index]
    out = fb.ModelT()
    out.version = model.version
    out.operatorCodes = model.operatorCodes
    out.buffers = [fb.BufferT()]
    out.description = f"op {op_index}"
    new = fb.SubGraphT()
    new.name = "op"
    new.tensors, new.inputs = [], []
    remap = {}

    def take(index):
        if index < 0:  # an omitted optional input
            return index
        if index not in remap:
            tensor = copy.copy(graph.tensors[index])
            if graph_lib.is_constant(model, tensor):
                out.buffers.append(model.buffers[tensor.buffer])
                tensor.buffer = len(out.buffers) - 1
            else:
                tensor.buffer = 0
                new.inputs.append(len(new.tensors))
            remap[index] = len(new.tensors)
            new.tensors.append(tensor)
        return remap[index]

    cut = copy.copy(op)
    cut.inputs = [take(i) for i in op.inputs]
    # Outputs never count as graph inputs, even where they are also an op's input.
    cut.outputs = []
    for index in op.outputs:
        if index in remap:
            cut.outputs.append(remap[index])
            continue
        tensor = copy.copy(graph.tensors[index])
        tensor.buffer = 0
        remap[index] = len(new.tensors)
        new.tensors.append(tensor)
        cut.outputs.append(remap[index])
    if hasattr(cut, "intermediates") and cut.intermediates is not None:
        cut.intermediates = [take(i) for i in cut.intermediates]
        new.inputs = [i for i in new.inputs if i not in cut.intermediates]
    new.outputs = list(cut.outputs)
    new.operators = [cut]
    out.subgraphs = [new]
    return graph_lib.pack_model(out)


def _tiny_add_model():
    """A one-op model adding two 1-element float tensors: the per-invoke overhead."""
    fb = graph_lib.schema()
    model = fb.ModelT()
    model.version = 3
    code = fb.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = fb.BuiltinOperator.ADD
    code.version = 1
    model.operatorCodes = [code]
    model.buffers = [fb.BufferT()]
    graph = fb.SubGraphT()
    graph.tensors = []
    for name in (b"a", b"b", b"sum"):
        tensor = fb.TensorT()
        tensor.shape, tensor.type, tensor.buffer, tensor.name = [1], fb.TensorType.FLOAT32, 0, name
        graph.tensors.append(tensor)
    op = fb.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 1], [2]
    op.builtinOptionsType = fb.BuiltinOptions.AddOptions
    op.builtinOptions = fb.AddOptionsT()
    graph.inputs, graph.outputs, graph.operators = [0, 1], [2], [op]
    model.subgraphs = [graph]
    return graph_lib.pack_model(model)


def random_value(detail, rng, float_range=(0.0, 1.0)):
    """Random data of the tensor's dtype and shape (full range for integer tensors)."""
    dtype = np.dtype(detail["dtype"])
    shape = tuple(int(d) for d in detail["shape"])
    if dtype.kind == "f":
        return rng.uniform(*float_range, size=shape).astype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    return np.zeros(shape, dtype)


def _time_content(content, directory, name, threads, use_xnnpack, delegates, runs, warmup, rng):
    """Median ms of `invoke()` on a serialized model, and whether a delegate took it."""
    path = os.path.join(directory, f"{name}.tflite")
    with open(path, "wb") as f:
        f.write(content)
    interpreter = runtime.make_interpreter(path, threads, use_xnnpack, delegates)
    delegated = count_partitions(interpreter)
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], random_value(detail, rng))
    for _ in range(warmup):
        interpreter.invoke()
    times = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        interpreter.invoke()
        times.append(time.perf_counter_ns() - start)
    return float(np.median(times)) / 1e6, (None if delegated is None else delegated > 0)


def profile_model(
    path,
    *,
    threads=1,
    use_xnnpack=True,
    delegates=(),
    runs=20,
    warmup=3,
    seed=0,
    model_ms=None,
    partitions=None,
    progress=None,
):
    """Per-operator profile of the `.tflite` at `path` (see the module docstring).

    Args:
        path: the model file.
        threads, use_xnnpack, delegates: as for `runtime.make_interpreter`; use the
            setting of the whole-model measurement the profile explains.
        runs, warmup: timed and untimed runs of each one-op model.
        seed: seeds the random op inputs.
        model_ms, partitions: the whole model's median and delegate partitions,
            stored in the profile for comparison.
        progress: optional callable(done, total) called after each op.

    Returns:
        An `OpProfile` whose `ops` follow the graph's execution order.
    """
    if runs < 1 or warmup < 0:
        raise ValueError(f"profile runs must be >= 1 and warmup >= 0; got runs={runs}, warmup={warmup}")
    model = graph_lib.read_model(path)
    rng = np.random.default_rng(seed)
    use_delegate = bool(use_xnnpack or delegates)
    notes = []
    if len(model.subgraphs) > 1:
        notes.append(f"only the main subgraph is profiled ({len(model.subgraphs)} subgraphs)")
    graph = model.subgraphs[0]
    ops = []
    with tempfile.TemporaryDirectory(prefix="op_profile_") as directory:
        overhead, _ = _time_content(
            _tiny_add_model(), directory, "overhead", threads, use_xnnpack, delegates,
            max(runs, 50), warmup, rng,
        )
        for index, op in enumerate(graph.operators):
            kind = graph_lib.op_name(model, op)
            name = graph.tensors[op.outputs[0]].name if len(op.outputs) else b""
            name = (name or b"").decode(errors="replace")
            try:
                content = single_op_model(model, index)
                ms, delegated = _time_content(
                    content, directory, f"op{index}", threads, use_xnnpack, delegates, runs,
                    warmup, rng,
                )
                ops.append(
                    OpTiming(index, kind, name, max(ms - overhead, 0.0),
                             delegated=delegated if use_delegate else None)
                )
            except Exception as error:  # an op that cannot run alone (e.g. control flow)
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                ops.append(OpTiming(index, kind, name, 0.0, error=reason))
            if progress:
                progress(index + 1, len(graph.operators))
    if use_xnnpack and not delegates:
        try:  # LiteRT's own partitioning of the whole graph, beside the isolated verdicts
            notes.append(f"whole graph: {graph_lib.xnnpack_report(path, num_threads=threads)}")
        except Exception as error:
            notes.append(f"whole-graph XNNPACK report unavailable: {str(error).strip()[:200]}")
    failed = [op for op in ops if op.error]
    if failed:
        notes.append(
            f"{len(failed)} op(s) could not run alone and are left out: "
            + ", ".join(sorted({op.op_type for op in failed}))
        )
    return summarize(
        "isolated ops",
        ops,
        model_ms=model_ms,
        overhead_ms=overhead,
        partitions=partitions,
        notes=notes,
    )
