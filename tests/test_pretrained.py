"""Pretrained weights: torchvision state dicts proven equal to an independent
PyTorch reference, `.weights.h5` loading, and `weights="imagenet"` downloaded
from a local server (never the network)."""

import copy
import dataclasses
import functools
import hashlib
import http.server
import os
import threading

import keras
import numpy as np
import pytest

import keras_shufflenet
from keras_shufflenet import mmpretrain_weights, pretrained, torchvision_weights

WIDTHS = (0.5, 1.0, 1.5, 2.0)
# torchvision's trainable parameter counts (../shared/SPEC.md).
TORCHVISION_PARAMS = {0.5: 1_366_792, 1.0: 2_278_604, 1.5: 3_503_624, 2.0: 7_393_996}
IMAGE_SIZE = 64


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """width -> (PyTorch reference model, its saved state dict path)."""
    torch = pytest.importorskip("torch")
    import torch_reference

    directory = tmp_path_factory.mktemp("torchvision")
    models = {}
    for seed, width in enumerate(WIDTHS):
        model = torch_reference.randomize(torch_reference.ShuffleNetV2(width), seed=seed)
        path = directory / f"shufflenetv2_{width}.pth"
        torch.save(model.state_dict(), path)
        models[width] = (model, path)
    return models


def _images(seed=0, count=2):
    return np.random.RandomState(seed).uniform(-2.0, 2.0, (count, IMAGE_SIZE, IMAGE_SIZE, 3))


def _torch_outputs(model, images, dtype):
    import torch

    model = copy.deepcopy(model).to(dtype)
    with torch.no_grad():
        x = torch.from_numpy(images.transpose(0, 3, 1, 2)).to(dtype)
        return model(x).numpy(), model.features(x).numpy().transpose(0, 2, 3, 1)


@pytest.fixture
def float64_keras():
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy().name
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_floatx(floatx)
    keras.config.set_dtype_policy(policy)


def test_reference_has_torchvisions_parameter_counts(reference):
    for width, (model, _) in reference.items():
        assert sum(p.numel() for p in model.parameters()) == TORCHVISION_PARAMS[width]


@pytest.mark.parametrize("width", WIDTHS)
def test_converted_weights_equal_the_pytorch_reference(reference, width, float64_keras):
    # In float64 on both sides, rounding drops out and any mapping mistake
    # (a transposed kernel, swapped BatchNorm statistics) shows as O(1).
    torch = pytest.importorskip("torch")
    model, path = reference[width]
    images = _images()
    logits, features = _torch_outputs(model, images, dtype=torch.float64)

    classifier = keras_shufflenet.ShuffleNetV2(width, weights=str(path), classifier_activation=None)
    got_logits = np.asarray(classifier(images))
    assert np.abs(got_logits - logits).max() <= 1e-4
    np.testing.assert_array_equal(
        np.argsort(-got_logits, axis=1)[:, :5], np.argsort(-logits, axis=1)[:, :5]
    )
    conv5 = keras.Model(classifier.input, classifier.get_layer("conv5_relu").output)
    assert np.abs(np.asarray(conv5(images)) - features).max() <= 1e-4


def test_include_top_false_features_equal_the_reference(reference, float64_keras):
    torch = pytest.importorskip("torch")
    model, path = reference[0.5]
    images = _images(seed=4)
    _, features = _torch_outputs(model, images, dtype=torch.float64)
    backbone = keras_shufflenet.ShuffleNetV2(0.5, weights=str(path), include_top=False)
    got = np.asarray(backbone(images))
    assert got.shape == features.shape == (2, IMAGE_SIZE // 32, IMAGE_SIZE // 32, 1024)
    assert np.abs(got - features).max() <= 1e-4


def test_float32_model_agrees_with_reference_to_rounding(reference):
    torch = pytest.importorskip("torch")
    model, path = reference[1.0]
    images = _images(seed=1, count=4).astype(np.float32)
    logits, _ = _torch_outputs(model, images, dtype=torch.float32)
    got = np.asarray(
        keras_shufflenet.ShuffleNetV2(1.0, weights=str(path), classifier_activation=None)(images)
    )
    # float32 rounding over 50 layers: relative, not absolute, agreement.
    assert np.abs(got - logits).max() <= 1e-4 * np.abs(logits).max()
    np.testing.assert_array_equal(np.argsort(-got, axis=1)[:, :5], np.argsort(-logits, axis=1)[:, :5])


def test_legacy_torch_save_format_loads_the_same(reference, tmp_path):
    torch = pytest.importorskip("torch")
    model, path = reference[0.5]
    legacy = tmp_path / "legacy.pth"
    torch.save(model.state_dict(), legacy, _use_new_zipfile_serialization=False)
    a = keras_shufflenet.ShuffleNetV2(0.5, weights=str(path))
    b = keras_shufflenet.ShuffleNetV2(0.5, weights=str(legacy))
    for x, y in zip(a.weights, b.weights):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_state_dict_for_another_width_is_refused(reference):
    _, path = reference[0.5]
    with pytest.raises(ValueError, match=r"width 0\.5, but the model has width 1\.0"):
        keras_shufflenet.ShuffleNetV2(1.0, weights=str(path))


def test_class_count_mismatch_names_both_numbers(reference):
    _, path = reference[0.5]
    with pytest.raises(ValueError, match=r"1000-class head.*classes=10"):
        keras_shufflenet.ShuffleNetV2(0.5, weights=str(path), classes=10)


def test_state_dict_with_foreign_keys_is_refused(reference, tmp_path):
    torch = pytest.importorskip("torch")
    model, _ = reference[0.5]
    state = dict(model.state_dict())
    state["extra.weight"] = torch.zeros(3)
    del state["stage3.1.branch2.4.running_var"]
    torch.save(state, tmp_path / "odd.pth")
    with pytest.raises(ValueError, match=r"missing 1 tensors.*running_var.*1 unexpected.*extra"):
        keras_shufflenet.ShuffleNetV2(0.5, weights=str(tmp_path / "odd.pth"))


def test_mapping_table_covers_every_weight_of_the_model_once():
    model = keras_shufflenet.ShuffleNetV2(0.5)
    rows = torchvision_weights.mapping()
    keras_names = [keras_name for _, keras_name, _ in rows]
    assert len(set(keras_names)) == len(keras_names)
    with_weights = {layer.name for layer in model.layers if layer.weights}
    assert set(keras_names) == with_weights
    tensors = sum(len(torchvision_weights.TENSORS[kind]) for _, _, kind in rows)
    assert tensors == len(model.weights)


def test_conversion_layouts():
    conv = np.arange(2 * 3 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 3)  # (out, in, kh, kw)
    (kernel,) = torchvision_weights.convert_layer(torchvision_weights.CONV, [conv])
    assert kernel.shape == (3, 3, 3, 2) and kernel[1, 2, 0, 1] == conv[1, 0, 1, 2]
    depthwise = np.arange(4 * 9, dtype=np.float32).reshape(4, 1, 3, 3)
    (kernel,) = torchvision_weights.convert_layer(torchvision_weights.DEPTHWISE, [depthwise])
    assert kernel.shape == (3, 3, 4, 1) and kernel[2, 0, 3, 0] == depthwise[3, 0, 2, 0]
    weight, bias = np.ones((10, 4)), np.arange(10.0)
    kernel, out_bias = torchvision_weights.convert_layer(torchvision_weights.LINEAR, [weight, bias])
    assert kernel.shape == (4, 10) and out_bias is bias


# --- .weights.h5 files ---------------------------------------------------------
@pytest.fixture(scope="module")
def keras_weights_file(tmp_path_factory):
    model = keras_shufflenet.ShuffleNetV2(0.5)
    rng = np.random.RandomState(0)
    for variable in model.weights:
        variable.assign(rng.uniform(0.5, 1.5, variable.shape).astype("float32"))
    path = tmp_path_factory.mktemp("h5") / "x0_5.weights.h5"
    model.save_weights(path)
    return path, {layer.name: [w.numpy() for w in layer.weights] for layer in model.layers}


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(include_top=False, include_preprocessing=True),
        dict(include_top=False, pooling="max"),
        dict(small_inputs=True, input_shape=(32, 32, 3)),
    ],
    ids=["no-top-preprocessing", "no-top-max-pool", "small-inputs"],
)
def test_keras_weights_file_loads_into_variants(keras_weights_file, kwargs):
    path, expected = keras_weights_file
    model = keras_shufflenet.ShuffleNetV2(0.5, weights=str(path), **kwargs)
    loaded = 0
    for layer in model.layers:
        if layer.weights:
            for got, want in zip(layer.weights, expected[layer.name]):
                np.testing.assert_array_equal(got.numpy(), want)
            loaded += 1
    has_head = any(layer.name == "fc" for layer in model.layers)
    assert loaded == sum(1 for w in expected.values() if w) - (0 if has_head else 1)


def test_keras_weights_file_class_mismatch_names_both_numbers(keras_weights_file):
    path, _ = keras_weights_file
    with pytest.raises(ValueError, match=r"has a 1000-class head, but the model was built with classes=7"):
        keras_shufflenet.ShuffleNetV2(0.5, weights=str(path), classes=7)


def test_keras_weights_file_of_another_width_names_the_layer(keras_weights_file):
    path, _ = keras_weights_file
    with pytest.raises(ValueError, match=r"does not fit layer 'stage2_unit0_branch\w+'.*another width"):
        keras_shufflenet.ShuffleNetV2(1.0, weights=str(path))


def test_unknown_weights_suffix_is_refused(tmp_path):
    path = tmp_path / "weights.npz"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"Unsupported weights file.*\.weights\.h5.*\.pth"):
        keras_shufflenet.ShuffleNetV2(0.5, weights=str(path))


# --- weights="imagenet", served from 127.0.0.1 ----------------------------------
class _Server:
    """Serves a folder over HTTP on 127.0.0.1 and records the requested paths."""

    def __init__(self, directory):
        self.requests = []
        requests = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                requests.append(self.path)

        handler = functools.partial(Handler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _serve_published(key, path, stem, digits, tmp_path, monkeypatch):
    """Serves `path` from 127.0.0.1 as `<stem>-<its sha256 prefix>.pth`, makes
    `PUBLISHED[key]` point there and the Keras cache a fresh folder."""
    served = tmp_path / "served"
    served.mkdir()
    data = path.read_bytes()
    name = f"{stem}-{hashlib.sha256(data).hexdigest()[:digits]}.pth"
    (served / name).write_bytes(data)
    server = _Server(served)
    _serve_as(monkeypatch, key, server.url + name)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return server, name


def _serve_as(monkeypatch, key, url):
    published = dataclasses.replace(pretrained.PUBLISHED[key], url=url)
    monkeypatch.setitem(pretrained.PUBLISHED, key, published)


@pytest.fixture
def imagenet_server(reference, tmp_path, monkeypatch):
    """torchvision's x0.5 file layout served locally, named by its real sha256."""
    server, name = _serve_published(
        ("v2", 0.5, None), reference[0.5][1], "shufflenetv2_x0.5", 10, tmp_path, monkeypatch
    )
    yield server, name
    server.close()


def test_imagenet_weights_download_verify_convert_then_cache_only(
    imagenet_server, reference, tmp_path, monkeypatch
):
    server, name = imagenet_server
    cache = tmp_path / "keras_home" / "models"
    model = keras_shufflenet.ShuffleNetV2(0.5, weights="imagenet", classifier_activation=None)
    assert server.requests == [f"/{name}"]
    converted = cache / f"{name[:-4]}.keras{pretrained.CONVERSION_VERSION}.weights.h5"
    assert sorted(os.listdir(cache)) == sorted([name, converted.name])

    _, path = reference[0.5]
    expected = torchvision_weights.convert_state_dict(
        pretrained.pth.load_state_dict(path), torchvision_weights.mapping()
    )
    for layer_name, weights in expected.items():
        for got, want in zip(model.get_layer(layer_name).get_weights(), weights):
            np.testing.assert_array_equal(got, want)

    # Later calls read the converted cache only: no request, no re-conversion.
    def no_fetch(*args, **kwargs):
        raise AssertionError("get_file called although the cache exists")

    monkeypatch.setattr(keras.utils, "get_file", no_fetch)
    monkeypatch.setattr(pretrained.pth, "load_state_dict", no_fetch)
    mtime = converted.stat().st_mtime_ns
    backbone = keras_shufflenet.ShuffleNetV2(0.5, weights="imagenet", include_top=False)
    assert server.requests == [f"/{name}"]
    assert converted.stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(backbone.get_layer("conv5_conv").kernel.numpy(), expected["conv5_conv"][0])


def test_imagenet_download_with_wrong_hash_is_deleted_and_nothing_cached(
    imagenet_server, tmp_path, monkeypatch
):
    server, name = imagenet_server
    wrong = name.replace(name.split("-")[1][:10], "0123456789")
    os.rename(tmp_path / "served" / name, tmp_path / "served" / wrong)
    _serve_as(monkeypatch, ("v2", 0.5, None), server.url + wrong)
    with pytest.raises(ValueError, match=r"does not start with 0123456789.*deleted and nothing was cached"):
        keras_shufflenet.ShuffleNetV2(0.5, weights="imagenet")
    assert server.requests == [f"/{wrong}"]
    assert os.listdir(tmp_path / "keras_home" / "models") == []


def test_imagenet_weights_for_unpublished_variants_are_refused():
    with pytest.raises(ValueError, match=r"No ImageNet weights for ShuffleNetV2 width 0.75\. "
                                         r"Published ones: ShuffleNetV2\(0\.5\), .*"
                                         r"ShuffleNetV1\(1\.0, groups=3\)"):
        pretrained.imagenet_weights_path("v2", 0.75)
    with pytest.raises(ValueError, match=r"ShuffleNetV1 width 1.0, groups=8"):
        pretrained.imagenet_weights_path("v1", 1.0, groups=8)


def test_published_table_names_carry_sha256_prefixes():
    for published in pretrained.PUBLISHED.values():
        assert pretrained._HASH_IN_NAME.search(published.name), published.name
        assert published.url.startswith("https://")


# --- Preprocessing that matches the weights -----------------------------------
def test_preprocess_input_is_torchvisions_normalization():
    pixels = np.random.RandomState(0).randint(0, 256, (2, 5, 5, 3)).astype(np.uint8)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    expected = (pixels / 255.0 - mean) / std  # torchvision: ToTensor() then Normalize
    got = keras_shufflenet.preprocess_input(pixels)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_include_preprocessing_takes_raw_pixels(reference):
    _, path = reference[0.5]
    pixels = np.random.RandomState(2).randint(0, 256, (2, IMAGE_SIZE, IMAGE_SIZE, 3)).astype("float32")
    outside = keras_shufflenet.ShuffleNetV2(0.5, weights=str(path))
    inside = keras_shufflenet.ShuffleNetV2(0.5, weights=str(path), include_preprocessing=True)
    np.testing.assert_allclose(
        inside(pixels), outside(keras_shufflenet.preprocess_input(pixels)), rtol=1e-5, atol=1e-6
    )


def test_decode_predictions_offline_in_keras_format(monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("decode_predictions tried to download")

    monkeypatch.setattr(keras.utils, "get_file", no_download)
    scores = np.full((2, 1000), 1e-4, dtype=np.float32)
    scores[0, [207, 1, 999]] = [0.7, 0.2, 0.05]
    scores[1, 517] = 0.9
    decoded = keras_shufflenet.decode_predictions(scores, top=3)
    assert [(wnid, name) for wnid, name, _ in decoded[0]] == [
        ("n02099601", "golden_retriever"),
        ("n01443537", "goldfish"),
        ("n15075141", "toilet_tissue"),
    ]
    assert decoded[0][0][2] == pytest.approx(0.7)
    assert decoded[1][0][:2] == ("n03126707", "crane")
    assert len(decoded[1]) == 3


def test_class_index_is_the_sorted_wordnet_ids_torchvision_trains_on():
    from keras_shufflenet import preprocessing

    index = preprocessing._imagenet_class_index()
    wnids = [wnid for wnid, _ in index]
    assert len(index) == 1000 and len(set(wnids)) == 1000
    assert wnids == sorted(wnids)  # ImageFolder's class order: sorted folder names
    assert index[0] == ("n01440764", "tench") and index[281] == ("n02123045", "tabby")


@pytest.mark.parametrize("shape", [(1000,), (2, 10)])
def test_decode_predictions_refuses_non_imagenet_scores(shape):
    with pytest.raises(ValueError, match=r"shape \(batch, 1000\)"):
        keras_shufflenet.decode_predictions(np.zeros(shape))


# --- ShuffleNet V1 from mmpretrain's layout -------------------------------------
@pytest.fixture(scope="module")
def v1_reference(tmp_path_factory):
    """An mmpretrain-layout V1 1.0x g3, saved as mmpretrain publishes: a legacy
    torch.save of {"meta": ..., "state_dict": ...}."""
    torch = pytest.importorskip("torch")
    import torch_reference

    model = torch_reference.randomize(torch_reference.MMPretrainShuffleNetV1(groups=3), seed=7)
    path = tmp_path_factory.mktemp("mmpretrain") / "shufflenet_v1.pth"
    checkpoint = {"meta": {"mmcls_version": "0.x", "CLASSES": ["tench", "goldfish"]},
                  "state_dict": model.state_dict()}  # fmt: skip
    torch.save(checkpoint, path, _use_new_zipfile_serialization=False)
    return model, path


def test_mmpretrain_v1_reference_has_its_published_parameter_count(v1_reference):
    model, _ = v1_reference
    # mmpretrain's metafile: 1.87M parameters for ShuffleNet V1 1.0x g3.
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 2) == 1.87


def test_mmpretrain_v1_weights_equal_the_pytorch_reference(v1_reference):
    # mmpretrain shuffles after the depthwise conv, we before it: the converter
    # permutes the depthwise weights; any other permutation is off by O(1).
    # (float32: TensorFlow's float64 grouped convolutions are too slow for CI.)
    torch = pytest.importorskip("torch")
    model, path = v1_reference
    images = _images(seed=3).astype(np.float32)
    logits, features = _torch_outputs(model, images, dtype=torch.float32)
    classifier = keras_shufflenet.ShuffleNetV1(
        1.0, groups=3, weights=str(path), classifier_activation=None
    )
    got = np.asarray(classifier(images))
    assert np.abs(got - logits).max() <= 1e-4 * np.abs(logits).max()
    np.testing.assert_array_equal(np.argsort(-got, axis=1)[:, :5], np.argsort(-logits, axis=1)[:, :5])
    backbone = keras_shufflenet.ShuffleNetV1(1.0, groups=3, weights=str(path), include_top=False)
    got_features = np.asarray(backbone(images))
    assert np.abs(got_features - features).max() <= 1e-4 * np.abs(features).max()


def test_shuffle_permutation_is_the_channel_shuffle():
    from keras_shufflenet.layers import ChannelShuffle

    x = np.arange(12, dtype=np.float32).reshape(1, 1, 1, 12)
    shuffled = np.asarray(ChannelShuffle(3)(x))[0, 0, 0]
    np.testing.assert_array_equal(shuffled, x[0, 0, 0][mmpretrain_weights.shuffle_permutation(12, 3)])


def test_mmpretrain_weights_for_other_groups_are_refused(v1_reference):
    _, path = v1_reference
    with pytest.raises(ValueError, match="do not fit layer"):
        keras_shufflenet.ShuffleNetV1(1.0, groups=8, weights=str(path))


def test_v1_imagenet_weights_come_from_mmpretrain(v1_reference, tmp_path, monkeypatch):
    _, path = v1_reference
    stem = "shufflenet_v1_batch1024_imagenet_20200804"
    server, name = _serve_published(("v1", 1.0, 3), path, stem, 8, tmp_path, monkeypatch)
    try:
        model = keras_shufflenet.ShuffleNetV1(1.0, groups=3, include_top=False, weights="imagenet")
    finally:
        server.close()
    assert server.requests == [f"/{name}"]
    expected = keras_shufflenet.ShuffleNetV1(1.0, groups=3, weights=str(path), include_top=False)
    for a, b in zip(model.weights, expected.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("kwargs", [dict(groups=8), dict(groups=3, shuffle=False)])
def test_v1_imagenet_weights_exist_only_for_1x_g3(kwargs):
    with pytest.raises(ValueError, match="only for width=1.0, groups=3"):
        keras_shufflenet.ShuffleNetV1(1.0, weights="imagenet", **kwargs)
