"""Our exports in the TFLite Task Library's `ImageClassifier` (PyPI `tflite-support`
0.4.4, the Python face of Android's `org.tensorflow.lite.task.vision`), the second
real reader of the metadata beside MediaPipe: it must read the label names and the
input normalization from the float32 and int8 files and score real images, prepared
by each file's input contract, as our own evaluation does.

`tflite-support` pins protobuf < 4 (TensorFlow needs newer), so it gets its own venv
(`keras_shufflenet.tflite.client_venv`; the test skips, saying why, when it cannot be
made). Its native module links libusb-1.0 (for the Edge TPU); rather than a
system package, the venv takes it from PyPI (`libusb-package`) and the client loads
it before importing the Task Library.
"""

import json
import os
import subprocess

import numpy as np
import pytest
from export_models import build, float32_file, int8_file, path

from keras_shufflenet.pipelines.data import build_dataset
from keras_shufflenet.tflite import client_venv, export, metadata
from keras_shufflenet.tflite.device import runtime

VENV = os.environ.get("KERAS_SHUFFLENET_TASK_LIBRARY_VENV", client_venv.CACHE / "tflite-support-venv")
PACKAGES = ("tflite-support==0.4.4", "numpy<2", "libusb-package")
PRELOAD = (
    "import ctypes, os, libusb_package\n"
    "ctypes.CDLL(os.path.join(os.path.dirname(libusb_package.__file__), 'libusb-1.0.so'), "
    "mode=ctypes.RTLD_GLOBAL)\n"
)
CLIENT = PRELOAD + """
import json, sys
import numpy as np
from tflite_support.task import core, processor, vision

model, images = sys.argv[1], np.load(sys.argv[2])
options = vision.ImageClassifierOptions(
    base_options=core.BaseOptions(file_name=model),
    classification_options=processor.ClassificationOptions(max_results=-1))
classifier = vision.ImageClassifier.create_from_options(options)
results = []
for image in images:
    (head,) = classifier.classify(vision.TensorImage.create_from_array(np.ascontiguousarray(image))).classifications
    results.append([[c.index, c.category_name, c.score] for c in head.categories])
print(json.dumps(results))
"""
NUM_IMAGES = 32


def normalized_float32_file():
    """A float32 export of a model that takes normalized input: the metadata carries
    ImageNet's mean and std, which the client must apply itself."""
    target = path("digits_v2_normalized_float32.tflite")
    if not os.path.exists(target):
        model = build(include_preprocessing=False)
        labels = tuple(f"digit {i}" for i in range(10))
        export.export_tflite(model, target, mode="float32", metadata=metadata.ClassifierMetadata(labels=labels))
    return target


@pytest.mark.parametrize("which", ["float32", "int8", "float32_normalized"])
def test_task_library_reads_labels_and_normalization_and_matches_our_scores(which, tmp_path):
    try:
        python = client_venv.venv_python(VENV, PACKAGES, PRELOAD + "from tflite_support.task import vision")
    except client_venv.ClientUnavailable as error:
        pytest.skip(str(error))
    model_path = {"float32": float32_file, "int8": lambda: int8_file()[0],
                  "float32_normalized": normalized_float32_file}[which]()
    meta = metadata.read_metadata(model_path)
    contract = meta["input_contract"]
    assert contract is not None and contract.labels == tuple(meta["labels"])
    # The standard fields say the contract's normalization (stored as float32).
    np.testing.assert_allclose(meta["input"]["mean"], contract.mean, rtol=1e-6)
    np.testing.assert_allclose(meta["input"]["std"], contract.std, rtol=1e-6)
    # Camera pixels: real images resized and cropped as the contract says, not normalized
    # (the client normalizes them with the metadata's mean and std).
    pixels_contract = contract.replace(mean=(0.0,), std=(1.0,))
    dataset, _ = build_dataset("digits", "test", training=False, contract=pixels_contract,
                               batch_size=NUM_IMAGES, limit=NUM_IMAGES)
    images = np.clip(np.round(next(iter(dataset))[0].numpy()), 0, 255).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    (tmp_path / "client.py").write_text(CLIENT)
    run = subprocess.run([str(python), str(tmp_path / "client.py"), model_path, str(tmp_path / "images.npy")],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])

    # Our evaluation path: the same pixels, normalized by the contract, through LiteRT.
    ours_in = (images.astype(np.float32) - np.float32(contract.mean)) / np.float32(contract.std)
    ours = runtime.TFLiteClassifier(model_path).predict(ours_in)
    assert contract.normalizes == (which == "float32_normalized")
    # Normalized in float32 in another order than ours: scores agree to 1e-4, not to
    # rounding; un-normalized pixels would be far off.
    atol = 1e-4 if contract.normalizes else 1e-5
    if contract.normalizes:
        unnormalized = runtime.TFLiteClassifier(model_path).predict(images.astype(np.float32))
        assert np.abs(unnormalized - ours).max() > 0.05
    for categories, scores in zip(results, ours):
        assert {index: name for index, name, _ in categories} == dict(enumerate(contract.labels))
        theirs = np.zeros(len(contract.labels), np.float32)
        for index, _, score in categories:
            theirs[index] = score
        np.testing.assert_allclose(theirs, scores, atol=atol)
    assert np.mean([c[0][0] for c in results] == ours.argmax(1)) >= 0.9
