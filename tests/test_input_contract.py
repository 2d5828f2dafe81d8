"""The input contract: its file formats, overrides, defaults, and the package's layer
registration that lets a saved model load the way Keras users load models."""

import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_shufflenet
from keras_shufflenet import input_contract, preprocessing
from keras_shufflenet.input_contract import InputContract
from keras_shufflenet.pipelines import augment, evaluate, recipes
from keras_shufflenet.pipelines.data import build_dataset

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_json_round_trip_and_validation():
    contract = InputContract(
        image_size=224, crop_fraction=224 / 256, mean=(1, 2, 3), std=(4, 5, 6), labels=["a", "b"],
        source="here",
    )
    assert contract.resize_size == 256 and contract.normalizes
    assert contract.mean == (1.0, 2.0, 3.0) and contract.labels == ("a", "b")
    assert InputContract.from_json(contract.to_json()) == contract
    assert not InputContract(image_size=16).normalizes
    for kwargs, message in [
        (dict(image_size=0), "image_size must be a positive integer"),
        (dict(image_size=16, crop_fraction=1.5), r"crop_fraction must be in \(0, 1\]"),
        (dict(image_size=16, mean=(0, 0), std=(1, 1)), "need 1 or 3 values"),
        (dict(image_size=16, std=(0,)), "std must be positive"),
        (dict(image_size=16, channel_order="BGR"), "channel_order must be one of"),
        (dict(image_size=16, labels=["a", ""]), "labels must be None or"),
    ]:
        with pytest.raises(ValueError, match=message):
            InputContract(**kwargs)
    with pytest.raises(ValueError, match="unknown field"):
        InputContract.from_dict({"image_size": 3, "crop": 1.0})
    with pytest.raises(ValueError, match="format_version 9 is not supported"):
        InputContract.from_dict({"image_size": 3, "format_version": 9})
    with pytest.raises(ValueError, match="not valid JSON"):
        InputContract.from_json("{")


@pytest.mark.parametrize("height, width", [(480, 640), (333, 500), (16, 16), (8, 20)])
@pytest.mark.parametrize("size, fraction", [(224, 0.875), (16, 1.0), (32, 0.9)])
def test_crop_box_is_the_pipelines_rule(height, width, size, fraction):
    contract = InputContract(image_size=size, crop_fraction=fraction)
    new_h, new_w = augment.eval_resize_shape(height, width, size, fraction)
    assert contract.resize_and_crop_box(height, width)[:2] == (int(new_h), int(new_w))


def test_resolve_reports_defaults_and_contradicting_overrides():
    recorded = InputContract(image_size=16, crop_fraction=1.0, source="training recipe digits")
    lines = []
    same = input_contract.resolve(recorded, None, report=lines.append, crop_fraction=1.0, image_size=None)
    assert same == recorded and lines == []
    changed = input_contract.resolve(
        recorded, None, report=lines.append, names={"crop_fraction": "--center_crop_fraction"},
        crop_fraction=0.875,
    )
    assert changed.crop_fraction == 0.875
    assert lines == [
        "warning: --center_crop_fraction=0.875 overrides the model's recorded crop_fraction=1.0 "
        "(training recipe digits)"
    ]
    lines.clear()
    default = InputContract(image_size=32, source="defaults: no contract recorded")
    assert input_contract.resolve(None, default, report=lines.append) == default
    assert len(lines) == 1 and lines[0].startswith("note: no input contract recorded with the model; using 32x32")


def plain_model():
    return keras.Sequential([
        keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(3, activation="softmax"),
    ])


def test_plain_keras_model_works_with_the_defaults_and_says_so(tmp_path):
    model = plain_model()
    lines = []
    contract = preprocessing.model_input_contract(model, report=lines.append)
    # It takes normalized input (no Rescaling/Normalization first): ImageNet mean and std.
    assert contract == InputContract(
        image_size=16, mean=preprocessing.PIXEL_MEAN, std=preprocessing.PIXEL_STD,
        source="defaults: no contract recorded",
    )
    assert "no input contract recorded" in lines[0] and "fraction 0.875" in lines[0]
    path = str(tmp_path / "plain.keras")
    model.save(path)
    assert input_contract.read(path) is None
    assert input_contract.get(evaluate.load_keras_model(path)) is None
    # The evaluation images are normalized as that contract says.
    dataset, _ = build_dataset("digits", "test", training=False, contract=contract, batch_size=8, limit=8)
    raw, _ = build_dataset("digits", "test", training=False, image_size=16, batch_size=8, limit=8)
    (images, _), (pixels, _) = next(iter(dataset)), next(iter(raw))
    np.testing.assert_allclose(images, preprocessing.preprocess_input(pixels.numpy()), atol=1e-5)


def test_contract_lives_inside_the_keras_file(tmp_path):
    model = keras_shufflenet.ShuffleNetV2(
        0.5, input_shape=(16, 16, 3), small_inputs=True, classes=3, include_preprocessing=True
    )
    contract = recipes.DIGITS.input_contract(("zero", "one", "two"))
    path = str(tmp_path / "m.keras")
    input_contract.save_model(input_contract.attach(model, contract), path)
    with zipfile.ZipFile(path) as archive:
        assert input_contract.FILE_NAME in archive.namelist()
    assert input_contract.read(path) == contract
    loaded = evaluate.load_keras_model(path)
    assert input_contract.get(loaded) == contract
    # Written again: replaced, not duplicated.
    input_contract.write_into_archive(path, contract.replace(crop_fraction=0.5))
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist().count(input_contract.FILE_NAME) == 1
    assert input_contract.read(path).crop_fraction == 0.5
    with pytest.raises(FileNotFoundError, match="model.keras: no such file"):
        input_contract.read(tmp_path)  # a folder without model.keras
    os.replace(path, tmp_path / "model.keras")
    assert input_contract.read(tmp_path).crop_fraction == 0.5  # a model directory
    with pytest.raises(FileNotFoundError, match="no such file"):
        input_contract.read(tmp_path / "missing.keras")


def test_contract_follows_the_data_pipeline_crop():
    """Two contracts that differ only in the crop give different images."""
    full = InputContract(image_size=16, crop_fraction=1.0)
    cropped = full.replace(crop_fraction=0.5)
    a, _ = build_dataset("digits", "test", training=False, contract=full, batch_size=4, limit=4)
    b, _ = build_dataset("digits", "test", training=False, contract=cropped, batch_size=4, limit=4)
    assert np.abs(next(iter(a))[0].numpy() - next(iter(b))[0].numpy()).max() > 10
    with pytest.raises(ValueError, match="contradicts the contract's image_size=16"):
        build_dataset("digits", "test", training=False, contract=full, image_size=32, batch_size=4)


LOAD = """
import sys
{imports}
model = keras.saving.load_model(sys.argv[1], safe_mode=True)
print("LOADED", model.name, model.count_params())
"""


@pytest.mark.parametrize("imports", [
    "import keras, keras_shufflenet",
    "import keras_shufflenet\nimport keras",
    # TensorFlow looks Keras up (importlib.util.find_spec) before anything imports it.
    "import keras_shufflenet\nimport importlib.util\nimportlib.util.find_spec('keras')\nimport tensorflow\nimport keras",
])
def test_saved_model_loads_after_importing_keras_and_the_package(tmp_path, imports):
    model = keras_shufflenet.ShuffleNetV2(0.5, input_shape=(16, 16, 3), small_inputs=True, classes=3)
    path = str(tmp_path / "model.keras")
    model.save(path)
    done = subprocess.run(
        [sys.executable, "-c", LOAD.format(imports=imports), path], capture_output=True, text=True,
        timeout=300, cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"LOADED {model.name} {model.count_params()}" in done.stdout


def test_importing_the_package_alone_imports_no_keras():
    code = "import sys, keras_shufflenet\nprint('KERAS', 'keras' in sys.modules, 'tensorflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "KERAS False False" in done.stdout


def test_dataset_of_a_contract_matches_tensorflow_normalization():
    contract = InputContract(image_size=16, crop_fraction=1.0, mean=(10.0, 20.0, 30.0), std=(2.0, 4.0, 8.0))
    ds, _ = build_dataset("digits", "test", training=False, contract=contract, batch_size=4, limit=4)
    raw, _ = build_dataset("digits", "test", training=False, image_size=16, batch_size=4, limit=4,
                           augment=augment.AugmentConfig(center_crop_fraction=1.0))
    expected = (next(iter(raw))[0] - tf.constant(contract.mean)) / tf.constant(contract.std)
    np.testing.assert_allclose(next(iter(ds))[0].numpy(), expected.numpy(), atol=1e-5)


class _Stop(Exception):
    pass


def test_int8_calibration_sees_the_evaluation_transforms_images(tmp_path, monkeypatch, capsys):
    """The export program calibrates on images prepared by the recorded contract
    (digits: the whole image, crop 1.0), not the default 0.875 crop, which gives
    other pixels; an override is used, and warned about, naming both values."""
    from absl import flags

    from keras_shufflenet.tflite import export

    model = keras_shufflenet.ShuffleNetV2(
        0.5, input_shape=(16, 16, 3), small_inputs=True, classes=10, include_preprocessing=True
    )
    contract = recipes.DIGITS.input_contract(tuple(str(d) for d in range(10)))
    path = str(tmp_path / "model.keras")
    input_contract.save_model(model, path, contract)
    seen = []

    def capture(model, input_shape, calibration, *rest):  # export._convert_int8 stand-in
        seen.append(calibration)
        raise _Stop

    monkeypatch.setattr(export, "_convert_int8", capture)

    def images(crop_fraction):
        dataset, _ = build_dataset(
            "digits", "train", training=False, contract=contract.replace(crop_fraction=crop_fraction),
            batch_size=32, limit=40,
        )
        return np.concatenate([x.numpy() for x, _ in dataset])

    for extra in ([], ["--recipe=imagenet"]):
        values = flags.FlagValues()
        export.define_flags(values)
        values(["export", f"--model={path}", f"--output={tmp_path / 'm.tflite'}", "--mode=int8",
                "--data=digits", "--num_calibration=40", *extra])
        with pytest.raises(_Stop):
            export._export_from_flags(values)
    recorded, overridden = seen
    np.testing.assert_array_equal(recorded, images(1.0))
    np.testing.assert_array_equal(overridden, images(0.875))
    assert np.abs(recorded - overridden).max() > 10  # the two crops differ
    err = capsys.readouterr().err
    assert err.count("warning:") == 1
    assert ("warning: --recipe=imagenet (its evaluation crop fraction)=0.875 overrides the model's "
            "recorded crop_fraction=1.0 (training recipe digits)") in err


def test_tool_output_keeps_our_lines_and_logs_tensorflows(tmp_path):
    log = tmp_path / "tf.log"
    code = (  # as the programs run: absl's app.run inside the block
        "import sys\n"
        "from absl import app\n"
        "from keras_shufflenet.pipelines import tool_output\n"
        "def main(argv):\n"
        "    import tensorflow as tf\n"
        "    tf.get_logger().info('framework info line')\n"
        "    tf.get_logger().warning('framework warning line')\n"
        "    print('our progress line')\n"
        "    print('our warning line', file=sys.stderr)\n"
        f"with tool_output.framework_logs_to({str(log)!r}):\n"
        "    try:\n"
        "        app.run(main)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('after the block')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["our progress line", "after the block"]
    assert done.stderr.splitlines() == ["our warning line"]
    text = log.read_text()
    assert "framework warning line" in text and "framework info line" not in text

