"""Forward + backward time of the ways each ShuffleNet operation can be written, on
the TF backend, at the shapes of ShuffleNet V2 1.0x / V1 1.0x g3 at 224x224.

    python benchmarks/layer_formulations.py                  # batch 64
    python benchmarks/layer_formulations.py --batch=32 --runs=10

Each row is one operation written one way, inside `tf.function`, with the
gradient of its input and its weights; the ratio is to the first way listed
for that operation (the one the layers used before this benchmark existed).
The formulations of one operation compute the same numbers (checked here to
1e-4 before timing), so the fastest can be chosen for training while the
exported graph keeps the op TFLite wants.
"""

import statistics
import time

import numpy as np
import tensorflow as tf
from absl import app, flags

flags.DEFINE_integer("batch", 64, "Batch size.")
flags.DEFINE_integer("runs", 7, "Timed runs (median).")
FLAGS = flags.FLAGS


def pointwise_conv(x, w):
    return tf.nn.conv2d(x, w, 1, "VALID")


def pointwise_matmul(x, w):
    n, h, wd, c = x.shape
    y = tf.matmul(tf.reshape(x, (-1, c)), tf.reshape(w, (c, -1)))
    return tf.reshape(y, (n, h, wd, -1))


def pointwise_einsum(x, w):
    return tf.einsum("nhwc,cf->nhwf", x, tf.reshape(w, (w.shape[2], w.shape[3])))


def grouped_split(groups):
    def fn(x, w):
        xs = tf.split(x, groups, axis=-1)
        ws = tf.split(w, groups, axis=-1)
        return tf.concat([tf.nn.conv2d(a, b, 1, "VALID") for a, b in zip(xs, ws)], -1)

    return fn


def grouped_split_matmul(groups):
    def fn(x, w):
        xs = tf.split(x, groups, axis=-1)
        ws = tf.split(w, groups, axis=-1)
        return tf.concat([pointwise_matmul(a, b) for a, b in zip(xs, ws)], -1)

    return fn


def grouped_batched_matmul(groups):
    def fn(x, w):
        n, h, wd, c = x.shape
        xg = tf.transpose(tf.reshape(x, (-1, groups, c // groups)), (1, 0, 2))
        wg = tf.transpose(tf.reshape(w, (c // groups, groups, -1)), (1, 0, 2))
        y = tf.matmul(xg, wg)  # [groups, nhw, f / groups]
        return tf.reshape(tf.transpose(y, (1, 0, 2)), (n, h, wd, -1))

    return fn


def depthwise_native(stride):
    def fn(x, w):
        return tf.nn.depthwise_conv2d(x, w, (1, stride, stride, 1), "SAME")

    return fn


def depthwise_shifts(stride):
    """3x3 depthwise conv as nine shifted, scaled copies (elementwise ops only)."""

    def fn(x, w):
        padded = tf.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        h, wd = x.shape[1], x.shape[2]
        out = 0.0
        for i in range(3):
            for j in range(3):
                window = padded[:, i:i + h:stride, j:j + wd:stride, :]
                out = out + window * w[i, j, :, 0]
        return out

    return fn


def shuffle_transpose(groups):
    def fn(x, w):
        n, h, wd, c = x.shape
        y = tf.transpose(tf.reshape(x, (-1, h * wd, groups, c // groups)), (0, 1, 3, 2))
        return tf.reshape(y, (n, h, wd, c))

    return fn


def shuffle_gather(groups):
    def fn(x, w):
        c = x.shape[-1]
        order = np.arange(c).reshape(groups, c // groups).T.reshape(-1)
        return tf.gather(x, order, axis=-1)

    return fn


def split_concat_slices(x, w):
    a, b = tf.split(x, 2, axis=-1)
    return tf.concat([a, b * 2.0], -1)


def batchnorm_keras(x, w):
    mean, var = tf.nn.moments(x, (0, 1, 2))
    return tf.nn.batch_normalization(x, mean, var, None, w, 1e-5)


def batchnorm_fused(x, w):
    y, _, _ = tf.compat.v1.nn.fused_batch_norm(x, w, tf.zeros_like(w), epsilon=1e-5, is_training=True)
    return y


def batchnorm_written_out(x, w):
    from keras_shufflenet.layers import _batch_norm_train_tf

    return _batch_norm_train_tf(x, w, tf.zeros_like(w), 1e-5)[0]


BATCHNORM_WAYS = [
    ("moments + batch_normalization", batchnorm_keras),
    ("FusedBatchNormV3", batchnorm_fused),
    ("matvec stats, written-out grad", batchnorm_written_out),
]

# (operation, input shape at batch 1, weight shape, [(name, fn), ...])
CASES = [
    ("1x1 conv 116->116 @28", (28, 28, 116), (1, 1, 116, 116),
     [("Conv2D", pointwise_conv), ("matmul", pointwise_matmul), ("einsum", pointwise_einsum)]),
    ("1x1 conv 232->232 @14", (14, 14, 232), (1, 1, 232, 232),
     [("Conv2D", pointwise_conv), ("matmul", pointwise_matmul)]),
    ("grouped 1x1 g3 240->60 @28", (28, 28, 240), (1, 1, 80, 60),
     [("split + Conv2D", grouped_split(3)), ("split + matmul", grouped_split_matmul(3)),
      ("batched matmul", grouped_batched_matmul(3))]),
    ("depthwise 3x3 s1 116 @28", (28, 28, 116), (3, 3, 116, 1),
     [("DepthwiseConv2dNative", depthwise_native(1)), ("nine shifts", depthwise_shifts(1))]),
    ("depthwise 3x3 s1 58 @56", (56, 56, 58), (3, 3, 58, 1),
     [("DepthwiseConv2dNative", depthwise_native(1)), ("nine shifts", depthwise_shifts(1))]),
    ("shuffle g2 232 @28", (28, 28, 232), (1,),
     [("reshape-transpose", shuffle_transpose(2)), ("gather", shuffle_gather(2))]),
    ("split + concat 232 @28", (28, 28, 232), (1,), [("split/concat", split_concat_slices)]),
    ("BatchNorm 116 @28 (train)", (28, 28, 116), (116,), BATCHNORM_WAYS),
    ("BatchNorm 1024 @7 (train)", (7, 7, 1024), (1024,), BATCHNORM_WAYS),
    ("BatchNorm 24 @32 (train, CIFAR)", (32, 32, 24), (24,), BATCHNORM_WAYS),
]


def time_case(fn, x, w, runs):
    @tf.function
    def step(x, w):
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            y = fn(x, w)
        return y, tape.gradient(y, [x, w], output_gradients=tf.ones_like(y))

    step(x, w)
    step(x, w)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy() if t is not None else None, step(x, w))
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times), step(x, w)[0].numpy()


def main(argv):
    del argv
    rng = np.random.default_rng(0)
    print(f"batch {FLAGS.batch}, forward + backward, median of {FLAGS.runs} runs")
    print(f"{'operation':<30} {'formulation':<30} {'ms':>8} {'ratio':>6}")
    for operation, shape, wshape, ways in CASES:
        x = tf.constant(rng.standard_normal((FLAGS.batch, *shape)).astype("float32"))
        w = tf.constant((rng.standard_normal(wshape) * 0.1).astype("float32"))
        first_ms = first_y = None
        for name, fn in ways:
            ms, y = time_case(fn, x, w, FLAGS.runs)
            if first_y is None:
                first_ms, first_y = ms, y
            else:
                np.testing.assert_allclose(y, first_y, atol=1e-4, rtol=1e-4, err_msg=f"{operation}: {name}")
            print(f"{operation:<30} {name:<30} {ms:>8.2f} {ms / first_ms:>6.2f}")


if __name__ == "__main__":
    app.run(main)
