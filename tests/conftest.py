import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
CIFAR10_TARBALL = SHARED_DATA / "cifar10-images.tar.gz"


@pytest.fixture(autouse=True)
def _clear_keras_session():
    yield
    import keras

    keras.backend.clear_session()


def requires_cifar10():
    return pytest.mark.skipif(
        not CIFAR10_TARBALL.exists(),
        reason=f"real CIFAR-10 images not present at {CIFAR10_TARBALL} (only beside the dev checkout)",
    )
