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
from test_pth import _Storage, _Tensor, write_zip_pth
from keras_shufflenet import (
    catalogue, input_contract, mmpretrain_weights, preprocessing, pretrained, torchvision_weights,
)

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


def write_torchvision_layout(path, width=0.5, seed=0):
    """A torchvision ShuffleNet V2 state dict written without PyTorch (`test_pth`'s
    writer): random values in every tensor torchvision has, in its shapes."""
    rng = np.random.default_rng(seed)
    model = keras_shufflenet.ShuffleNetV2(width, weights=None)
    obj, storages = {}, {}
    for torch_name, keras_name, kind in torchvision_weights.mapping():
        weights = model.get_layer(keras_name).get_weights()
        if kind in (torchvision_weights.CONV, torchvision_weights.DEPTHWISE):
            tensors = [np.transpose(weights[0], (3, 2, 0, 1) if kind == torchvision_weights.CONV else (2, 3, 0, 1))]
        elif kind == torchvision_weights.LINEAR:
            tensors = [weights[0].T, weights[1]]
        else:  # batchnorm: gamma, beta, mean, variance (positive)
            tensors = weights
        for suffix, tensor in zip(torchvision_weights.TENSORS[kind], tensors):
            values = np.abs(rng.normal(1, 0.1, tensor.shape)) if suffix == "running_var" else rng.normal(0, 0.1, tensor.shape)
            key = str(len(storages))
            storages[key] = values
            strides = tuple(int(np.prod(tensor.shape[i + 1:])) for i in range(tensor.ndim))
            obj[f"{torch_name}.{suffix}"] = _Tensor(_Storage(key, values.size), 0, tensor.shape, strides)
    return write_zip_pth(path, obj, storages) or path


@pytest.fixture
def imagenet_server(tmp_path, monkeypatch):
    """torchvision's x0.5 file layout (written without PyTorch) served locally, named by
    its real sha256."""
    source = write_torchvision_layout(tmp_path / "shufflenetv2_x0.5.pth")
    server, name = _serve_published(("v2", 0.5, None), source, "shufflenetv2_x0.5", 10, tmp_path, monkeypatch)
    server.source = source
    yield server, name
    server.close()


def test_imagenet_weights_download_verify_convert_then_cache_only(imagenet_server, tmp_path, monkeypatch):
    server, name = imagenet_server
    cache = tmp_path / "keras_home" / "models"
    model = keras_shufflenet.ShuffleNetV2(0.5, weights="imagenet", classifier_activation=None)
    assert server.requests == [f"/{name}"]
    converted = cache / f"{name[:-4]}.keras{pretrained.CONVERSION_VERSION}.weights.h5"
    assert sorted(os.listdir(cache)) == sorted([name, converted.name, converted.name + pretrained.HASH_SUFFIX])

    expected = torchvision_weights.convert_state_dict(
        pretrained.pth.load_state_dict(server.source), torchvision_weights.mapping()
    )
    for layer_name, weights in expected.items():
        for got, want in zip(model.get_layer(layer_name).get_weights(), weights):
            np.testing.assert_array_equal(got, want)

    # The model carries the publisher's evaluation transform as its input contract.
    contract = input_contract.get(model)
    assert (contract.image_size, contract.resize_size, contract.crop_fraction) == (224, 256, 0.875)
    assert (contract.mean, contract.std) == (preprocessing.PIXEL_MEAN, preprocessing.PIXEL_STD)
    assert len(contract.labels) == 1000 and contract.labels[0] == "tench"

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
    assert input_contract.get(backbone).labels is None
    raw = keras_shufflenet.ShuffleNetV2(
        0.5, weights="imagenet", include_preprocessing=True, input_shape=(160, 160, 3)
    )
    assert input_contract.get(raw) == contract.replace(image_size=160, mean=(0.0,), std=(1.0,))


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

    index = preprocessing.imagenet_class_index()
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


# --- ShuffleNet V1 from its authors' checkpoints (megvii-model/ShuffleNet-Series) ---
MEGVII_CONFIGS = tuple((width, groups) for (_, width, groups) in catalogue.MANUAL_DOWNLOADS)
MEGVII_SIZES = {0.5: "0.5x", 1.0: "1.0x", 1.5: "1.5x", 2.0: "2.0x"}
# ShuffleNetV1/README.md: #Params in millions, rounded to 0.1M.
MEGVII_PARAMS_M = {(0.5, 3): 0.7, (1.0, 3): 1.9, (1.5, 3): 3.4, (2.0, 3): 5.4,
                   (0.5, 8): 1.0, (1.0, 8): 2.4, (1.5, 8): 4.3, (2.0, 8): 6.5}  # fmt: skip


def _save_as_megvii(torch, state_dict, path):
    """As the authors saved their checkpoints in 2019: a legacy-format
    torch.save of {"state_dict": nn.DataParallel's state dict}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state_dict}, path, _use_new_zipfile_serialization=False)
    return path


@pytest.fixture(scope="module")
def megvii_reference(tmp_path_factory):
    """(width, groups) -> (the authors' network with random weights, its checkpoint),
    laid out as their OneDrive folder is (`ShuffleNetV1/Group3/models/1.0x.pth.tar`)."""
    torch = pytest.importorskip("torch")
    import torch_reference

    folder = tmp_path_factory.mktemp("onedrive")
    models = {}
    for seed, (width, groups) in enumerate(MEGVII_CONFIGS):
        model = torch_reference.MegviiShuffleNetV1(
            input_size=IMAGE_SIZE, model_size=MEGVII_SIZES[width], group=groups
        )
        torch_reference.randomize(model, seed=seed, image_size=IMAGE_SIZE, input_range=(0, 255))
        wrapped = torch.nn.DataParallel(model)  # on CPU only wraps: keys get "module."
        path = folder / catalogue.MANUAL_DOWNLOADS[("v1", width, groups)].file_name
        models[(width, groups)] = (model, _save_as_megvii(torch, wrapped.state_dict(), path))
    return models


def _pixels(seed=0, count=2):
    return np.random.RandomState(seed).uniform(0.0, 255.0, (count, IMAGE_SIZE, IMAGE_SIZE, 3))


def _megvii_outputs(model, pixels, dtype):
    """Logits and last-stage features of the authors' network, fed as they fed it: BGR 0..255."""
    import torch

    model = copy.deepcopy(model).to(dtype)
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(pixels[..., ::-1].transpose(0, 3, 1, 2))).to(dtype)
        return model(x).numpy(), model.feature_map(x).numpy().transpose(0, 2, 3, 1)


def test_megvii_reference_has_the_published_parameter_counts(megvii_reference):
    for config, (model, path) in megvii_reference.items():
        assert round(sum(p.numel() for p in model.parameters()) / 1e6, 1) == MEGVII_PARAMS_M[config]
        state = pretrained.pth.load_state_dict(path)
        assert list(state) == ["state_dict"] and open(path, "rb").read(1) == b"\x80"  # legacy
        assert all(key.startswith("module.") for key in state["state_dict"])
        assert pretrained.state_dict_layout(state) == "megvii"


@pytest.mark.parametrize("config", MEGVII_CONFIGS, ids=[f"{w}x-g{g}" for w, g in MEGVII_CONFIGS])
def test_megvii_checkpoints_equal_the_authors_network_in_float64(megvii_reference, config, float64_keras):
    # float64 on both sides: any permutation or layout mistake is O(1), rounding ~1e-13.
    torch = pytest.importorskip("torch")
    width, groups = config
    reference, path = megvii_reference[config]
    pixels = _pixels(seed=groups)
    logits, _ = _megvii_outputs(reference, pixels, torch.float64)
    model = keras_shufflenet.ShuffleNetV1(
        width, groups=groups, weights=str(path), classifier_activation=None
    )
    assert model.name.endswith("_megvii")
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == sum(p.numel() for p in reference.parameters()) + 1000  # + the fc bias
    # preprocess_input's normalization, in float64 (the model undoes it in its first layer).
    normalized = (pixels - np.asarray(catalogue.IMAGENET_EVAL.mean)) / np.asarray(catalogue.IMAGENET_EVAL.std)
    got = np.asarray(model(normalized))
    assert np.abs(got - logits).max() <= 1e-10, np.abs(got - logits).max()


@pytest.mark.parametrize("config", [(1.0, 3), (0.5, 8)], ids=["1.0x-g3", "0.5x-g8"])
def test_megvii_checkpoints_in_float32_with_and_without_preprocessing(megvii_reference, config):
    torch = pytest.importorskip("torch")
    width, groups = config
    reference, path = megvii_reference[config]
    pixels = _pixels(seed=5, count=4).astype(np.float32)
    logits, features = _megvii_outputs(reference, pixels, torch.float32)
    outside = keras_shufflenet.ShuffleNetV1(width, groups=groups, weights=str(path), classifier_activation=None)
    inside = keras_shufflenet.ShuffleNetV1(
        width, groups=groups, weights=str(path), classifier_activation=None, include_preprocessing=True
    )
    for got in (np.asarray(outside(keras_shufflenet.preprocess_input(pixels))), np.asarray(inside(pixels))):
        assert np.abs(got - logits).max() <= 1e-4 * np.abs(logits).max()
        np.testing.assert_array_equal(np.argsort(-got, axis=1)[:, :5], np.argsort(-logits, axis=1)[:, :5])
    backbone = keras_shufflenet.ShuffleNetV1(
        width, groups=groups, weights=str(path), include_top=False, include_preprocessing=True
    )
    got_features = np.asarray(backbone(pixels))
    assert got_features.shape == features.shape
    assert np.abs(got_features - features).max() <= 1e-4 * np.abs(features).max()


def test_megvii_shuffle_is_the_inverse_of_the_papers():
    from keras_shufflenet import megvii_weights
    from keras_shufflenet.layers import ChannelShuffle

    torch = pytest.importorskip("torch")
    import torch_reference

    x = np.arange(2 * 60, dtype=np.float32).reshape(1, 1, 2, 60)  # NHWC
    theirs = torch_reference.megvii_channel_shuffle(torch.from_numpy(x.transpose(0, 3, 1, 2)), 3)
    ours = ChannelShuffle(megvii_weights.megvii_shuffle_groups(60, 3))(x)
    np.testing.assert_array_equal(np.asarray(ours), theirs.numpy().transpose(0, 2, 3, 1))
    paper = np.asarray(ChannelShuffle(3)(x))
    np.testing.assert_array_equal(np.asarray(ChannelShuffle(20)(paper)), x)  # inverse permutations


def test_megvii_checkpoint_of_another_configuration_names_both(megvii_reference):
    _, path = megvii_reference[(0.5, 3)]
    with pytest.raises(ValueError, match=r"megvii's ShuffleNetV1 0\.5x g=3 checkpoint, but the model is "
                                         r"ShuffleNetV1 0\.5x g=8\. Build ShuffleNetV1\(0\.5, groups=3"):
        keras_shufflenet.ShuffleNetV1(0.5, groups=8, weights=str(path))
    _, path = megvii_reference[(1.0, 3)]
    with pytest.raises(ValueError, match=r"ShuffleNetV1 1\.0x g=3 checkpoint, but the model is ShuffleNetV1 0\.5x g=3"):
        keras_shufflenet.ShuffleNetV1(0.5, groups=3, weights=str(path))


def test_megvii_checkpoint_needs_the_megvii_variant(megvii_reference):
    _, path = megvii_reference[(0.5, 3)]
    with pytest.raises(ValueError, match=r"needs variant='megvii'.*got variant='paper'"):
        keras_shufflenet.ShuffleNetV1(0.5, groups=3, weights=str(path), variant="paper")
    with pytest.raises(ValueError, match=r"`variant` must be one of \('paper', 'megvii'\)"):
        keras_shufflenet.ShuffleNetV1(0.5, groups=3, variant="official")


def test_checkpoints_of_the_other_family_are_refused(megvii_reference, reference, tmp_path):
    torch = pytest.importorskip("torch")
    _, path = megvii_reference[(0.5, 3)]
    with pytest.raises(ValueError, match=r"ShuffleNet-Series' \(the V1 authors'\) ShuffleNet V1 state "
                                         r"dict, but the model is a ShuffleNetV2\. Build ShuffleNetV1"):
        keras_shufflenet.ShuffleNetV2(0.5, weights=str(path))
    _, v2_path = reference[0.5]
    with pytest.raises(ValueError, match=r"torchvision's ShuffleNet V2 state dict, but the model is a "
                                         r"ShuffleNetV1"):
        keras_shufflenet.ShuffleNetV1(0.5, groups=3, weights=str(v2_path))
    # The authors' V2 checkpoints are another network than torchvision's.
    megvii_v2 = {"module.first_conv.0.weight": torch.zeros(24, 3, 3, 3),
                 "module.features.0.branch_main.0.weight": torch.zeros(24, 24, 1, 1)}  # fmt: skip
    v2_file = _save_as_megvii(torch, megvii_v2, tmp_path / "ShuffleNetV2.1.0x.pth.tar")
    with pytest.raises(ValueError, match=r"ShuffleNet V2 \(or V2\+\) checkpoint: a different network"):
        keras_shufflenet.ShuffleNetV2(1.0, weights=str(v2_file))


def _mutated_megvii_file(megvii_reference, tmp_path, mutate):
    torch = pytest.importorskip("torch")
    reference, _ = megvii_reference[(0.5, 3)]
    state = {f"module.{key}": value.clone() for key, value in reference.state_dict().items()}
    mutate(torch, state)
    return str(_save_as_megvii(torch, state, tmp_path / "0.5x.pth.tar"))


def test_megvii_checkpoint_with_missing_and_extra_keys_is_refused(megvii_reference, tmp_path):
    def mutate(torch, state):
        del state["module.features.5.branch_main_1.4.running_var"]
        state["module.features.99.weight"] = torch.zeros(3)

    path = _mutated_megvii_file(megvii_reference, tmp_path, mutate)
    with pytest.raises(ValueError, match=r"missing 1 tensors.*features\.5\.branch_main_1\.4\.running_var.*"
                                         r"1 unexpected tensors.*features\.99\.weight"):
        keras_shufflenet.ShuffleNetV1(0.5, groups=3, weights=path)


def test_megvii_checkpoint_with_a_wrong_shape_names_the_layer(megvii_reference, tmp_path):
    def mutate(torch, state):
        key = "module.features.6.branch_main_2.0.weight"
        state[key] = torch.zeros(state[key].shape[0], state[key].shape[1] + 1, 1, 1)

    path = _mutated_megvii_file(megvii_reference, tmp_path, mutate)
    with pytest.raises(ValueError, match=r"do not fit layer 'stage3_unit2_gconv2'"):
        keras_shufflenet.ShuffleNetV1(0.5, groups=3, weights=path)


def test_megvii_checkpoint_with_nan_is_refused_as_corrupt(megvii_reference, tmp_path):
    def mutate(torch, state):
        state["module.features.2.branch_main_1.1.weight"][3] = float("nan")

    path = _mutated_megvii_file(megvii_reference, tmp_path, mutate)
    with pytest.raises(ValueError, match=r"NaN or infinite values \(layer 'stage2_unit2_gconv1_bn'\).*corrupt"):
        keras_shufflenet.ShuffleNetV1(0.5, groups=3, weights=path)


def test_imagenet_for_a_megvii_configuration_says_how_to_get_the_file():
    with pytest.raises(ValueError, match=r"only for width=1\.0, groups=3.*downloaded by hand: "
                                         r"ShuffleNetV1/Group8/models/snetv1_group8_2\.0x\.pth\.tar "
                                         r"from https://1drv\.ms/"):
        keras_shufflenet.ShuffleNetV1(2.0, groups=8, weights="imagenet")


def test_catalogue_lists_every_released_v1_checkpoint_with_its_readme_error():
    from keras_shufflenet.stages import V1_OFFICIAL_CHANNELS

    manual = catalogue.MANUAL_DOWNLOADS
    assert sorted((w, g) for _, w, g in manual) == sorted((w, g) for g, w in V1_OFFICIAL_CHANNELS)
    readme_top1_error = {(0.5, 3): 42.7, (1.0, 3): 32.2, (1.5, 3): 28.4, (2.0, 3): 25.9,
                         (0.5, 8): 41.2, (1.0, 8): 32.0, (1.5, 8): 29.0, (2.0, 8): 27.1}  # fmt: skip
    for (family, width, groups), entry in manual.items():
        assert entry.layout == "megvii" and entry.url.startswith("https://1drv.ms/")
        assert round(100 - entry.top1, 1) == readme_top1_error[(width, groups)]
        assert entry.file_name.startswith(f"ShuffleNetV1/Group{groups}/models/")
        assert entry.name.endswith(f"{MEGVII_SIZES[width]}.pth.tar") and entry.sha256_prefix is None
