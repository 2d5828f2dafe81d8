"""Keras callbacks of the training program: NaN stop, resumable checkpoints, CSV history."""

import math
import time

import keras
import numpy as np

from keras_shufflenet.pipelines import checkpoint, history


class StopOnNaN(keras.callbacks.TerminateOnNaN):
    """`TerminateOnNaN` that remembers where the loss stopped being finite.

    `where` is None, or (epoch, batch, loss) of the first non-finite loss.
    """

    def __init__(self):
        super().__init__()
        self.where = None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if self.where is None and loss is not None and not math.isfinite(float(loss)):
            self.where = (self.epoch, batch, float(loss))
        super().on_batch_end(batch, logs)


def weights_are_finite(model):
    return all(np.isfinite(keras.ops.convert_to_numpy(v)).all() for v in model.weights)


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves a resumable checkpoint every `every` epochs and after the last one.

    Never saves a state reached through a non-finite loss or holding non-finite
    weights, so the last good checkpoint survives a divergence.
    """

    def __init__(self, directory, every, fingerprint, nan_guard):
        super().__init__()
        self.directory = directory
        self.every = every
        self.fingerprint = fingerprint
        self.nan_guard = nan_guard
        self.last_saved = None

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every and done != self.params.get("epochs"):
            return
        loss = (logs or {}).get("loss")
        if self.nan_guard.where is not None or (loss is not None and not math.isfinite(loss)):
            return
        if not weights_are_finite(self.model):
            return
        checkpoint.save(self.model, self.directory, epoch=done, fingerprint=self.fingerprint)
        self.last_saved = done


class HistoryCSV(keras.callbacks.Callback):
    """Writes `path` (CSV, one row per epoch, atomically) with the learning rate and epoch time.

    A run resumed after epoch k keeps the file's first k rows.
    """

    def __init__(self, path, initial_epoch=0):
        super().__init__()
        self.path = path
        self.history = history.truncate(history.read_history(path), initial_epoch)
        self.started = None

    def on_train_begin(self, logs=None):
        history.write_history(self.path, self.history)

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {k: float(v) for k, v in (logs or {}).items()}
        row["epoch"] = epoch + 1
        row["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row["seconds"] = round(time.perf_counter() - self.started, 3)
        rows = len(self.history.get("epoch", []))
        for key in set(self.history) | set(row):
            self.history.setdefault(key, [None] * rows).append(row.get(key))
        history.write_history(self.path, self.history)
