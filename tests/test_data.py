"""The tf.data input pipelines: sources, transforms, determinism, corrupt images."""

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_shufflenet.pipelines import augment, sources
from keras_shufflenet.pipelines.augment import AugmentConfig
from keras_shufflenet.pipelines.data import build_dataset


def batches(ds):
    return [(x.numpy(), y.numpy()) for x, y in ds]


def gradient_images(n, height, width, seed=0):
    """Random images with structure (so JPEG keeps them recognisable)."""
    rng = np.random.RandomState(seed)
    base = rng.randint(0, 256, size=(n, 1, 1, 3))
    ramp = np.linspace(0, 120, width)[None, None, :, None]
    return np.clip(base + ramp, 0, 255).astype(np.uint8) * np.ones((1, height, 1, 1), np.uint8)


@pytest.fixture
def folder_with_corrupt_files(tmp_path):
    """root/<class>/ with 8 good images per class (JPEG and PNG), a truncated JPEG and a text file named .jpg."""
    root = tmp_path / "images"
    images = gradient_images(16, 30, 40)
    labels = np.repeat([0, 1], 8)
    paths = sources.write_image_folder(root, images[::2], labels[::2], ["cat", "dog"])
    paths += sources.write_image_folder(
        root, images[1::2], labels[1::2], ["cat", "dog"], extension=".png"
    )
    data = open(paths[0], "rb").read()
    (root / "cat" / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (root / "dog" / "notes.jpg").write_text("this is not an image")
    (root / "dog" / "readme.txt").write_text("ignored: not an image extension")
    return str(root)


# --- digits, the offline default -------------------------------------------------------------


def test_digits_batches_are_rgb_pixels_with_labels():
    ds, info = build_dataset("digits", "test", training=False, image_size=32, batch_size=100)
    data = batches(ds)
    images = np.concatenate([x for x, _ in data])
    labels = np.concatenate([y for _, y in data])
    assert (info.num_examples, info.num_classes, info.steps_per_epoch) == (359, 10, 4)
    assert info.class_names == [str(d) for d in range(10)]
    assert images.shape == (359, 32, 32, 3) and images.dtype == np.float32
    assert labels.dtype == np.int32 and set(labels) == set(range(10))
    assert images.min() >= 0.0 and images.max() <= 255.0 and images.max() > 200.0
    # Grey digits: the three channels are equal.
    np.testing.assert_array_equal(images[..., 0], images[..., 2])
    assert info.skipped == 0


def test_digits_split_is_fixed_and_covers_all_images():
    train_images, train_labels = sources.digits_arrays("train")
    test_images, test_labels = sources.digits_arrays("test")
    assert len(train_labels) + len(test_labels) == 1797
    again, _ = sources.digits_arrays("test")
    np.testing.assert_array_equal(again, test_images)
    assert train_images.dtype == np.uint8 and train_images.shape[1:] == (8, 8, 3)


def test_evaluation_order_is_fixed():
    a, _ = build_dataset("digits", "test", training=False, image_size=16, batch_size=64, limit=100)
    b, _ = build_dataset("digits", "test", training=False, image_size=16, batch_size=64, limit=100)
    for (xa, ya), (xb, yb) in zip(batches(a), batches(b)):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_training_reshuffles_each_pass_and_repeats_with_the_seed():
    kwargs = dict(training=True, image_size=16, batch_size=200, limit=200)
    a, info = build_dataset("digits", "train", **kwargs)
    first, second = batches(a)[0], batches(a)[0]
    assert not np.array_equal(first[1], second[1])
    assert sorted(first[1]) == sorted(second[1])  # same examples, new order
    b, _ = build_dataset("digits", "train", **kwargs)
    np.testing.assert_array_equal(batches(b)[0][0], first[0])
    c, _ = build_dataset("digits", "train", seed=1, **kwargs)
    assert not np.array_equal(batches(c)[0][1], first[1])


def test_start_epoch_gives_the_same_epochs_as_an_uninterrupted_stream():
    tf.random.set_seed(0)  # a global seed of 0 once broke tensor-seeded shuffles
    kwargs = dict(training=True, image_size=16, batch_size=64, limit=150, drop_remainder=True)
    from_zero, info = build_dataset("digits", "train", start_epoch=0, **kwargs)
    from_two, _ = build_dataset("digits", "train", start_epoch=2, **kwargs)
    steps = info.steps_per_epoch
    assert steps == 2
    stream = batches(from_zero.take(3 * steps))
    resumed = batches(from_two.take(steps))
    restarted = batches(info.from_epoch(2).take(steps))  # the same, without reading the data again
    for (x, y), (xr, yr), (xs, ys) in zip(stream[2 * steps :], resumed, restarted):
        np.testing.assert_array_equal(x, xr)
        np.testing.assert_array_equal(y, yr)
        np.testing.assert_array_equal(x, xs)
        np.testing.assert_array_equal(y, ys)
    assert not np.array_equal(stream[0][1], stream[steps][1])  # epochs differ


# --- image folders ---------------------------------------------------------------------------


@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_corrupt_images_are_skipped_and_counted(folder_with_corrupt_files, cache, training):
    ds, info = build_dataset(
        folder_with_corrupt_files, "train", training=training, image_size=24, batch_size=5,
        cache=cache,
    )
    assert info.class_names == ["cat", "dog"]
    listed = info.num_examples
    for _ in range(2):  # a second pass must not count the same files again
        produced = sum(len(y) for _, y in batches(ds))
    names = info.skipped_names()
    assert info.skipped == len(names) == listed - produced == 2
    assert sorted(os.path.basename(n) for n in names) == ["notes.jpg", "truncated.jpg"]
    assert info.report_skipped() == info.skipped


def test_same_size_images_are_decoded_once_with_the_same_batches(tmp_path):
    images = gradient_images(12, 20, 20)
    sources.write_image_folder(tmp_path / "same", images, np.arange(12) % 3, ["a", "b", "c"], extension=".png")
    runs = {}
    for cache in (True, False):
        ds, info = build_dataset(
            str(tmp_path / "same"), "train", training=True, image_size=16, batch_size=5, cache=cache,
            augment=AugmentConfig(crop_padding=2), start_epoch=0,
        )
        assert info.decoded_once == cache and info.cached == cache
        runs[cache] = batches(ds.take(6))  # two epochs
    for (x1, y1), (x2, y2) in zip(runs[True], runs[False]):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


def test_images_of_different_sizes_are_decoded_every_pass(tmp_path):
    labels = np.arange(6) % 2
    sources.write_image_folder(tmp_path, gradient_images(3, 20, 20), labels[:3], ["a", "b"])
    sources.write_image_folder(tmp_path, gradient_images(3, 24, 28, seed=1), labels[3:], ["a", "b"], extension=".png")
    ds, info = build_dataset(str(tmp_path), "train", training=False, image_size=16, batch_size=4)
    assert info.cached and not info.decoded_once
    assert sum(len(y) for _, y in batches(ds)) == info.num_examples == 4  # 1 per class held out


def test_corrupt_images_are_counted_when_decoded_once(folder_with_corrupt_files):
    ds, info = build_dataset(folder_with_corrupt_files, "train", training=True, image_size=24, batch_size=5)
    assert info.decoded_once
    assert sorted(os.path.basename(n) for n in info.skipped_names()) == ["notes.jpg", "truncated.jpg"]
    assert sum(len(y) for _, y in batches(ds)) == info.num_examples - 2


def test_both_corrupt_files_are_reported_over_train_and_validation(folder_with_corrupt_files):
    skipped = []
    total = 0
    for split in ("train", "validation"):
        ds, info = build_dataset(
            folder_with_corrupt_files, split, training=False, image_size=24, batch_size=8
        )
        total += sum(len(y) for _, y in batches(ds))
        skipped += [os.path.basename(n) for n in info.skipped_names()]
    assert sorted(skipped) == ["notes.jpg", "truncated.jpg"]
    assert total == 16  # every good image, in exactly one split


def test_folder_validation_split_is_fixed_and_disjoint(folder_with_corrupt_files):
    train = sources.list_folder(folder_with_corrupt_files, "train")
    val = sources.list_folder(folder_with_corrupt_files, "validation")
    again = sources.list_folder(folder_with_corrupt_files, "validation")
    train_files = {train.describe(i) for i in range(train.num_examples)}
    val_files = [val.describe(i) for i in range(val.num_examples)]
    assert val_files == [again.describe(i) for i in range(again.num_examples)]
    assert not train_files & set(val_files)
    assert len(train_files) + len(val_files) == 18  # 16 good + 2 bad .jpg; readme.txt ignored
    assert val.num_examples == 2  # 10% of 9 files per class, rounded, at least 1


def test_train_test_folders(tmp_path):
    images = gradient_images(12, 20, 20)
    labels = np.arange(12) % 3
    sources.write_image_folder(tmp_path / "train", images, labels, ["a", "b", "c"])
    sources.write_image_folder(tmp_path / "test", images[:3], labels[:3], ["a", "b", "c"])
    ds, info = build_dataset(str(tmp_path), "test", training=False, image_size=16, batch_size=8)
    assert info.num_examples == 3 and info.class_names == ["a", "b", "c"]
    assert sorted(np.concatenate([y for _, y in batches(ds)])) == [0, 1, 2]
    _, info = build_dataset(str(tmp_path), "train", training=True, image_size=16, batch_size=8)
    assert info.num_examples == 12
    os.makedirs(tmp_path / "test" / "zebra")
    with pytest.raises(ValueError, match="zebra"):
        build_dataset(str(tmp_path), "test", training=False, image_size=16, batch_size=8)


def test_limit_takes_a_class_mixed_subset(folder_with_corrupt_files):
    ds, info = build_dataset(
        folder_with_corrupt_files, "train", training=False, image_size=16, batch_size=8, limit=6
    )
    assert info.num_examples == 6
    labels = np.concatenate([y for _, y in batches(ds)])
    assert set(labels) == {0, 1}


# --- tensorflow-datasets ---------------------------------------------------------------------


def test_tfds_source_with_mock_data(tmp_path):
    with tfds.testing.mock_data(num_examples=10):
        for training in (True, False):
            ds, info = build_dataset(
                "tfds:tf_flowers", "train", training=training, image_size=20, batch_size=4,
                data_dir=str(tmp_path),
            )
            data = batches(ds)
            assert [x.shape for x, _ in data] == [(4, 20, 20, 3), (4, 20, 20, 3), (2, 20, 20, 3)]
            labels = np.concatenate([y for _, y in data])
            assert labels.min() >= 0 and labels.max() < 5
    assert info.class_names == ["dandelion", "daisy", "tulips", "sunflowers", "roses"]
    assert info.num_examples == 10 and info.skipped == 0


def test_tfds_not_prepared_is_a_clear_error_and_never_downloads(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads.*tfds build tf_flowers"):
        build_dataset("tfds:tf_flowers", "train", training=False, image_size=16, batch_size=4,
                      data_dir=str(tmp_path))
    assert not any(tmp_path.iterdir())
    with pytest.raises(ValueError, match="no such tensorflow-datasets"):
        build_dataset("tfds:no_such_set", "train", training=False, image_size=16, batch_size=4)


# --- transforms ------------------------------------------------------------------------------


def test_center_crop_keeps_the_centre():
    # 64x96 image: a 1-pixel frame of 255 around zeros. Shorter side 64 -> 32 / 0.5 = 64 (no
    # resize), centre 32x32 crop: all zeros.
    image = np.full((64, 96, 3), 255, np.uint8)
    image[1:-1, 1:-1] = 0
    out = augment.center_crop(tf.constant(image), 32, fraction=0.5).numpy()
    assert out.shape == (32, 32, 3) and out.max() == 0.0
    whole = augment.center_crop(tf.constant(image), 32, fraction=1.0).numpy()
    assert whole.shape == (32, 32, 3) and whole.max() > 0  # fraction 1 keeps the borders


def test_eval_resize_uses_the_224_over_256_ratio():
    h, w = augment.eval_resize_shape(480, 640, 224, augment.DEFAULT_CENTER_CROP_FRACTION)
    assert (int(h), int(w)) == (256, 341)


def test_random_resized_crop_windows_respect_scale_and_ratio():
    config = AugmentConfig(scale=(0.25, 0.5), ratio=(0.75, 1.0 / 0.75))
    areas, ratios = [], []
    for i in range(200):
        _, _, h, w = augment.sample_crop_window(tf.constant([200, 300, 3]), tf.constant([i, 7]), config)
        areas.append(int(h) * int(w) / 60000.0)
        ratios.append(int(w) / int(h))
    assert 0.24 <= min(areas) and max(areas) <= 0.51 and max(areas) - min(areas) > 0.15
    assert 0.74 <= min(ratios) and max(ratios) <= 1.35


def test_train_transform_is_a_function_of_the_seed():
    image = tf.constant(gradient_images(1, 40, 50)[0])
    config = AugmentConfig(color_jitter=0.4)
    a = augment.train_transform(image, tf.constant([1, 2]), config, 24).numpy()
    b = augment.train_transform(image, tf.constant([1, 2]), config, 24).numpy()
    c = augment.train_transform(image, tf.constant([1, 3]), config, 24).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (24, 24, 3) and a.min() >= 0 and a.max() <= 255


def test_flip_is_horizontal_and_can_be_turned_off():
    image = tf.constant(np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3))
    flipped = {
        bool(np.array_equal(augment.flip_and_jitter(image, tf.constant([s, 0]), AugmentConfig()), image[:, ::-1]))
        for s in range(20)
    }
    assert flipped == {True, False}
    for s in range(5):
        same = augment.flip_and_jitter(image, tf.constant([s, 0]), AugmentConfig(flip=False))
        np.testing.assert_array_equal(same, image)


def test_pad_and_crop_shifts_within_padding():
    image = np.zeros((16, 16, 3), np.uint8)
    image[8, 8] = 255
    config = AugmentConfig(crop_padding=2, flip=False)
    positions = set()
    for s in range(30):
        out = augment.train_transform(tf.constant(image), tf.constant([s, 1]), config, 16).numpy()
        y, x = np.unravel_index(np.argmax(out[..., 0]), (16, 16))
        positions.add((int(y) - 8, int(x) - 8))
    assert all(abs(dy) <= 2 and abs(dx) <= 2 for dy, dx in positions) and len(positions) > 5


def test_encoded_jpeg_crop_matches_decode_then_crop():
    image = gradient_images(1, 60, 80)[0]
    jpeg = tf.io.encode_jpeg(tf.constant(image), quality=100)
    config = AugmentConfig()
    seed = tf.constant([4, 2])
    fast = augment.decode_random_resized_crop(jpeg, seed, config, 32).numpy()
    slow = augment.random_resized_crop(tf.io.decode_jpeg(jpeg), seed, config, 32).numpy()
    assert np.abs(fast - slow).max() <= 3.0  # only JPEG block-boundary rounding differs


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(split="validation"), "digits source has splits"),
        (dict(image_size=0), "image_size"),
        (dict(batch_size=-1), "batch_size"),
        (dict(limit=0), "limit"),
        (dict(training="yes"), "training must be"),
        (dict(start_epoch=1, training=False), "start_epoch"),
        (dict(augment={"flip": False}), "AugmentConfig"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    args = dict(source="digits", split="train", training=True, image_size=16, batch_size=4)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        build_dataset(args.pop("source"), args.pop("split"), **args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(scale=(0.0, 1.0)), "scale"),
        (dict(scale=(0.5,)), "pair"),
        (dict(ratio=(2.0, 1.0)), "ratio"),
        (dict(crop_padding=-1), "crop_padding"),
        (dict(color_jitter=1.5), "color_jitter"),
        (dict(center_crop_fraction=0.0), "center_crop_fraction"),
    ],
)
def test_bad_augment_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AugmentConfig(**kwargs)


def test_missing_folder_and_unknown_folder_split(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_dataset(str(tmp_path / "nope"), "train", training=True, image_size=16, batch_size=4)
    with pytest.raises(ValueError, match="no class subfolders"):
        build_dataset(str(tmp_path), "train", training=True, image_size=16, batch_size=4)
    with pytest.raises(ValueError, match="splits"):
        build_dataset(str(tmp_path), "holdout", training=True, image_size=16, batch_size=4)


def test_inside_a_strategy_scope_is_refused():
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        with pytest.raises(ValueError, match="outside `strategy.scope"):
            build_dataset("digits", "train", training=True, image_size=16, batch_size=4)
