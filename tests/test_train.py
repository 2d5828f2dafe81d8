"""The training program: recipes, schedule, weight decay, checkpoints, records, resume, NaN stop."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import keras_shufflenet
from keras_shufflenet import input_contract
from keras_shufflenet.pipelines import checkpoint, files, history, models, plots, recipes
from keras_shufflenet.pipelines.data import build_dataset
from keras_shufflenet.pipelines.evaluate import evaluate_keras
from keras_shufflenet.pipelines.schedules import WarmupDecay, make_optimizer
from keras_shufflenet.pipelines.train import (
    DataConfig,
    RuntimeConfig,
    TrainConfig,
    TrainingDiverged,
    prepare_for_training,
    train,
    validation_epochs,
)

# Small enough for seconds per epoch on 2 CPU cores.
TINY = recipes.DIGITS.replace(epochs=2, batch_size=32)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def tiny_v2():
    return keras_shufflenet.ShuffleNetV2(
        0.5, input_shape=(16, 16, 3), small_inputs=True, classes=10, include_preprocessing=True
    )


# --- recipes and schedule --------------------------------------------------------------------


def test_imagenet_recipe_is_the_papers():
    r = recipes.get("imagenet")
    assert (r.momentum, r.weight_decay, r.schedule, r.batch_size) == (0.9, 4e-5, "linear", 1024)
    assert r.scaled_learning_rate() == 0.5
    assert r.scaled_learning_rate(256) == 0.125  # linear scaling to the batch used
    cifar = recipes.get("cifar10")
    assert cifar.small_inputs and cifar.image_size == 32 and cifar.augment.crop_padding == 2
    assert recipes.get("finetune").weights == "imagenet"


def test_validation_runs_every_n_epochs_and_after_the_last():
    assert validation_epochs(2, 17) == [2, 4, 6, 8, 10, 12, 14, 16, 17]
    assert validation_epochs(1, 3) == [1, 2, 3]
    assert validation_epochs(5, 5) == [5]


def test_schedule_warmup_then_linear_or_cosine_to_zero():
    linear = WarmupDecay(peak=1.0, total_steps=10, warmup_steps=2, decay="linear")
    values = [float(linear(step)) for step in range(11)]
    np.testing.assert_allclose(values[:3], [0.5, 1.0, 1.0])
    np.testing.assert_allclose(values[6], 0.5)
    assert values[10] == 0.0 and all(a >= b for a, b in zip(values[1:], values[2:]))
    cosine = WarmupDecay(peak=2.0, total_steps=10, decay="cosine")
    np.testing.assert_allclose([float(cosine(s)) for s in (0, 5, 10)], [2.0, 1.0, 0.0], atol=1e-6)
    assert float(WarmupDecay(peak=0.3, total_steps=10, decay="constant")(9)) == pytest.approx(0.3)
    restored = WarmupDecay.from_config(linear.get_config())
    assert float(restored(6)) == pytest.approx(0.5)


def test_optimizer_follows_the_recipe():
    recipe = recipes.IMAGENET.replace(epochs=2, warmup_epochs=1.0)
    optimizer = make_optimizer(recipe, steps_per_epoch=5, batch_size=256)
    schedule = optimizer.learning_rate if callable(optimizer.learning_rate) else optimizer._learning_rate
    assert (schedule.total_steps, schedule.warmup_steps) == (10, 5)
    assert schedule.peak == pytest.approx(0.125)
    assert optimizer.momentum == 0.9


@pytest.mark.parametrize(
    "changes, match",
    [
        (dict(batch_size=0), "batch_size"),
        (dict(learning_rate=-1.0), "learning_rate"),
        (dict(schedule="step"), "schedule"),
        (dict(warmup_epochs=99), "warmup_epochs"),
        (dict(mixed_precision="float8"), "mixed_precision"),
        (dict(label_smoothing=1.0), "label_smoothing"),
        (dict(optimiser="adam"), "Unknown recipe field"),
    ],
)
def test_bad_recipe_values_are_named(changes, match):
    with pytest.raises(ValueError, match=match):
        recipes.DIGITS.replace(**changes)


def test_replace_ignores_unset_values_and_unknown_recipe_is_an_error():
    assert recipes.DIGITS.replace(epochs=None, batch_size=8).epochs == recipes.DIGITS.epochs
    with pytest.raises(ValueError, match="choose one of"):
        recipes.get("mnist")


# --- models and weight decay -----------------------------------------------------------------


def test_model_specs():
    assert models.parse_spec("v1_1.0_g3") == models.ModelSpec("v1", 1.0, 3)
    assert models.parse_spec("v2_0.5") == models.ModelSpec("v2", 0.5)
    assert models.parse_spec("mobilenet_v2_1.0").family == "mobilenet_v2"
    with pytest.raises(ValueError, match="expected 'v2_<width>'"):
        models.parse_spec("resnet50")
    model = models.build_model("v1_0.5_g3", classes=4, image_size=32, small_inputs=True)
    assert model.output_shape == (None, 4) and model.get_layer("preprocessing") is not None


def test_weight_decay_is_l2_on_kernels_only_with_pytorch_meaning():
    model = prepare_for_training(tiny_v2(), weight_decay=4e-5, sync_batchnorm=False)
    kernels = [w for w in model.trainable_weights if len(w.shape) > 1]
    expected = 4e-5 / 2 * sum(float(np.sum(np.square(w.numpy()))) for w in kernels)
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)
    assert all(w.regularizer is None for w in model.trainable_weights if len(w.shape) == 1)
    synced = prepare_for_training(tiny_v2(), weight_decay=0, sync_batchnorm=True)
    norms = [l for l in synced._flatten_layers() if isinstance(l, keras.layers.BatchNormalization)]
    assert norms and all(l.synchronized for l in norms) and not synced.losses


# --- checkpoints, history, files, plots ------------------------------------------------------


def small_compiled_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse")
    return model


def test_checkpoint_round_trip_includes_the_optimizer(tmp_path):
    model = small_compiled_model()
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=3, verbose=0)
    print_ = {"model": "x", "num_classes": 2}
    for epoch in (1, 2, 3):
        checkpoint.save(model, tmp_path, epoch=epoch, fingerprint=print_)
    assert sorted(os.listdir(tmp_path)) == [
        "epoch-0002.weights.h5", "epoch-0003.weights.h5", "state.json"
    ]
    state = checkpoint.read_state(tmp_path)
    assert state["epoch"] == 3
    fresh = small_compiled_model()
    checkpoint.restore(fresh, tmp_path, state, print_)
    assert len(model.optimizer.variables) == len(fresh.optimizer.variables) > 1  # iterations + momentum
    for a, b in zip(model.optimizer.variables, fresh.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert len(model.weights) == len(fresh.weights)
    for a, b in zip(model.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(fresh.optimizer.iterations.numpy()) == 3
    with pytest.raises(ValueError, match="different model.*num_classes: 2 -> 5"):
        checkpoint.restore(small_compiled_model(), tmp_path, state, {"model": "x", "num_classes": 5})
    os.remove(tmp_path / "epoch-0003.weights.h5")
    with pytest.raises(FileNotFoundError, match="missing"):
        checkpoint.read_state(tmp_path)


def test_atomic_path_never_leaves_partial_files(tmp_path):
    target = tmp_path / "out.txt"
    files.write_text(target, "good")
    with pytest.raises(RuntimeError):
        with files.atomic_path(target) as tmp:
            open(tmp, "w").write("half")
            raise RuntimeError("killed")
    assert target.read_text() == "good" and os.listdir(tmp_path) == ["out.txt"]
    assert oct(os.stat(target).st_mode & 0o777) != oct(0o600)


def test_history_csv_round_trip_and_truncate(tmp_path):
    path = tmp_path / "history.csv"
    data = {"epoch": [1, 2, 3], "loss": [2.0, 1.5, float("nan")], "val_loss": [None, 1.7, None]}
    history.write_history(path, data)
    read = history.read_history(path)
    assert read["epoch"] == [1, 2, 3] and read["val_loss"] == [None, 1.7, None]
    assert np.isnan(read["loss"][2])
    assert history.truncate(read, 2)["loss"] == [2.0, 1.5]


def test_plot_history_writes_a_png(tmp_path):
    path = plots.plot_history(
        {"loss": [2.0, 1.0, float("nan")], "accuracy": [0.2, 0.5, None], "val_accuracy": [None, 0.4, 0.6]},
        tmp_path / "curves.png",
    )
    assert open(path, "rb").read(8) == PNG_MAGIC
    with pytest.raises(ValueError, match="No per-epoch values"):
        plots.plot_history({"loss": []}, tmp_path / "empty.png")


# --- training runs ---------------------------------------------------------------------------


def test_train_end_to_end_writes_everything(tmp_path):
    model_dir = tmp_path / "run"
    result = train(
        TrainConfig(
            model_dir=str(model_dir), recipe=TINY, data=DataConfig(limit=96, eval_limit=64), verbose=0
        )
    )
    names = set(os.listdir(model_dir))
    assert {"model.keras", "curves.png", "history.csv", "labels.txt", "result.json",
            "config.json", "checkpoints", "logs"} <= names
    assert open(model_dir / "curves.png", "rb").read(8) == PNG_MAGIC
    assert any("tfevents" in f for _, _, fs in os.walk(model_dir / "logs") for f in fs)
    assert (model_dir / "labels.txt").read_text().split() == [str(d) for d in range(10)]
    record = history.read_history(model_dir / "history.csv")
    assert record["epoch"] == [1, 2] and all(v is not None for v in record["val_accuracy"])
    assert record["learning_rate"][-1] == 0.0  # linear decay reaches 0 at the end
    assert result.history["loss"] == record["loss"]
    assert result.metrics["num_examples"] == 64
    # The reported top-1 is the trained model's on the 64 evaluation images, recounted here.
    eval_data, _ = build_dataset("digits", "test", training=False, image_size=TINY.image_size,
                                 batch_size=64, limit=64, augment=TINY.augment)
    (images, labels), = [(x.numpy(), y.numpy()) for x, y in eval_data]
    correct = int(np.sum(np.argmax(result.model.predict(images, verbose=0), axis=-1) == labels))
    assert result.metrics["top1"] == pytest.approx(correct / 64)
    assert json.loads((model_dir / "result.json").read_text())["top1"] == result.metrics["top1"]
    assert checkpoint.read_state(model_dir / "checkpoints")["epoch"] == 2

    loaded = keras.saving.load_model(model_dir / "model.keras", safe_mode=True)
    images = np.random.RandomState(0).uniform(0, 255, (4, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(images, verbose=0), result.model.predict(images, verbose=0), atol=1e-6)
    assert loaded.get_layer("stage2_unit1_branch2_0_bn").synchronized is False

    # The input contract is recorded in model.keras and kept on the returned model.
    contract = TINY.input_contract(tuple(str(d) for d in range(10)))
    assert input_contract.read(model_dir / "model.keras") == contract
    assert input_contract.get(result.model) == contract
    assert contract.crop_fraction == 1.0 != input_contract.DEFAULT_CROP_FRACTION
    # Evaluating model.keras with no recipe flag gives the number training reported,
    # and the default crop would not have (the digits recipe resizes the whole image).
    out = subprocess.run(
        [sys.executable, "-m", "keras_shufflenet.pipelines.evaluate", f"--model={model_dir / 'model.keras'}",
         "--data=digits", "--split=test", "--limit=64"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"top-1 {100 * result.metrics['top1']:.2f}%  top-5 {100 * result.metrics['top5']:.2f}%" in out.stdout
    assert "(16x16, crop 1)" in out.stdout and "warning" not in out.stderr and "note" not in out.stderr
    assert "Using new converter" not in out.stdout + out.stderr and "I0000" not in out.stderr


class PoisonWeights(keras.callbacks.Callback):
    """Makes the loss NaN from the first batch of `epoch` on."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            kernel = self.model.get_layer("fc").kernel
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))


def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path):
    model_dir = tmp_path / "run"
    config = TrainConfig(
        model_dir=str(model_dir), recipe=TINY.replace(epochs=3),
        data=DataConfig(limit=64, eval_limit=32), runtime=RuntimeConfig(run_eagerly=True),
        eval_every=0, verbose=0, callbacks=(PoisonWeights(epoch=1),),
    )
    with pytest.raises(TrainingDiverged, match=r"epoch 2, batch 1.*last good checkpoint \(after epoch 1\)"):
        train(config)
    state = checkpoint.read_state(model_dir / "checkpoints")
    assert state["epoch"] == 1
    model = tiny_v2()
    model.load_weights(model_dir / "checkpoints" / state["weights"], skip_mismatch=True)
    assert all(np.isfinite(w.numpy()).all() for w in model.weights)
    assert history.read_history(model_dir / "history.csv")["epoch"] == [1, 2]
    assert (model_dir / "curves.png").exists()
    assert not (model_dir / "model.keras").exists()


def test_too_few_examples_for_a_batch_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="fewer than one batch of 32"):
        train(TrainConfig(model_dir=str(tmp_path), recipe=TINY, data=DataConfig(limit=16)))


def test_bad_train_config():
    with pytest.raises(ValueError, match="strategy"):
        RuntimeConfig(strategy="horovod")
    with pytest.raises(ValueError, match="choose one of"):
        TrainConfig(model_dir="x", recipe="nope")
    with pytest.raises(ValueError, match="checkpoint_every"):
        TrainConfig(model_dir="x", checkpoint_every=0)


def train_command(model_dir):
    return [
        sys.executable, "-m", "keras_shufflenet.pipelines.train", f"--model_dir={model_dir}",
        "--epochs=4", "--batch_size=32", "--limit=64", "--eval_limit=32", "--eval_every=0",
        "--deterministic", "--run_eagerly", "--verbose=2",
    ]


def run_env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")


def test_killed_run_resumes_and_ends_with_the_uninterrupted_weights(tmp_path):
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference = subprocess.Popen(
        train_command(reference_dir), env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    victim = subprocess.Popen(
        train_command(killed_dir), env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    state_file = killed_dir / "checkpoints" / "state.json"
    deadline = time.time() + 300
    while time.time() < deadline and victim.poll() is None:
        if state_file.exists() and files.read_json(state_file)["epoch"] >= 1:
            break
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    output = victim.communicate()[0].decode()
    assert victim.returncode == -signal.SIGKILL, output
    killed_at = files.read_json(state_file)["epoch"]
    assert 1 <= killed_at < 4 and not (killed_dir / "model.keras").exists()

    resumed = subprocess.run(
        train_command(killed_dir), env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        timeout=300,
    )
    log = resumed.stdout.decode()
    assert resumed.returncode == 0, log
    assert f"Resumed from epoch-{killed_at:04d}.weights.h5 after epoch {killed_at}" in log
    # Reads like a tool: TensorFlow's import-time lines (oneDNN, the CUDA stub) went to its log.
    assert "I0000" not in log and "oneDNN" not in log and "cuda" not in log.lower(), log[:2000]
    assert reference.wait(timeout=300) == 0, reference.communicate()[0].decode()

    a = keras.saving.load_model(reference_dir / "model.keras")
    b = keras.saving.load_model(killed_dir / "model.keras")
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(wa.numpy(), wb.numpy(), err_msg=wa.path)
    assert history.read_history(killed_dir / "history.csv")["epoch"] == [1, 2, 3, 4]
    np.testing.assert_array_equal(
        history.read_history(killed_dir / "history.csv")["loss"],
        history.read_history(reference_dir / "history.csv")["loss"],
    )


def test_torch_backend_trains_and_its_model_exports_to_tflite(tmp_path):
    pytest.importorskip("torch")
    from keras_shufflenet.tflite.export import export_tflite
    from keras_shufflenet.tflite.device.runtime import TFLiteClassifier

    model_dir = tmp_path / "run"
    command = train_command(model_dir)
    command = [c for c in command if c not in ("--deterministic", "--run_eagerly")] + ["--backend=torch"]
    command[command.index("--epochs=4")] = "--epochs=1"
    run = subprocess.run(command, env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    log = run.stdout.decode()
    assert run.returncode == 0, log
    assert "Restarting on the Keras torch backend" in log
    assert json.loads((model_dir / "result.json").read_text())["backend"] == "torch"

    model = keras.saving.load_model(model_dir / "model.keras", safe_mode=True)  # on TensorFlow
    images = np.random.RandomState(0).uniform(0, 255, (3, 16, 16, 3)).astype("float32")
    path = export_tflite(model, tmp_path / "model.tflite", mode="float32")
    got = TFLiteClassifier(str(path)).predict(images)
    np.testing.assert_allclose(got, model.predict(images, verbose=0), atol=1e-5)


def test_distribution_needs_the_tensorflow_backend(tmp_path):
    command = train_command(tmp_path / "run") + ["--backend=torch", "--strategy=mirrored"]
    pytest.importorskip("torch")
    run = subprocess.run(command, env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    assert run.returncode != 0
    assert "needs the TensorFlow backend" in run.stdout.decode()
