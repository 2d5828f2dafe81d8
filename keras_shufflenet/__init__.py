"""keras-shufflenet: ShuffleNet V1 and V2 for Keras 3, from training to an int8 `.tflite`.

    import keras_shufflenet
    model = keras_shufflenet.ShuffleNetV2(1.0)
    model = keras_shufflenet.ShuffleNetV1(1.0, groups=3)

Names are imported on first use, so `keras_shufflenet.tflite.benchmark` runs on a
device that has only numpy and the LiteRT runtime (no Keras, no TensorFlow).
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "ShuffleNetV1": "keras_shufflenet.shufflenet_v1",
    "ShuffleNetV2": "keras_shufflenet.shufflenet_v2",
    "ChannelShuffle": "keras_shufflenet.layers",
    "ChannelSplit": "keras_shufflenet.layers",
    "GroupedPointwiseConv2D": "keras_shufflenet.layers",
    "PointwiseConv2D": "keras_shufflenet.layers",
    "BatchNormalization": "keras_shufflenet.layers",
    "count_flops": "keras_shufflenet.flops",
    "count_params": "keras_shufflenet.flops",
    "preprocess_input": "keras_shufflenet.preprocessing",
    "decode_predictions": "keras_shufflenet.preprocessing",
    "feature_model": "keras_shufflenet.features",
    "finetune_model": "keras_shufflenet.finetune",
    "set_trainable_stages": "keras_shufflenet.finetune",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'keras_shufflenet' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
