"""The model directory of a training run: which file holds what, in one place.

    run = RunDir("runs/cifar10")
    run.model      # .../runs/cifar10/model.keras
    run.history    # .../runs/cifar10/history.csv

As training goes the directory receives:
  checkpoints/   resumable state after every `checkpoint_every` epochs
  history.csv    one row per epoch: loss, accuracy, top-5, validation, LR, seconds
  logs/          TensorBoard
  config.json    the recipe and settings of the run
  budget.json    with a time budget: the measured step time and the epochs chosen
and at the end model.keras (float32, takes RGB pixels in [0, 255]),
labels.txt, curves.png (loss and accuracy) and result.json.
"""

import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class RunDir:
    """Paths of one run's model directory (absolute, `~` expanded)."""

    root: str

    def __post_init__(self):
        object.__setattr__(self, "root", os.path.abspath(os.path.expanduser(os.fspath(self.root))))

    def _path(self, name):
        return os.path.join(self.root, name)

    @property
    def checkpoints(self):
        return self._path("checkpoints")

    @property
    def history(self):
        return self._path("history.csv")

    @property
    def curves(self):
        return self._path("curves.png")

    @property
    def model(self):
        return self._path("model.keras")

    @property
    def labels(self):
        return self._path("labels.txt")

    @property
    def result(self):
        return self._path("result.json")

    @property
    def config(self):
        return self._path("config.json")

    @property
    def budget(self):
        return self._path("budget.json")

    @property
    def logs(self):
        return self._path("logs")
