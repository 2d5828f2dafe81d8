"""Where a training step's time goes: ShuffleNet on the TF backend, layer by layer,
beside PyTorch's own operator profile of the same network.

    python benchmarks/training_profile.py                        # V2 1.0x, V2 0.5x, V1 1.0x g3
    python benchmarks/training_profile.py --models=v2_1.0 --batch=32 --json=profile.json
    python benchmarks/training_profile.py --models=v2_0.5 --small_inputs --size=32 --batch=128 --classes=10

Keras side: every layer of the model is run alone, forward and backward
(`GradientTape` with a fixed upstream gradient, inside `tf.function`, training
mode) on inputs of the shape it sees in the network; the median time per layer
is summed by kind (1x1 convolution, depthwise 3x3, BatchNorm, channel shuffle,
split, concat, ...). The whole `train_on_batch` step is timed too: what the
layers do not account for is the loss, the optimizer update and the framework's
own overhead. PyTorch side (when installed): `torch.profiler` over whole
training steps of `benchmarks/torch_shufflenet.py`, self CPU time per aten op.
Both print milliseconds per step and shares, so the gap can be read kind by kind.
"""

import collections
import json
import os
import statistics
import sys
import time

from absl import app, flags

flags.DEFINE_list("models", ["v2_1.0", "v2_0.5", "v1_1.0_g3"], "Model specs.")
flags.DEFINE_integer("batch", 64, "Batch size.")
flags.DEFINE_integer("size", 224, "Input size.")
flags.DEFINE_bool("small_inputs", False, "Build CIFAR-style models (no early down-sampling; Keras only).")
flags.DEFINE_integer("classes", 1000, "Classifier classes.")
flags.DEFINE_integer("runs", 5, "Timed runs per layer (median).")
flags.DEFINE_integer("torch_ops", 12, "PyTorch ops to list (0: skip PyTorch).")
flags.DEFINE_string("json", None, "Write the profiles here.")
FLAGS = flags.FLAGS


def layer_kind(layer):
    """A short name for what the layer computes: 'Conv2D 1x1', 'DepthwiseConv2D 3x3', ..."""
    kind = type(layer).__name__
    if kind == "Conv2D":
        size = "x".join(map(str, layer.kernel_size))
        return f"Conv2D {size}" + (f" groups={layer.groups}" if layer.groups > 1 else "")
    if kind == "DepthwiseConv2D":
        return f"DepthwiseConv2D {'x'.join(map(str, layer.kernel_size))}"
    return kind


def median_ms(fn, runs):
    fn()
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def keras_layer_profile(model, batch, runs):
    """{kind: (count, ms per step)} from each layer run alone, forward + backward,
    less the cost of calling a `tf.function` (measured on an empty one)."""
    import numpy as np
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # one tf.function per layer is the point, not a retrace
    rng = np.random.default_rng(0)
    probe = tf.constant(np.ones((1, 1), "float32"))

    @tf.function
    def empty(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.identity(x)
        return tape.gradient(y, x, output_gradients=x)

    # What calling a tf.function costs by itself, taken off every layer's time.
    call_ms = median_ms(lambda: empty(probe).numpy(), 3 * runs)
    kinds = collections.defaultdict(lambda: [0, 0.0])
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        specs = layer.input if isinstance(layer.input, list) else [layer.input]
        inputs = [tf.constant(rng.standard_normal((batch, *s.shape[1:])).astype("float32")) for s in specs]
        outputs = layer.output if isinstance(layer.output, list) else [layer.output]
        upstream = [tf.constant(rng.standard_normal((batch, *s.shape[1:])).astype("float32")) for s in outputs]
        upstream = upstream if isinstance(layer.output, list) else upstream[0]

        @tf.function
        def step(xs, layer=layer, upstream=upstream, single=len(inputs) == 1):
            with tf.GradientTape() as tape:
                tape.watch(xs)
                y = layer(xs[0] if single else xs, training=True)
            return tape.gradient(y, [xs, layer.trainable_variables], output_gradients=upstream)

        ms = median_ms(lambda: tf.nest.map_structure(lambda t: t.numpy(), step(inputs)), runs)
        ms = max(0.0, ms - call_ms)
        entry = kinds[layer_kind(layer)]
        entry[0] += 1
        entry[1] += ms
    return {k: tuple(v) for k, v in kinds.items()}


def keras_step_ms(model, batch, size, runs):
    import keras
    import numpy as np

    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy())  # the model ends in softmax
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (batch, size, size, 3)).astype("float32")
    y = rng.integers(0, model.output_shape[-1], batch)
    return median_ms(lambda: model.train_on_batch(x, y), runs)


def torch_op_profile(spec, batch, size, steps, top):
    """(ms per step, [(aten op, self CPU ms per step)]) or None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch_shufflenet

    model = torch_shufflenet.from_spec(spec)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, 3, size, size)
    y = torch.randint(0, 1000, (batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    step_ms = median_ms(step, steps)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    return step_ms, [(e.key, e.self_cpu_time_total / 1000 / steps) for e in ops[:top]]


def print_profile(spec, step_ms, kinds, torch_profile):
    layer_total = sum(ms for _, ms in kinds.values())
    print(f"\n{spec}: Keras/TF train step {step_ms:.0f} ms; its layers alone, forward + backward:")
    print(f"  {'layer kind':<28} {'layers':>6} {'ms':>8} {'share':>6}")
    for kind, (count, ms) in sorted(kinds.items(), key=lambda kv: -kv[1][1]):
        print(f"  {kind:<28} {count:>6} {ms:>8.1f} {ms / step_ms:>6.1%}")
    rest = step_ms - layer_total
    print(f"  {'loss, optimizer, overhead':<28} {'':>6} {rest:>8.1f} {rest / step_ms:>6.1%}")
    if torch_profile:
        torch_ms, ops = torch_profile
        print(f"{spec}: PyTorch train step {torch_ms:.0f} ms (Keras/TF is {step_ms / torch_ms:.2f}x); "
              "top ops by self CPU time:")
        for name, ms in ops:
            print(f"  {name:<40} {ms:>8.1f} {ms / torch_ms:>6.1%}")
    sys.stdout.flush()


def main(argv):
    del argv
    from keras_shufflenet.pipelines.models import build_model

    results = {}
    for spec in FLAGS.models:
        model = build_model(
            spec, classes=FLAGS.classes, image_size=FLAGS.size, small_inputs=FLAGS.small_inputs
        )
        kinds = keras_layer_profile(model, FLAGS.batch, FLAGS.runs)
        step_ms = keras_step_ms(model, FLAGS.batch, FLAGS.size, FLAGS.runs)
        torch_profile = None
        if FLAGS.torch_ops and not FLAGS.small_inputs:
            torch_profile = torch_op_profile(spec, FLAGS.batch, FLAGS.size, FLAGS.runs, FLAGS.torch_ops)
        print_profile(spec, step_ms, kinds, torch_profile)
        results[spec] = {"keras_step_ms": step_ms, "keras_layers": kinds, "torch": torch_profile}
    if FLAGS.json:
        from keras_shufflenet.pipelines import files

        files.write_json(FLAGS.json, {"batch": FLAGS.batch, "size": FLAGS.size, "results": results})


if __name__ == "__main__":
    app.run(main)
