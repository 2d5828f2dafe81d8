"""Resumable training state: atomic checkpoints of weights + optimizer, and the epoch.

A checkpoint is `epoch-NNNN.weights.h5` (model and optimizer variables, as
`model.save_weights` writes them) named by `state.json`. Both are written
through a temporary file and `os.replace`, weights first, so a run killed at
any moment leaves the previous consistent pair.
"""

import glob
import os
import time

from absl import logging

from keras_shufflenet.pipelines import files

STATE_FILE = "state.json"
KEEP = 2
# A checkpoint made with other values of these cannot continue this run.
STRICT_KEYS = ("model", "small_inputs", "num_classes", "weights")


def weights_name(epoch):
    return f"epoch-{epoch:04d}.weights.h5"


def read_state(directory):
    """The last saved state (dict with "epoch", "weights", "fingerprint") or None."""
    path = os.path.join(directory, STATE_FILE)
    if os.path.isdir(directory):
        files.remove_temporaries(directory)  # what writes killed by SIGKILL left; never read
    if not os.path.exists(path):
        return None
    state = files.read_json(path)
    if not os.path.exists(os.path.join(directory, state["weights"])):
        raise FileNotFoundError(
            f"{path} names {state['weights']}, which is missing; delete {directory} to start over."
        )
    return state


def save(model, directory, *, epoch, fingerprint, keep=KEEP):
    """Saves weights and optimizer state after `epoch` epochs; keeps the newest `keep` files."""
    name = weights_name(epoch)
    try:
        with files.atomic_path(os.path.join(directory, name)) as tmp:
            model.save_weights(tmp, overwrite=True)
    except files.DiskFullError as error:
        last = read_state(directory)
        kept = f"the checkpoint after epoch {last['epoch']} is kept to resume from" if last else "no checkpoint yet"
        raise files.DiskFullError(error.errno, f"{error.strerror} ({kept})") from error
    files.write_json(
        os.path.join(directory, STATE_FILE),
        {"epoch": epoch, "weights": name, "fingerprint": fingerprint, "saved": time.time()},
    )
    for old in sorted(glob.glob(os.path.join(directory, "epoch-*.weights.h5")))[:-keep]:
        os.remove(old)
    return os.path.join(directory, name)


def check_fingerprint(state, fingerprint, directory):
    saved = state.get("fingerprint", {})
    changed = {k: (saved.get(k), fingerprint.get(k)) for k in fingerprint if saved.get(k) != fingerprint.get(k)}
    strict = {k: v for k, v in changed.items() if k in STRICT_KEYS}
    if strict:
        details = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in strict.items())
        raise ValueError(
            f"{directory} holds a checkpoint of a different model ({details}); use another "
            "model directory or delete this one."
        )
    for key, (old, new) in changed.items():
        logging.warning("Resuming with %s=%r (the checkpoint was made with %r).", key, new, old)


def restore(model, directory, state, fingerprint):
    """Loads the checkpoint `state` into a compiled `model` (weights and optimizer)."""
    check_fingerprint(state, fingerprint, directory)
    # (A tf_keras optimizer, quantization-aware training's, has no `built`: its
    # `.weights.h5` holds the model's weights only, and the momentum restarts.)
    if model.optimizer is not None and not getattr(model.optimizer, "built", True):
        model.optimizer.build(model.trainable_variables)
    model.load_weights(os.path.join(directory, state["weights"]))
    logging.info("Resumed from %s after epoch %d.", state["weights"], state["epoch"])
