"""finetune_model: a new head, frozen and unfrozen stages, and training that
leaves frozen weights (and their BatchNorm statistics) untouched."""

import keras
import numpy as np
import pytest

import keras_shufflenet
from keras_shufflenet.finetune import finetune_model, model_stages, set_trainable_stages


def _base(**kwargs):
    return keras_shufflenet.ShuffleNetV2(0.5, input_shape=(32, 32, 3), **kwargs)


@pytest.fixture(scope="module")
def base():
    """Shared by tests that only build heads and set flags (never train)."""
    return _base()


def _trainable_layers(model):
    return {layer.name for layer in model.layers if layer.trainable and layer.weights}


def test_new_head_replaces_the_old_one(base):
    model = finetune_model(base, num_classes=3, dropout=0.2, classifier_activation=None)
    assert model.output.shape == (None, 3)
    assert model.get_layer("fc").units == 3
    assert [layer.name for layer in model.layers[-3:]] == ["avg_pool", "dropout", "fc"]


@pytest.mark.parametrize(
    "trainable_stages, stages",
    [
        ("all", ("stem", "stage2", "stage3", "stage4", "conv5")),
        ("none", ()),
        (0, ()),
        (2, ("stage4", "conv5")),
        (["stage3", "conv5"], ("stage3", "conv5")),
    ],
)
def test_trainable_stages(base, trainable_stages, stages):
    model = finetune_model(base, num_classes=4, trainable_stages=trainable_stages)
    assert set_trainable_stages(model, trainable_stages) == stages
    expected = {"fc"} | {
        layer.name for layer in model.layers
        if layer.weights and layer.name.startswith(tuple(f"{s}_" for s in stages) + (
            ("conv1_",) if "stem" in stages else ()))
    }
    assert _trainable_layers(model) == expected


def test_training_updates_only_unfrozen_stages_and_keeps_frozen_bn_statistics():
    model = finetune_model(_base(include_preprocessing=True), num_classes=2, trainable_stages=1)
    frozen = {v.path: v.numpy().copy() for layer in model.layers
              if not layer.name.startswith(("conv5_", "fc")) for v in layer.weights}
    # conv5's BatchNorm trains too: gamma, beta and its moving statistics move.
    trained = {v.path: v.numpy().copy() for name in ("conv5_conv", "conv5_bn", "fc")
               for v in model.get_layer(name).weights}
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", run_eagerly=True)
    rng = np.random.RandomState(0)
    model.fit(rng.uniform(0, 255, (8, 32, 32, 3)).astype("float32"), rng.randint(0, 2, 8),
              epochs=1, batch_size=8, verbose=0)
    for layer in model.layers:
        for v in layer.weights:
            if v.path in frozen:
                np.testing.assert_array_equal(v.numpy(), frozen[v.path], err_msg=v.path)
            elif v.path in trained:
                assert not np.array_equal(v.numpy(), trained[v.path]), v.path
    assert len(frozen) > 200 and len(trained) == 7


def test_unfreezing_later(base):
    model = finetune_model(base, num_classes=2, trainable_stages=0)
    assert _trainable_layers(model) == {"fc"}
    assert set_trainable_stages(model, 1) == ("conv5",)
    assert _trainable_layers(model) == {"fc", "conv5_conv", "conv5_bn"}


def test_shufflenet_v1_has_four_stages():
    base = keras_shufflenet.ShuffleNetV1(0.5, groups=3, input_shape=(32, 32, 3))
    model = finetune_model(base, num_classes=5, trainable_stages=1)
    assert model_stages(model) == ("stem", "stage2", "stage3", "stage4")
    assert model.output.shape == (None, 5)
    assert {n for n in _trainable_layers(model) if n != "fc"} == {
        layer.name for layer in model.layers if layer.weights and layer.name.startswith("stage4_")
    }


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_classes=0), "`num_classes` must be a positive integer"),
        (dict(num_classes=2, dropout=1.0), r"`dropout` must be in \[0, 1\)"),
        (dict(num_classes=2, trainable_stages=6), "from 0 to 5"),
        (dict(num_classes=2, trainable_stages=["stage9"]), "stage names from"),
        (dict(num_classes=2, trainable_stages="stage4"), "stage names from"),
    ],
)
def test_bad_arguments_are_refused(base, kwargs, message):
    with pytest.raises(ValueError, match=message):
        finetune_model(base, **kwargs)
