"""Complexity of a Keras model: multiply-accumulates (the papers' "FLOPs") and
parameters, and a table of the whole ShuffleNet family.

    python -m keras_shufflenet.flops            # the family table at 224x224
    python -m keras_shufflenet.flops --size 160

Only convolutions and dense layers are counted, as in both papers; BatchNorm
(foldable), activations, pooling, shuffles and additions are not.
"""

import argparse
import dataclasses
import math

import keras

from keras_shufflenet.layers import GroupedPointwiseConv2D


def _spatial_positions(shape):
    positions = 1
    for dim in shape[1:-1]:
        if dim is None:
            raise ValueError(
                "count_flops needs a model with a fixed input size; build it with "
                "input_shape=(height, width, 3)."
            )
        positions *= int(dim)
    return positions


def layer_macs(layer):
    """Multiply-accumulates of one layer for one image (0 for uncounted layers)."""
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        kernel = layer.kernel.shape  # (kh, kw, channels, multiplier)
        return _spatial_positions(layer.output.shape) * kernel[0] * kernel[1] * kernel[2] * kernel[3]
    if isinstance(layer, (keras.layers.Conv2D, GroupedPointwiseConv2D)):
        kh, kw, cin_per_group, cout = layer.kernel.shape
        return _spatial_positions(layer.output.shape) * kh * kw * cin_per_group * cout
    if isinstance(layer, keras.layers.Dense):
        fan_in, units = layer.kernel.shape
        return _spatial_positions(layer.output.shape) * fan_in * units
    return 0


def _leaf_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def count_flops(model):
    """Multiply-accumulates of `model` for one image at its built input size."""
    return sum(layer_macs(layer) for layer in _leaf_layers(model))


def count_params(model, trainable_only=True):
    weights = model.trainable_weights if trainable_only else model.weights
    return sum(math.prod(w.shape) for w in weights)


@dataclasses.dataclass(frozen=True)
class FamilyMember:
    family: str  # "v1" or "v2"
    width: float
    groups: int = 0  # V1 only
    paper_mflops: float | None = None

    @property
    def label(self):
        if self.family == "v2":
            return f"ShuffleNetV2 {self.width}x"
        return f"ShuffleNetV1 {self.width}x g={self.groups}"

    def build(self, input_size=224):
        from keras_shufflenet import ShuffleNetV1, ShuffleNetV2

        shape = (input_size, input_size, 3)
        if self.family == "v2":
            return ShuffleNetV2(self.width, input_shape=shape)
        return ShuffleNetV1(self.width, groups=self.groups, input_shape=shape)


# Paper complexities: V1 Table 2 (1x per g; 0.5x and 0.25x "38" and "13" for all g),
# V2 Table 5. None where the paper gives no number.
FAMILY = (
    *(FamilyMember("v1", 1.0, g, mf) for g, mf in ((1, 143), (2, 140), (3, 137), (4, 133), (8, 137))),
    *(FamilyMember("v1", 0.5, g, 38) for g in (1, 2, 3, 4, 8)),
    *(FamilyMember("v1", 0.25, g, 13) for g in (1, 2, 3, 4, 8)),
    *(FamilyMember("v1", w, g, None) for g in (3, 8) for w in (1.5, 2.0)),
    FamilyMember("v2", 0.5, paper_mflops=41),
    FamilyMember("v2", 1.0, paper_mflops=146),
    FamilyMember("v2", 1.5, paper_mflops=299),
    FamilyMember("v2", 2.0, paper_mflops=591),
)


def family_table(input_size=224, members=FAMILY):
    """Rows of (model, input, params, MFLOPs, paper MFLOPs, ratio) for the family."""
    rows = []
    for member in members:
        model = member.build(input_size)
        mflops = count_flops(model) / 1e6
        paper = member.paper_mflops if input_size == 224 else None
        rows.append(
            {
                "model": member.label,
                "input": f"{input_size}x{input_size}",
                "params": count_params(model),
                "mflops": mflops,
                "paper_mflops": paper,
                "ratio": mflops / paper if paper else None,
            }
        )
        keras.backend.clear_session()
    return rows


def format_table(rows):
    header = f"{'model':<24} {'input':>8} {'params':>11} {'MFLOPs':>8} {'paper':>7} {'ratio':>6}"
    lines = [header, "-" * len(header)]
    for r in rows:
        paper = f"{r['paper_mflops']:.0f}" if r["paper_mflops"] else "-"
        ratio = f"{r['ratio']:.3f}" if r["ratio"] else "-"
        lines.append(
            f"{r['model']:<24} {r['input']:>8} {r['params']:>11,} {r['mflops']:>8.1f} "
            f"{paper:>7} {ratio:>6}"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description="ShuffleNet family complexity table.")
    parser.add_argument("--size", type=int, default=224, help="square input size")
    args = parser.parse_args(argv)
    print(format_table(family_table(args.size)))


if __name__ == "__main__":
    main()
