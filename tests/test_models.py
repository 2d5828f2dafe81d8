import keras
import numpy as np
import pytest

import keras_shufflenet
from keras_shufflenet import flops
from keras_shufflenet.shufflenet_v1 import shufflenet_v1_unit

TORCHVISION_PARAMS = {0.5: 1_366_792, 1.0: 2_278_604, 1.5: 3_503_624, 2.0: 7_393_996}


@pytest.mark.parametrize("width", sorted(TORCHVISION_PARAMS))
def test_v2_trainable_params_equal_torchvision(width):
    model = keras_shufflenet.ShuffleNetV2(width, input_shape=(224, 224, 3))
    assert flops.count_params(model) == TORCHVISION_PARAMS[width]


def test_v2_torchvision_layout():
    model = keras_shufflenet.ShuffleNetV2(0.5)
    convs = [l for l in model.layers if isinstance(l, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))]
    assert convs and all(not l.use_bias for l in convs)
    bns = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert bns and all(l.epsilon == 1e-5 for l in bns)
    # Every strided 3x3 is preceded by a symmetric 1-pixel pad: torchvision's padding=1.
    for layer in convs + [model.get_layer("maxpool")]:
        if layer.strides == (2, 2):
            assert layer.padding == "valid"
            pad = model.get_layer(layer.name.rsplit("_", 1)[0] + "_pad")
            assert pad.padding == ((1, 1), (1, 1))
    assert [l.name for l in model.layers if l.name.startswith("stage3_unit2")][:2] == [
        "stage3_unit2_split",
        "stage3_unit2_branch2_0_conv",
    ]


# Papers' complexities (MFLOPs = millions of multiply-accumulates at 224x224).
PAPER_MFLOPS = [
    ("v2", 0.5, 0, 41), ("v2", 1.0, 0, 146), ("v2", 1.5, 0, 299), ("v2", 2.0, 0, 591),
    ("v1", 1.0, 1, 143), ("v1", 1.0, 2, 140), ("v1", 1.0, 3, 137), ("v1", 1.0, 4, 133), ("v1", 1.0, 8, 137),
    ("v1", 0.5, 1, 38), ("v1", 0.5, 2, 38), ("v1", 0.5, 3, 38), ("v1", 0.5, 4, 38),
    ("v1", 0.25, 1, 13), ("v1", 0.25, 2, 13), ("v1", 0.25, 3, 13), ("v1", 0.25, 4, 13),
]


@pytest.mark.parametrize("family,width,groups,paper", PAPER_MFLOPS)
def test_flops_reproduce_papers_within_3_percent(family, width, groups, paper):
    model = flops.FamilyMember(family, width, groups).build(224)
    mflops = flops.count_flops(model) / 1e6
    assert abs(mflops / paper - 1) <= 0.03, f"{family} {width}x g{groups}: {mflops:.1f} vs {paper}"


@pytest.mark.parametrize(
    "width,params_millions", [(0.5, 0.7), (1.0, 1.9), (1.5, 3.4), (2.0, 5.4)]
)
def test_v1_g3_matches_official_release(width, params_millions):
    model = keras_shufflenet.ShuffleNetV1(width, groups=3, input_shape=(224, 224, 3))
    # megvii publishes one decimal place.
    assert abs(flops.count_params(model) / 1e6 - params_millions) <= 0.06


def test_flops_counter_counts_grouped_and_dense_layers():
    inputs = keras.Input((10, 10, 6))
    x = keras.layers.Conv2D(12, 3, padding="same", use_bias=False)(inputs)  # 100*9*6*12
    x = keras_shufflenet.GroupedPointwiseConv2D(6, groups=3)(x)  # 100*4*6
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)  # 100*9*6
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(5)(x)  # 6*5
    model = keras.Model(inputs, outputs)
    assert flops.count_flops(model) == 100 * 9 * 6 * 12 + 100 * 4 * 6 + 100 * 9 * 6 + 30


def test_flops_needs_fixed_input_size():
    with pytest.raises(ValueError, match="fixed input size"):
        flops.count_flops(keras_shufflenet.ShuffleNetV2(0.5))


def test_family_table_prints_all_members():
    members = (flops.FAMILY[2], flops.FAMILY[-4])
    text = flops.format_table(flops.family_table(224, members))
    assert "ShuffleNetV1 1.0x g=3" in text and "ShuffleNetV2 0.5x" in text
    assert "137.5" in text and "1,366,792" in text


@pytest.mark.parametrize(
    "kwargs,shape,expected",
    [
        ({}, (224, 224, 3), (1, 7, 7, 1024)),
        ({}, (160, 96, 3), (1, 5, 3, 1024)),
        ({}, (32, 32, 3), (1, 1, 1, 1024)),
        ({"small_inputs": True}, (32, 32, 3), (1, 4, 4, 1024)),
        ({"small_inputs": True}, (8, 8, 3), (1, 1, 1, 1024)),
    ],
)
def test_input_sizes_and_small_inputs(kwargs, shape, expected):
    model = keras_shufflenet.ShuffleNetV2(0.5, include_top=False, input_shape=shape, **kwargs)
    out = model(np.zeros((1,) + shape, "float32"))
    assert tuple(out.shape) == expected


def test_v1_non_square_and_pooling():
    model = keras_shufflenet.ShuffleNetV1(0.5, groups=8, include_top=False, pooling="avg",
                                          input_shape=(64, 96, 3))
    assert tuple(model(np.zeros((2, 64, 96, 3), "float32")).shape) == (2, 768)


def test_classifier_head_and_names():
    model = keras_shufflenet.ShuffleNetV2(1.0, classes=7, classifier_activation=None)
    assert model.name == "shufflenet_v2_x1_0"
    assert model.get_layer("fc").units == 7
    assert keras_shufflenet.ShuffleNetV1(0.25, groups=2).name == "shufflenet_v1_g2_x0_25"


def test_include_preprocessing_normalizes_raw_pixels():
    images = np.random.default_rng(0).uniform(0, 255, size=(2, 32, 32, 3)).astype("float32")
    raw = keras_shufflenet.ShuffleNetV2(0.5, input_shape=(32, 32, 3), include_preprocessing=True)
    plain = keras_shufflenet.ShuffleNetV2(0.5, input_shape=(32, 32, 3))
    plain.set_weights(raw.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(raw(images)),
        keras.ops.convert_to_numpy(plain(keras_shufflenet.preprocess_input(images))),
        atol=1e-5,
    )


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda: keras_shufflenet.ShuffleNetV2(0.75), r"width must be one of \[0.5, 1.0, 1.5, 2.0\]; got width=0.75"),
        (lambda: keras_shufflenet.ShuffleNetV1(1.0, groups=5), r"groups must be one of \(1, 2, 3, 4, 8\); got groups=5"),
        (lambda: keras_shufflenet.ShuffleNetV1(0.3), r"width must be one of .*; got width=0.3"),
        (lambda: keras_shufflenet.ShuffleNetV2(input_shape=(16, 16, 3)), r"16x16 is too small: the minimum is 32x32"),
        (lambda: keras_shufflenet.ShuffleNetV2(input_shape=(4, 8, 3), small_inputs=True), r"minimum is 8x8"),
        (lambda: keras_shufflenet.ShuffleNetV2(pooling="mean"), r"`pooling` must be one of \(None, 'avg', 'max'\); got pooling='mean'"),
        (lambda: keras_shufflenet.ShuffleNetV2(weights="imagenet", classes=10), r"`classes` must be 1000.*got classes=10"),
        (lambda: keras_shufflenet.ShuffleNetV2(weights="/no/such/file.h5"), r"got weights='/no/such/file.h5'"),
        (lambda: keras_shufflenet.ShuffleNetV2(classes=0), r"positive integer; got classes=0"),
    ],
)
def test_bad_arguments_raise_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def _stacked_v1_units(shuffle, groups=4, channels=32):
    inputs = keras.Input((6, 6, channels))
    x = inputs
    for i in range(3):
        x = shufflenet_v1_unit(x, channels, groups, strides=1, first_group_conv=True,
                               name=f"u{i}", shuffle=shuffle)
    return keras.Model(inputs, x)


@pytest.mark.parametrize("shuffle", [False, True])
def test_shuffle_is_what_lets_information_cross_groups(shuffle):
    """Perturbing input group 0 reaches other output groups only through the shuffle."""
    groups, channels = 4, 32
    keras.utils.set_random_seed(0)
    model = _stacked_v1_units(shuffle, groups, channels)
    x = np.random.default_rng(0).normal(size=(1, 6, 6, channels)).astype("float32")
    perturbed = x.copy()
    perturbed[..., : channels // groups] += 5.0
    delta = np.abs(keras.ops.convert_to_numpy(model(perturbed) - model(x)))
    per_group = delta.reshape(-1, groups, channels // groups).max(axis=(0, 2))
    assert per_group[0] > 1e-3
    if shuffle:
        assert (per_group[1:] > 1e-3).all(), per_group
    else:
        np.testing.assert_array_equal(per_group[1:], 0.0)
