"""The published-weights catalogue: data only, importable without Keras, each
entry with its checksum, accuracy and evaluation transform."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from keras_shufflenet import catalogue, preprocessing, pretrained


def test_catalogue_imports_nothing_heavy():
    code = (
        "import sys, keras_shufflenet.catalogue as c; "
        "heavy = {'keras', 'tensorflow', 'numpy', 'h5py', 'torch'} & set(sys.modules); "
        "assert not heavy, heavy; print(c.IMAGENET_EVAL.crop_size)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "224"


def test_every_entry_has_source_checksum_accuracy_and_transform():
    assert pretrained.PUBLISHED is catalogue.PUBLISHED
    for (family, width, groups), entry in catalogue.PUBLISHED.items():
        assert family in ("v1", "v2") and (groups is None) == (family == "v2")
        assert entry.url.startswith("https://") and entry.name.endswith(".pth")
        assert len(entry.sha256_prefix) >= 8, entry.name
        assert 50 < entry.top1 < entry.top5 < 100
        assert entry.layout in pretrained.LAYOUTS
        assert isinstance(entry.eval_transform, catalogue.EvalTransform)


def test_imagenet_transform_is_the_normalization_the_models_use():
    transform = catalogue.IMAGENET_EVAL
    assert (transform.resize_size, transform.crop_size, transform.crop_fraction) == (256, 224, 0.875)
    assert transform.mean == preprocessing.PIXEL_MEAN and transform.std == preprocessing.PIXEL_STD
    np.testing.assert_allclose(transform.mean, [123.675, 116.28, 103.53])
    np.testing.assert_allclose(transform.std, [58.395, 57.12, 57.375])


def test_eval_transform_is_frozen_and_checked():
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalogue.IMAGENET_EVAL.crop_size = 192
    with pytest.raises(ValueError, match=r"crop_size <= resize_size; got crop_size=300"):
        catalogue.EvalTransform(256, 300, (0, 0, 0), (1, 1, 1))
    with pytest.raises(ValueError, match=r"3 means and 3 positive stds"):
        catalogue.EvalTransform(256, 224, (0, 0), (1, 1, 1))
