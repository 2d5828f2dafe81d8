"""Is the input pipeline fast enough? Images/s of the tf.data pipeline against
images/s of training, at 224x224 from JPEG files, measured in one run.

    python benchmarks/input_pipeline.py                      # 1,000 JPEGs, ShuffleNet V2 0.5x
    python benchmarks/input_pipeline.py --images=3000 --model=v2_1.0 --batch_size=64

The JPEG folder is made once (in --work_dir) from the real CIFAR-10 images in
../shared/data/cifar10-images.tar.gz upscaled to 256x256 (or, without that
file, from synthetic images of the same size). Three rates are printed:

  pipeline     build_dataset(training=True): read + decode + random resized crop
               + flip, batched, nothing else running (files streamed from disk,
               not held in memory, as for a data set that does not fit)
  training     train_on_batch on one batch held in memory (compute only)
  fit          model.fit fed by the pipeline (both at once, as in real training)

The goal is pipeline >= 3x training: then the model, not the input, limits fit.
"""

import os
import tarfile
import time

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_integer("images", 1000, "JPEG files in the benchmark folder.")
    flags.DEFINE_integer("source_size", 256, "Side of the JPEG files (CIFAR-10 upscaled).")
    flags.DEFINE_integer("image_size", 224, "Training crop size.")
    flags.DEFINE_integer("batch_size", 64, "Batch size.")
    flags.DEFINE_string("model", "v2_0.5", "Model trained for the training rate (the fastest is the hardest test).")
    flags.DEFINE_integer("train_steps", 6, "Timed training steps.")
    flags.DEFINE_string("work_dir", "/tmp/keras_shufflenet_bench", "Where the JPEG folder is made.")
    flags.DEFINE_string(
        "cifar10", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "cifar10-images.tar.gz"),
        "CIFAR-10 image tarball (train/<class>/*.jpg).",
    )


def cifar10_images(tarball, count, num_classes=10):
    """About `count` real CIFAR-10 training images (uint8 32x32x3), the same number per class."""
    from PIL import Image

    per_class = max(1, count // num_classes)
    images, labels, classes = [], [], {}
    with tarfile.open(tarball) as tar:
        for member in tar:
            parts = member.name.split("/")
            if not member.isfile() or "train" not in parts or not member.name.endswith(".jpg"):
                continue
            label = classes.setdefault(parts[-2], len(classes))
            if labels.count(label) >= per_class:
                continue
            with Image.open(tar.extractfile(member)) as image:
                images.append(np.asarray(image.convert("RGB")))
            labels.append(label)
            if len(images) == per_class * num_classes:
                break
    return np.stack(images), np.asarray(labels), sorted(classes, key=classes.get)


def make_jpeg_folder(root, count, size, tarball):
    """`root/<class>/*.jpg` of `count` images at size x size; returns a description."""
    from PIL import Image

    from keras_shufflenet.pipelines.sources import write_image_folder

    marker = os.path.join(root, f".done-{count}-{size}-v2")
    if os.path.exists(marker):
        return open(marker).read()
    if os.path.exists(tarball):
        small, labels, names = cifar10_images(tarball, count)
        what = f"{len(small)} real CIFAR-10 images upscaled to {size}x{size}"
    else:
        rng = np.random.RandomState(0)
        small = rng.randint(0, 256, (count, 8, 8, 3), dtype=np.uint8)
        labels, names = rng.randint(0, 10, count), [f"class{i}" for i in range(10)]
        what = f"{count} synthetic {size}x{size} images (no CIFAR-10 tarball at {tarball})"
    big = np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.BICUBIC)) for im in small])
    write_image_folder(root, big, labels, names, quality=90)
    with open(marker, "w") as f:
        f.write(what)
    return what


def pipeline_rate(folder, image_size, batch_size, passes=2):
    from keras_shufflenet.pipelines.data import build_dataset

    dataset, info = build_dataset(
        folder, "train", training=True, image_size=image_size, batch_size=batch_size, cache=False
    )
    for _ in dataset.take(2):  # warm up (threads, autotuning)
        pass
    start, count = time.perf_counter(), 0
    for _ in range(passes):
        for images, _ in dataset:
            count += int(images.shape[0])
    return count / (time.perf_counter() - start), info


def training_rates(folder, model_spec, image_size, batch_size, steps, num_classes):
    import keras

    from keras_shufflenet.pipelines.data import build_dataset
    from keras_shufflenet.pipelines.models import build_model

    model = build_model(model_spec, classes=num_classes, image_size=image_size)
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
    dataset, _ = build_dataset(
        folder, "train", training=True, image_size=image_size, batch_size=batch_size,
        cache=False, drop_remainder=True, start_epoch=0,
    )
    images, labels = next(iter(dataset))
    for _ in range(2):
        model.train_on_batch(images, labels)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(images, labels)
    compute = steps * batch_size / (time.perf_counter() - start)

    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 2:
                self.start = time.perf_counter()

        def on_train_end(self, logs=None):
            self.seconds = time.perf_counter() - self.start

    timer = Timer()
    model.fit(dataset, steps_per_epoch=steps + 2, epochs=1, verbose=0, callbacks=[timer], shuffle=False)
    return compute, steps * batch_size / timer.seconds


def main(argv):
    del argv
    import tensorflow as tf

    folder = os.path.join(FLAGS.work_dir, f"jpeg{FLAGS.source_size}")
    what = make_jpeg_folder(folder, FLAGS.images, FLAGS.source_size, FLAGS.cifar10)
    print(f"data: {what} in {folder}")
    print(f"machine: {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}")
    pipeline, info = pipeline_rate(folder, FLAGS.image_size, FLAGS.batch_size)
    compute, fit = training_rates(
        folder, FLAGS.model, FLAGS.image_size, FLAGS.batch_size, FLAGS.train_steps, info.num_classes
    )
    size = FLAGS.image_size
    print(f"\n{'measure':<42} {'images/s':>9}")
    print(f"{f'input pipeline ({size}x{size} from JPEG, training)':<42} {pipeline:>9.1f}")
    print(f"{f'training {FLAGS.model}, batch {FLAGS.batch_size} (compute only)':<42} {compute:>9.1f}")
    print(f"{'model.fit fed by the pipeline':<42} {fit:>9.1f}")
    print(f"\npipeline / training = {pipeline / compute:.1f}x (goal >= 3x); "
          f"fit / training = {fit / compute:.2f}")
    return 0 if pipeline >= 3 * compute else 1


if __name__ == "__main__":
    define_flags()
    app.run(main)
