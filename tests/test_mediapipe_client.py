"""The exported int8 model (uint8 input, metadata) in the client Android apps use:
MediaPipe Tasks' ImageClassifier (PyPI `mediapipe`, the engine of Android's
`tasks-vision`). It must read the label names from the metadata and score real
images exactly as our own int8 evaluation does.

`mediapipe` needs absl-py ~=2.3 while tensorflow-model-optimization pins
absl-py ~=1.2, so it lives in its own virtual environment, made once and
cached in ~/.cache/keras_shufflenet/mediapipe-venv (or $KERAS_SHUFFLENET_MEDIAPIPE_VENV).
The test skips, saying why, when that environment cannot be made.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from export_models import digits, int8_file

from keras_shufflenet.tflite.device import runtime

VENV = pathlib.Path(
    os.environ.get(
        "KERAS_SHUFFLENET_MEDIAPIPE_VENV",
        pathlib.Path.home() / ".cache" / "keras_shufflenet" / "mediapipe-venv",
    )
)
PACKAGES = ("mediapipe", "numpy")
INSTALL_TIMEOUT = 240

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


def _last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def mediapipe_python():
    """The venv's python with mediapipe importable, made on first use; skips if impossible."""
    python = VENV / "bin" / "python"
    if not python.exists():
        VENV.parent.mkdir(parents=True, exist_ok=True)
        staging = pathlib.Path(tempfile.mkdtemp(prefix=".mediapipe-venv-", dir=VENV.parent))
        try:
            subprocess.run([sys.executable, "-m", "venv", str(staging)], check=True, capture_output=True)
            install = subprocess.run(
                [str(staging / "bin" / "python"), "-m", "pip", "install", "-q", *PACKAGES],
                capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
            )
            if install.returncode != 0:
                pytest.skip(f"cannot install {' '.join(PACKAGES)} in a venv: {_last_line(install.stderr)}")
            os.replace(staging, VENV)  # only a complete environment gets the cached name
        except (subprocess.SubprocessError, OSError) as error:
            pytest.skip(f"cannot make a venv for mediapipe: {error}")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    check = subprocess.run([str(python), "-c", "import mediapipe"], capture_output=True, text=True)
    if check.returncode != 0:
        pytest.skip(f"mediapipe does not import in {VENV}: {_last_line(check.stderr)}")
    return python


def test_mediapipe_image_classifier_reads_labels_and_matches_our_int8(tmp_path):
    python = mediapipe_python()
    model_path = int8_file()[0]
    test_images, _, class_names = digits("test", 64)
    images = np.clip(np.round(test_images[:48]), 0, 255).astype(np.uint8)  # camera frames
    np.save(tmp_path / "images.npy", images)
    (tmp_path / "client.py").write_text(CLIENT)
    run = subprocess.run(
        [str(python), str(tmp_path / "client.py"), model_path, str(tmp_path / "images.npy")],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])["results"]

    ours = runtime.TFLiteClassifier(model_path).predict(images.astype(np.float32))
    unique_top = 0
    for categories, scores in zip(results, ours):
        assert len(categories) == len(class_names)
        # Label names come from the labels file in the metadata.
        assert {index: name for index, name, _ in categories} == dict(enumerate(class_names))
        theirs = np.zeros(len(class_names), np.float32)
        for index, _, score in categories:
            theirs[index] = score
        np.testing.assert_allclose(theirs, scores, atol=1e-6)
        best = np.flatnonzero(scores == scores.max())
        if len(best) == 1:  # on a tie the order of equal scores is the client's choice
            unique_top += 1
            assert categories[0][0] == best[0]
    assert unique_top >= 0.8 * len(images)
