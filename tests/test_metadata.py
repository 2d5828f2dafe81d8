"""Android model metadata: written as MetadataPopulator does, read back field by field,
the labels unzipped, and the normalization right for each model and input type."""

import io
import zipfile

import numpy as np
import pytest
from export_models import build, digits, float32_file, int8_file

from keras_shufflenet import preprocessing
from keras_shufflenet.tflite import _metadata_schema_py_generated as md
from keras_shufflenet.tflite import export, metadata
from keras_shufflenet.tflite.device import graph, runtime


def test_int8_metadata_reads_back_with_labels():
    int8_path = int8_file()[0]
    meta = metadata.read_metadata(int8_path)
    assert meta["name"] == "digits-shufflenet"
    assert meta["description"] == metadata.DEFAULT_DESCRIPTION
    assert (meta["version"], meta["author"], meta["license"]) == ("0.1", "keras-shufflenet tests", "Apache-2.0")
    assert meta["min_parser_version"] == "1.0.0"
    # The model normalizes itself and takes uint8 pixels as they are.
    assert meta["input"] == {
        "name": "image", "mean": [0.0], "std": [1.0], "color_space": "RGB",
        "stats_min": [0.0], "stats_max": [255.0], "default_size": [32, 32],
    }
    # The input contract travels in the file: the shared model records none, so the
    # export used the defaults, with the labels written beside it.
    contract = meta["input_contract"]
    assert (contract.image_size, contract.crop_fraction, contract.mean, contract.std) == (32, 0.875, (0.0,), (1.0,))
    assert contract.labels == digits("train")[2]
    assert "resize the shorter side to 37 (bilinear), crop the centre 32x32" in metadata.metadata_buffer(
        int8_path).decode("latin-1")
    assert meta["output"]["name"] == "probability"
    assert meta["output"]["labels_file"] == "labels.txt"
    assert (meta["output"]["stats_min"], meta["output"]["stats_max"]) == ([0.0], [255.0])
    class_names = list(digits("train")[2])
    assert meta["labels"] == class_names and len(class_names) == 10

    with open(int8_path, "rb") as f:
        data = f.read()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == ["labels.txt", "input_contract.json"]
        assert zf.read("labels.txt").decode().splitlines() == class_names
    summary = graph.summarize(int8_path)
    assert summary.metadata_names.count(metadata.METADATA_NAME) == 1


def test_metadata_buffer_is_the_standard_flatbuffer():
    buf = metadata.metadata_buffer(int8_file()[0])
    assert buf[4:8] == metadata.METADATA_IDENTIFIER
    meta = md.ModelMetadata.GetRootAs(buf, 0)
    (subgraph,) = [meta.SubgraphMetadata(i) for i in range(meta.SubgraphMetadataLength())]
    image = subgraph.InputTensorMetadata(0)
    assert image.Content().ContentPropertiesType() == md.ContentProperties.ImageProperties
    unit = image.ProcessUnits(0)
    assert unit.OptionsType() == md.ProcessUnitOptions.NormalizationOptions
    labels = subgraph.OutputTensorMetadata(0).AssociatedFiles(0)
    assert labels.Type() == md.AssociatedFileType.TENSOR_AXIS_LABELS and labels.Name() == b"labels.txt"


def test_model_with_metadata_still_runs_and_buffers_stay_aligned():
    int8_path = int8_file()[0]
    images = digits("test", 64)[0][:4]
    scores = runtime.TFLiteClassifier(int8_path).predict(images)
    with open(int8_path, "rb") as f:
        stripped = metadata.strip_associated_files(f.read())
    model = graph.read_model(stripped)
    assert model.buffers and all(b.offset == 0 for b in model.buffers)
    # Weights stay 16-byte aligned in the file, as the converter writes them.
    offsets = graph.buffer_offsets(stripped)
    assert len(offsets) > 50 and all(offset % 16 == 0 for _, offset, _ in offsets)
    np.testing.assert_allclose(scores.sum(1), 1.0, atol=0.05)


def test_populate_twice_replaces_and_checks_labels():
    with open(float32_file(), "rb") as f:
        data = f.read()
    labels = [f"digit {i}" for i in range(10)]
    info = metadata.ClassifierMetadata(labels=labels, name="again", author="a")
    twice = metadata.populate(data, info, mean=(1.0, 2.0, 3.0), std=(4.0, 5.0, 6.0), probabilities=False)
    assert graph.summarize(twice).metadata_names.count(metadata.METADATA_NAME) == 1
    assert metadata.associated_files(twice) == {"labels.txt": ("\n".join(labels) + "\n").encode()}
    meta = metadata.read_metadata(twice)
    assert meta["name"] == "again" and meta["labels"] == labels
    assert meta["input"]["mean"] == [1.0, 2.0, 3.0] and meta["input"]["std"] == [4.0, 5.0, 6.0]
    assert meta["input"]["stats_min"] == pytest.approx([-0.25, -0.4, -0.5])
    assert meta["input"]["stats_max"] == pytest.approx([(255 - m) / s for m, s in ((1, 4), (2, 5), (3, 6))])
    assert meta["output"]["name"] == "score" and meta["output"]["stats_min"] is None

    with pytest.raises(ValueError, match="metadata has 3 labels but the model outputs 10 scores"):
        metadata.populate(data, metadata.ClassifierMetadata(labels=["a", "b", "c"]), mean=(0,), std=(1,),
                          probabilities=True)
    with pytest.raises(ValueError, match="std must be positive"):
        metadata.populate(data, info, mean=(0,), std=(0,), probabilities=True)
    with pytest.raises(ValueError, match="need 1 or 3 values each"):
        metadata.populate(data, info, mean=(0, 1), std=(1, 1), probabilities=True)


@pytest.mark.parametrize(
    "labels, message",
    [
        ([], "non-empty sequence of strings"),
        ("abc", "non-empty sequence of strings"),
        (["a", 3], "non-empty sequence of strings"),
        (["a", "two\nlines"], "non-blank single-line strings"),
        (["a", " "], "non-blank single-line strings"),
    ],
)
def test_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        metadata.ClassifierMetadata(labels=labels)


def test_normalization_follows_the_model():
    # Models that normalize themselves take pixels: mean 0, std 1, whatever the input type.
    assert preprocessing.input_normalization(build()) == ((0.0,), (1.0,))
    # Others take keras_shufflenet.preprocess_input's normalization.
    mean, std = preprocessing.input_normalization(build(include_preprocessing=False))
    assert mean == preprocessing.PIXEL_MEAN and std == preprocessing.PIXEL_STD
    float_meta = metadata.read_metadata(float32_file())
    assert (float_meta["input"]["mean"], float_meta["input"]["std"]) == ([0.0], [1.0])
    assert (float_meta["input"]["stats_min"], float_meta["input"]["stats_max"]) == ([0.0], [255.0])
    assert (float_meta["output"]["stats_min"], float_meta["output"]["stats_max"]) == ([0.0], [1.0])


def test_file_without_metadata_reads_none(tmp_path):
    from export_models import int8_body

    target = tmp_path / "plain.tflite"
    target.write_bytes(int8_body())
    assert metadata.read_metadata(target) is None
    assert metadata.associated_files(target) == {}
