"""Run a `.tflite` classifier in MediaPipe Tasks' `ImageClassifier`, the engine of
Android's `com.google.mediapipe:tasks-vision`, to see what an app will see.

    from keras_shufflenet.tflite import mediapipe_client
    run = mediapipe_client.classify("model_int8.tflite", images)   # uint8 [N, H, W, 3]
    run.results[0]      # [(index, label, score), ...] of the first image, best first

`mediapipe` needs absl-py ~=2.3 while tensorflow-model-optimization pins
absl-py ~=1.2, so MediaPipe runs in its own virtual environment, made on first
use (`pip install mediapipe numpy`, from PyPI) and cached in
`~/.cache/keras_shufflenet/mediapipe-venv` (or `$KERAS_SHUFFLENET_MEDIAPIPE_VENV`);
the images go to it as a `.npy` file and the results come back as JSON.
"""

import dataclasses
import json
import os
import pathlib
import subprocess
import tempfile

import numpy as np

from keras_shufflenet.tflite import client_venv

VENV_VARIABLE = "KERAS_SHUFFLENET_MEDIAPIPE_VENV"
DEFAULT_VENV = client_venv.CACHE / "mediapipe-venv"
PACKAGES = ("mediapipe", "numpy")
CLASSIFY_TIMEOUT = 120

CLIENT = """
import json, sys
import numpy as np
import mediapipe as mp
from mediapipe.tasks import python as mp_tasks
from mediapipe.tasks.python import vision

model, images = sys.argv[1], np.load(sys.argv[2])
options = vision.ImageClassifierOptions(
    base_options=mp_tasks.BaseOptions(model_asset_path=model), max_results=-1)
results = []
with vision.ImageClassifier.create_from_options(options) as classifier:
    for image in images:
        mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(image))
        (head,) = classifier.classify(mp_image).classifications
        results.append([[c.index, c.category_name, c.score] for c in head.categories])
print(json.dumps({"version": mp.__version__, "results": results}))
"""


# MediaPipe's environment cannot be made or does not import; the message says why.
MediaPipeUnavailable = client_venv.ClientUnavailable


@dataclasses.dataclass(frozen=True)
class MediaPipeRun:
    """What MediaPipe's ImageClassifier said.

    Attributes:
        version: the mediapipe package's version.
        results: per image, every category as `(index, label, score)`, best
            first (MediaPipe's order; equal scores in its own order).
    """

    version: str
    results: list

    def scores(self, num_classes):
        """Scores as a float32 `[N, num_classes]` array, by class index."""
        scores = np.zeros((len(self.results), num_classes), np.float32)
        for row, categories in zip(scores, self.results):
            for index, _, score in categories:
                row[index] = score
        return scores

    def labels(self):
        """`{index: label}` as MediaPipe read them from the model's metadata."""
        return {index: label for categories in self.results for index, label, _ in categories}


def venv_path():
    return pathlib.Path(os.environ.get(VENV_VARIABLE) or DEFAULT_VENV)


def mediapipe_python():
    """The venv's python with mediapipe importable, made on first use.

    Raises:
        MediaPipeUnavailable: the venv cannot be made (no network to PyPI, no
            wheel for this platform) or mediapipe does not import in it.
    """
    return client_venv.venv_python(venv_path(), PACKAGES, "import mediapipe")


def classify(model_path, images, *, python=None, timeout=CLASSIFY_TIMEOUT):
    """Classifies `images` with MediaPipe's ImageClassifier reading `model_path`.

    Args:
        model_path: a `.tflite` image classifier with metadata (MediaPipe
            reads the label names and normalization from it).
        images: uint8 RGB images `[N, H, W, 3]` (camera frames); MediaPipe
            resizes them to the model's input itself.
        python: a Python with mediapipe; default `mediapipe_python()`.
        timeout: seconds allowed for the run.

    Returns:
        A `MediaPipeRun`.

    Raises:
        MediaPipeUnavailable: no MediaPipe environment.
        ValueError: bad images, or MediaPipe refused the model (its message).
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 [N, H, W, 3]; got {images.dtype} {list(images.shape)}")
    if not os.path.isfile(model_path):
        raise ValueError(f"{model_path}: no such .tflite file")
    python = python or mediapipe_python()
    with tempfile.TemporaryDirectory(prefix="mediapipe-client-") as work:
        np.save(os.path.join(work, "images.npy"), images)
        client = os.path.join(work, "client.py")
        with open(client, "w") as f:
            f.write(CLIENT)
        run = subprocess.run(
            [str(python), client, os.path.abspath(model_path), os.path.join(work, "images.npy")],
            capture_output=True, text=True, timeout=timeout,
        )
    if run.returncode != 0:
        raise ValueError(f"MediaPipe could not classify with {model_path}: {client_venv.last_line(run.stderr)}")
    payload = json.loads(run.stdout.strip().splitlines()[-1])
    results = [[(int(i), str(label), float(score)) for i, label, score in image] for image in payload["results"]]
    return MediaPipeRun(version=payload["version"], results=results)
