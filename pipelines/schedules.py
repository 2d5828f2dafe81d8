"""Learning-rate schedule (warmup, then linear, cosine or constant) and the optimizer
of a recipe.
"""

import math

import keras

SCHEDULES = ("linear", "cosine", "constant")


@keras.saving.register_keras_serializable(package="keras_shufflenet")
class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to `peak` over `warmup_steps`, then decay to 0 at `total_steps`.

    `decay` is "linear" (both ShuffleNet papers: 0.5 -> 0 linearly), "cosine",
    or "constant" (stay at `peak`).
    """

    def __init__(self, peak, total_steps, warmup_steps=0, decay="linear"):
        if decay not in SCHEDULES:
            raise ValueError(f"decay must be one of {SCHEDULES}; got {decay!r}.")
        if not total_steps >= 1 or not 0 <= warmup_steps <= total_steps:
            raise ValueError(
                f"Need 0 <= warmup_steps <= total_steps and total_steps >= 1; got "
                f"warmup_steps={warmup_steps}, total_steps={total_steps}."
            )
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.decay = decay

    def __call__(self, step):
        ops = keras.ops
        step = ops.cast(step, "float32")
        warmup = ops.cast(max(self.warmup_steps, 1), "float32")
        decay_steps = ops.cast(max(self.total_steps - self.warmup_steps, 1), "float32")
        progress = ops.clip((step - self.warmup_steps) / decay_steps, 0.0, 1.0)
        if self.decay == "linear":
            factor = 1.0 - progress
        elif self.decay == "cosine":
            factor = 0.5 * (1.0 + ops.cos(math.pi * progress))
        else:
            factor = ops.ones_like(progress)
        if self.warmup_steps:
            factor = ops.where(step < self.warmup_steps, (step + 1.0) / warmup, factor)
        return self.peak * factor

    def get_config(self):
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "decay": self.decay,
        }


def make_schedule(recipe, steps_per_epoch, batch_size):
    """The recipe's `WarmupDecay` over `recipe.epochs`, its peak scaled linearly to `batch_size`."""
    total = recipe.epochs * steps_per_epoch
    return WarmupDecay(
        peak=recipe.scaled_learning_rate(batch_size),
        total_steps=total,
        warmup_steps=min(int(round(recipe.warmup_epochs * steps_per_epoch)), total),
        decay=recipe.schedule,
    )


def make_optimizer(recipe, steps_per_epoch, batch_size):
    """SGD with momentum and the recipe's schedule (`make_schedule`)."""
    return keras.optimizers.SGD(
        learning_rate=make_schedule(recipe, steps_per_epoch, batch_size),
        momentum=recipe.momentum, nesterov=recipe.nesterov,
    )
