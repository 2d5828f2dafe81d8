"""Where images come from: the offline digits set, image folders and tensorflow-datasets.

Each source lists one split as a `ListedSplit`: a tf.data.Dataset of
`(index, payload, label)` in a fixed order, where `payload` is a file path, the
encoded image bytes, or uint8 pixels. Nothing here decodes images in bulk;
`keras_shufflenet.pipelines.data` does that in parallel.
"""

import dataclasses
import os

import numpy as np
import tensorflow as tf

DIGITS = "digits"
TFDS_PREFIX = "tfds:"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
TRAIN_SPLIT = "train"
# Folder names (and split names) that mean "held-out images", in order of preference.
EVAL_SPLITS = ("test", "validation", "val")
DIGITS_SPLITS = ("train", "test")
DIGITS_TEST_FRACTION = 0.2
DEFAULT_VALIDATION_FRACTION = 0.1
# Fixed so that `limit` and the validation split pick the same images whatever the training seed.
LISTING_SEED = 0
SIZE_SAMPLES = 16


@dataclasses.dataclass
class ListedSplit:
    """One split of a source, listed but not decoded, in a fixed order.

    Attributes:
        payload: "pixels" (uint8 `[H, W, 3]` arrays), "path" (image files) or
            "bytes" (encoded images).
        items: random-access payloads (an array of pixels, a list of paths),
            or None when the split can only be streamed (`stream`).
        labels: int32 labels of `items` (None with `stream`).
        stream: tf.data.Dataset of `(bytes, label)` for streamed sources.
        num_examples: number of examples.
        class_names: label names, index = label.
        memory_bytes: estimated memory to hold the split's encoded images
            (or pixels) in memory.
        describe: index -> a name to report when that example cannot be decoded.
    """

    payload: str
    items: object
    labels: object
    stream: object
    num_examples: int
    class_names: list
    memory_bytes: int
    describe: object


def list_split(source, split, *, data_dir=None, limit=None, validation_fraction=DEFAULT_VALIDATION_FRACTION):
    """Lists `split` of `source` ("digits", "tfds:<name>" or an image folder)."""
    if not isinstance(source, (str, os.PathLike)) or not str(source):
        raise ValueError(
            f"source must be 'digits', 'tfds:<name>' or an image folder path; got {source!r}."
        )
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be None or a positive integer; got {limit!r}.")
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1); got {validation_fraction!r}.")
    source = str(source)
    if source == DIGITS:
        return list_digits(split, limit=limit)
    if source.startswith(TFDS_PREFIX):
        return list_tfds(source[len(TFDS_PREFIX) :], split, data_dir=data_dir, limit=limit)
    return list_folder(source, split, limit=limit, validation_fraction=validation_fraction)


def _truncate(items, limit):
    return items if limit is None else items[:limit]


def digits_arrays(split):
    """scikit-learn's 8x8 handwritten digits as uint8 RGB `[N, 8, 8, 3]` and int32 labels.

    The split is fixed: a permutation with seed 0 puts 20% (360 images) in
    "test" and the remaining 1,437 in "train".
    """
    if split not in DIGITS_SPLITS:
        raise ValueError(f"The digits source has splits {DIGITS_SPLITS}; got split={split!r}.")
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.RandomState(LISTING_SEED).permutation(len(digits.target))
    num_test = int(round(DIGITS_TEST_FRACTION * len(order)))
    chosen = order[:num_test] if split == "test" else order[num_test:]
    gray = np.round(digits.images[chosen] * (255.0 / 16.0)).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1), digits.target[chosen].astype(np.int32)


def list_digits(split, limit=None):
    images, labels = digits_arrays(split)
    images, labels = _truncate(images, limit), _truncate(labels, limit)
    return ListedSplit(
        payload="pixels",
        items=images,
        labels=labels,
        stream=None,
        num_examples=len(labels),
        class_names=[str(d) for d in range(10)],
        memory_bytes=int(images.nbytes),
        describe=lambda i: f"digits/{split}#{i}",
    )


def _class_dirs(folder):
    return sorted(
        d
        for d in os.listdir(folder)
        if not d.startswith(".") and os.path.isdir(os.path.join(folder, d))
    )


def _image_files(folder):
    files = []
    for directory, subdirs, names in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        files.extend(
            os.path.join(directory, n)
            for n in sorted(names)
            if n.lower().endswith(IMAGE_EXTENSIONS) and not n.startswith(".")
        )
    return files


def _split_class_files(files, split, fraction):
    """Deterministic hold-out of `fraction` of one class's files (at least one if >= 2)."""
    order = np.random.RandomState(LISTING_SEED).permutation(len(files))
    num_eval = int(round(fraction * len(files)))
    if len(files) >= 2:
        num_eval = max(num_eval, 1)
    chosen = order[:num_eval] if split != TRAIN_SPLIT else order[num_eval:]
    return [files[i] for i in sorted(chosen)]


def folder_layout(root):
    """(train folder, held-out folder or None) of an image-folder data set."""
    subdirs = _class_dirs(root)
    train_dir = os.path.join(root, TRAIN_SPLIT)
    if TRAIN_SPLIT in subdirs and _class_dirs(train_dir):
        for name in EVAL_SPLITS:
            if name in subdirs:
                return train_dir, os.path.join(root, name)
        return train_dir, None
    return root, None


def list_folder(root, split, limit=None, validation_fraction=DEFAULT_VALIDATION_FRACTION):
    """Lists `root/<class>/*` or `root/train/<class>/*` (+ `root/test|validation|val/<class>/*`).

    Without a held-out folder, "test"/"validation"/"val" is a fixed
    `validation_fraction` of each class's files and "train" is the rest.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"Image folder {root!r} does not exist (expected root/<class>/*.jpg, or "
            "root/train/<class>/*.jpg with root/test/<class>/*.jpg); for other sources use "
            "'digits' or 'tfds:<name>'."
        )
    allowed = (TRAIN_SPLIT,) + EVAL_SPLITS
    if split not in allowed:
        raise ValueError(f"Image folders have splits {allowed}; got split={split!r}.")
    train_dir, eval_dir = folder_layout(root)
    class_names = _class_dirs(train_dir)
    if not class_names:
        raise ValueError(f"{train_dir!r} has no class subfolders (expected <class>/*.jpg).")
    paths, labels = [], []
    for label, name in enumerate(class_names):
        if split == TRAIN_SPLIT or eval_dir is None:
            files = _image_files(os.path.join(train_dir, name))
            if eval_dir is None:
                files = _split_class_files(files, split, validation_fraction)
        else:
            class_dir = os.path.join(eval_dir, name)
            files = _image_files(class_dir) if os.path.isdir(class_dir) else []
        paths.extend(files)
        labels.extend([label] * len(files))
    if eval_dir is not None and split != TRAIN_SPLIT:
        extra = sorted(set(_class_dirs(eval_dir)) - set(class_names))
        if extra:
            raise ValueError(
                f"{eval_dir!r} has classes that {train_dir!r} lacks: {extra}; both must use "
                "the same class folders."
            )
    if not paths:
        raise ValueError(
            f"No images ({', '.join(IMAGE_EXTENSIONS)}) for split {split!r} under {root!r}."
        )
    order = np.random.RandomState(LISTING_SEED).permutation(len(paths))
    paths = _truncate([paths[i] for i in order], limit)
    labels = _truncate([labels[i] for i in order], limit)
    sample = _sample(paths)
    return ListedSplit(
        payload="path",
        items=paths,
        labels=np.asarray(labels, np.int32),
        stream=None,
        num_examples=len(paths),
        class_names=class_names,
        memory_bytes=int(len(paths) * np.mean([os.path.getsize(p) for p in sample])),
        describe=lambda i: paths[i],
    )


def _sample(items):
    step = max(1, len(items) // SIZE_SAMPLES)
    return items[::step][:SIZE_SAMPLES]


def list_tfds(name, split, data_dir=None, limit=None):
    """Lists a prepared tensorflow-datasets image classification set (never downloads)."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as error:
        raise ValueError(f"'tfds:{name}': no such tensorflow-datasets data set.") from error
    info = builder.info
    keys = info.supervised_keys
    if not keys or len(keys) != 2:
        raise ValueError(f"'tfds:{name}' has no (image, label) supervised keys; got {keys!r}.")
    image_key, label_key = keys
    image_feature, label_feature = info.features[image_key], info.features[label_key]
    if not isinstance(image_feature, tfds.features.Image) or not isinstance(
        label_feature, tfds.features.ClassLabel
    ):
        raise ValueError(
            f"'tfds:{name}' is not an image classification set: its supervised keys are "
            f"{type(image_feature).__name__} and {type(label_feature).__name__}."
        )
    try:
        examples = builder.as_dataset(
            split=split,
            shuffle_files=False,
            decoders={image_key: tfds.decode.SkipDecoding()},
        )
    except AssertionError as error:
        where = data_dir or "the default tensorflow-datasets folder"
        raise FileNotFoundError(
            f"'tfds:{name}' is not prepared in {where}. This program never downloads: "
            f"prepare it first with `tfds build {name} --data_dir=...` (for imagenet2012 add "
            "`--manual_dir=<folder with the ImageNet tar files>`)."
        ) from error
    except ValueError as error:
        raise ValueError(f"'tfds:{name}': bad split {split!r} ({error}).") from error
    if limit is not None:
        examples = examples.take(limit)
    examples = examples.map(lambda ex: (ex[image_key], tf.cast(ex[label_key], tf.int32)))
    num_examples = _count(examples, info, split, limit)
    sample = [len(b) for b, _ in examples.take(SIZE_SAMPLES).as_numpy_iterator()]
    return ListedSplit(
        payload="bytes",
        items=None,
        labels=None,
        stream=examples,
        num_examples=num_examples,
        class_names=list(label_feature.names),
        memory_bytes=int(num_examples * np.mean(sample)) if sample else 0,
        describe=lambda i: f"tfds:{name}/{split} example #{i}",
    )


def _count(examples, info, split, limit):
    try:
        known = info.splits[split].num_examples
    except (KeyError, ValueError, TypeError):
        known = None
    if known:
        return min(known, limit) if limit is not None else known
    cardinality = int(examples.cardinality())
    if cardinality >= 0:
        return cardinality
    return int(examples.reduce(np.int64(0), lambda n, _: n + 1))


def write_image_folder(root, images, labels, class_names, *, extension=".jpg", quality=95):
    """Writes uint8 images `[N, H, W, 3]` as `root/<class name>/<n>.jpg|png` (an image folder).

    For making folders from arrays: test data, benchmark data, exported digits.
    Returns the list of written paths.
    """
    from PIL import Image

    if extension not in IMAGE_EXTENSIONS:
        raise ValueError(f"extension must be one of {IMAGE_EXTENSIONS}; got {extension!r}.")
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"images must be uint8 [N, H, W, 3]; got {images.dtype} {list(images.shape)}."
        )
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels.")
    paths = []
    for number, (image, label) in enumerate(zip(images, labels)):
        folder = os.path.join(root, class_names[int(label)])
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{number:06d}{extension}")
        options = {"quality": quality} if extension in (".jpg", ".jpeg") else {}
        Image.fromarray(image).save(path, **options)
        paths.append(path)
    return paths
