"""Training recipes: small frozen configs, one per job.

    from keras_shufflenet.pipelines import recipes
    recipe = recipes.get("cifar10")
    quick = recipe.replace(epochs=5, batch_size=64)

| recipe   | model      | input | batch | epochs | peak LR (per base batch) | schedule      | wd     |
|----------|------------|-------|-------|--------|--------------------------|---------------|--------|
| imagenet | v2_1.0     | 224   | 1024  | 240    | 0.5 / 1024               | linear to 0   | 4e-5   |
| cifar10  | v2_0.5 (*) | 32    | 128   | 17     | 0.2 / 128, warmup 1      | linear to 0   | 5e-4   |
| finetune | v2_1.0 + imagenet weights, new head | 224 | 64 | 10 | 0.01 / 64, warmup 1 | cosine | 4e-5 |
| digits   | v2_0.5 (*) | 16    | 64    | 6      | 0.1 / 64, warmup 1       | linear to 0   | 5e-5   |
| qat      | the trained model's (`--qat`) | its | 128 | 2 | 0.002 / 128    | cosine to 0   | 5e-5   |

(*) `small_inputs=True`: no early down-sampling, for small images.

`imagenet` is both papers' recipe: SGD momentum 0.9, batch 1024, 3e5 iterations
(about 240 epochs of 1.28M images), learning rate 0.5 decayed linearly to 0,
weight decay 4e-5 on the convolution and dense kernels (not BatchNorm), and the
official code's label smoothing 0.1 and colour jitter 0.4. The learning rate
scales linearly with the batch you actually use (0.125 at batch 256).

`cifar10` is sized for an hour on a 2-core CPU: 17 epochs, shifts of up to 2
pixels (not the usual 4: a model this small, trained this briefly, underfits;
its training accuracy stayed within 1.3 points of test accuracy with 4) and
horizontal flips.

With a time budget (`TrainConfig.time_budget`, `--time_budget=60m`) a recipe's
`epochs` give way to the number that fits the budget (`pipelines.budget`); the
budget needs a warmup of an epoch or more, which `cifar10`, `finetune` and
`digits` have.

`qat` fine-tunes a trained model quantization-aware (`train --qat=<run dir>`,
`keras_shufflenet.tflite.qat`): the model, input size and classes are the
trained model's; two epochs at 1% of the cifar10 peak rate, no warmup (the
weights are already trained, the fake-quant ranges start at their calibrated
values), the cifar10 augmentation.
"""

import dataclasses

from keras_shufflenet.input_contract import InputContract
from keras_shufflenet.pipelines.augment import AugmentConfig
from keras_shufflenet.pipelines.schedules import SCHEDULES

MIXED_PRECISION = (None, "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to train: model, input size, optimizer, schedule, regularization, augmentation.

    Attributes:
        name: the recipe's name.
        model: model spec (see `keras_shufflenet.pipelines.models`), e.g.
            "v2_1.0", "v1_1.0_g3".
        image_size: training and evaluation input size.
        small_inputs: build the model without early down-sampling (CIFAR-sized images).
        batch_size: global batch size.
        epochs: training epochs.
        learning_rate: peak learning rate for `base_batch_size` examples; the
            rate used is `learning_rate * batch_size / base_batch_size`.
        base_batch_size: see `learning_rate`.
        momentum: SGD momentum.
        nesterov: Nesterov momentum.
        weight_decay: L2 penalty on convolution and dense kernels, with
            PyTorch's meaning (the gradient gains `weight_decay * w`).
        schedule: "linear", "cosine" or "constant" after warmup.
        warmup_epochs: linear warmup from 0, in epochs (may be fractional).
        label_smoothing: cross-entropy label smoothing.
        augment: training augmentation and evaluation crop.
        weights: None (random init), "imagenet" or a weights file; with
            weights, the pretrained backbone gets a new head for the data's classes.
        mixed_precision: None, "mixed_float16" or "mixed_bfloat16".
        xla: compile the training step with XLA (`jit_compile=True`).
    """

    name: str
    model: str
    image_size: int
    batch_size: int
    epochs: int
    learning_rate: float
    base_batch_size: int
    small_inputs: bool = False
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 4e-5
    schedule: str = "linear"
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.1
    augment: AugmentConfig = AugmentConfig()
    weights: str = None
    mixed_precision: str = None
    xla: bool = False

    def __post_init__(self):
        for field in ("image_size", "batch_size", "epochs", "base_batch_size"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Recipe.{field} must be a positive integer; got {value!r}.")
        if not self.learning_rate > 0:
            raise ValueError(f"Recipe.learning_rate must be > 0; got {self.learning_rate!r}.")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"Recipe.momentum must be in [0, 1); got {self.momentum!r}.")
        if not self.weight_decay >= 0:
            raise ValueError(f"Recipe.weight_decay must be >= 0; got {self.weight_decay!r}.")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Recipe.schedule must be one of {SCHEDULES}; got {self.schedule!r}.")
        if not 0 <= self.warmup_epochs <= self.epochs:
            raise ValueError(
                f"Recipe.warmup_epochs must be in [0, epochs={self.epochs}]; got {self.warmup_epochs!r}."
            )
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(
                f"Recipe.label_smoothing must be in [0, 1); got {self.label_smoothing!r}."
            )
        if self.mixed_precision not in MIXED_PRECISION:
            raise ValueError(
                f"Recipe.mixed_precision must be one of {MIXED_PRECISION}; got {self.mixed_precision!r}."
            )
        if not isinstance(self.augment, AugmentConfig):
            raise ValueError(f"Recipe.augment must be an AugmentConfig; got {self.augment!r}.")

    def scaled_learning_rate(self, batch_size=None):
        """Peak learning rate for `batch_size` (default: the recipe's), scaled linearly."""
        batch_size = self.batch_size if batch_size is None else batch_size
        return self.learning_rate * batch_size / self.base_batch_size

    def input_contract(self, labels=None):
        """The input contract of models trained with this recipe: its image size
        and evaluation crop, raw RGB pixels (`pipelines.models` builds models
        that normalize inside) and the data's class names `labels`."""
        return InputContract(
            image_size=self.image_size, crop_fraction=self.augment.center_crop_fraction,
            labels=labels, source=f"training recipe {self.name}",
        )

    def replace(self, **changes):
        """A copy with `changes` (None values are ignored, so unset flags keep the recipe's)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"Unknown recipe field(s) {sorted(unknown)}.")
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


IMAGENET = Recipe(
    name="imagenet",
    model="v2_1.0",
    image_size=224,
    batch_size=1024,
    epochs=240,
    learning_rate=0.5,
    base_batch_size=1024,
    weight_decay=4e-5,
    schedule="linear",
    label_smoothing=0.1,
    augment=AugmentConfig(scale=(0.25, 1.0), color_jitter=0.4),
)

CIFAR10 = Recipe(
    name="cifar10",
    model="v2_0.5",
    small_inputs=True,
    image_size=32,
    batch_size=128,
    epochs=17,
    learning_rate=0.2,
    base_batch_size=128,
    nesterov=True,
    weight_decay=5e-4,
    schedule="linear",
    warmup_epochs=1.0,
    label_smoothing=0.1,
    augment=AugmentConfig(crop_padding=2, flip=True, center_crop_fraction=1.0),
)

FINETUNE = Recipe(
    name="finetune",
    model="v2_1.0",
    weights="imagenet",
    image_size=224,
    batch_size=64,
    epochs=10,
    learning_rate=0.01,
    base_batch_size=64,
    weight_decay=4e-5,
    schedule="cosine",
    warmup_epochs=1.0,
    label_smoothing=0.1,
    augment=AugmentConfig(scale=(0.25, 1.0)),
)

DIGITS = Recipe(
    name="digits",
    model="v2_0.5",
    small_inputs=True,
    image_size=16,
    batch_size=64,
    epochs=6,
    learning_rate=0.1,
    base_batch_size=64,
    nesterov=True,
    weight_decay=5e-5,
    schedule="linear",
    warmup_epochs=1.0,
    label_smoothing=0.1,
    # Digits must not be mirrored; 8x8 images shift by a pixel at most.
    augment=AugmentConfig(crop_padding=1, flip=False, center_crop_fraction=1.0),
)

# The cifar10 recipe, shortened for fine-tuning a trained model; model, input size and
# classes are replaced by the trained model's.
QAT = CIFAR10.replace(
    name="qat", epochs=2, learning_rate=0.002, weight_decay=5e-5, schedule="cosine", warmup_epochs=0.0,
)

RECIPES = {r.name: r for r in (IMAGENET, CIFAR10, FINETUNE, DIGITS, QAT)}


def get(name):
    """The recipe called `name` (one of `RECIPES`)."""
    if name not in RECIPES:
        raise ValueError(f"Unknown recipe {name!r}; choose one of {sorted(RECIPES)}.")
    return RECIPES[name]
