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
import shutil
import subprocess
import sys
import tempfile

import numpy as np

VENV_VARIABLE = "KERAS_SHUFFLENET_MEDIAPIPE_VENV"
DEFAULT_VENV = pathlib.Path.home() / ".cache" / "keras_shufflenet" / "mediapipe-venv"
PACKAGES = ("mediapipe", "numpy")
INSTALL_TIMEOUT = 300
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


class MediaPipeUnavailable(RuntimeError):
    """MediaPipe's environment cannot be made or does not import; the message says why."""


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


def _last_line(text):
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def venv_path():
    return pathlib.Path(os.environ.get(VENV_VARIABLE) or DEFAULT_VENV)


def _make_venv(staging):
    """A venv in `staging` with PACKAGES. Without `ensurepip` (Colab, Debian without
    python3-venv) the venv is made bare and this Python's pip installs into it."""
    made = subprocess.run([sys.executable, "-m", "venv", str(staging)], capture_output=True, text=True)
    python = staging / "bin" / "python"
    if made.returncode == 0:
        install = [str(python), "-m", "pip", "install", "-q", *PACKAGES]
    else:
        shutil.rmtree(staging, ignore_errors=True)
        bare = subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(staging)], capture_output=True, text=True
        )
        if bare.returncode != 0:
            raise MediaPipeUnavailable(f"cannot make a venv for mediapipe: {_last_line(bare.stderr)}")
        install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *PACKAGES]
    try:
        done = subprocess.run(install, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        raise MediaPipeUnavailable(
            f"installing {' '.join(PACKAGES)} took over {INSTALL_TIMEOUT} s"
        ) from error
    if done.returncode != 0:
        raise MediaPipeUnavailable(
            f"cannot install {' '.join(PACKAGES)} in a venv: {_last_line(done.stderr)}"
        )


def mediapipe_python():
    """The venv's python with mediapipe importable, made on first use.

    Raises:
        MediaPipeUnavailable: the venv cannot be made (no network to PyPI, no
            wheel for this platform) or mediapipe does not import in it.
    """
    venv = venv_path()
    python = venv / "bin" / "python"
    if not python.exists():
        venv.parent.mkdir(parents=True, exist_ok=True)
        staging = pathlib.Path(tempfile.mkdtemp(prefix=".mediapipe-venv-", dir=venv.parent))
        try:
            _make_venv(staging)
            os.replace(staging, venv)  # only a complete environment gets the cached name
        except OSError as error:
            raise MediaPipeUnavailable(f"cannot make a venv for mediapipe in {venv}: {error}") from error
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    check = subprocess.run([str(python), "-c", "import mediapipe"], capture_output=True, text=True)
    if check.returncode != 0:
        raise MediaPipeUnavailable(f"mediapipe does not import in {venv}: {_last_line(check.stderr)}")
    return python


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
        raise ValueError(f"MediaPipe could not classify with {model_path}: {_last_line(run.stderr)}")
    payload = json.loads(run.stdout.strip().splitlines()[-1])
    results = [[(int(i), str(label), float(score)) for i, label, score in image] for image in payload["results"]]
    return MediaPipeRun(version=payload["version"], results=results)
