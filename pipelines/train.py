"""Train a ShuffleNet: `train(TrainConfig(...))` or the program.

    python -m keras_shufflenet.pipelines.train --model_dir=runs/digits               # offline demo
    python -m keras_shufflenet.pipelines.train --recipe=cifar10 \\
        --data=../shared/cifar10 --model_dir=runs/cifar10 --model=v2_0.5
    python -m keras_shufflenet.pipelines.train --recipe=cifar10 \\
        --data=../shared/cifar10 --model_dir=runs/c10_1h --time_budget=60m   # as many epochs as fit
    python -m keras_shufflenet.pipelines.train --recipe=imagenet --data=tfds:imagenet2012 \\
        --data_dir=~/tensorflow_datasets --model_dir=gs://... --strategy=mirrored
    python -m keras_shufflenet.pipelines.train --backend=jax ...     # another Keras backend

The model directory receives checkpoints, history.csv, logs and config.json as
training goes, and model.keras (float32, takes RGB pixels in [0, 255]; its input
contract, the recipe's image size and evaluation crop and the class names, is
stored inside: `keras_shufflenet.input_contract`), labels.txt, curves.png and
result.json at the end (`run_dir.RunDir` lists them); with a time budget,
budget.json after the first epoch (`budget`).

Run the same command again after an interruption (even SIGKILL): it resumes
from the last checkpoint. With `--deterministic` the final weights equal those
of an uninterrupted run. A NaN loss stops the run with `TrainingDiverged`,
keeping the last good checkpoint.
"""

import dataclasses
import math
import os
import sys
import time

from keras_shufflenet.pipelines import tool_output

# As a program, TensorFlow's own lines go to a log from its import on (`tool_output`).
PROGRAM_OUTPUT = tool_output.program_output(__name__)

import keras  # noqa: E402 (after the redirect)
import tensorflow as tf  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from keras_shufflenet import input_contract
from keras_shufflenet.pipelines import callbacks as callbacks_lib
from keras_shufflenet.pipelines import budget, checkpoint, distribute, files, history, plots, recipes
from keras_shufflenet.pipelines.data import build_dataset
from keras_shufflenet.pipelines.evaluate import evaluate_keras, format_accuracy
from keras_shufflenet.pipelines.models import build_model, dtype_policy
from keras_shufflenet.pipelines.recipes import Recipe
from keras_shufflenet.pipelines.run_dir import RunDir
from keras_shufflenet.pipelines.schedules import make_optimizer, make_schedule
from keras_shufflenet.tflite import qat

BACKENDS = ("tensorflow", "torch", "jax")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """What to train and evaluate on.

    Attributes:
        source: "digits", "tfds:<name>" or an image folder.
        data_dir: tensorflow-datasets data folder.
        train_split, eval_split: splits to train on and to evaluate on.
        limit, eval_limit: use only the first N examples (quick runs).
        cache: hold the encoded images in memory when they fit.
    """

    source: str = "digits"
    data_dir: str = None
    train_split: str = "train"
    eval_split: str = "test"
    limit: int = None
    eval_limit: int = None
    cache: bool = True


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    """Where and how the training steps run.

    Attributes:
        strategy: "default", "mirrored", "multi_worker" or "tpu".
        tpu: TPU name or address for strategy="tpu".
        cpu_replicas: with strategy="mirrored", split the CPU into this many
            logical devices (for testing without GPUs).
        sync_batchnorm: compute BatchNorm statistics over the global batch
            across replicas (Keras' `synchronized=True`), so that a step on N
            replicas is the step one device takes on the same global batch.
            "auto": when there is more than one replica; True/False: always/never.
            (Keras computes synchronized variance as E[x^2] - E[x]^2, which
            rounds differently from one device's unsynchronized statistics.)
        deterministic: deterministic ops (reproducible to the bit, slower).
        run_eagerly: run the training step without tf.function: slower steps
            but no tracing, which for a few steps of a small model (tests,
            debugging) costs more than it saves.
    """

    strategy: str = "default"
    tpu: str = None
    cpu_replicas: int = None
    sync_batchnorm: object = "auto"
    deterministic: bool = False
    run_eagerly: bool = False

    def __post_init__(self):
        if self.strategy not in distribute.STRATEGIES:
            raise ValueError(
                f"RuntimeConfig.strategy must be one of {distribute.STRATEGIES}; got {self.strategy!r}."
            )
        if self.run_eagerly and self.strategy in ("multi_worker", "tpu"):
            raise ValueError(
                f"RuntimeConfig.run_eagerly does not work with strategy={self.strategy!r} (Keras "
                "needs the compiled step there); leave it False."
            )
        if self.sync_batchnorm not in ("auto", True, False):
            raise ValueError(
                f"RuntimeConfig.sync_batchnorm must be 'auto', True or False; got {self.sync_batchnorm!r}."
            )


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One training run: the recipe, the data, the runtime and the loop's own settings.

        TrainConfig(model_dir="runs/c10", recipe="cifar10",
                    data=DataConfig("../shared/cifar10", limit=5000), eval_every=2)

    Attributes:
        model_dir: where checkpoints, logs, curves and the final model go; a
            run started again with the same directory resumes.
        recipe: a `Recipe` or a recipe name ("digits", "cifar10", "imagenet",
            "finetune"); change fields with `recipe.replace(...)`.
        data: a `DataConfig`, or just its source ("digits", "tfds:<name>" or
            an image folder).
        runtime: a `RuntimeConfig` (strategy, determinism, eager steps).
        seed: seeds initialization, shuffling and augmentation.
        checkpoint_every: save a resumable checkpoint every N epochs (and
            after the last).
        eval_every: evaluate on the eval split every N epochs during training,
            and after the last (0: only after training, outside the history).
        time_budget: None (train the recipe's epochs), or a wall-clock budget
            for the whole run ("60m", "1h30m", "90s" or seconds): the first
            epoch is timed and the number of epochs chosen to end within it
            (`pipelines.budget`); the recipe's warmup must last an epoch or more.
        verbose: Keras verbosity: "auto", 0, 1 (progress bars) or 2 (one line
            per epoch).
        callbacks: extra Keras callbacks.
        qat: quantization-aware training: a trained model to start from (a
            run's directory, a `.keras` file, or a `.weights.h5` file of
            `recipe.model`), fine-tuned with fake int8 quantization
            (`keras_shufflenet.tflite.qat`; use the "qat" recipe). The run ends
            with model_qat_int8.tflite instead of model.keras.
    """

    model_dir: str
    recipe: object = "digits"
    data: object = DataConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    seed: int = 0
    checkpoint_every: int = 1
    eval_every: int = 1
    time_budget: object = None
    verbose: object = "auto"
    callbacks: tuple = ()
    qat: str = None

    def __post_init__(self):
        if not self.model_dir:
            raise ValueError("TrainConfig.model_dir is required.")
        if isinstance(self.recipe, str):
            object.__setattr__(self, "recipe", recipes.get(self.recipe))
        if not isinstance(self.recipe, Recipe):
            raise ValueError(f"TrainConfig.recipe must be a Recipe or a name; got {self.recipe!r}.")
        if isinstance(self.data, (str, os.PathLike)):
            object.__setattr__(self, "data", DataConfig(source=os.fspath(self.data)))
        if not isinstance(self.data, DataConfig):
            raise ValueError(f"TrainConfig.data must be a DataConfig or a source; got {self.data!r}.")
        if not isinstance(self.runtime, RuntimeConfig):
            raise ValueError(f"TrainConfig.runtime must be a RuntimeConfig; got {self.runtime!r}.")
        if not isinstance(self.checkpoint_every, int) or self.checkpoint_every < 1:
            raise ValueError(
                f"TrainConfig.checkpoint_every must be an integer >= 1; got {self.checkpoint_every!r}."
            )
        if not isinstance(self.eval_every, int) or self.eval_every < 0:
            raise ValueError(f"TrainConfig.eval_every must be an integer >= 0; got {self.eval_every!r}.")
        if self.verbose not in ("auto", 0, 1, 2):
            raise ValueError(f"TrainConfig.verbose must be 'auto', 0, 1 or 2; got {self.verbose!r}.")
        if self.time_budget is not None:
            object.__setattr__(self, "time_budget", budget.parse_duration(self.time_budget))
            if self.recipe.warmup_epochs < 1:
                raise ValueError(
                    f"TrainConfig.time_budget needs a recipe whose warmup lasts at least one epoch "
                    f"(the first epoch, which is timed, must not depend on the run's length); "
                    f"{self.recipe.name!r} has warmup_epochs={self.recipe.warmup_epochs}: set it to 1 "
                    "(--warmup_epochs=1)."
                )
            if self.runtime.strategy == "multi_worker":
                raise ValueError(
                    "TrainConfig.time_budget does not work with strategy='multi_worker' (each worker "
                    "would time itself and could choose another number of epochs)."
                )
            if self.qat:
                raise ValueError(
                    "TrainConfig.time_budget does not apply to quantization-aware training (qat), "
                    "which fine-tunes for the qat recipe's fixed short schedule."
                )

    def settings(self):
        """The run's settings but the recipe, as one flat dict (what config.json records)."""
        return {
            **{"data" if k == "source" else k: v for k, v in dataclasses.asdict(self.data).items()},
            **dataclasses.asdict(self.runtime),
            **{
                f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in ("recipe", "data", "runtime", "callbacks")
            },
        }


@dataclasses.dataclass
class TrainResult:
    """What `train` returns.

    Attributes:
        model: the trained model, float32, outside any distribution strategy.
        metrics: final evaluation on the eval split (`evaluate_keras`'s dict).
        history: per-epoch values of the whole run, resumed parts included.
        initial_epoch: the epoch this call started from (> 0 when resumed).
        seconds: wall-clock time of this call.
        skipped: corrupt images skipped, {"train": n, "eval": n}.
        model_path, plot_path, history_path: the files written (None on
            non-chief workers).
        budget: with a time budget, the `budget.Decision` the run followed.
    """

    model: object
    metrics: dict
    history: dict
    initial_epoch: int
    seconds: float
    skipped: dict
    model_path: str = None
    plot_path: str = None
    history_path: str = None
    budget: object = None  # a budget.Decision


@dataclasses.dataclass
class _Data:
    train: object  # endless, from the initial epoch, one-hot labels
    train_info: object
    eval: object  # one pass, integer labels
    eval_info: object

    @property
    def num_classes(self):
        return self.train_info.num_classes

    def eval_one_hot(self):
        return _with_options(self.eval, self.num_classes)

    def restart(self, epoch):
        """Training data from `epoch` on, without reading the data again."""
        self.train = _with_options(self.train_info.from_epoch(epoch), self.num_classes)


def prepare_for_training(model, weight_decay, sync_batchnorm):
    """Adds L2 weight decay to kernels (not BatchNorm or biases) and, if asked, synchronizes BatchNorm.

    `weight_decay` has PyTorch's meaning (gradient += wd * w), so the penalty is
    wd / 2 * sum(w ** 2).
    """
    if weight_decay:
        regularizer = keras.regularizers.L2(weight_decay / 2.0)
        for variable in model.trainable_weights:
            if len(variable.shape) > 1:
                variable.regularizer = regularizer
    if sync_batchnorm:
        for layer in model._flatten_layers():
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.synchronized = True
    return model


def validation_epochs(every, epochs):
    """The (1-based) epochs that validate: every `every`-th, and always the last."""
    return sorted(set(range(every, epochs + 1, every)) | {epochs}) if every else [epochs]


def _validated_epochs(config, epochs):
    """The epochs that validate in a run of `epochs`; a budget run also validates its first (timed)."""
    validated = set(validation_epochs(config.eval_every, epochs)) if config.eval_every else set()
    return sorted(validated | {1}) if config.time_budget is not None else sorted(validated)


# --- the steps of a run ----------------------------------------------------------------------


def _start_runtime(runtime, seed):
    """The distribution strategy, with determinism and seeds set; first thing in a run."""
    if keras.config.backend() != "tensorflow" and runtime.strategy != "default":
        raise ValueError(
            f"strategy={runtime.strategy!r} is tf.distribute, which needs the TensorFlow backend; "
            f"Keras runs on {keras.config.backend()!r} here (KERAS_BACKEND)."
        )
    strategy = distribute.make_strategy(
        runtime.strategy, tpu=runtime.tpu, cpu_replicas=runtime.cpu_replicas
    )
    if runtime.deterministic:
        _deterministic_ops(keras.config.backend())
    keras.utils.set_random_seed(seed)
    return strategy


def _deterministic_ops(backend):
    if backend == "tensorflow":
        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch  # only on the torch backend

        torch.use_deterministic_algorithms(True)
    # JAX on CPU is deterministic already.


def _recorded_budget(config, run_dir, state):
    """The budget decision an earlier start of this run recorded, or None."""
    decision = budget.read_decision(run_dir.budget)
    if decision is None:
        if config.time_budget is not None and state:
            raise ValueError(
                f"{run_dir.root} holds a run started without a time budget (checkpoint after epoch "
                f"{state['epoch']}); train to a budget in a new model directory."
            )
        return None
    if config.time_budget != decision.budget_seconds:
        logging.warning(
            "This run asks for a time budget of %s; keeping the recorded %s and its end point.",
            "none" if config.time_budget is None else budget.format_duration(config.time_budget),
            budget.format_duration(decision.budget_seconds),
        )
    logging.info(
        "Time budget: keeping the recorded decision, %d epochs in all (%s).", decision.epochs, run_dir.budget
    )
    return decision


def _load_data(config, initial_epoch):
    recipe, data = config.recipe, config.data
    common = dict(
        image_size=recipe.image_size, batch_size=recipe.batch_size, data_dir=data.data_dir,
        augment=recipe.augment, cache=data.cache, seed=config.seed,
    )
    train_ds, train_info = build_dataset(
        data.source, data.train_split, training=True, drop_remainder=True,
        limit=data.limit, start_epoch=initial_epoch, **common,
    )
    if train_info.steps_per_epoch < 1:
        raise ValueError(
            f"{data.source}/{data.train_split} has {train_info.num_examples} examples, fewer than "
            f"one batch of {recipe.batch_size}: lower the batch size."
        )
    eval_ds, eval_info = build_dataset(
        data.source, data.eval_split, training=False, limit=data.eval_limit,
        contract=recipe.input_contract(), batch_size=recipe.batch_size, data_dir=data.data_dir,
        cache=data.cache, seed=config.seed,
    )
    if eval_info.num_classes != train_info.num_classes:
        raise ValueError(
            f"The {data.eval_split} split has {eval_info.num_classes} classes and "
            f"{data.train_split} {train_info.num_classes}."
        )
    return _Data(_with_options(train_ds, train_info.num_classes), train_info, eval_ds, eval_info)


def _with_options(dataset, num_classes):
    options = tf.data.Options()
    # Every worker reads the same order and keeps its share of each global batch.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    one_hot = dataset.map(lambda x, y: (x, tf.one_hot(y, num_classes)))
    return one_hot.with_options(options)


def _fingerprint(config, num_classes):
    recipe = config.recipe
    return {
        "model": recipe.model,
        "small_inputs": recipe.small_inputs,
        "num_classes": num_classes,
        "weights": recipe.weights,
        "image_size": recipe.image_size,
        "batch_size": recipe.batch_size,
        "epochs": recipe.epochs,
        "learning_rate": recipe.learning_rate,
        "data": config.data.source,
        "seed": config.seed,
        "time_budget": config.time_budget,
        "qat": config.qat,
    }


def _write_config(run_dir, config, train_info):
    os.makedirs(run_dir.root, exist_ok=True)
    files.write_json(run_dir.config, {
        "recipe": dataclasses.asdict(config.recipe), "config": config.settings(),
        "num_classes": train_info.num_classes, "class_names": train_info.class_names,
    })


def _build_model(config, recipe, strategy, data, state, run_dir, fingerprint):
    """The compiled model, in the recipe's precision, under `strategy`, resumed from `state`."""
    runtime = config.runtime
    with dtype_policy(recipe.mixed_precision), strategy.scope():
        model = build_model(
            recipe.model, classes=data.num_classes, image_size=recipe.image_size,
            small_inputs=recipe.small_inputs, weights=recipe.weights,
        )
        sync = runtime.sync_batchnorm
        if sync == "auto":
            sync = strategy.num_replicas_in_sync > 1
        prepare_for_training(model, recipe.weight_decay, sync_batchnorm=sync)
        _compile(model, recipe, data.train_info.steps_per_epoch, data.num_classes, runtime.run_eagerly)
        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            _patch_for_multi_worker(model, data.train.element_spec)
        if state:
            checkpoint.restore(model, run_dir.checkpoints, state, fingerprint)
    return model


def _build_qat_model(config, recipe, data, state, run_dir, fingerprint):
    """`--qat`'s model step: the trained model's quantization-aware tf_keras twin
    (`keras_shufflenet.tflite.qat`), compiled, resumed from `state`."""
    aware = qat.start_training(
        config.qat, recipe, data.train, data.num_classes, data.train_info.steps_per_epoch,
        config.runtime.run_eagerly,
    )
    if state:
        checkpoint.restore(aware.model, run_dir.checkpoints, state, fingerprint)
    return aware


def _compile(model, recipe, steps_per_epoch, num_classes, run_eagerly=False):
    model.compile(
        optimizer=make_optimizer(recipe, steps_per_epoch, recipe.batch_size),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=[
            keras.metrics.CategoricalAccuracy(name="accuracy"),
            keras.metrics.TopKCategoricalAccuracy(k=min(5, num_classes), name="top5"),
        ],
        jit_compile=recipe.xla,
        run_eagerly=run_eagerly,
    )


def _patch_for_multi_worker(model, element_spec):
    """Works around keras-team/keras#20585: Keras 3 `fit` under MultiWorkerMirroredStrategy.

    Two steps of Keras 3's `fit` fail under this strategy: (1) before training it
    builds metrics from a batch it first combines across workers with
    `strategy.reduce`, which cannot take an (images, labels) pair; build from the
    batch shapes instead and skip that step. (2) It averages each step's logs
    across workers with `strategy.reduce("MEAN", value, axis=0)`, which needs a
    leading axis that scalar logs lack; give them one.
    """
    model._symbolic_build(data_batch=element_spec)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    for name in ("train_step", "test_step"):
        step = getattr(model, name)
        setattr(model, name, lambda data, step=step: {
            k: tf.reshape(v, [1]) if v.shape.rank == 0 else v for k, v in step(data).items()
        })


def _budget_probe(config, run_dir, chief, started, build_seconds):
    """The callback that times the first epoch and records the budget decision at its end."""

    def decide(measurement):
        decision = budget.choose_epochs(
            config.time_budget, measurement, lambda epochs: _validated_epochs(config, epochs),
            min_epochs=math.ceil(config.recipe.warmup_epochs),
        )
        if chief:
            budget.write_decision(run_dir.budget, decision)
        logging.info("Time budget: %s", decision.reason)
        return decision

    return budget.BudgetProbe(decide, started, build_seconds)


def _callbacks(config, run_dir, initial_epoch, fingerprint, chief, probe=None):
    """(NaN guard, all callbacks): the guard, the budget probe, the chief's records, the user's.

    The probe comes before the checkpoint, so the budget decision is on disk before
    any checkpoint it applies to.
    """
    guard = callbacks_lib.StopOnNaN()
    callbacks = [guard] + ([probe] if probe else [])
    if chief:
        # History before the checkpoint: a run killed between the two has the row, and
        # the resumed run drops rows past its checkpoint.
        callbacks += [
            callbacks_lib.HistoryCSV(run_dir.history, initial_epoch),
            callbacks_lib.EpochCheckpoint(run_dir.checkpoints, config.checkpoint_every, fingerprint, guard),
            keras.callbacks.TensorBoard(run_dir.logs, update_freq="epoch"),
        ]
    return guard, callbacks + list(config.callbacks)


def _fit(model, config, data, callbacks, start, end, validated):
    """Trains epochs `start + 1` to `end`, validating after those in `validated`."""
    model.fit(
        data.train,
        epochs=end,
        initial_epoch=start,
        steps_per_epoch=data.train_info.steps_per_epoch,
        shuffle=False,  # the dataset shuffles itself, by (seed, epoch)
        validation_data=data.eval_one_hot() if any(start < e <= end for e in validated) else None,
        validation_steps=data.eval_info.steps_per_epoch,  # the exact count: no "ran out of data" warning
        validation_freq=list(validated) or 1,
        callbacks=callbacks,
        verbose=config.verbose,
    )


def _fit_timed_first_epoch(model, config, data, callbacks, probe):
    """Trains epoch 1 while `probe` times it; returns (the recipe at the chosen length, the decision).

    The model then has the schedule for that length, and the data restart at epoch 2.
    """
    _fit(model, config, data, callbacks, 0, 1, validated=[1])
    recipe = config.recipe.replace(epochs=probe.decision.epochs)
    _set_schedule(model, recipe, data.train_info.steps_per_epoch)
    data.restart(1)
    return recipe, probe.decision


def _set_schedule(model, recipe, steps_per_epoch):
    """Gives the compiled model `recipe`'s learning-rate schedule; the next `fit` traces anew."""
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)  # under loss scaling
    optimizer.learning_rate = make_schedule(recipe, steps_per_epoch, recipe.batch_size)
    model.make_train_function(force=True)


def _log_plan(config, recipe, data, strategy, initial_epoch, measuring):
    epochs = (
        f"the first epoch timed, then as many as a budget of "
        f"{budget.format_duration(config.time_budget)} allows,"
        if measuring else f"{recipe.epochs} epochs"
    )
    logging.info(
        "Training %s (%s) on %s: %s of %d steps, batch %d, peak LR %g, %d replica(s)%s.",
        recipe.model, recipe.name, config.data.source, epochs, data.train_info.steps_per_epoch,
        recipe.batch_size, recipe.scaled_learning_rate(), strategy.num_replicas_in_sync,
        f", resuming after epoch {initial_epoch}" if initial_epoch else "",
    )


def _plot(run_dir, run_history, config):
    """Draws curves.png from the history; its path, or None when there is nothing to draw."""
    if not run_history:
        return None
    plots.plot_history(run_history, run_dir.curves, title=f"{config.recipe.model} on {config.data.source}")
    return run_dir.curves


def _float32_copy(model, recipe, num_classes):
    """The same architecture and weights, float32, no strategy, no training-only settings."""
    with dtype_policy("float32"):
        clean = build_model(
            recipe.model, classes=num_classes, image_size=recipe.image_size,
            small_inputs=recipe.small_inputs,
        )
    clean.set_weights([keras.ops.convert_to_numpy(w) for w in model.weights])
    return clean


def _write_outputs(run_dir, config, recipe, decision, final, metrics, data, initial_epoch, skipped, seconds,
                   aware=None):
    """Saves model.keras (a QAT run: model_qat_int8.tflite), labels.txt and result.json;
    returns the model's path."""
    if aware is not None:
        model_path = qat.save_int8(aware, run_dir.root, data.train_info.class_names)
    else:
        model_path = run_dir.model
        with files.atomic_path(model_path) as tmp:
            input_contract.save_model(final, tmp)
    files.write_text(run_dir.labels, "\n".join(data.train_info.class_names) + "\n")
    files.write_json(run_dir.result, {
        "top1": metrics["top1"], "top5": metrics["top5"],
        "num_examples": metrics["num_examples"], "eval_split": config.data.eval_split,
        "epochs": recipe.epochs, "initial_epoch": initial_epoch,
        "seconds_this_run": seconds, "skipped": skipped, "model": recipe.model,
        "recipe": recipe.name, "data": config.data.source, "backend": keras.config.backend(),
        "time_budget": decision.to_json() if decision else None,
    })
    return model_path


def _diverged_message(guard, ckpt_dir, recipe):
    epoch, batch, loss = guard.where
    state = checkpoint.read_state(ckpt_dir)
    kept = (
        f"The last good checkpoint (after epoch {state['epoch']}) is kept in {ckpt_dir}; running "
        "the same command again resumes from it."
        if state
        else "No checkpoint had been saved yet."
    )
    return (
        f"Training diverged: the loss became {loss} at epoch {epoch + 1}, batch {batch + 1}, and "
        f"training stopped. {kept} Try a lower learning rate (peak now "
        f"{recipe.scaled_learning_rate():g}), more warmup, or no mixed precision."
    )


def train(config):
    """Trains `config.recipe` on `config.data`; resumes from `config.model_dir` if it has a checkpoint.

    Returns a `TrainResult`. Raises `TrainingDiverged` on a NaN/Inf loss.
    """
    started = time.time()
    strategy = _start_runtime(config.runtime, config.seed)
    chief = distribute.is_chief(strategy)
    run_dir = RunDir(config.model_dir)

    # Resume: the checkpoint, and the number of epochs a time budget fixed.
    state = checkpoint.read_state(run_dir.checkpoints)
    decision = _recorded_budget(config, run_dir, state)
    recipe = config.recipe.replace(epochs=decision.epochs) if decision else config.recipe
    initial_epoch = min(state["epoch"], recipe.epochs) if state else 0

    data = _load_data(config, initial_epoch)
    fingerprint = _fingerprint(config, data.num_classes)
    if chief:
        _write_config(run_dir, config, data.train_info)

    build_started = time.time()
    # --qat swaps the model step: a tf_keras model with fake quantization (tfmot).
    aware = _build_qat_model(config, recipe, data, state, run_dir, fingerprint) if config.qat else None
    model = aware.model if aware else _build_model(config, recipe, strategy, data, state, run_dir, fingerprint)
    if aware:  # the log and result.json name the model trained, not the qat recipe's default
        recipe = recipe.replace(model=aware.source.name)
    probe = None
    if config.time_budget is not None and decision is None:
        probe = _budget_probe(config, run_dir, chief, started, time.time() - build_started)
    guard, callbacks = _callbacks(config, run_dir, initial_epoch, fingerprint, chief, probe)
    if aware:
        callbacks = qat.tf_keras_callbacks(callbacks)
    _log_plan(config, recipe, data, strategy, initial_epoch, measuring=probe is not None)

    start = initial_epoch
    if probe:  # epoch 1, timed; the budget fixes the rest
        recipe, decision = _fit_timed_first_epoch(model, config, data, callbacks, probe)
        start = 1
    if guard.where is None and start < recipe.epochs:
        _fit(model, config, data, callbacks, start, recipe.epochs, _validated_epochs(config, recipe.epochs))

    run_history = history.read_history(run_dir.history) if chief else {}
    plot_path = _plot(run_dir, run_history, config) if chief else None
    if guard.where is not None:
        raise TrainingDiverged(_diverged_message(guard, run_dir.checkpoints, recipe))

    if aware:  # evaluated as trained: fake-quantized, as its int8 file computes
        final = model
    else:
        final = input_contract.attach(
            _float32_copy(model, recipe, data.num_classes),
            recipe.input_contract(tuple(data.train_info.class_names)),
        )
    metrics = evaluate_keras(final, data.eval, run_eagerly=config.runtime.run_eagerly)
    skipped = {"train": data.train_info.report_skipped(), "eval": data.eval_info.report_skipped()}
    seconds = time.time() - started
    model_path = None
    if chief:
        model_path = _write_outputs(
            run_dir, config, recipe, decision, final, metrics, data, initial_epoch, skipped, seconds, aware
        )
    logging.info(
        "Done: top-1 %.2f%%, top-%d %.2f%% on %d %s images (%.0f s%s).",
        100 * metrics["top1"], min(5, data.num_classes), 100 * metrics["top5"],
        metrics["num_examples"], config.data.eval_split, seconds,
        f"; the budget of {budget.format_duration(decision.budget_seconds)} set the epochs to {recipe.epochs}"
        if decision else "",
    )
    return TrainResult(
        model=final, metrics=metrics, history=run_history, initial_epoch=initial_epoch,
        seconds=seconds, skipped=skipped, model_path=model_path, plot_path=plot_path,
        history_path=run_dir.history if chief else None, budget=decision,
    )


def use_backend(backend):
    """Makes this program run on Keras backend `backend` ("tensorflow", "torch", "jax").

    Keras fixes its backend when it is first imported, which has happened by
    the time flags are parsed, so the program starts itself again, same
    command line, with KERAS_BACKEND set.
    """
    if backend is None or keras.config.backend() == backend:
        return
    if os.environ.get("KERAS_BACKEND") == backend:
        raise RuntimeError(f"KERAS_BACKEND={backend} is set but Keras runs on {keras.config.backend()}.")
    logging.info("Restarting on the Keras %s backend.", backend)
    sys.stdout.flush()
    sys.stderr.flush()
    PROGRAM_OUTPUT.close()  # the terminal back on descriptors 1 and 2 for the new process
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], {**os.environ, "KERAS_BACKEND": backend})


FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("model_dir", None, "Output folder; rerun with the same one to resume.")
    flags.DEFINE_enum("recipe", "digits", sorted(recipes.RECIPES), "Training recipe (with --qat: qat).")
    flags.DEFINE_string("data", "digits", "'digits', 'tfds:<name>' or an image folder.")
    flags.DEFINE_string("data_dir", None, "tensorflow-datasets data folder.")
    flags.DEFINE_string("train_split", "train", "Training split.")
    flags.DEFINE_string("eval_split", "test", "Evaluation split.")
    flags.DEFINE_string("model", None, "Model spec, e.g. v2_0.5, v1_1.0_g3 (default: the recipe's).")
    flags.DEFINE_integer("epochs", None, "Epochs (default: the recipe's).")
    flags.DEFINE_integer("batch_size", None, "Global batch size (default: the recipe's).")
    flags.DEFINE_float("learning_rate", None, "Peak learning rate per base batch (recipe's base_batch_size).")
    flags.DEFINE_integer("image_size", None, "Input size (default: the recipe's).")
    flags.DEFINE_enum("schedule", None, ["linear", "cosine", "constant"], "Learning-rate decay.")
    flags.DEFINE_float("warmup_epochs", None, "Warmup epochs.")
    flags.DEFINE_float("weight_decay", None, "L2 weight decay on kernels.")
    flags.DEFINE_float("label_smoothing", None, "Label smoothing.")
    flags.DEFINE_string("weights", None, "'imagenet' or a weights file: fine-tune with a new head.")
    flags.DEFINE_enum("mixed_precision", None, ["mixed_float16", "mixed_bfloat16"], "Mixed precision.")
    flags.DEFINE_bool("xla", None, "Compile the training step with XLA.")
    flags.DEFINE_integer("limit", None, "Train on the first N examples only.")
    flags.DEFINE_integer("eval_limit", None, "Evaluate on the first N examples only.")
    flags.DEFINE_integer("seed", 0, "Random seed.")
    flags.DEFINE_bool("deterministic", False, "Deterministic ops: bit-reproducible, slower.")
    flags.DEFINE_enum("strategy", "default", list(distribute.STRATEGIES), "tf.distribute strategy.")
    flags.DEFINE_string("tpu", None, "TPU name or address for --strategy=tpu.")
    flags.DEFINE_integer("cpu_replicas", None, "With --strategy=mirrored: split the CPU into N devices.")
    flags.DEFINE_integer("checkpoint_every", 1, "Checkpoint every N epochs.")
    flags.DEFINE_integer("eval_every", 1, "Evaluate every N epochs (0: only at the end).")
    flags.DEFINE_string(
        "time_budget", None,
        "Wall-clock budget for the whole run, e.g. 60m or 1h30m: the first epoch is timed and the "
        "number of epochs chosen to fit (recorded in the model directory; default: the recipe's epochs).",
    )
    flags.DEFINE_bool("cache", True, "Hold encoded images in memory when they fit.")
    flags.DEFINE_enum("sync_batchnorm", "auto", ["auto", "true", "false"],
                      "BatchNorm statistics over the global batch (auto: with several replicas).")
    flags.DEFINE_enum("verbose", "auto", ["auto", "0", "1", "2"], "Keras verbosity.")
    flags.DEFINE_bool("run_eagerly", False, "No tf.function (debugging, very short runs).")
    flags.DEFINE_enum(
        "backend", None, list(BACKENDS),
        "Keras backend to train on (default: KERAS_BACKEND, else tensorflow). On this CPU "
        "tensorflow trains ShuffleNet fastest (benchmarks/training_speed.py); others are for "
        "accelerators they suit. The saved model.keras loads on any backend, and the TFLite "
        "export runs on tensorflow.",
    )
    flags.DEFINE_string(
        "qat", None, "Quantization-aware training from this trained model: a run directory, a .keras "
        "file, or a .weights.h5 file of --model. Writes model_qat_int8.tflite.",
    )
    flags.mark_flag_as_required("model_dir")


def config_from_flags():
    if FLAGS.time_budget is not None and FLAGS.epochs is not None:
        raise app.UsageError("--epochs and --time_budget both set the run's length: give one.")
    recipe_name = "qat" if FLAGS.qat and not FLAGS["recipe"].present else FLAGS.recipe
    recipe = recipes.get(recipe_name).replace(
        model=FLAGS.model, epochs=FLAGS.epochs, batch_size=FLAGS.batch_size,
        learning_rate=FLAGS.learning_rate, image_size=FLAGS.image_size, schedule=FLAGS.schedule,
        warmup_epochs=FLAGS.warmup_epochs, weight_decay=FLAGS.weight_decay,
        label_smoothing=FLAGS.label_smoothing, weights=FLAGS.weights,
        mixed_precision=FLAGS.mixed_precision, xla=FLAGS.xla,
    )
    data = DataConfig(
        source=FLAGS.data, data_dir=FLAGS.data_dir, train_split=FLAGS.train_split,
        eval_split=FLAGS.eval_split, limit=FLAGS.limit, eval_limit=FLAGS.eval_limit, cache=FLAGS.cache,
    )
    runtime = RuntimeConfig(
        strategy=FLAGS.strategy, tpu=FLAGS.tpu, cpu_replicas=FLAGS.cpu_replicas,
        sync_batchnorm={"auto": "auto", "true": True, "false": False}[FLAGS.sync_batchnorm],
        deterministic=FLAGS.deterministic, run_eagerly=FLAGS.run_eagerly,
    )
    return TrainConfig(
        model_dir=FLAGS.model_dir, recipe=recipe, data=data, runtime=runtime, seed=FLAGS.seed,
        checkpoint_every=FLAGS.checkpoint_every, eval_every=FLAGS.eval_every,
        time_budget=FLAGS.time_budget,
        verbose=FLAGS.verbose if FLAGS.verbose == "auto" else int(FLAGS.verbose), qat=FLAGS.qat,
    )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    use_backend(FLAGS.backend)
    try:
        result = train(config_from_flags())
    except TrainingDiverged as error:
        logging.error("%s", error)
        print(f"ERROR: {error}", file=sys.stderr)
        return 3
    print(
        f"{format_accuracy(result.metrics, result.model.output_shape[-1])}  "
        f"on {result.metrics['num_examples']} images; model: {result.model_path}; "
        f"curves: {result.plot_path}; {math.ceil(result.seconds)} s"
    )
    return 0


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    with PROGRAM_OUTPUT:
        run()
