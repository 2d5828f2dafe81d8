"""Image transforms for training (random resized crop, flip, colour jitter) and
evaluation (resize, then centre crop), as TensorFlow ops for tf.data.

Every random transform is *stateless*: it takes a `seed` tensor of shape `[2]`,
so the same (seed, epoch, example) always gives the same image. That is what
lets a resumed training run see exactly the data an uninterrupted run would.

Images go in as uint8 `[H, W, 3]` of any size and come out as float32
`[size, size, 3]` RGB pixels in [0, 255]; normalization is the model's job
(`include_preprocessing=True`, see `keras_shufflenet.preprocessing`).
"""

import dataclasses

import tensorflow as tf

# Evaluation resizes the shorter side to size / fraction then takes the centre
# (ImageNet's 224 / 256).
DEFAULT_CENTER_CROP_FRACTION = 0.875


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Training augmentation and evaluation cropping.

    Attributes:
        scale: area range of the random resized crop, as fractions of the image.
            Both ShuffleNet papers used a milder range than ResNet's
            (0.08, 1.0); the default is (0.25, 1.0).
        ratio: aspect-ratio (width / height) range of the random crop.
        crop_padding: if > 0, use CIFAR-style augmentation instead of the random
            resized crop: pad each side by this many pixels (reflection) and
            take a random crop of the original size.
        flip: random horizontal flips (turn off for digits or text).
        color_jitter: strength `s` of random brightness, contrast and
            saturation, each factor drawn from [1 - s, 1 + s] (torchvision's
            `ColorJitter(s, s, s)`); 0 turns it off.
        center_crop_fraction: evaluation resizes the shorter side to
            `image_size / center_crop_fraction` and crops the centre
            `image_size` square; 1.0 resizes the whole image.
    """

    scale: tuple = (0.25, 1.0)
    ratio: tuple = (3.0 / 4.0, 4.0 / 3.0)
    crop_padding: int = 0
    flip: bool = True
    color_jitter: float = 0.0
    center_crop_fraction: float = DEFAULT_CENTER_CROP_FRACTION

    def __post_init__(self):
        low, high = _pair(self.scale, "scale")
        if not 0.0 < low <= high <= 1.0:
            raise ValueError(f"AugmentConfig.scale must satisfy 0 < low <= high <= 1; got {self.scale}.")
        low, high = _pair(self.ratio, "ratio")
        if not 0.0 < low <= high:
            raise ValueError(f"AugmentConfig.ratio must satisfy 0 < low <= high; got {self.ratio}.")
        if not isinstance(self.crop_padding, int) or self.crop_padding < 0:
            raise ValueError(
                f"AugmentConfig.crop_padding must be an integer >= 0; got {self.crop_padding!r}."
            )
        if not 0.0 <= self.color_jitter < 1.0:
            raise ValueError(
                f"AugmentConfig.color_jitter must be in [0, 1); got {self.color_jitter!r}."
            )
        if not 0.0 < self.center_crop_fraction <= 1.0:
            raise ValueError(
                "AugmentConfig.center_crop_fraction must be in (0, 1]; "
                f"got {self.center_crop_fraction!r}."
            )


def _pair(value, name):
    if len(tuple(value)) != 2:
        raise ValueError(f"AugmentConfig.{name} must be a (low, high) pair; got {value!r}.")
    return float(value[0]), float(value[1])


def split_seed(seed, num):
    """`num` independent stateless seeds from one `[2]` seed."""
    return tf.unstack(tf.random.experimental.stateless_split(seed, num=num))


def _resize(image, size):
    image = tf.image.resize(image, size, method="bilinear", antialias=True)
    return tf.clip_by_value(image, 0.0, 255.0)


def eval_resize_shape(height, width, image_size, fraction):
    """(height, width) after resizing the shorter side to `image_size / fraction`."""
    target = tf.cast(tf.math.round(image_size / fraction), tf.float32)
    height = tf.cast(height, tf.float32)
    width = tf.cast(width, tf.float32)
    scale = target / tf.minimum(height, width)
    new_h = tf.maximum(tf.cast(tf.math.round(height * scale), tf.int32), image_size)
    new_w = tf.maximum(tf.cast(tf.math.round(width * scale), tf.int32), image_size)
    return new_h, new_w


def center_crop(image, image_size, fraction=DEFAULT_CENTER_CROP_FRACTION):
    """Evaluation transform: resize shorter side to `image_size / fraction`, crop the centre."""
    shape = tf.shape(image)
    new_h, new_w = eval_resize_shape(shape[0], shape[1], image_size, fraction)
    image = _resize(tf.cast(image, tf.float32), tf.stack([new_h, new_w]))
    top = (new_h - image_size) // 2
    left = (new_w - image_size) // 2
    return tf.ensure_shape(
        image[top : top + image_size, left : left + image_size, :], [image_size, image_size, 3]
    )


def sample_crop_window(shape, seed, config):
    """A random crop window `(top, left, height, width)` for an image of `shape` [H, W, C]."""
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        image_size=shape,
        bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]),
        seed=seed,
        min_object_covered=0.0,
        aspect_ratio_range=config.ratio,
        area_range=config.scale,
        max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )
    return begin[0], begin[1], size[0], size[1]


def random_resized_crop(image, seed, config, image_size):
    """Random crop of area `config.scale` and aspect `config.ratio`, resized to a square."""
    top, left, height, width = sample_crop_window(tf.shape(image), seed, config)
    crop = tf.slice(image, tf.stack([top, left, 0]), tf.stack([height, width, 3]))
    return _resize(tf.cast(crop, tf.float32), [image_size, image_size])


def decode_random_resized_crop(encoded, seed, config, image_size):
    """Same as `random_resized_crop` on encoded bytes; JPEGs decode only the crop window.

    Raises (inside tf.data, where the caller skips the example) when the bytes
    are not a decodable image.
    """

    def jpeg():
        shape = tf.image.extract_jpeg_shape(encoded)
        window = tf.stack(sample_crop_window(shape, seed, config))
        crop = tf.image.decode_and_crop_jpeg(encoded, window, channels=3)
        return _resize(tf.cast(crop, tf.float32), [image_size, image_size])

    def other():
        return random_resized_crop(decode(encoded), seed, config, image_size)

    is_jpeg = tf.equal(tf.strings.substr(encoded, 0, 3), b"\xff\xd8\xff")
    return tf.ensure_shape(tf.cond(is_jpeg, jpeg, other), [image_size, image_size, 3])


def decode(encoded):
    """uint8 `[H, W, 3]` from JPEG/PNG/BMP/GIF bytes (first frame); raises when undecodable."""
    return tf.io.decode_image(encoded, channels=3, expand_animations=False)


def pad_and_crop(image, seed, padding, image_size):
    """CIFAR-style: reflect-pad by `padding` pixels, random crop of the original size."""
    shape = tf.shape(image)
    padded = tf.pad(image, [[padding, padding], [padding, padding], [0, 0]], mode="REFLECT")
    image = tf.image.stateless_random_crop(padded, tf.stack([shape[0], shape[1], 3]), seed=seed)
    image = tf.cast(image, tf.float32)
    same_size = tf.logical_and(tf.equal(shape[0], image_size), tf.equal(shape[1], image_size))
    return tf.cond(same_size, lambda: image, lambda: _resize(image, [image_size, image_size]))


def color_jitter(image, seed, strength):
    """Random brightness, contrast and saturation factors in [1 - s, 1 + s] (float pixels)."""
    factors = tf.random.stateless_uniform([3], seed, 1.0 - strength, 1.0 + strength)
    image = image * factors[0]
    gray = tf.image.rgb_to_grayscale(tf.clip_by_value(image, 0.0, 255.0))
    image = (image - tf.reduce_mean(gray)) * factors[1] + tf.reduce_mean(gray)
    gray = tf.image.rgb_to_grayscale(tf.clip_by_value(image, 0.0, 255.0))
    image = (image - gray) * factors[2] + gray
    return tf.clip_by_value(image, 0.0, 255.0)


def flip_and_jitter(image, seed, config):
    """The photometric and flip part of training augmentation, on a float image."""
    flip_seed, jitter_seed = split_seed(seed, 2)
    if config.flip:
        image = tf.image.stateless_random_flip_left_right(image, flip_seed)
    if config.color_jitter > 0:
        image = color_jitter(image, jitter_seed, config.color_jitter)
    return image


def train_transform(image, seed, config, image_size, encoded=False):
    """Full training augmentation of one image (decoded uint8, or bytes if `encoded`)."""
    crop_seed, rest_seed = split_seed(seed, 2)
    if config.crop_padding:
        if encoded:
            image = decode(image)
        image = pad_and_crop(image, crop_seed, config.crop_padding, image_size)
    elif encoded:
        image = decode_random_resized_crop(image, crop_seed, config, image_size)
    else:
        image = random_resized_crop(image, crop_seed, config, image_size)
    image = flip_and_jitter(image, rest_seed, config)
    return tf.ensure_shape(image, [image_size, image_size, 3])


def eval_transform(image, config, image_size, encoded=False):
    """Evaluation transform of one image (decoded uint8, or bytes if `encoded`)."""
    if encoded:
        image = decode(image)
    return center_crop(image, image_size, config.center_crop_fraction)

