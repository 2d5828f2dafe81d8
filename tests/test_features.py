"""Stride 8/16/32 feature maps as a multi-output model."""

import numpy as np
import pytest

import keras_shufflenet
from keras_shufflenet.features import feature_model, level_stride, pyramid_layer_names


@pytest.fixture(scope="module")
def v2_backbone():
    return keras_shufflenet.ShuffleNetV2(0.5, include_top=False)


@pytest.mark.parametrize("family, channels", [("v2", (48, 96, 1024)), ("v1", (120, 240, 480))])
def test_feature_maps_have_strides_8_16_32(v2_backbone, family, channels):
    if family == "v2":
        model = v2_backbone
    else:
        model = keras_shufflenet.ShuffleNetV1(0.5, groups=3, include_top=False)
    pyramid = feature_model(model)
    assert list(pyramid.output) == ["P3", "P4", "P5"]
    maps = pyramid(np.random.RandomState(0).rand(2, 96, 128, 3).astype("float32"))
    for (level, feature_map), depth in zip(maps.items(), channels):
        stride = level_stride(level)
        assert tuple(feature_map.shape) == (2, 96 // stride, 128 // stride, depth)


def test_v2_levels_are_stage_ends_and_conv5(v2_backbone):
    assert pyramid_layer_names(v2_backbone) == {
        "P3": "stage2_unit3_shuffle",
        "P4": "stage3_unit7_shuffle",
        "P5": "conv5_relu",
    }


def test_feature_model_shares_weights_and_matches_the_backbone_output(v2_backbone):
    model = v2_backbone
    pyramid = feature_model(model, levels=("P5",))
    images = np.random.RandomState(1).rand(1, 64, 64, 3).astype("float32")
    np.testing.assert_allclose(pyramid(images)["P5"], model(images), rtol=1e-6, atol=1e-6)
    assert {id(w) for w in pyramid.weights} <= {id(w) for w in model.weights}


def test_small_inputs_levels_are_named_by_true_stride():
    model = keras_shufflenet.ShuffleNetV2(0.5, include_top=False, small_inputs=True,
                                          input_shape=(32, 32, 3))
    maps = feature_model(model)(np.zeros((1, 32, 32, 3), "float32"))
    assert {level: tuple(m.shape[1:3]) for level, m in maps.items()} == {
        "P1": (16, 16), "P2": (8, 8), "P3": (4, 4)
    }


def test_bad_levels_and_foreign_models_are_refused(v2_backbone):
    import keras

    with pytest.raises(ValueError, match=r"drawn from \('P3', 'P4', 'P5'\); got levels=\('P6',\)"):
        feature_model(v2_backbone, levels=("P6",))
    other = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)])
    with pytest.raises(ValueError, match="built by keras_shufflenet"):
        feature_model(other)
