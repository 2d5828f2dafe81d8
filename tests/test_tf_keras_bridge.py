"""The tf_keras bridge (the first step of quantization-aware training, issue 13): a
Keras 3 ShuffleNet translated layer by layer gives the Keras outputs; models it cannot
take are refused with the layer named."""

import keras
import numpy as np
import pytest
from export_models import SIZE, build, digits

import keras_shufflenet
from keras_shufflenet.tflite import export, tf_keras_bridge


@pytest.mark.parametrize("family", ["v2", "v1"])
def test_bridge_gives_the_keras_outputs(family):
    model = build(family, activation=None)
    images = digits("test", 64)[0]
    legacy = tf_keras_bridge.translate(model)
    assert [layer.name for layer in legacy.layers] == [layer.name for layer in model.layers]
    assert np.abs(legacy.predict(images, verbose=0) - model.predict(images, verbose=0)).max() <= 1e-5
    # The input normalization as one affine op (for int8): the same map to float rounding.
    affine = tf_keras_bridge.translate(model, affine_inputs=True)
    assert type(affine.get_layer("preprocessing")).__name__ == "DepthwiseConv2D"
    normalized = keras.Model(model.input, model.get_layer("preprocessing").output).predict(images, verbose=0)
    affine_normalized = affine.get_layer("preprocessing")(images).numpy()
    assert np.abs(affine_normalized - normalized).max() <= 1e-6 * np.abs(normalized).max()
    # What quantization-aware training starts from: the int8 body (V1: the XNNPACK rewrites).
    body = export.int8_body(model)[0]
    legacy_body = tf_keras_bridge.translate(body)
    assert np.abs(legacy_body.predict(images, verbose=0) - body.predict(images, verbose=0)).max() <= 1e-5


def test_refuses_models_it_cannot_translate():
    backbone = keras_shufflenet.ShuffleNetV2(0.5, input_shape=(SIZE, SIZE, 3), small_inputs=True, classes=10)
    lambda_model = keras.Model(backbone.input, keras.layers.Lambda(lambda t: t * 2.0)(backbone.output))
    with pytest.raises(tf_keras_bridge.BridgeError, match="Lambda layer"):
        tf_keras_bridge.translate(lambda_model)

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.net = backbone

        def call(self, x):
            return self.net(x)

    with pytest.raises(tf_keras_bridge.BridgeError, match="Subclassed model; only functional models"):
        tf_keras_bridge.translate(Subclassed())
    nested = keras.Model(backbone.input, backbone(backbone.input))
    with pytest.raises(tf_keras_bridge.BridgeError, match="nested model"):
        tf_keras_bridge.translate(nested)
