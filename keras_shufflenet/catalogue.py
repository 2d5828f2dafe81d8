"""The published ImageNet checkpoints, as data: where each comes from, its
checksum, its publisher's accuracy and the evaluation transform it was
measured with.

A leaf module with no heavy imports (only `dataclasses`), so anything can
read it: `keras_shufflenet.pretrained` downloads and converts the entries of
`PUBLISHED` for `weights="imagenet"`, and a model's input contract takes its
`EvalTransform` from here. `MANUAL_DOWNLOADS` lists checkpoints that cannot be
fetched by a script (the ShuffleNet V1 authors'): download them by hand and
pass the file, `ShuffleNetV1(width, groups, weights=path)`.

    from keras_shufflenet import catalogue
    entry = catalogue.PUBLISHED[("v2", 1.0, None)]
    entry.top1, entry.eval_transform.crop_size     # 69.362, 224
"""

import dataclasses
import re

# torchvision's `Normalize(mean, std)`, for RGB scaled to [0, 1].
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


@dataclasses.dataclass(frozen=True)
class EvalTransform:
    """How a checkpoint's publisher turned an image into the network's input
    when measuring its accuracy.

    Resize the image (bilinear) so that its shorter side is `resize_size`,
    centre-crop `crop_size` x `crop_size`, then normalize each RGB pixel
    value `p` in [0, 255] as `(p - mean) / std`, channel by channel.

    Attributes:
        resize_size: the shorter side after resizing, in pixels.
        crop_size: the side of the square centre crop, in pixels (the
            network's input size).
        mean, std: per RGB channel, in pixel units (0..255): torchvision's
            ImageNet normalization is mean 255 * (0.485, 0.456, 0.406) and
            std 255 * (0.229, 0.224, 0.225).
    """

    resize_size: int
    crop_size: int
    mean: tuple
    std: tuple

    def __post_init__(self):
        if not 0 < self.crop_size <= self.resize_size:
            raise ValueError(
                f"EvalTransform needs 0 < crop_size <= resize_size; got crop_size="
                f"{self.crop_size}, resize_size={self.resize_size}."
            )
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(
                f"EvalTransform needs 3 means and 3 positive stds (RGB); got mean={self.mean}, "
                f"std={self.std}."
            )

    @property
    def crop_fraction(self):
        """The centre crop as a fraction of the resized shorter side (224 / 256 = 0.875)."""
        return self.crop_size / self.resize_size


# torchvision's and OpenMMLab's ImageNet evaluation: resize 256, centre crop 224,
# ImageNet mean and std.
IMAGENET_EVAL = EvalTransform(
    resize_size=256,
    crop_size=224,
    mean=tuple(255.0 * m for m in IMAGENET_MEAN_RGB),
    std=tuple(255.0 * s for s in IMAGENET_STD_RGB),
)

_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")


@dataclasses.dataclass(frozen=True)
class PublishedWeights:
    """One published ImageNet checkpoint and what its publisher reports for it.

    Attributes:
        url: where it is downloaded from; for `PUBLISHED` the file name
            ends in `-<sha256 prefix>.pth`, the publisher's checksum. For
            `MANUAL_DOWNLOADS`, the page to download it from by hand.
        layout: the state-dict layout, which names the converter:
            `"torchvision"` (ShuffleNet V2), `"mmpretrain"` or `"megvii"` (V1).
        top1, top5: ImageNet validation accuracy (%) as published.
        eval_transform: the input the converted Keras model takes for those
            numbers (all use `IMAGENET_EVAL`; see `notes` where the
            publisher's own input differed).
        file_name: for a manual download, the file's path in the publisher's
            folder; None when `url` names the file.
        notes: anything else a user of the file needs to know.
    """

    url: str
    layout: str
    top1: float
    top5: float
    eval_transform: EvalTransform = IMAGENET_EVAL
    file_name: str = None
    notes: str = ""

    @property
    def name(self):
        """The file name, as downloaded."""
        return (self.file_name or self.url).rsplit("/", 1)[-1]

    @property
    def sha256_prefix(self):
        """The hex digits the file's sha256 starts with (from its name), or None."""
        match = _HASH_IN_NAME.search(self.name)
        return match.group(1) if match else None


TORCHVISION_URL = "https://download.pytorch.org/models/"
MMPRETRAIN_URL = "https://download.openmmlab.com/mmclassification/v0/shufflenet_v1/"
# (family, width, groups) -> checkpoint; groups is None for V2.
PUBLISHED = {
    ("v2", 0.5, None): PublishedWeights(
        TORCHVISION_URL + "shufflenetv2_x0.5-f707e7126e.pth", "torchvision", 60.552, 81.746
    ),
    ("v2", 1.0, None): PublishedWeights(
        TORCHVISION_URL + "shufflenetv2_x1-5666bf0f80.pth", "torchvision", 69.362, 88.316
    ),
    ("v2", 1.5, None): PublishedWeights(
        TORCHVISION_URL + "shufflenetv2_x1_5-3c479a10.pth", "torchvision", 72.996, 91.086
    ),
    ("v2", 2.0, None): PublishedWeights(
        TORCHVISION_URL + "shufflenetv2_x2_0-8be3c8ee.pth", "torchvision", 76.230, 93.006
    ),
    ("v1", 1.0, 3): PublishedWeights(
        MMPRETRAIN_URL + "shufflenet_v1_batch1024_imagenet_20200804-5d6cec73.pth",
        "mmpretrain",
        68.13,
        87.81,
    ),
}

# The ShuffleNet V1 authors' checkpoints (megvii-model/ShuffleNet-Series,
# ShuffleNetV1/README.md, which publishes top-1/top-5 *errors*: accuracy is 100
# minus them). Hosted in a OneDrive folder that only a browser can download
# from; no checksums are published.
MEGVII_URL = "https://1drv.ms/f/s!AgaP37NGYuEXhRfQxHRseR7eSxXo"
MEGVII_NOTES = (
    "megvii's own evaluation feeds BGR pixels in 0..255 without normalization (OpenCV "
    "bilinear resize of the shorter side to 256, centre crop 224); the converted model "
    "undoes the ImageNet normalization in its first layer and reads RGB, so it takes the "
    "same input as every other model here."
)


def _megvii(groups, size, top1, top5):
    name = f"{size}.pth.tar" if groups == 3 else f"snetv1_group8_{size}.pth.tar"
    return PublishedWeights(
        MEGVII_URL,
        "megvii",
        top1,
        top5,
        file_name=f"ShuffleNetV1/Group{groups}/models/{name}",
        notes=MEGVII_NOTES,
    )


# (family, width, groups) -> checkpoint to download by hand.
MANUAL_DOWNLOADS = {
    ("v1", 0.5, 3): _megvii(3, "0.5x", 57.3, 80.0),  # errors 42.7, 20.0
    ("v1", 1.0, 3): _megvii(3, "1.0x", 67.8, 87.7),  # 32.2, 12.3
    ("v1", 1.5, 3): _megvii(3, "1.5x", 71.6, 90.2),  # 28.4, 9.8
    ("v1", 2.0, 3): _megvii(3, "2.0x", 74.1, 91.4),  # 25.9, 8.6
    ("v1", 0.5, 8): _megvii(8, "0.5x", 58.8, 81.0),  # 41.2, 19.0
    ("v1", 1.0, 8): _megvii(8, "1.0x", 68.0, 86.4),  # 32.0, 13.6
    ("v1", 1.5, 8): _megvii(8, "1.5x", 71.0, 89.6),  # 29.0, 10.4
    ("v1", 2.0, 8): _megvii(8, "2.0x", 72.9, 90.8),  # 27.1, 9.2
}
