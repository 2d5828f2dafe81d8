"""An exact export graph for ShuffleNet V2 with no channel shuffle in it.

A channel shuffle only permutes channels, and in ShuffleNet V2 everything a
shuffled tensor feeds can take its channels in any order: a convolution
permutes its kernel's input rows, a depthwise convolution and BatchNorm are
per channel, and a split or concatenation only regroups channels. So instead
of moving data, `shuffle_free` runs the model's graph on *tracked* values that
record, for every logical channel, which piece (a tensor of the new graph) and
which position in it holds it:

* ChannelShuffle, ChannelSplit and Concatenate only re-index: no op at all.
* a convolution, depthwise convolution, BatchNorm or Dense takes its input as
  one tensor in whatever order is cheapest (the pieces it needs, whole or
  sliced, concatenated), with its weights permuted to that order; its output
  is a new piece in its own order.
* ReLU, padding and pooling run on whole pieces as they are.
* the input normalization (`keras.layers.Normalization`, what
  `include_preprocessing=True` adds) keeps only its subtraction: its division
  by the standard deviation is a per-channel scale that zero padding, ReLU and
  pooling commute with, and it is folded into the first convolution's kernel.

A stride-1 unit then passes its identity half on untouched, and its branch
reads one concatenation of slices of earlier pieces; a stage ends with one
concatenation feeding the next stride-2 unit. Nothing else in the network
changes: same weights (permuted), same arithmetic up to float summation order.
Layers not listed here see their input in logical order (put together from
slices), so any model is rewritten exactly; models without a ChannelShuffle,
or with a grouped convolution (ShuffleNet V1, whose grouped convolutions
cannot take a permuted input), are left alone.
"""

import keras
import numpy as np

from keras_shufflenet.layers import ChannelShuffle, ChannelSplit
from keras_shufflenet.tflite.device import graph as graph_lib

# XNNPACK's CONCATENATION takes at most 5 inputs; more splits the graph.
MAX_CONCAT_INPUTS = 5
# Ops that commute with a positive per-channel scale (a pending normalization).
_SCALE_INVARIANT = (
    keras.layers.ZeroPadding2D,
    keras.layers.MaxPooling2D,
    keras.layers.AveragePooling2D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.Dropout,
)
_ELEMENTWISE = (keras.layers.ReLU, *_SCALE_INVARIANT)


class Tracked:
    """A value of the original graph: `where[i] = (piece, position)` of logical channel i."""

    def __init__(self, where):
        self.where = tuple(where)


def _is_grouped(layer):
    return isinstance(layer, keras.layers.Conv2D) and getattr(layer, "groups", 1) != 1


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def applies_to(model):
    """Whether `shuffle_free` changes `model`: a functional model with channel
    shuffles and no grouped convolutions (ShuffleNet V2)."""
    if not isinstance(model, keras.src.models.Functional):
        return False
    layers = list(_all_layers(model))
    return any(isinstance(layer, ChannelShuffle) for layer in layers) and not any(
        _is_grouped(layer) or type(layer).__name__ == "GroupedPointwiseConv2D" for layer in layers
    )


class _Builder:
    """Runs a model's graph on `Tracked` values, building the new graph."""

    def __init__(self):
        self.pieces = []  # Keras tensors of the new graph
        self.scales = {}  # piece -> per-channel factor its values still need (folded later)
        self.cache = {}  # where -> (tensor, order) already put together
        self.counts = {"slices": 0, "concatenations": 0, "permuted layers": 0}

    def new_piece(self, tensor):
        self.pieces.append(tensor)
        index = len(self.pieces) - 1
        return Tracked((index, i) for i in range(tensor.shape[-1]))

    def _whole(self, piece, positions):
        return list(positions) == list(range(self.pieces[piece].shape[-1]))

    def _slice(self, piece, start, stop):
        tensor = self.pieces[piece]
        if piece in self.scales:  # only whole, unscaled pieces are ever sliced here
            tensor = self._unscaled(piece)
        if start == 0 and stop == tensor.shape[-1]:
            return tensor
        self.counts["slices"] += 1
        begin = (0,) * (len(tensor.shape) - 1) + (start,)
        return keras.ops.slice(tensor, begin, tuple(tensor.shape[:-1]) + (stop - start,))

    def _concatenate(self, tensors):
        while len(tensors) > 1:
            groups = [tensors[i : i + MAX_CONCAT_INPUTS] for i in range(0, len(tensors), MAX_CONCAT_INPUTS)]
            tensors = []
            for group in groups:
                if len(group) == 1:
                    tensors.append(group[0])
                else:
                    self.counts["concatenations"] += 1
                    tensors.append(keras.ops.concatenate(group, axis=-1))
        return tensors[0]

    def _unscaled(self, piece):
        """Piece `piece` with its pending scale multiplied in."""
        key = ("unscaled", piece)
        if key not in self.cache:
            scale = self.scales[piece].astype(np.float32)
            self.cache[key] = keras.ops.multiply(self.pieces[piece], scale)
        return self.cache[key]

    def scaled_piece(self, value):
        """`(tensor, order, scale)` when `value` is one whole piece with a pending scale."""
        pieces = self.whole_pieces(value)
        if pieces is None or len(pieces) != 1 or pieces[0] not in self.scales:
            return None
        logical_index = {w: i for i, w in enumerate(value.where)}
        order = [logical_index[(pieces[0], p)] for p in range(len(value.where))]
        return self.pieces[pieces[0]], order, self.scales[pieces[0]]

    @staticmethod
    def _runs(where):
        """`where` cut into runs of consecutive positions of one piece: (piece, start, stop)."""
        runs = []
        for piece, position in where:
            if runs and runs[-1][0] == piece and runs[-1][2] == position:
                runs[-1][2] += 1
            else:
                runs.append([piece, position, position + 1])
        return runs

    def logical(self, value):
        """`value` as one tensor with its channels in logical order."""
        key = ("logical", value.where)
        if key not in self.cache:
            runs = self._runs(value.where)
            tensor = self._concatenate([self._slice(*run) for run in runs])
            self.cache[key] = tensor
        return self.cache[key]

    def any_order(self, value):
        """`(tensor, order)`: `value` as one tensor whose channel p is logical channel
        `order[p]`, put together with as few slices as possible."""
        ordered = sorted(value.where)  # by piece, then position
        key = ("any", tuple(ordered))
        if key not in self.cache:
            self.cache[key] = self._concatenate([self._slice(*run) for run in self._runs(ordered)])
        logical_index = {w: i for i, w in enumerate(value.where)}
        return self.cache[key], [logical_index[w] for w in ordered]

    def whole_pieces(self, value):
        """The pieces `value` uses, when it uses each of them entirely; else None."""
        used = {}
        for piece, position in value.where:
            used.setdefault(piece, []).append(position)
        if all(sorted(p) == list(range(self.pieces[k].shape[-1])) for k, p in used.items()):
            return list(used)
        return None

    # ---------------------------------------------------------------- layers

    def permuted(self, layer, order, input_shape, scale=None):
        """A copy of per-channel or input-channel-weighted `layer` with its weights
        taken in `order` (and, for a convolution or Dense layer, its input rows
        multiplied by `scale`); `layer` itself when there is nothing to change."""
        if order == list(range(len(order))) and scale is None:
            return layer
        self.counts["permuted layers"] += 1
        config = {**layer.get_config(), "name": f"{layer.name}_permuted"}
        copy = type(layer).from_config(config)
        weights = layer.get_weights()
        index = np.asarray(order)
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            new = [weights[0][:, :, index, :]] + [w[index] for w in weights[1:]]
        elif isinstance(layer, keras.layers.Conv2D):
            kernel = weights[0][:, :, index, :]
            if scale is not None:
                kernel = kernel * scale[:, None]
            new = [kernel] + weights[1:]
        elif isinstance(layer, keras.layers.Dense):
            kernel = weights[0][index, :]
            if scale is not None:
                kernel = kernel * scale[:, None]
            new = [kernel] + weights[1:]
        else:  # BatchNormalization: every weight is one value per channel
            new = [w[index] for w in weights]
        copy.build(input_shape)
        copy.set_weights(new)
        return copy

    def call(self, op, *args, **kwargs):
        if isinstance(op, keras.src.models.Functional):
            return op._run_through_graph(args[0], call_fn=self.call)
        x = args[0] if args else None
        if isinstance(op, ChannelShuffle) and isinstance(x, Tracked):
            groups, channels = op.groups, len(x.where)
            n = channels // groups
            return Tracked(x.where[(p % groups) * n + p // groups] for p in range(channels))
        if isinstance(op, ChannelSplit) and isinstance(x, Tracked):
            size = len(x.where) // op.num_splits
            return [Tracked(x.where[i * size : (i + 1) * size]) for i in range(op.num_splits)]
        if (
            isinstance(op, keras.layers.Concatenate)
            and isinstance(x, (list, tuple))
            and all(isinstance(v, Tracked) for v in x)
            and op.axis in (-1, len(self.pieces[x[0].where[0][0]].shape) - 1)
        ):
            return Tracked(w for v in x for w in v.where)
        if isinstance(op, keras.layers.Normalization) and isinstance(x, Tracked) and len(args) == 1:
            normalized = self._normalization(op, x)
            if normalized is not None:
                return normalized
        if isinstance(x, Tracked) and len(args) == 1:
            scaled = self.scaled_piece(x)
            if scaled is not None:
                tensor, order, scale = scaled
                if isinstance(op, keras.layers.Conv2D) and not isinstance(op, keras.layers.DepthwiseConv2D) and not _is_grouped(op):
                    self.counts["folded normalizations"] = self.counts.get("folded normalizations", 0) + 1
                    return self.new_piece(self.permuted(op, order, tensor.shape, scale)(tensor, **kwargs))
                if isinstance(op, _SCALE_INVARIANT):
                    out = self._reindexed(op(tensor, **kwargs), order)
                    self.scales[out.where[0][0]] = scale
                    return out
            if isinstance(op, keras.layers.DepthwiseConv2D) and op.depth_multiplier == 1:
                return self._per_channel(op, x, kwargs)
            rank = len(self.pieces[x.where[0][0]].shape)
            if isinstance(op, keras.layers.BatchNormalization) and op.axis in (-1, rank - 1):
                return self._per_channel(op, x, kwargs)
            if isinstance(op, (keras.layers.Conv2D, keras.layers.Dense)) and not _is_grouped(op):
                if not isinstance(op, keras.layers.DepthwiseConv2D):
                    tensor, order = self.any_order(x)
                    return self.new_piece(self.permuted(op, order, tensor.shape)(tensor, **kwargs))
            if isinstance(op, _ELEMENTWISE) or _is_elementwise_activation(op):
                pieces = self.whole_pieces(x)
                if pieces is not None:
                    outputs = {
                        k: op(self._unscaled(k) if k in self.scales else self.pieces[k], **kwargs) for k in pieces
                    }
                    new = {}
                    for k, tensor in outputs.items():
                        self.pieces.append(tensor)
                        new[k] = len(self.pieces) - 1
                    return Tracked((new[k], p) for k, p in x.where)
                tensor, order = self.any_order(x)
                return self._reindexed(op(tensor, **kwargs), order)
        # Anything else sees its inputs in logical order.
        args, kwargs = keras.tree.map_structure(
            lambda v: self.logical(v) if isinstance(v, Tracked) else v, (args, kwargs)
        )
        outputs = op(*args, **kwargs)
        return keras.tree.map_structure(
            lambda t: self.new_piece(t) if keras.backend.is_keras_tensor(t) else t, outputs
        )

    def _normalization(self, op, x):
        """`Normalization` as a subtraction and a pending scale; None when it is not
        a per-last-axis normalization of one whole piece."""
        tensor = self.logical(x)
        if op.invert or op.mean is None or tuple(op.axis) not in ((-1,), (len(tensor.shape) - 1,)):
            return None
        channels = tensor.shape[-1]
        mean = keras.ops.convert_to_numpy(op.mean).astype(np.float32).reshape(-1)
        variance = keras.ops.convert_to_numpy(op.variance).astype(np.float64).reshape(-1)
        std = np.maximum(np.sqrt(variance), keras.backend.epsilon())
        if mean.size != channels or std.size != channels:
            return None
        if len(tensor.shape) == 4 and tensor.shape[2] is not None:
            # One mean per column too: XNNPACK runs a broadcast subtraction as one
            # kernel call per contiguous run both operands share, so a [C] constant
            # means a call per pixel (3 values) and [1, 1, W, C] one per row (W * C):
            # at 224x224, 1 thread, 1.1 ms against 0.09 ms in int8 and 0.16 against
            # 0.05 ms in float32 (benchmarks/tflite_latency.py measures the whole net).
            mean = np.tile(mean, (tensor.shape[2], 1))[None, None]
        out = self.new_piece(keras.ops.subtract(tensor, mean))
        self.scales[out.where[0][0]] = 1.0 / std
        return out

    def _per_channel(self, op, x, kwargs):
        tensor, order = self.any_order(x)
        return self._reindexed(self.permuted(op, order, tensor.shape)(tensor, **kwargs), order)

    def _reindexed(self, tensor, order):
        """A new piece whose channel p is logical channel order[p]."""
        self.pieces.append(tensor)
        index = len(self.pieces) - 1
        where = [None] * len(order)
        for p, logical in enumerate(order):
            where[logical] = (index, p)
        return Tracked(where)


def _is_elementwise_activation(op):
    if not isinstance(op, keras.layers.Activation):
        return False
    return getattr(op.activation, "__name__", None) in ("relu", "relu6", "linear", "sigmoid", "hard_sigmoid", "swish", "silu")


def shuffle_free(model, input_shape):
    """`(model, changes)`: a batch-1 copy of `model` computing the same function with
    every channel shuffle folded away (see the module docstring), and a summary of
    what changed; `(model, [])` when `applies_to(model)` is false."""
    if not applies_to(model):
        return model, []
    builder = _Builder()
    image = keras.Input(input_shape, batch_size=1, name="image")
    outputs = model._run_through_graph([builder.new_piece(image)], call_fn=builder.call)
    outputs = keras.tree.map_structure(
        lambda v: builder.logical(v) if isinstance(v, Tracked) else v, outputs
    )
    shuffles = sum(isinstance(layer, ChannelShuffle) for layer in _all_layers(model))
    rewritten = keras.Model(image, outputs, name=model.name)
    counts = ", ".join(f"{v} {k}" for k, v in builder.counts.items())
    return rewritten, [f"{shuffles} channel shuffles folded into channel order ({counts})"]


# ------------------------------------------------------------------- int8 scales

_WEIGHTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
_SAME_SCALE_OPS = ("PAD", "PADV2", "MAX_POOL_2D", "RESHAPE")


def _is_requantize(model, op):
    """An int8 -> int8 QUANTIZE: what the converter puts where scales disagree."""
    graph = model.subgraphs[0]
    int8 = graph_lib.schema().TensorType.INT8
    return graph_lib.op_name(model, op) == "QUANTIZE" and graph.tensors[op.inputs[0]].type == int8


def unify_stage_scales(data):
    """The full-integer `.tflite` bytes `data` of a `shuffle_free` graph, quantized
    like the layer-by-layer graph: one scale per stage for what units pass on.

    In the layer-by-layer graph split, concatenation and transpose keep their
    input's scale, so every tensor a stage passes from unit to unit shares one
    scale, calibrated over all of them. Here pieces are tied together only
    through the slices and concatenations that read them, so the converter
    gives each group its own scale and puts int8 -> int8 QUANTIZE ops
    (requantizations) where groups meet. This sets every tensor that SLICE,
    CONCATENATION and those QUANTIZE ops link, at one spatial size, to the
    widest of their scales (the one the union of their ranges gives), drops
    the QUANTIZE ops, which then change nothing, and re-expresses the int32
    biases of the layers reading a re-scaled tensor in its new scale. Graphs
    where the linked tensors do not share one zero point are returned as they are.
    """
    model = graph_lib.read_model(data)
    subgraph = model.subgraphs[0]
    tensors = subgraph.tensors
    parent = {}

    def find(t):
        while parent.setdefault(t, t) != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for op in subgraph.operators:
        name = graph_lib.op_name(model, op)
        if name == "CONCATENATION":
            linked = list(op.inputs) + list(op.outputs)
        elif name == "SLICE" or _is_requantize(model, op):
            linked = [op.inputs[0], op.outputs[0]]
        else:
            continue
        for t in linked[1:]:
            parent[find(int(t))] = find(int(linked[0]))
    groups = {}
    for t in list(parent):
        shape = tuple(int(d) for d in tensors[t].shape)
        groups.setdefault((shape[1:-1], find(t) if len(shape) != 4 else None), []).append(t)
    old_scales = {}
    for members in groups.values():
        quantization = [tensors[t].quantization for t in members]
        if any(q is None or q.scale is None or len(q.scale) != 1 for q in quantization):
            return data
        if len({int(q.zeroPoint[0]) for q in quantization}) != 1:
            return data
        target = max(float(q.scale[0]) for q in quantization)
        for t, q in zip(members, quantization):
            if float(q.scale[0]) != target:
                old_scales[t] = float(q.scale[0])
                q.scale = np.array([target], np.float32)
    replaced, kept = {}, []
    for op in subgraph.operators:
        op.inputs = [replaced.get(int(t), int(t)) for t in op.inputs]
        if _is_requantize(model, op):
            replaced[int(op.outputs[0])] = int(op.inputs[0])
            continue
        kept.append(op)
        # XNNPACK takes these in int8 only with the output quantized as the input.
        if graph_lib.op_name(model, op) in _SAME_SCALE_OPS and int(op.inputs[0]) in old_scales:
            source, target = tensors[op.inputs[0]].quantization, tensors[op.outputs[0]].quantization
            old_scales.setdefault(int(op.outputs[0]), float(target.scale[0]))
            target.scale = np.array(source.scale, np.float32)
            target.zeroPoint = np.array(source.zeroPoint, np.int64)
    subgraph.operators = kept
    subgraph.outputs = [replaced.get(int(t), int(t)) for t in subgraph.outputs]
    for op in subgraph.operators:
        if graph_lib.op_name(model, op) not in _WEIGHTED_OPS or len(op.inputs) < 3 or op.inputs[2] < 0:
            continue
        if op.inputs[0] not in old_scales:
            continue
        ratio = old_scales[op.inputs[0]] / float(tensors[op.inputs[0]].quantization.scale[0])
        bias = tensors[op.inputs[2]]
        values = np.frombuffer(np.asarray(model.buffers[bias.buffer].data, np.uint8).tobytes(), np.int32)
        buffer = graph_lib.schema().BufferT()
        buffer.data = np.frombuffer(np.round(values.astype(np.float64) * ratio).astype(np.int32).tobytes(), np.uint8)
        model.buffers.append(buffer)
        bias.buffer = len(model.buffers) - 1
    return graph_lib.pack_model(model)
