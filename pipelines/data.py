"""tf.data input pipelines for image classification: `build_dataset`.

    from keras_shufflenet.pipelines.data import build_dataset
    train, info = build_dataset("digits", "train", training=True, image_size=32, batch_size=64)
    model.fit(train, epochs=10)
    print(info.num_classes, info.num_examples, info.skipped)

Sources: "digits" (scikit-learn's real 8x8 handwritten digits, offline),
"tfds:<name>" (a prepared tensorflow-datasets set, tfds split strings), or an
image folder (`root/<class>/*.jpg|png`, or `root/train/<class>` beside
`root/test/<class>`). Images come out as float32 `[B, size, size, 3]` RGB pixels
in [0, 255] (models built with `include_preprocessing=True` normalize them
themselves) with int32 labels `[B]`.

Corrupt or undecodable images are skipped, never a crash; `info.skipped`
counts them once the data has been read, and `info.report_skipped()` names them.

Encoded images that fit in memory are held there; when they all decode to one
shape (CIFAR-10's 32x32 images, say) and the pixels fit too, they are decoded once
while the pipeline is built, not again every epoch.
"""

import dataclasses
import math
import os

import numpy as np
import tensorflow as tf
from absl import logging

from keras_shufflenet.input_contract import InputContract
from keras_shufflenet.pipelines import augment as augment_lib
from keras_shufflenet.pipelines import sources
from keras_shufflenet.pipelines.augment import AugmentConfig

AUTOTUNE = tf.data.AUTOTUNE
# Encoded images are held in memory when they take at most this share of the
# memory available when the pipeline is built.
CACHE_MEMORY_FRACTION = 0.25
# Streamed (not held in memory) tfds splits are shuffled within blocks of this many
# examples; everything else is permuted whole every epoch.
STREAM_SHUFFLE_BLOCK = 8192
SKIPPED_NAMES_SHOWN = 10


class DecodeCounter:
    """Which examples were read and which decoded, so skips are counted once each.

    Two boolean variables of one entry per example, so a second pass over the
    data (the next epoch) counts nothing twice.
    """

    def __init__(self, num_examples, describe):
        self.describe = describe
        with tf.init_scope():
            self.seen = tf.Variable(tf.zeros([num_examples], tf.bool), trainable=False, name="seen")
            self.decoded = tf.Variable(
                tf.zeros([num_examples], tf.bool), trainable=False, name="decoded"
            )

    def _mark(self, variable, index):
        return variable.scatter_nd_update(tf.reshape(index, [1, 1]), tf.constant([True]))

    def wrap(self, fn):
        """`fn(payload) -> image`, recording `index` as seen before and decoded after."""

        def wrapped(index, payload, label):
            with tf.control_dependencies([self._mark(self.seen, index)]):
                payload = tf.identity(payload)
            image = fn(index, payload)
            with tf.control_dependencies([image]):
                decoded = self._mark(self.decoded, index)
            with tf.control_dependencies([decoded]):
                return index, tf.identity(image), label

        return wrapped

    def record_decoded_up_front(self, decodable):
        """Marks every example seen, and the `decodable` (boolean mask) ones decoded."""
        self.seen.assign(tf.ones_like(self.seen))
        self.decoded.assign(tf.constant(decodable, tf.bool))

    def skipped_indices(self):
        return np.flatnonzero(self.seen.numpy() & ~self.decoded.numpy())


@dataclasses.dataclass
class DatasetInfo:
    """What `build_dataset` knows about the data.

    Attributes:
        num_classes: number of classes.
        class_names: label names, index = label.
        num_examples: examples listed in the split (before any are skipped).
        steps_per_epoch: batches in one pass over `num_examples` examples.
        cached: whether the images are held in memory (encoded, or decoded when
            `decoded_once`).
        decoded_once: whether the images were decoded once, up front, and
            held as pixels.
        skipped: corrupt or undecodable images met so far (read it after
            iterating; each image counts once however many passes).
        from_epoch: for training data built with `start_epoch`, a function
            giving the same endless dataset from another epoch, without
            reading the data again (None otherwise).
    """

    source: str
    split: str
    num_classes: int
    class_names: list
    num_examples: int
    image_size: int
    batch_size: int
    steps_per_epoch: int
    cached: bool
    decoded_once: bool = False
    counter: DecodeCounter = dataclasses.field(default=None, repr=False)
    from_epoch: object = dataclasses.field(default=None, repr=False)

    @property
    def skipped(self):
        return 0 if self.counter is None else len(self.counter.skipped_indices())

    def skipped_names(self):
        """Names (file paths, or example numbers) of the skipped images."""
        if self.counter is None:
            return []
        return [self.counter.describe(int(i)) for i in self.counter.skipped_indices()]

    def report_skipped(self):
        """Logs how many images were skipped and which; returns the count."""
        names = self.skipped_names()
        if names:
            shown = ", ".join(names[:SKIPPED_NAMES_SHOWN])
            more = f" and {len(names) - SKIPPED_NAMES_SHOWN} more" if len(names) > SKIPPED_NAMES_SHOWN else ""
            logging.warning(
                "%s/%s: skipped %d corrupt or undecodable image(s): %s%s",
                self.source, self.split, len(names), shown, more,
            )
        return len(names)


def available_memory_bytes():
    """MemAvailable from /proc/meminfo, or total physical memory elsewhere."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _from_contract(contract, training, image_size, augment):
    """(image_size, augment) of an evaluation pipeline that follows `contract`."""
    if not isinstance(contract, InputContract):
        raise ValueError(f"contract must be an InputContract; got {type(contract).__name__}.")
    if training:
        raise ValueError("contract sets the evaluation transform; pass training=False.")
    if image_size is not None and image_size != contract.image_size:
        raise ValueError(
            f"image_size={image_size} contradicts the contract's image_size={contract.image_size}; "
            "pass one of them (or contract.replace(image_size=...))."
        )
    return contract.image_size, dataclasses.replace(augment, center_crop_fraction=contract.crop_fraction)


def _validate(training, image_size, batch_size, seed, start_epoch, augment):
    if not isinstance(training, bool):
        raise ValueError(f"training must be True or False; got {training!r}.")
    if not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer; got {image_size!r}.")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    if not isinstance(seed, int):
        raise ValueError(f"seed must be an integer; got {seed!r}.")
    if start_epoch is not None and (not training or not isinstance(start_epoch, int) or start_epoch < 0):
        raise ValueError(
            f"start_epoch is for training data only and must be an integer >= 0; got {start_epoch!r}."
        )
    if not isinstance(augment, AugmentConfig):
        raise ValueError(f"augment must be an AugmentConfig; got {type(augment).__name__}.")
    if tf.distribute.has_strategy():
        raise ValueError(
            "Call build_dataset outside `strategy.scope()`; Keras distributes the dataset itself."
        )


def build_dataset(
    source,
    split,
    *,
    training,
    image_size=None,
    batch_size,
    contract=None,
    data_dir=None,
    augment=AugmentConfig(),
    cache=True,
    seed=0,
    drop_remainder=False,
    limit=None,
    validation_fraction=sources.DEFAULT_VALIDATION_FRACTION,
    start_epoch=None,
):
    """A batched, prefetched tf.data pipeline and its `DatasetInfo`.

    Args:
        source: "digits", "tfds:<name>" (prepared in `data_dir`; never
            downloads) or the path of an image folder.
        split: "train" or "test" for digits; a tfds split string such as
            "train[:90%]"; "train", "test", "validation" or "val" for folders
            (without a held-out folder, a fixed `validation_fraction` of each
            class is held out for any split but "train").
        training: random resized crop (or pad-and-crop), flip and colour jitter
            per `augment`, shuffled; otherwise the evaluation transform (resize
            the shorter side to `image_size / augment.center_crop_fraction`,
            crop the centre) in a fixed order.
        image_size: output height and width (given by `contract` when there is one).
        batch_size: examples per batch (the global batch under tf.distribute).
        contract: evaluation only: a model's `InputContract`, which sets the
            image size, the centre crop and the normalization `(pixel - mean) /
            std` (none for models that normalize inside), so the images are
            exactly what the model takes (see `keras_shufflenet.input_contract`).
        data_dir: tensorflow-datasets data folder.
        augment: an `AugmentConfig`.
        cache: cache decoded images in memory when they fit (within
            `CACHE_MEMORY_FRACTION` of the available memory).
        seed: seeds shuffling and augmentation; the same seed gives the same
            batches.
        drop_remainder: drop the last partial batch of each pass.
        limit: use only the first `limit` examples of the split (a fixed,
            class-mixed subset), for quick runs and tests.
        validation_fraction: see `split`.
        start_epoch: training only. None gives one pass per iteration, reshuffled
            each time (plain `model.fit(ds, epochs=...)`). An integer gives an
            endless dataset of successive epochs from `start_epoch`, each
            exactly `info.steps_per_epoch` batches, whose shuffling and
            augmentation depend only on (seed, epoch): a run resumed at epoch k
            sees what an uninterrupted run saw. Use it with
            `fit(steps_per_epoch=info.steps_per_epoch, initial_epoch=k)`.

    Returns:
        `(dataset, info)`: dataset of `(float32 images [B, size, size, 3] in
        [0, 255] (normalized when `contract` says so), int32 labels [B])`, and
        a `DatasetInfo`.
    """
    if contract is not None:
        image_size, augment = _from_contract(contract, training, image_size, augment)
    _validate(training, image_size, batch_size, seed, start_epoch, augment)
    listed = sources.list_split(
        source, split, data_dir=data_dir, limit=limit, validation_fraction=validation_fraction
    )
    num_examples = listed.num_examples
    encoded = listed.payload != "pixels"
    counter = DecodeCounter(num_examples, listed.describe) if encoded else None
    budget = CACHE_MEMORY_FRACTION * available_memory_bytes()
    cached = encoded and bool(cache) and listed.memory_bytes <= budget
    logging.info(
        "%s/%s: %d images in %d classes, about %.1f MB%s",
        source, split, num_examples, len(listed.class_names), listed.memory_bytes / 1e6,
        ", held in memory" if cached else "",
    )
    decoded_once = False
    if cached:
        items, labels = load_encoded(listed)
        decoded = decode_uniform(items, budget)
        if decoded is not None:
            pixels, decodable = decoded
            counter.record_decoded_up_front(decodable)
            items, labels, encoded, decoded_once = pixels, labels[decodable], False, True
        table = InMemoryTable(items, labels)
    elif listed.stream is None:
        table = InMemoryTable(listed.items, listed.labels)
    else:
        table = None

    def examples(epoch_seed=None):
        """One pass of `(index, payload, label)`, permuted by `epoch_seed` if given."""
        if table is None:  # a stream: shuffled within blocks
            ds = listed.stream.enumerate().map(lambda i, ex: (i, ex[0], ex[1]))
            return ds if epoch_seed is None else block_shuffle(ds, STREAM_SHUFFLE_BLOCK, epoch_seed)
        size = table.size
        indices = tf.data.Dataset.range(size)
        if epoch_seed is not None:
            indices = indices.map(
                lambda i: tf.random.experimental.index_shuffle(i, epoch_seed, size - 1)
            )
        read = listed.payload == "path" and not cached
        return indices.map(lambda i: (i,) + table.lookup(i, read_files=read), num_parallel_calls=AUTOTUNE)

    def transform(ds, fn):
        """Maps `fn(index, pixels_or_bytes)`, counting and skipping undecodable bytes."""
        if not encoded:
            return ds.map(lambda i, x, y: (i, fn(i, x), y), num_parallel_calls=AUTOTUNE)
        return ds.map(counter.wrap(fn), num_parallel_calls=AUTOTUNE).ignore_errors()

    def finish(ds):
        ds = ds.map(lambda i, x, y: (x, y))
        return ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE)

    if training:

        def one_epoch(epoch_key):
            epoch_seed = tf.random.experimental.stateless_fold_in(
                tf.constant([seed, 0], tf.int64), epoch_key
            )

            def train_fn(index, image):
                image_seed = tf.random.experimental.stateless_fold_in(epoch_seed, index)
                return augment_lib.train_transform(image, image_seed, augment, image_size, encoded)

            return transform(examples(epoch_seed), train_fn)

        def epochs_from(epoch):
            # repeat().take(): skipped images are made up for, so every epoch has the same length.
            return tf.data.Dataset.range(epoch, 2**62).flat_map(
                lambda e: finish(one_epoch(e).repeat().take(num_examples))
            )

        if start_epoch is None:
            keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
            dataset = finish(keys.flat_map(one_epoch))
        else:
            dataset = epochs_from(start_epoch)
    else:
        normalize = contract is not None and contract.normalizes

        def eval_fn(index, image):
            image = augment_lib.eval_transform(image, augment, image_size, encoded)
            return (image - contract.mean) / contract.std if normalize else image

        dataset = finish(transform(examples(), eval_fn))
    dataset = dataset.prefetch(AUTOTUNE)
    steps = num_examples // batch_size if drop_remainder else math.ceil(num_examples / batch_size)
    info = DatasetInfo(
        source=str(source),
        split=split,
        num_classes=len(listed.class_names),
        class_names=list(listed.class_names),
        num_examples=num_examples,
        image_size=image_size,
        batch_size=batch_size,
        steps_per_epoch=steps,
        cached=cached,
        decoded_once=decoded_once,
        counter=counter,
        from_epoch=(
            (lambda epoch: epochs_from(epoch).prefetch(AUTOTUNE))
            if training and start_epoch is not None else None
        ),
    )
    return dataset, info


class InMemoryTable:
    """Random access to payloads (pixels, paths or encoded bytes) and labels by index.

    Held in TensorFlow variables, so tf.data functions read them without
    copying them into the dataset graph.
    """

    def __init__(self, items, labels):
        self.size = len(labels)
        with tf.init_scope():
            self.items = tf.Variable(tf.constant(items), trainable=False, name="items")
            self.labels = tf.Variable(tf.constant(labels, tf.int32), trainable=False, name="labels")

    def lookup(self, index, read_files=False):
        item = tf.gather(self.items, index)
        if read_files:
            item = tf.io.read_file(item)
        return item, tf.gather(self.labels, index)


def load_encoded(listed):
    """All encoded images of `listed` (files read in parallel, or the stream) and their labels."""
    if listed.stream is not None:
        stream = listed.stream
    else:
        stream = tf.data.Dataset.from_tensor_slices((listed.items, listed.labels)).map(
            lambda path, label: (tf.io.read_file(path), label), num_parallel_calls=AUTOTUNE
        )
    items, labels = [], []
    for data, label in stream.batch(1024).prefetch(2).as_numpy_iterator():
        items.extend(data)
        labels.append(label)
    if not items:
        raise ValueError("The split has no examples.")
    return np.array(items, dtype=object), np.concatenate(labels)


def decode_uniform(items, budget_bytes):
    """Decodes encoded `items` once: `(uint8 pixels [n, H, W, 3], decodable mask)`.

    None (decode every epoch instead) as soon as two images differ in shape or
    the pixels would take more than `budget_bytes`. Undecodable items are left
    out of the pixels and False in the mask.
    """
    indexed = tf.data.Dataset.from_tensor_slices((tf.range(len(items), dtype=tf.int64), items))
    decoded = indexed.map(
        lambda i, data: (i, augment_lib.decode(data)), num_parallel_calls=AUTOTUNE
    ).ignore_errors()
    decodable = np.zeros(len(items), bool)
    pixels, shape = [], None
    for index, image in decoded.prefetch(AUTOTUNE).as_numpy_iterator():
        shape = image.shape if shape is None else shape
        if image.shape != shape or (len(pixels) + 1) * image.nbytes > budget_bytes:
            return None
        decodable[index] = True
        pixels.append(image)
    if not pixels:
        return None
    return np.stack(pixels), decodable  # tf.data keeps the order: pixels[k] is the k-th decodable


def block_shuffle(ds, block_size, seed):
    """Shuffles `(index, payload, label)` elements within consecutive blocks, statelessly."""

    def permute(block_number, batch):
        n = tf.shape(batch[0], out_type=tf.int64)[0]
        order = tf.random.experimental.index_shuffle(
            tf.range(n), tf.random.experimental.stateless_fold_in(seed, block_number), n - 1
        )
        return tuple(tf.gather(t, order) for t in batch)

    return ds.batch(block_size).enumerate().map(permute).unbatch()
