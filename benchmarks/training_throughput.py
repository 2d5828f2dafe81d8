"""Training images/s of ShuffleNet V2 0.5x/1.0x and V1 1.0x g3 beside
keras.applications.MobileNetV2, all fed by the same tf.data pipeline, in one run.

    python benchmarks/training_throughput.py
    python benchmarks/training_throughput.py --models=v2_0.5,mobilenet_v2_1.0 --rounds=3

Every model trains on batches drawn from one `build_dataset` pipeline over the
JPEG folder that `benchmarks/input_pipeline.py` makes (224x224 random resized
crops), with SGD momentum 0.9. The models take turns (round-robin, `--rounds`
rounds of `--steps` steps each) so that a change in machine load hits all of
them alike; the median step time gives images/s, printed with the ratio to the
baseline model and the MFLOPs each needs per image.
"""

import os
import statistics
import time

from absl import app, flags

from input_pipeline import make_jpeg_folder  # noqa: E402  (same folder as that benchmark)

flags.DEFINE_list("models", ["v2_0.5", "v2_1.0", "v1_1.0_g3", "mobilenet_v2_1.0"], "Model specs.")
flags.DEFINE_string("baseline", "mobilenet_v2_1.0", "Ratios are against this model.")
flags.DEFINE_integer("batch_size", 32, "Batch size.")
flags.DEFINE_integer("steps", 3, "Timed steps per model per round.")
flags.DEFINE_integer("rounds", 2, "Round-robin rounds.")
flags.DEFINE_integer("image_size", 224, "Input size.")
flags.DEFINE_integer("images", 1000, "JPEG files in the benchmark folder.")
flags.DEFINE_string("work_dir", "/tmp/keras_shufflenet_bench", "Where the JPEG folder is made.")
flags.DEFINE_string(
    "cifar10", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "cifar10-images.tar.gz"),
    "CIFAR-10 image tarball (train/<class>/*.jpg).",
)
FLAGS = flags.FLAGS


def main(argv):
    del argv
    import keras

    from keras_shufflenet import count_flops
    from keras_shufflenet.pipelines.data import build_dataset
    from keras_shufflenet.pipelines.models import build_model

    if FLAGS.baseline not in FLAGS.models:
        raise app.UsageError(f"--baseline={FLAGS.baseline} is not among --models={FLAGS.models}")
    folder = os.path.join(FLAGS.work_dir, "jpeg256")
    print("data:", make_jpeg_folder(folder, FLAGS.images, 256, FLAGS.cifar10))
    dataset, info = build_dataset(
        folder, "train", training=True, image_size=FLAGS.image_size, batch_size=FLAGS.batch_size,
        drop_remainder=True, start_epoch=0,
    )
    batches = iter(dataset)
    models, times = {}, {name: [] for name in FLAGS.models}
    for name in FLAGS.models:
        model = build_model(name, classes=info.num_classes, image_size=FLAGS.image_size)
        model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
        started = time.perf_counter()
        for _ in range(2):  # trace and warm up
            model.train_on_batch(*next(batches))
        print(f"{name}: built and warmed up in {time.perf_counter() - started:.0f} s", flush=True)
        models[name] = model
    for round_number in range(FLAGS.rounds):
        for name, model in models.items():
            for _ in range(FLAGS.steps):
                images, labels = next(batches)
                started = time.perf_counter()
                model.train_on_batch(images, labels)
                times[name].append(time.perf_counter() - started)
        print(f"round {round_number + 1}/{FLAGS.rounds} done", flush=True)

    rate = {name: FLAGS.batch_size / statistics.median(t) for name, t in times.items()}
    print(f"\nTraining images/s, {FLAGS.image_size}x{FLAGS.image_size}, batch {FLAGS.batch_size}, "
          f"{os.cpu_count()} CPU cores, same pipeline, median of {FLAGS.rounds * FLAGS.steps} steps")
    print(f"{'model':<18} {'MFLOPs':>7} {'images/s':>9} {'vs ' + FLAGS.baseline:>22}")
    for name, model in models.items():
        mflops = count_flops(model) / 1e6
        print(f"{name:<18} {mflops:>7.0f} {rate[name]:>9.1f} {rate[name] / rate[FLAGS.baseline]:>21.2f}x")


if __name__ == "__main__":
    app.run(main)
