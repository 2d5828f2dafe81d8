"""int8 activation ranges: the calibration images' min/max, or clipped to the
range that minimises the quantization error ("mse", the default).

Full-integer int8 gives each activation tensor one scale, `(max - min) / 255`.
The TFLite converter and tfmot take the min and max they saw, so one rare
large value widens every step of the tensor. ShuffleNet V1's residual stream
is such a tensor: on CIFAR-10, stage 3's sums reach 238 while their standard
deviation is about 2, which leaves the typical value 2-3 int8 steps. The
"mse" ranges are those TensorRT's and PyTorch's histogram observers choose:
a histogram of each tensor over the calibration images, and the range
`[a * min, a * max]` (0 kept inside) whose rounding error (step^2 / 12 per value
inside) plus clipping error (the distance to the edge, squared, per value
outside) summed over the histogram is smallest.

    calibrated = converter.convert()   # with converter._experimental_calibrate_only
    clipped = ranges.clip_calibrated_model(calibrated, images)

`clip_calibrated_model` rewrites the statistics a calibrate-only conversion
stores in the `.tflite`, so the converter's own quantizer (`mlir_quantize`)
does the rest; quantization-aware training (`qat`) starts its fake-quant
ranges from `Histograms` of the same tensors.
"""

import numpy as np

METHODS = ("mse", "minmax")
DEFAULT_METHOD = "mse"
BINS = 2048
LEVELS = 256
TIE = 0.01
# The candidate ranges: the min/max range scaled by each of these.
_FACTORS = np.linspace(0.05, 1.0, 96)
# Ops whose output scale the quantizer fixes itself.
_FIXED_RANGE_OPS = ("SOFTMAX", "LOGISTIC", "TANH", "LOG_SOFTMAX")
# Ops whose int8 output keeps its input's scale: they move values, not compute them;
# the first five cut or join tensors.
# Elementwise ops that prepare the input image (a normalization the model holds).
_INPUT_PREPARATION_OPS = ("SUB", "MUL", "ADD", "DIV", "MAXIMUM", "MINIMUM", "PAD", "PADV2", "RESHAPE", "CAST")
_CUTTING_OPS = ("CONCATENATION", "SPLIT", "SPLIT_V", "SLICE", "STRIDED_SLICE")
_LINKING_OPS = _CUTTING_OPS + ("RESHAPE", "TRANSPOSE", "PAD", "PADV2", "MAX_POOL_2D")


def check_method(method):
    if method not in METHODS:
        raise ValueError(f"int8 ranges must be one of {METHODS}; got {method!r}")
    return method


def mse_range(histogram, low, high, levels=LEVELS):
    """`(low', high')`: the range `[a * low, a * high]` (0 kept inside) that
    minimises the quantization error of values with this `histogram` of
    `len(histogram)` equal bins over `[low, high]`."""
    histogram = np.asarray(histogram, np.float64)
    if not high > low or not histogram.any():
        return float(low), float(high)
    edges = np.linspace(low, high, len(histogram) + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    candidates = []
    for factor in _FACTORS:
        lo, hi = min(low * factor, 0.0), max(high * factor, 0.0)
        step = (hi - lo) / (levels - 1)
        error = np.where(centres > hi, (centres - hi) ** 2, np.where(centres < lo, (lo - centres) ** 2, step * step / 12))
        candidates.append((float(histogram @ error), lo, hi))
    # The error is flat near its minimum, where float rounding alone would move the
    # argmin: the widest range within TIE of the least error is taken.
    least = min(total for total, _, _ in candidates)
    _, lo, hi = [c for c in candidates if c[0] <= least * (1 + TIE)][-1]
    return float(lo), float(hi)


class Histograms:
    """Histograms of tensors, each over its known `[min, max]` (a first pass)."""

    def __init__(self, bounds, bins=BINS):
        self.bounds = {key: (float(lo), float(hi)) for key, (lo, hi) in bounds.items()}
        self.counts = {key: np.zeros(bins, np.int64) for key in self.bounds}
        self.bins = bins

    def add(self, key, values):
        lo, hi = self.bounds[key]
        if hi > lo:
            # Values a rounding past the bounds count in the edge bins (np.histogram would drop them).
            # float64: np.histogram's bins take the values' type, and a narrow float32
            # range (a tensor that is nearly constant) has fewer than `bins` steps in it.
            values = np.clip(np.asarray(values, np.float64), lo, hi)
            self.counts[key] += np.histogram(values, self.bins, (lo, hi))[0]

    def ranges(self, method=DEFAULT_METHOD):
        """`{key: (low, high)}`: each tensor's range by `method`."""
        check_method(method)
        if method == "minmax":
            return dict(self.bounds)
        return {key: mse_range(self.counts[key], lo, hi) for key, (lo, hi) in self.bounds.items()}


def _statistics(tensor):
    q = tensor.quantization
    if q is None or q.min is None or q.max is None or len(q.min) != 1 or len(q.max) != 1:
        return None
    return float(q.min[0]), float(q.max[0])


def _linked_groups(model, ranged):
    """`[(members, sources, cut)]`: the tensors of `ranged` that ops moving values
    without computing (`_LINKING_OPS`) tie into one int8 scale, those of each group
    that such an op did not produce (where its values are computed), and whether
    a concatenation, split or slice is among the ties."""
    from keras_shufflenet.tflite.device import graph

    parent = {t: t for t in ranged}

    def find(t):
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    linked_output, cut_tensors = set(), set()
    for op in model.subgraphs[0].operators:
        name = graph.op_name(model, op)
        if name not in _LINKING_OPS:
            continue
        tensors = [int(t) for t in list(op.inputs) + list(op.outputs) if int(t) in parent]
        linked_output.update(int(t) for t in op.outputs if int(t) in parent)
        if name in _CUTTING_OPS:
            cut_tensors.update(tensors)
        for t in tensors[1:]:
            parent[find(t)] = find(tensors[0])
    groups = {}
    for t in ranged:
        groups.setdefault(find(t), []).append(t)
    return [
        (members, [t for t in members if t not in linked_output] or members, bool(cut_tensors & set(members)))
        for members in groups.values()
    ]


def clip_calibrated_model(calibrated, images):
    """The bytes of a calibrate-only `.tflite` (float ops, each activation's min/max
    stored as its statistics) with every activation's range set to its "mse" range
    on `images` (`[N, H, W, C]` float32, the calibration images), and the number
    of ranges narrowed.

    Tensors that reshape, transpose, padding or max pooling tie together (they
    share one int8 scale) get one range: that of the values computed into them
    (the tensors no such op produced). Tensors that a concatenation, split or
    slice ties in keep the min/max of them all: a graph and its channel-tracking
    rewrite (`channel_tracking`) cut the same values into different pieces, and
    only the union's min/max is the same however they are cut, so both graphs
    keep the same int8 numbers. The graph input keeps its range, and so does the
    image its normalization (elementwise ops on the input alone) makes: clipping
    it would saturate bright and dark pixels, and a graph with the normalization
    folded into its first convolution has no such tensor. So do the outputs of
    ops whose scale the quantizer fixes (softmax, logistic, tanh)."""
    import sys

    from keras_shufflenet.tflite.device import graph, runtime

    model = graph.read_model(calibrated)
    subgraph = model.subgraphs[0]
    skip = {int(t) for t in subgraph.inputs}
    for op in subgraph.operators:
        name = graph.op_name(model, op)
        variable = [int(t) for t in op.inputs if t >= 0 and not graph.is_constant(model, subgraph.tensors[t])]
        if name in _FIXED_RANGE_OPS or (name in _INPUT_PREPARATION_OPS and set(variable) <= skip):
            skip.update(int(t) for t in op.outputs)
    ranged = {}
    for index, tensor in enumerate(subgraph.tensors):
        stats = _statistics(tensor)
        if index not in skip and stats is not None and not graph.is_constant(model, tensor):
            ranged[index] = stats
    groups = _linked_groups(model, ranged)
    bounds = {
        k: (min(ranged[t][0] for t in members), max(ranged[t][1] for t in members))
        for k, (members, _, _) in enumerate(groups)
    }
    histograms = Histograms(bounds)
    Interpreter = runtime.load_interpreter_class()
    # LiteRT's own kernels: a delegate would keep the tensors it computes to itself.
    builtin = sys.modules[Interpreter.__module__].OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = Interpreter(
        model_content=bytes(calibrated), experimental_op_resolver_type=builtin, experimental_preserve_all_tensors=True
    )
    interpreter.allocate_tensors()
    (source,) = interpreter.get_input_details()
    for image in images:
        interpreter.set_tensor(source["index"], np.asarray(image, np.float32)[None])
        interpreter.invoke()
        for k, (_, sources, cut) in enumerate(groups):
            for t in sources if not cut else ():
                histograms.add(k, interpreter.get_tensor(t))
    narrowed = 0
    chosen = histograms.ranges("mse")
    for k, (low, high) in chosen.items():
        if groups[k][2]:
            low, high = bounds[k]
        for t in groups[k][0]:
            q = subgraph.tensors[t].quantization
            narrowed += (low, high) != ranged[t]
            q.min, q.max = np.array([low], np.float32), np.array([high], np.float32)
    return graph.pack_model(model), narrowed
