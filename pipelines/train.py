"""Train a ShuffleNet: `train(TrainConfig(...))` or the program.

    python -m keras_shufflenet.pipelines.train --model_dir=runs/digits               # offline demo
    python -m keras_shufflenet.pipelines.train --recipe=cifar10 \\
        --data=../shared/cifar10 --model_dir=runs/cifar10 --model=v2_0.5
    python -m keras_shufflenet.pipelines.train --recipe=imagenet --data=tfds:imagenet2012 \\
        --data_dir=~/tensorflow_datasets --model_dir=gs://... --strategy=mirrored
    python -m keras_shufflenet.pipelines.train --backend=jax ...     # another Keras backend

The model directory receives, as training goes:
  checkpoints/   resumable state after every `--checkpoint_every` epochs
  history.csv    one row per epoch: loss, accuracy, top-5, validation, LR, seconds
  logs/          TensorBoard
  config.json    the recipe and settings of the run
and at the end model.keras (float32, takes RGB pixels in [0, 255]),
labels.txt, curves.png (loss and accuracy) and result.json.

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

from absl import app, flags, logging

from keras_shufflenet.pipelines import checkpoint, distribute, files, history, plots, recipes
from keras_shufflenet.pipelines.recipes import Recipe

CHECKPOINT_DIR = "checkpoints"
HISTORY_FILE = "history.csv"
PLOT_FILE = "curves.png"
MODEL_FILE = "model.keras"
LABELS_FILE = "labels.txt"
RESULT_FILE = "result.json"
CONFIG_FILE = "config.json"
LOG_DIR = "logs"
BACKENDS = ("tensorflow", "torch", "jax")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One training run.

    Attributes:
        model_dir: where checkpoints, logs, curves and the final model go; a
            run started again with the same directory resumes.
        recipe: a `Recipe` or a recipe name ("digits", "cifar10", "imagenet",
            "finetune"); change fields with `recipe.replace(...)`.
        data: "digits", "tfds:<name>" or an image folder.
        data_dir: tensorflow-datasets data folder.
        train_split, eval_split: splits to train on and to evaluate on.
        limit, eval_limit: use only the first N examples (quick runs).
        seed: seeds initialization, shuffling and augmentation.
        deterministic: deterministic TensorFlow ops (reproducible to the bit,
            slower).
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
        checkpoint_every: save a resumable checkpoint every N epochs (and
            after the last).
        eval_every: evaluate on `eval_split` every N epochs during training,
            and after the last (0: only after training, outside the history).
        cache: hold the encoded images in memory when they fit.
        verbose: Keras verbosity: "auto", 0, 1 (progress bars) or 2 (one line
            per epoch).
        run_eagerly: run the training step without tf.function: slower steps
            but no tracing, which for a few steps of a small model (tests,
            debugging) costs more than it saves.
        callbacks: extra Keras callbacks.
    """

    model_dir: str
    recipe: object = "digits"
    data: str = "digits"
    data_dir: str = None
    train_split: str = "train"
    eval_split: str = "test"
    limit: int = None
    eval_limit: int = None
    seed: int = 0
    deterministic: bool = False
    strategy: str = "default"
    tpu: str = None
    cpu_replicas: int = None
    sync_batchnorm: object = "auto"
    checkpoint_every: int = 1
    eval_every: int = 1
    cache: bool = True
    verbose: object = "auto"
    run_eagerly: bool = False
    callbacks: tuple = ()

    def __post_init__(self):
        if not self.model_dir:
            raise ValueError("TrainConfig.model_dir is required.")
        if isinstance(self.recipe, str):
            object.__setattr__(self, "recipe", recipes.get(self.recipe))
        if not isinstance(self.recipe, Recipe):
            raise ValueError(f"TrainConfig.recipe must be a Recipe or a name; got {self.recipe!r}.")
        if self.strategy not in distribute.STRATEGIES:
            raise ValueError(
                f"TrainConfig.strategy must be one of {distribute.STRATEGIES}; got {self.strategy!r}."
            )
        for name in ("checkpoint_every",):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be an integer >= 1; got {getattr(self, name)!r}.")
        if not isinstance(self.eval_every, int) or self.eval_every < 0:
            raise ValueError(f"TrainConfig.eval_every must be an integer >= 0; got {self.eval_every!r}.")
        if self.run_eagerly and self.strategy in ("multi_worker", "tpu"):
            raise ValueError(
                f"TrainConfig.run_eagerly does not work with strategy={self.strategy!r} (Keras "
                "needs the compiled step there); leave it False."
            )
        if self.sync_batchnorm not in ("auto", True, False):
            raise ValueError(
                f"TrainConfig.sync_batchnorm must be 'auto', True or False; got {self.sync_batchnorm!r}."
            )
        if self.verbose not in ("auto", 0, 1, 2):
            raise ValueError(f"TrainConfig.verbose must be 'auto', 0, 1 or 2; got {self.verbose!r}.")


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


def prepare_for_training(model, weight_decay, sync_batchnorm):
    """Adds L2 weight decay to kernels (not BatchNorm or biases) and, if asked, synchronizes BatchNorm.

    `weight_decay` has PyTorch's meaning (gradient += wd * w), so the penalty is
    wd / 2 * sum(w ** 2).
    """
    import keras

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
        "data": str(config.data),
        "seed": config.seed,
    }


def _with_options(dataset, num_classes):
    import tensorflow as tf

    options = tf.data.Options()
    # Every worker reads the same order and keeps its share of each global batch.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    one_hot = dataset.map(lambda x, y: (x, tf.one_hot(y, num_classes)))
    return one_hot.with_options(options)


def _build_datasets(config, initial_epoch):
    from keras_shufflenet.pipelines.data import build_dataset

    recipe = config.recipe
    common = dict(
        image_size=recipe.image_size, batch_size=recipe.batch_size, data_dir=config.data_dir,
        augment=recipe.augment, cache=config.cache, seed=config.seed,
    )
    train_ds, train_info = build_dataset(
        config.data, config.train_split, training=True, drop_remainder=True,
        limit=config.limit, start_epoch=initial_epoch, **common,
    )
    if train_info.steps_per_epoch < 1:
        raise ValueError(
            f"{config.data}/{config.train_split} has {train_info.num_examples} examples, fewer than "
            f"one batch of {recipe.batch_size}: lower the batch size."
        )
    eval_ds, eval_info = build_dataset(
        config.data, config.eval_split, training=False, limit=config.eval_limit, **common
    )
    if eval_info.num_classes != train_info.num_classes:
        raise ValueError(
            f"The {config.eval_split} split has {eval_info.num_classes} classes and "
            f"{config.train_split} {train_info.num_classes}."
        )
    return train_ds, train_info, eval_ds, eval_info


def _compile(model, recipe, steps_per_epoch, num_classes, run_eagerly=False):
    import keras

    from keras_shufflenet.pipelines.schedules import make_optimizer

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
    import tensorflow as tf

    model._symbolic_build(data_batch=element_spec)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    for name in ("train_step", "test_step"):
        step = getattr(model, name)
        setattr(model, name, lambda data, step=step: {
            k: tf.reshape(v, [1]) if v.shape.rank == 0 else v for k, v in step(data).items()
        })


def _float32_copy(model, recipe, num_classes):
    """The same architecture and weights, float32, no strategy, no training-only settings."""
    import keras

    from keras_shufflenet.pipelines.models import build_model

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        clean = build_model(
            recipe.model, classes=num_classes, image_size=recipe.image_size,
            small_inputs=recipe.small_inputs,
        )
    finally:
        keras.mixed_precision.set_global_policy(previous)
    clean.set_weights([keras.ops.convert_to_numpy(w) for w in model.weights])
    return clean


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


def _deterministic_ops(backend):
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        torch.use_deterministic_algorithms(True)
    # JAX on CPU is deterministic already.


def use_backend(backend):
    """Makes this program run on Keras backend `backend` ("tensorflow", "torch", "jax").

    Keras fixes its backend when it is first imported, which has happened by
    the time flags are parsed, so the program starts itself again, same
    command line, with KERAS_BACKEND set.
    """
    import keras

    if backend is None or keras.config.backend() == backend:
        return
    if os.environ.get("KERAS_BACKEND") == backend:
        raise RuntimeError(f"KERAS_BACKEND={backend} is set but Keras runs on {keras.config.backend()}.")
    logging.info("Restarting on the Keras %s backend.", backend)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], {**os.environ, "KERAS_BACKEND": backend})


def train(config):
    """Trains `config.recipe` on `config.data`; resumes from `config.model_dir` if it has a checkpoint.

    Returns a `TrainResult`. Raises `TrainingDiverged` on a NaN/Inf loss.
    """
    started = time.time()
    import keras

    if keras.config.backend() != "tensorflow" and config.strategy != "default":
        raise ValueError(
            f"strategy={config.strategy!r} is tf.distribute, which needs the TensorFlow backend; "
            f"Keras runs on {keras.config.backend()!r} here (KERAS_BACKEND)."
        )
    strategy = distribute.make_strategy(
        config.strategy, tpu=config.tpu, cpu_replicas=config.cpu_replicas
    )
    import tensorflow as tf

    from keras_shufflenet.pipelines import callbacks as callbacks_lib
    from keras_shufflenet.pipelines.evaluate import evaluate_keras
    from keras_shufflenet.pipelines.models import build_model

    recipe = config.recipe
    chief = distribute.is_chief(strategy)
    if config.deterministic:
        _deterministic_ops(keras.config.backend())
    keras.utils.set_random_seed(config.seed)
    model_dir = os.path.abspath(os.path.expanduser(config.model_dir))
    ckpt_dir = os.path.join(model_dir, CHECKPOINT_DIR)
    state = checkpoint.read_state(ckpt_dir)
    initial_epoch = min(state["epoch"], recipe.epochs) if state else 0
    train_ds, train_info, eval_ds, eval_info = _build_datasets(config, initial_epoch)
    num_classes = train_info.num_classes
    fingerprint = _fingerprint(config, num_classes)
    if chief:
        os.makedirs(model_dir, exist_ok=True)
        files.write_json(
            os.path.join(model_dir, CONFIG_FILE),
            {"recipe": dataclasses.asdict(recipe), "config": {
                k: v for k, v in dataclasses.asdict(config).items() if k not in ("recipe", "callbacks")
            }, "num_classes": num_classes, "class_names": train_info.class_names},
        )

    previous_policy = keras.mixed_precision.global_policy()
    if recipe.mixed_precision:
        keras.mixed_precision.set_global_policy(recipe.mixed_precision)
    try:
        with strategy.scope():
            model = build_model(
                recipe.model, classes=num_classes, image_size=recipe.image_size,
                small_inputs=recipe.small_inputs, weights=recipe.weights,
            )
            prepare_for_training(
                model, recipe.weight_decay,
                sync_batchnorm=(
                    strategy.num_replicas_in_sync > 1
                    if config.sync_batchnorm == "auto"
                    else config.sync_batchnorm
                ),
            )
            _compile(model, recipe, train_info.steps_per_epoch, num_classes, config.run_eagerly)
            train_ds = _with_options(train_ds, num_classes)
            if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
                _patch_for_multi_worker(model, train_ds.element_spec)
            if state:
                checkpoint.restore(model, ckpt_dir, state, fingerprint)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)

    guard = callbacks_lib.StopOnNaN()
    callbacks = [guard]
    history_path = os.path.join(model_dir, HISTORY_FILE)
    if chief:
        # History before the checkpoint: a run killed between the two has the row, and
        # the resumed run drops rows past its checkpoint.
        callbacks += [
            callbacks_lib.HistoryCSV(history_path, initial_epoch),
            callbacks_lib.EpochCheckpoint(ckpt_dir, config.checkpoint_every, fingerprint, guard),
            keras.callbacks.TensorBoard(os.path.join(model_dir, LOG_DIR), update_freq="epoch"),
        ]
    callbacks += list(config.callbacks)
    logging.info(
        "Training %s (%s) on %s: %d epochs of %d steps, batch %d, peak LR %g, %d replica(s)%s.",
        recipe.model, recipe.name, config.data, recipe.epochs, train_info.steps_per_epoch,
        recipe.batch_size, recipe.scaled_learning_rate(), strategy.num_replicas_in_sync,
        f", resuming after epoch {initial_epoch}" if initial_epoch else "",
    )
    model.fit(
        train_ds,
        epochs=recipe.epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=train_info.steps_per_epoch,
        shuffle=False,  # the dataset shuffles itself, by (seed, epoch)
        validation_data=_with_options(eval_ds, num_classes) if config.eval_every else None,
        validation_steps=eval_info.steps_per_epoch,  # the exact count: no "ran out of data" warning
        validation_freq=validation_epochs(config.eval_every, recipe.epochs),
        callbacks=callbacks,
        verbose=config.verbose,
    )
    run_history = history.read_history(history_path) if chief else {}
    plot_path = os.path.join(model_dir, PLOT_FILE) if chief and run_history else None
    if plot_path:
        plots.plot_history(run_history, plot_path, title=f"{recipe.model} on {config.data}")
    if guard.where is not None:
        raise TrainingDiverged(_diverged_message(guard, ckpt_dir, recipe))

    final = _float32_copy(model, recipe, num_classes)
    metrics = evaluate_keras(final, eval_ds, run_eagerly=config.run_eagerly)
    skipped = {"train": train_info.report_skipped(), "eval": eval_info.report_skipped()}
    seconds = time.time() - started
    model_path = None
    if chief:
        model_path = os.path.join(model_dir, MODEL_FILE)
        with files.atomic_path(model_path) as tmp:
            final.save(tmp)
        files.write_text(os.path.join(model_dir, LABELS_FILE), "\n".join(train_info.class_names) + "\n")
        files.write_json(
            os.path.join(model_dir, RESULT_FILE),
            {
                "top1": metrics["top1"], "top5": metrics["top5"],
                "num_examples": metrics["num_examples"], "eval_split": config.eval_split,
                "epochs": recipe.epochs, "initial_epoch": initial_epoch,
                "seconds_this_run": seconds, "skipped": skipped, "model": recipe.model,
                "recipe": recipe.name, "data": str(config.data), "backend": keras.config.backend(),
            },
        )
    logging.info(
        "Done: top-1 %.2f%%, top-%d %.2f%% on %d %s images (%.0f s).",
        100 * metrics["top1"], min(5, num_classes), 100 * metrics["top5"],
        metrics["num_examples"], config.eval_split, seconds,
    )
    return TrainResult(
        model=final, metrics=metrics, history=run_history, initial_epoch=initial_epoch,
        seconds=seconds, skipped=skipped, model_path=model_path, plot_path=plot_path,
        history_path=history_path if chief else None,
    )


FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("model_dir", None, "Output folder; rerun with the same one to resume.")
    flags.DEFINE_enum("recipe", "digits", sorted(recipes.RECIPES), "Training recipe.")
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
    flags.mark_flag_as_required("model_dir")


def config_from_flags():
    recipe = recipes.get(FLAGS.recipe).replace(
        model=FLAGS.model, epochs=FLAGS.epochs, batch_size=FLAGS.batch_size,
        learning_rate=FLAGS.learning_rate, image_size=FLAGS.image_size, schedule=FLAGS.schedule,
        warmup_epochs=FLAGS.warmup_epochs, weight_decay=FLAGS.weight_decay,
        label_smoothing=FLAGS.label_smoothing, weights=FLAGS.weights,
        mixed_precision=FLAGS.mixed_precision, xla=FLAGS.xla,
    )
    return TrainConfig(
        model_dir=FLAGS.model_dir, recipe=recipe, data=FLAGS.data, data_dir=FLAGS.data_dir,
        train_split=FLAGS.train_split, eval_split=FLAGS.eval_split, limit=FLAGS.limit,
        eval_limit=FLAGS.eval_limit, seed=FLAGS.seed, deterministic=FLAGS.deterministic,
        strategy=FLAGS.strategy, tpu=FLAGS.tpu, cpu_replicas=FLAGS.cpu_replicas,
        checkpoint_every=FLAGS.checkpoint_every, eval_every=FLAGS.eval_every, cache=FLAGS.cache,
        sync_batchnorm={"auto": "auto", "true": True, "false": False}[FLAGS.sync_batchnorm],
        verbose=FLAGS.verbose if FLAGS.verbose == "auto" else int(FLAGS.verbose),
        run_eagerly=FLAGS.run_eagerly,
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
    from keras_shufflenet.pipelines.evaluate import format_accuracy

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
    run()
