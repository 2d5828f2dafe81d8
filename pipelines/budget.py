"""Train to a time budget: measure the first epoch, fix the number of epochs, record the decision.

    python -m keras_shufflenet.pipelines.train --recipe=cifar10 --data=/tmp/cifar \\
        --model_dir=runs/c10 --time_budget=60m

A budget run trains its first epoch (learning-rate warmup, so its steps do not
depend on the run's length) while `BudgetProbe` times it: the training steps
after the first `warmup_steps` (tracing, the input pipeline filling up), with
the input pipeline in the loop, and a validation pass. `choose_epochs` then
takes the largest number of epochs whose projected end, the final evaluation
and saving included, falls within the budget less a reserve of `RESERVE` of it
for the variation of step times. The learning-rate schedule is set for that
many epochs, and the decision is written to `budget.json` in the model
directory before the first checkpoint, so a resumed run reads it back and keeps
the same schedule and end point instead of measuring again.

The clock starts when `train()` is called (the program's imports before it are
not counted: seconds on an idle machine) and counts data loading, model
building and tracing.
"""

import dataclasses
import math
import re
import time

import keras

from keras_shufflenet.pipelines import files

# Share of the budget kept back for step times that vary while the run goes.
RESERVE = 0.05
# Saving model.keras, labels.txt, result.json and drawing curves.png after the final
# evaluation: a few seconds for the models these recipes train.
SAVE_SECONDS = 5.0
MAX_EPOCHS = 100_000
# Training steps of the first epoch left out of the step time (at most half the epoch).
WARMUP_STEPS = 5
_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$")


def parse_duration(value):
    """Seconds from "60m", "1h30m", "90s", "2.5h" or a number of seconds; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"A time budget must be a duration such as '60m'; got {value!r}.")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        match = _DURATION.match(text)
        if text and re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        elif text and match and any(match.groups()):
            hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
            seconds = 3600 * hours + 60 * minutes + secs
        else:
            raise ValueError(
                f"A time budget must be a duration such as '60m', '1h30m', '90s' or a number of "
                f"seconds; got {value!r}."
            )
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"A time budget must be positive and finite; got {value!r}.")
    return seconds


def format_duration(seconds):
    """"1h02m03s", "4m05s" or "12.3s"."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


@dataclasses.dataclass(frozen=True)
class Measurement:
    """What the first epoch of a budget run measured (seconds).

    Attributes:
        step_seconds: one training step, input pipeline included, after warmup.
        steps_measured: the steps `step_seconds` averages over.
        steps_per_epoch: training steps per epoch.
        validation_seconds: one validation pass after the first (no tracing).
        first_validation_seconds: the first validation pass, tracing included.
        elapsed_seconds: since `train()` started, at the end of the first epoch.
        build_seconds: building and compiling the model.
    """

    step_seconds: float
    steps_measured: int
    steps_per_epoch: int
    validation_seconds: float
    first_validation_seconds: float
    elapsed_seconds: float
    build_seconds: float

    @property
    def tail_seconds(self):
        """The end of the run after the last epoch: a float32 copy built, evaluated, saved."""
        return self.build_seconds + self.first_validation_seconds + SAVE_SECONDS


@dataclasses.dataclass(frozen=True)
class Decision:
    """How many epochs a budget allows, and why; what `budget.json` holds.

    Attributes:
        budget_seconds: the time budget.
        epochs: the run's total number of epochs.
        projected_seconds: the run's projected wall clock with that many epochs.
        measurement: the `Measurement` the decision follows from.
        reason: one sentence for the log and result.json.
    """

    budget_seconds: float
    epochs: int
    projected_seconds: float
    measurement: Measurement
    reason: str

    def to_json(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, record):
        return cls(**{**record, "measurement": Measurement(**record["measurement"])})


def projected_seconds(measurement, epochs, validating, done_epochs=1):
    """Projected wall clock of a run of `epochs` epochs, `done_epochs` of them behind it.

    `validating(epochs)` is the set of (1-based) epochs that validate in a run
    of that length.
    """
    m = measurement
    later = range(done_epochs + 1, epochs + 1)
    validations = sum(1 for e in later if e in validating(epochs))
    train_seconds = len(later) * m.steps_per_epoch * m.step_seconds
    return m.elapsed_seconds + train_seconds + validations * m.validation_seconds + m.tail_seconds


def choose_epochs(budget_seconds, measurement, validating, min_epochs=1, done_epochs=1):
    """The `Decision`: the most epochs (at least `min_epochs`) projected to end within the budget.

    The limit is the budget less `RESERVE` of it. When not even `min_epochs`
    fit, the decision is `min_epochs` and its reason says the run will overrun.
    """
    limit = budget_seconds * (1.0 - RESERVE)
    epochs = max(min_epochs, done_epochs)

    def fits(n):
        return projected_seconds(measurement, n, validating, done_epochs) <= limit

    # Each epoch adds its training steps (and perhaps a validation): the projection only grows.
    while epochs < MAX_EPOCHS and fits(epochs + 1):
        epochs += 1
    projected = projected_seconds(measurement, epochs, validating, done_epochs)
    m = measurement
    per_epoch = m.steps_per_epoch * m.step_seconds
    basis = (
        f"{m.step_seconds * 1000:.1f} ms/step over {m.steps_measured} steps after warmup "
        f"({format_duration(per_epoch)}/epoch of {m.steps_per_epoch} steps), validation "
        f"{format_duration(m.validation_seconds)}, {format_duration(m.elapsed_seconds)} spent by the "
        f"end of epoch {done_epochs}, {format_duration(m.tail_seconds)} for the final evaluation and saving"
    )
    count = f"{epochs} epoch" if epochs == 1 else f"{epochs} epochs"
    if projected <= limit:
        reason = (
            f"{count} {'fits' if epochs == 1 else 'fit'} the budget of {format_duration(budget_seconds)} "
            f"(projected {format_duration(projected)}, {RESERVE:.0%} kept in reserve): {basis}."
        )
    else:
        reason = (
            f"even {count} {'overruns' if epochs == 1 else 'overrun'} the budget of "
            f"{format_duration(budget_seconds)} (projected {format_duration(projected)}): {basis}. "
            "Give more time or less data."
        )
    return Decision(budget_seconds, epochs, projected, measurement, reason)


def read_decision(path):
    """The `Decision` recorded at `path`, or None when there is none."""
    try:
        return Decision.from_json(files.read_json(path))
    except FileNotFoundError:
        return None


def write_decision(path, decision):
    files.write_json(path, decision.to_json())


class BudgetProbe(keras.callbacks.Callback):
    """Times the first epoch's training steps and validation; decides at its end.

    Put it before the callbacks that save checkpoints: `decide(measurement)` runs
    in `on_epoch_end` of the first epoch, so its record exists before any
    checkpoint does. `decision` holds what `decide` returned. (An epoch cut short,
    by a NaN loss say, is measured on the steps it ran.)
    """

    def __init__(self, decide, started, build_seconds, warmup_steps=WARMUP_STEPS):
        super().__init__()
        self.decide = decide
        self.started = started
        self.build_seconds = build_seconds
        self.warmup_steps = warmup_steps
        self.decision = None
        self._batch_ends = []
        self._test_ends = []
        self._test_began = None
        self._validations = []
        self._epoch_began = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_began = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.decision is None:
            self._batch_ends.append(time.perf_counter())

    def on_test_begin(self, logs=None):
        self._test_began = time.perf_counter()
        self._test_ends = []

    def on_test_batch_end(self, batch, logs=None):
        self._test_ends.append(time.perf_counter())

    def on_test_end(self, logs=None):
        self._validations.append((time.perf_counter() - self._test_began, list(self._test_ends)))

    def on_epoch_end(self, epoch, logs=None):
        if self.decision is not None:
            return
        if not (self._batch_ends and self._validations):
            raise RuntimeError("BudgetProbe needs training steps and a validation pass in the first epoch.")
        self.decision = self.decide(self.measure())

    def measure(self):
        ends = self._batch_ends
        skip = min(self.warmup_steps, len(ends) // 2)
        first = ends[skip - 1] if skip else self._epoch_began
        step_seconds = (ends[-1] - first) / (len(ends) - skip)
        first_pass, test_ends = self._validations[0]
        if len(test_ends) > 1:  # the batches after the first, scaled to a whole pass
            steady = (test_ends[-1] - test_ends[0]) / (len(test_ends) - 1) * len(test_ends)
        else:
            steady = first_pass
        return Measurement(
            step_seconds=step_seconds,
            steps_measured=len(ends) - skip,
            steps_per_epoch=self.params.get("steps") or len(ends),
            validation_seconds=steady,
            first_validation_seconds=first_pass,
            elapsed_seconds=time.time() - self.started,
            build_seconds=self.build_seconds,
        )
