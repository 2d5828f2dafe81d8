"""keras-shufflenet: ShuffleNet V1 and V2 for Keras 3, from training to an int8 `.tflite`.

    import keras_shufflenet
    model = keras_shufflenet.ShuffleNetV2(1.0)
    model = keras_shufflenet.ShuffleNetV1(1.0, groups=3)

Names are imported on first use, so `keras_shufflenet.tflite.benchmark` runs on a
device that has only numpy and the LiteRT runtime (no Keras, no TensorFlow).

The custom layers are registered with Keras as soon as both packages are
imported, in either order, so `keras.saving.load_model("model.keras")` (safe
mode) works after `import keras, keras_shufflenet`: if Keras is imported
already, the layers are registered now; otherwise when Keras's own import
finishes (an import hook that removes itself), and never when Keras is not
imported at all (the benchmark tool).
"""

import importlib
import importlib.abc
import importlib.machinery
import sys

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
_LAYERS = "keras_shufflenet.layers"


class _RegisterLayersWithKeras(importlib.abc.MetaPathFinder):
    """Imports `keras_shufflenet.layers` (registering its layers) right after `keras` is imported.

    It stays installed until Keras is actually executed: TensorFlow looks Keras up with
    `importlib.util.find_spec` without importing it, and that lookup must not use it up.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return None
        exec_keras = spec.loader.exec_module

        def exec_module(module):
            exec_keras(module)
            sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _RegisterLayersWithKeras)]
            importlib.import_module(_LAYERS)

        spec.loader.exec_module = exec_module
        return spec


if "keras" in sys.modules:
    importlib.import_module(_LAYERS)
elif not any(isinstance(finder, _RegisterLayersWithKeras) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterLayersWithKeras())


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'keras_shufflenet' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
