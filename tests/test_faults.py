"""Faults a long run meets: SIGKILL at any moment (checkpoint writes included), a full
disk (ENOSPC) while a checkpoint, an export or the weight cache is written, and a
diverging loss, all through the public programs and library functions."""

import errno
import os
import random
import re
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import keras_shufflenet
from keras_shufflenet import pretrained
from keras_shufflenet.pipelines import checkpoint, files, history
from keras_shufflenet.tflite import export

# The smallest run of the training program: one batch of 32 16x16 digits per epoch.
EPOCHS = 8


def train_command(model_dir, *extra):
    return [
        sys.executable, "-m", "keras_shufflenet.pipelines.train", f"--model_dir={model_dir}",
        f"--epochs={EPOCHS}", "--batch_size=32", "--limit=32", "--eval_limit=32", "--eval_every=0",
        "--image_size=16", "--model=v2_0.5", "--deterministic", "--verbose=0", *extra,
    ]


def run_env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")


def _temporaries(directory):
    return [n for n in os.listdir(directory) if n.startswith(files.TEMPORARY_PREFIX)] if directory.exists() else []


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about 12 starts of the program; minutes on a shared 2-core machine
def test_ten_sigkills_in_graph_mode_end_with_the_uninterrupted_weights(tmp_path):
    """Killed at random moments and during checkpoint writes, resumed each time in the
    default graph mode: the last run ends with the weights of a run never killed."""
    rng = random.Random(0)
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    checkpoints = killed_dir / "checkpoints"
    reference = subprocess.Popen(train_command(reference_dir), env=run_env(), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
    kills, in_writes, epochs_at_kill = 0, 0, []
    deadline = time.time() + 1500
    while kills < 10:
        assert time.time() < deadline, f"only {kills} kills in the time allowed"
        # Even kills: at a random moment of start-up or training. Odd kills: while the
        # second checkpoint this run writes is a temporary file (the first one
        # is left to finish, so the run always gains an epoch).
        during_write = kills % 2 == 1
        victim = subprocess.Popen(train_command(killed_dir), env=run_env(), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        start, seen = time.time(), set()
        delay = rng.uniform(0.5, 8.0)
        while victim.poll() is None:
            if during_write:
                seen.update(n for n in _temporaries(checkpoints) if "weights.h5" in n)
                if len(seen) >= 2:
                    break
            elif time.time() - start > delay:
                break
            time.sleep(0.002)
        if victim.poll() is not None:
            assert victim.returncode == 0  # it finished before the kill: start again
            break
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        kills += 1
        if during_write and _temporaries(checkpoints):
            in_writes += 1
        state = checkpoint.read_state(checkpoints) if (checkpoints / "state.json").exists() else None
        epochs_at_kill.append(state["epoch"] if state else 0)
    assert kills >= 10 and in_writes >= 3, (kills, in_writes, epochs_at_kill)
    resumed = subprocess.run(train_command(killed_dir), env=run_env(), capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert reference.wait(timeout=600) == 0, reference.stderr.read().decode()[-3000:]
    assert not _temporaries(checkpoints)

    a = keras.saving.load_model(reference_dir / "model.keras")
    b = keras.saving.load_model(killed_dir / "model.keras")
    assert len(a.weights) == len(b.weights)
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(wa.numpy(), wb.numpy(), err_msg=wa.path)
    assert history.read_history(killed_dir / "history.csv")["epoch"] == list(range(1, EPOCHS + 1))
    np.testing.assert_array_equal(
        history.read_history(killed_dir / "history.csv")["loss"],
        history.read_history(reference_dir / "history.csv")["loss"],
    )


def test_diverging_run_exits_with_status_3_and_says_why(tmp_path):
    done = subprocess.run(
        train_command(tmp_path / "run", "--learning_rate=1e30", "--schedule=constant", "--warmup_epochs=0"),
        env=run_env(), capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 3, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1, done.stderr[-3000:]
    assert re.match(r"ERROR: Training diverged: the loss became (nan|inf) at epoch \d+, batch \d+", errors[0])
    assert "running the same command again resumes from it" in errors[0]
    assert not (tmp_path / "run" / "model.keras").exists()


# --- A full disk ----------------------------------------------------------------------------

def _fills_the_disk(path, data=b"\0" * 1000):
    """Writes part of `data` to `path`, then fails as a full disk does."""
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _small_compiled():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse")
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0)
    return model


def test_full_disk_during_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    model = _small_compiled()
    checkpoint.save(model, tmp_path, epoch=1, fingerprint={"model": "x"})
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
    monkeypatch.setattr(model, "save_weights", lambda path, overwrite=True: _fills_the_disk(path))
    with pytest.raises(files.DiskFullError, match=r"No space left.*epoch-0002\.weights\.h5.*the checkpoint after epoch 1 is kept"):
        checkpoint.save(model, tmp_path, epoch=2, fingerprint={"model": "x"})
    assert {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)} == before
    assert checkpoint.read_state(tmp_path)["epoch"] == 1


def test_full_disk_during_an_export_keeps_the_previous_model(tmp_path, monkeypatch):
    target = tmp_path / "model.tflite"
    export.write_atomically(target, b"TFL3 the previous model")
    real_open = open

    def full_disk_open(path, mode="r", *args, **kwargs):
        if "w" in mode:
            return _fills_the_disk(path)
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(export, "open", full_disk_open, raising=False)
    with pytest.raises(export.ExportError, match=r"model\.tflite.*No space left.*previous version is intact"):
        export.write_atomically(target, b"TFL3 the new model")
    assert target.read_bytes() == b"TFL3 the previous model"
    assert os.listdir(tmp_path) == ["model.tflite"]


def test_full_disk_while_caching_converted_weights_keeps_the_cache_entry(tmp_path, monkeypatch):
    model = keras_shufflenet.ShuffleNetV2(0.5, input_shape=(32, 32, 3), classes=10, weights=None)
    path = tmp_path / "models" / "converted.weights.h5"
    pretrained.save_weights_atomic(model, str(path))
    before = path.read_bytes()
    monkeypatch.setattr(model, "save_weights", lambda p, overwrite=True: _fills_the_disk(p))
    with pytest.raises(files.DiskFullError, match=r"converted\.weights\.h5; its previous version is intact"):
        pretrained.save_weights_atomic(model, str(path))
    assert path.read_bytes() == before and os.listdir(path.parent) == ["converted.weights.h5"]
