"""ShuffleNet V1 and V2 in plain PyTorch, for the training-speed comparison.

These are the tests' independent references (`tests/torch_reference.py`):
V2 in torchvision's layout, V1 in OpenMMLab mmpretrain's (megvii's unit), the
same models the weight-parity tests compare Keras against. PyTorch is an
optional extra: nothing in the library imports this file.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from torch_reference import V1_STAGE_CHANNELS, MMPretrainShuffleNetV1, ShuffleNetV2  # noqa: E402


def shufflenet_v2(width=1.0, num_classes=1000):
    return ShuffleNetV2(width, num_classes)


def shufflenet_v1(width=1.0, groups=3, num_classes=1000):
    if width != 1.0 or groups not in V1_STAGE_CHANNELS:
        raise ValueError(f"The PyTorch V1 covers width 1.0 with groups {sorted(V1_STAGE_CHANNELS)}.")
    return MMPretrainShuffleNetV1(groups, num_classes)


def from_spec(spec, num_classes=1000):
    """The PyTorch twin of a model spec: "v2_1.0", "v2_0.5", "v1_1.0_g3", ..."""
    family, width, *rest = spec.split("_")
    if family == "v2":
        return shufflenet_v2(float(width), num_classes)
    return shufflenet_v1(float(width), groups=int(rest[0][1:]), num_classes=num_classes)
