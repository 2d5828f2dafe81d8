"""Distributed training takes the step one device takes with the same global batch.

Five training programs run at once, all the same command for a tiny ShuffleNet
V2 0.5x (one step on a global batch of 32 digits, same initialization and data):
MirroredStrategy over two logical CPU devices and one device, both eager, and two
MultiWorkerMirroredStrategy workers on 127.0.0.1 and one device, in graph mode.
(Multi-worker needs the compiled step; MirroredStrategy over two CPU devices in
graph mode spent 300 s building its step on a 2-core machine, eager 12 s, and the
replicas are combined by the same strategy code either way.)

Compared: the trained models' loss on a fixed batch of held-out images, and
their weights, against how far the step moved the reference from its
initialization. Stated tolerance: loss |L - L_ref| <= 0.001 |L_ref - L_init|
(measured 2.5e-5); weights ||w - w_ref|| <= 0.02 ||w_ref - w_init|| (measured
0.0056, mostly the first convolution, whose BatchNorm sees near-constant
background pixels). Combining replicas wrongly would be far outside that: a
gradient summed instead of averaged doubles the first step (100% of it).

Why one step: the runs add the same numbers in other orders, so they differ by
rounding, and on this randomly initialized model each further step multiplied
such differences by about 1000 in our measurements (BatchNorm channels with
near-zero variance amplify rounding): after 4 steps even correct runs differed
by half the movement. Why BatchNorm is synchronized in every run, the reference included:
Keras computes synchronized statistics as E[x^2] - E[x]^2, which rounds
differently from unsynchronized ones.
"""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_shufflenet.pipelines import checkpoint, distribute, models
from keras_shufflenet.pipelines.data import build_dataset
from keras_shufflenet.pipelines.evaluate import load_keras_model

TIMEOUT = 900
SIZE = 16
COMMAND = [
    "--epochs=1", "--batch_size=32", "--learning_rate=0.05", "--limit=32", "--eval_limit=32",
    "--eval_every=0", "--sync_batchnorm=true", "--verbose=2", f"--image_size={SIZE}",
]


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:  # all open at once, so the ports differ
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def launch(model_dir, *flags, tf_config=None):
    """Starts the training program; its output goes to `model_dir`.log (a pipe could fill
    up and stall a worker while its peer waits for it)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    if tf_config:
        env["TF_CONFIG"] = json.dumps(tf_config)
    log = open(f"{model_dir}-{tf_config['task']['index'] if tf_config else 0}.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_shufflenet.pipelines.train", f"--model_dir={model_dir}",
         *COMMAND, *flags],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    process.log_path = log.name
    log.close()
    return process


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("distribute")
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    processes = {
        "reference": launch(root / "reference"),
        "reference_eager": launch(root / "reference_eager", "--run_eagerly"),
        "mirrored": launch(root / "mirrored", "--strategy=mirrored", "--cpu_replicas=2", "--run_eagerly"),
    }
    for i in range(2):
        processes[f"worker{i}"] = launch(
            root / "multi_worker", "--strategy=multi_worker",
            tf_config={"cluster": cluster, "task": {"type": "worker", "index": i}},
        )
    try:
        for p in processes.values():
            p.wait(timeout=TIMEOUT)
        logs = {name: open(p.log_path).read() for name, p in processes.items()}
    finally:
        for p in processes.values():
            if p.poll() is None:
                p.kill()
    for name, p in processes.items():
        assert p.returncode == 0, f"{name} failed:\n{logs[name][-5000:]}"
    return root, logs


def fixed_batch_loss(model):
    images, labels = next(iter(build_dataset(
        "digits", "test", training=False, image_size=SIZE, batch_size=32, limit=32
    )[0]))
    scores = model(images, training=False)
    return float(np.mean(keras.losses.sparse_categorical_crossentropy(labels, scores)))


def initial_model():
    keras.utils.set_random_seed(0)  # what the program does with its default --seed
    return models.build_model("v2_0.5", classes=10, image_size=SIZE, small_inputs=True)


def flat(model):
    return np.concatenate([np.ravel(w) for w in model.get_weights()])


def assert_same_training(model_dir, reference_dir):
    reference = load_keras_model(reference_dir / "model.keras")
    trained = load_keras_model(model_dir / "model.keras")
    start = initial_model()
    loss_init, loss_ref, loss = map(fixed_batch_loss, (start, reference, trained))
    assert abs(loss_ref - loss_init) > 1e-3, "the reference did not train"
    assert abs(loss - loss_ref) <= 1e-3 * abs(loss_ref - loss_init), (loss_init, loss_ref, loss)
    moved = np.linalg.norm(flat(reference) - flat(start))
    assert moved > 0
    assert np.linalg.norm(flat(trained) - flat(reference)) <= 0.02 * moved


def test_mirrored_over_two_cpu_devices_matches_one_device(runs):
    root, logs = runs
    assert "2 replica(s)" in logs["mirrored"]
    assert_same_training(root / "mirrored", root / "reference_eager")


def test_two_workers_match_one_device_and_only_the_chief_writes(runs):
    root, logs = runs
    assert "2 replica(s)" in logs["worker0"] and "2 replica(s)" in logs["worker1"]
    assert "model: None" in logs["worker1"]  # a non-chief worker writes nothing
    model_dir = root / "multi_worker"
    assert (model_dir / "curves.png").exists()
    assert checkpoint.read_state(model_dir / "checkpoints")["epoch"] == 1
    assert_same_training(model_dir, root / "reference")


def test_strategy_arguments_are_checked(monkeypatch):
    with pytest.raises(ValueError, match="choose one of"):
        distribute.make_strategy("horovod")
    with pytest.raises(ValueError, match="cpu_replicas is for the mirrored"):
        distribute.make_strategy("default", cpu_replicas=2)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs the TF_CONFIG"):
        distribute.make_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="not valid cluster JSON"):
        distribute.make_strategy("multi_worker")
    with pytest.raises(ValueError, match="needs tpu="):
        distribute.make_strategy("tpu")
    assert distribute.is_chief(distribute.make_strategy("default"))
