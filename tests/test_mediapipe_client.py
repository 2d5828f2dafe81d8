"""The exported int8 model (uint8 input, metadata) in the client Android apps use:
MediaPipe Tasks' ImageClassifier (PyPI `mediapipe`, the engine of Android's
`tasks-vision`). It must read the label names from the metadata and score real
images exactly as our own int8 evaluation does.

MediaPipe runs in its own virtual environment (`keras_shufflenet.tflite.mediapipe_client`:
absl-py conflicts), made once and cached; the test skips, saying why, when that
environment cannot be made.
"""

import numpy as np
import pytest
from export_models import int8_file

from keras_shufflenet.pipelines.data import build_dataset
from keras_shufflenet.tflite import mediapipe_client, metadata
from keras_shufflenet.tflite.device import runtime


def mediapipe_python():
    """The MediaPipe venv's python; skips, saying why, when it cannot be made."""
    try:
        return mediapipe_client.mediapipe_python()
    except mediapipe_client.MediaPipeUnavailable as error:
        pytest.skip(str(error))


def test_mediapipe_image_classifier_reads_labels_and_matches_our_int8():
    python = mediapipe_python()
    model_path = int8_file()[0]
    # Real images prepared as the file's input contract says (what an app reads).
    contract = metadata.read_metadata(model_path)["input_contract"]
    class_names = contract.labels
    dataset, _ = build_dataset("digits", "test", training=False, contract=contract, batch_size=48, limit=48)
    images = np.clip(np.round(next(iter(dataset))[0].numpy()), 0, 255).astype(np.uint8)  # camera frames
    run = mediapipe_client.classify(model_path, images, python=python)
    ours = runtime.TFLiteClassifier(model_path).predict(images.astype(np.float32))
    np.testing.assert_allclose(run.scores(len(class_names)), ours, atol=1e-6)
    unique_top = 0
    for categories, scores in zip(run.results, ours):
        # Every class, named from the labels file in the metadata.
        assert {index: name for index, name, _ in categories} == dict(enumerate(class_names))
        best = np.flatnonzero(scores == scores.max())
        if len(best) == 1:  # on a tie the order of equal scores is the client's choice
            unique_top += 1
            assert categories[0][0] == best[0]
    assert unique_top >= 0.8 * len(images)


def test_classify_refuses_bad_images_before_starting_mediapipe(tmp_path):
    with pytest.raises(ValueError, match=r"uint8 \[N, H, W, 3\]"):
        mediapipe_client.classify("m.tflite", np.zeros((2, 8, 8, 3), np.float32), python="unused")
    with pytest.raises(ValueError, match="no such .tflite"):
        mediapipe_client.classify(str(tmp_path / "m.tflite"), np.zeros((1, 8, 8, 3), np.uint8), python="unused")
