"""The Colab tutorials in colab/ run top to bottom, offline, and check their own results.

Each notebook reads `SHUFFLENET_TUTORIAL` (JSON) in its first code cell. Here it says:
use the installed package (no pip), and the small local stand-ins this module makes
for what the notebooks download on Colab: ImageNet weights already converted in the
Keras cache (`KERAS_HOME`, where `weights="imagenet"` looks first; random weights in
the published layout, so results are checked for shape and consistency, not for
ImageNet accuracy), an image folder of real photos' crops in place of `tf_flowers`,
small images and one epoch. The notebooks share one working folder, in order, as a
user's Colab runtime does (02 trains the model that 03 exports and 04 ships); each
also runs alone.
"""

import json
import os
import pathlib
import re
import resource
import time

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from keras_shufflenet import pretrained
from keras_shufflenet.pipelines import sources

COLAB = pathlib.Path(__file__).resolve().parents[1] / "colab"
NOTEBOOKS = sorted(COLAB.glob("*.ipynb"))
BADGE = "https://colab.research.google.com/github/keras-shufflenet/keras-shufflenet/blob/main/colab/{}"
CELL_TIMEOUT = 300
# What the notebooks load with weights="imagenet".
IMAGENET_MODELS = (("v2", 1.0, None), ("v1", 1.0, 3))
FLOWER_CLASSES = ("daisy", "dandelion", "roses", "sunflowers", "tulips")
IMAGES_PER_CLASS = 24
IMAGE_SIZE = 64


def _stand_in_weights(keras_home):
    """Converted `.weights.h5` files where `weights="imagenet"` finds them cached."""
    import keras

    import keras_shufflenet

    for family, width, groups in IMAGENET_MODELS:
        keras.utils.set_random_seed(0)
        if family == "v2":
            model = keras_shufflenet.ShuffleNetV2(width, weights=None)
        else:
            model = keras_shufflenet.ShuffleNetV1(width, groups=groups, weights=None)
        published = pretrained.PUBLISHED[(family, width, groups)]
        pretrained.save_weights_atomic(model, pretrained.converted_weights_path(published, keras_home))
        keras.backend.clear_session()


def _stand_in_flowers(root):
    """Five classes of real-photo crops (scikit-learn's two photos, a region per class)."""
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(0)
    images, labels = [], []
    for label in range(len(FLOWER_CLASSES)):
        photo = photos[label % 2]
        y0, x0 = (label // 2) * 100, (label * 97) % 300
        for _ in range(IMAGES_PER_CLASS):
            dy, dx = rng.integers(0, 40, 2)
            images.append(photo[y0 + dy : y0 + dy + 160, x0 + dx : x0 + dx + 160])
            labels.append(label)
    sources.write_image_folder(root, np.stack(images), labels, FLOWER_CLASSES)
    return root


@pytest.fixture(scope="module")
def tutorial_env(tmp_path_factory):
    """(working folder, environment) shared by the notebooks in order."""
    root = tmp_path_factory.mktemp("tutorials")
    keras_home = root / "keras_home"
    _stand_in_weights(keras_home)
    settings = {
        "package": "installed",
        "work_dir": str(root / "work"),
        "data": str(_stand_in_flowers(root / "flowers")),
        "train_split": "train",
        "eval_split": "test",
        "image_size": IMAGE_SIZE,
        "epochs": 1,
        "batch_size": 16,
        "benchmark_runs": 5,
    }
    env = {
        "SHUFFLENET_TUTORIAL": json.dumps(settings),
        "KERAS_HOME": str(keras_home),
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "MPLBACKEND": "Agg",
    }
    return root, env


def test_there_are_the_four_tutorials():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb", "02_finetune.ipynb", "03_int8_tflite.ipynb", "04_android.ipynb"
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_colab_ready_with_outputs_cleared(path):
    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and BADGE.format(path.name) in first.source
    time_note = re.search(r"\*\*Time:\*\*(.*?)\n\n", first.source + "\n\n", re.S)
    assert time_note and all(word in time_note.group(1) for word in ("Colab", "CPU", "GPU", "stimate"))
    install = next(c for c in notebook.cells if c.cell_type == "code")
    assert "pip" in install.source and "SHUFFLENET_TUTORIAL" in install.source
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: outputs not cleared"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_offline(path, tutorial_env, monkeypatch):
    root, env = tutorial_env
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if path.name == "04_android.ipynb":
        _require_mediapipe()
    notebook = nbformat.read(path, as_version=4)
    started, cpu = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    # A failing cell (an exception or a failed assert in the notebook) raises here.
    NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(root)}},
    ).execute()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"{path.name}: {time.time() - started:.1f} s wall, kernel CPU "
        f"{after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime:.1f} s; "
        f"slowest cells: {_slowest_cells(notebook)}"
    )


def _require_mediapipe():
    """Notebook 04 checks its file in MediaPipe, in the environment the MediaPipe test
    uses (made from PyPI on first use); without it the notebook cannot run."""
    from keras_shufflenet.tflite import mediapipe_client

    try:
        mediapipe_client.mediapipe_python()
    except mediapipe_client.MediaPipeUnavailable as error:
        pytest.skip(str(error))


def _slowest_cells(notebook, count=3):
    """'cell-03 12.1 s, ...' from the execution times nbclient records."""
    import datetime

    def seconds(cell):
        timing = cell.metadata.get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if not (start and end):
            return 0.0
        parse = lambda t: datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))  # noqa: E731
        return (parse(end) - parse(start)).total_seconds()

    timed = sorted(((seconds(c), c.id) for c in notebook.cells if c.cell_type == "code"), reverse=True)
    return ", ".join(f"{cell_id} {s:.1f} s" for s, cell_id in timed[:count])
