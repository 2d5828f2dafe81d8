"""Every reader of outside files refuses damaged input with its own documented error,
naming the file, in bounded time and memory, and never takes the process down.

A seeded mutation campaign (`mutation.py`: bit flips, hostile integers, truncations,
cut and repeated chunks) runs each reader in a worker subprocess, so that a segfault
in native code (HDF5, LiteRT, image codecs) is caught and fails the test instead of
the run. `benchmarks/robustness.py` runs a bigger campaign on full-size files."""

import os
import struct
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

import keras_shufflenet
import mutation
from keras_shufflenet import pretrained, pth
from test_pth import _Storage, _Tensor, write_legacy_pth, write_zip_pth

# (reader, inputs): a few hundred where one input costs milliseconds, fewer where it
# loads a Keras model.
CAMPAIGNS = [
    ("pth_zip", 300), ("pth_legacy", 300), ("tflite_graph", 200), ("tflite_metadata", 200),
    ("tflite_classifier", 200), ("tflite_benchmark", 100), ("weights_h5", 25), ("keras", 20),
]
# Bounds one input must stay within (the seeds are at most 1.5 MB; a 2-core CI machine
# shared with other jobs).
MAX_SECONDS = 10.0
MAX_GROWTH_MB = 200


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    directory = tmp_path_factory.mktemp("seeds")
    tflite = mutation.make_seed("tflite_graph", str(directory))
    made = {reader: tflite if reader.startswith("tflite_") else None for reader, _ in CAMPAIGNS}
    for reader in [r for r, path in made.items() if path is None] + ["image_folder"]:
        made[reader] = mutation.make_seed(reader, str(directory / reader))
    return made


def _assert_bounded(report, max_seconds=MAX_SECONDS):
    text = "\n".join(report.lines())
    assert not report.failures, text
    assert report.tried > 0 and any(o.startswith("refused:") for o in report.outcomes), text
    assert report.slowest_s < max_seconds, text
    assert report.peak_rss_mb - report.baseline_rss_mb < MAX_GROWTH_MB, text


@pytest.mark.parametrize("reader, count", CAMPAIGNS, ids=[r for r, _ in CAMPAIGNS])
def test_mutation_campaign(seeds, reader, count, tmp_path):
    report = mutation.Campaign(reader, seeds[reader], count=count, seed=1, workdir=str(tmp_path)).run()
    print("\n".join(report.lines()))
    assert report.tried == count
    _assert_bounded(report)


def test_mutated_images_are_decoded_or_skipped_by_name(seeds, tmp_path):
    report = mutation.image_folder_campaign(seeds["image_folder"], count=120, seed=1, workdir=str(tmp_path))
    print("\n".join(report.lines()))
    assert report.outcomes["ok"] + report.outcomes["refused:skipped"] == 120
    _assert_bounded(report, max_seconds=60)  # one pass over the folder, graph building included


def test_campaign_counts_a_crash_and_a_hang(tmp_path):
    """The harness itself: a reader that segfaults or hangs is reported, not fatal."""
    campaign = mutation.Campaign("selftest", None, count=0, workdir=str(tmp_path), timeout_s=5)
    inputs = [("a", b"segfault"), ("b", b"hang"), ("c", b"bad"), ("d", b"segfault")]
    report = campaign.run_inputs(inputs, suffix="bin")
    assert report.outcomes == {"crash": 2, "timeout": 1, "refused:ValueError": 1}, report.lines()
    assert report.worker_starts == 3
    assert set(report.failures) == {"crash", "timeout"}


# --- The .pth reader: the cases the first campaign found ---------------------------------------

def _small_state_dict(tmp_path, zip_format):
    obj = {"w": _Tensor(_Storage("0", 6), 0, (2, 3), (3, 1))}
    writer = write_zip_pth if zip_format else write_legacy_pth
    return writer(tmp_path / "model.pth", obj, {"0": np.arange(6)})


def test_zip_with_a_bad_crc_is_a_pth_format_error_naming_the_file(tmp_path):
    path = _small_state_dict(tmp_path, zip_format=True)
    data = bytearray(path.read_bytes())
    at = data.index(np.arange(6, dtype="<f4").tobytes())
    data[at] ^= 0x40  # a storage byte: only the CRC-32 can tell
    path.write_bytes(bytes(data))
    with pytest.raises(pth.PthFormatError, match=r"model\.pth.*damaged zip archive.*CRC"):
        pth.load_state_dict(path)
    with pytest.raises(pth.PthFormatError, match=r"model\.pth"):
        keras_shufflenet.ShuffleNetV2(0.5, weights=str(path))


def test_zip_record_claiming_more_than_the_file_is_refused_before_reading(tmp_path):
    path = _small_state_dict(tmp_path, zip_format=True)
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("archive/data.pkl")
    # The central directory's uncompressed size of data.pkl: claim 4 GB.
    entry = data.index(b"archive/data.pkl", data.index(b"PK\x01\x02")) - 46  # its central header
    patched = bytearray(data)
    patched[entry + 24 : entry + 28] = struct.pack("<I", 0xFFFFFFF0)
    assert info.file_size < 0xFFFFFFF0
    path.write_bytes(bytes(patched))
    with pytest.raises(pth.PthFormatError, match=r"model\.pth.*claims 4294967280 bytes.*more than"):
        pth.load_state_dict(path)


def test_legacy_pickle_with_a_forged_memo_index_costs_nothing(tmp_path):
    """The 2.7 GB case: C's unpickler grows its memo array to whatever index a
    LONG_BINPUT names (a 9-byte pickle took 2.6 GB and 19 s here); the reader's is a dict."""
    forged = b"\x80\x02]r" + struct.pack("<I", 0x0A000000) + b"."  # [] memoized at 167 million
    path = write_legacy_pth(tmp_path / "old.pth", None, {}, main_pickle=forged)
    code = (
        "import sys, time\n"
        "from keras_shufflenet import pth\n"
        "start = time.perf_counter()\n"
        "print('result', pth.load_state_dict(sys.argv[1]))\n"
        "print('seconds', time.perf_counter() - start)\n"
        "print('hwm', [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["result"] == "[]"
    assert float(lines["seconds"]) < 1.0
    assert int(lines["hwm"]) < 300 * 1024  # kB: Python, numpy and the reader; no memo array


def test_legacy_storage_larger_than_the_file_is_refused_before_allocation(tmp_path):
    obj = {"w": _Tensor(_Storage("0", 1 << 40), 0, (1 << 40,), (1,))}
    path = write_legacy_pth(tmp_path / "huge.pth", obj, {"0": np.zeros(0)})
    data = bytearray(path.read_bytes())
    data[-8:] = struct.pack("<q", 1 << 40)  # the element count before the (absent) bytes
    path.write_bytes(bytes(data))
    with pytest.raises(pth.PthFormatError, match=r"huge\.pth.*claims 4398046511104 bytes, the file has 0 left"):
        pth.load_state_dict(path)


def test_zero_strides_cannot_expand_a_storage_beyond_the_file(tmp_path):
    shape = (1 << 16, 1 << 16)  # 16 GiB of float32 from one element
    obj = {"w": _Tensor(_Storage("0", 1), 0, shape, (0, 0))}
    path = write_zip_pth(tmp_path / "bomb.pth", obj, {"0": np.ones(1)})
    start = time.perf_counter()
    with pytest.raises(pth.PthFormatError, match=r"bomb\.pth.*would need 17179869184 bytes.*at most 4x"):
        pth.load_state_dict(path)
    assert time.perf_counter() - start < 1.0


def test_protocol_5_bytearray_is_refused_before_its_allocation(tmp_path):
    forged = b"\x80\x05\x96" + struct.pack("<Q", 1 << 50) + b"."
    path = tmp_path / "p5.pth"
    path.write_bytes(forged)
    with pytest.raises(pth.PthFormatError, match=r"p5\.pth.*bytearray"):
        pth.load_state_dict(path)


# --- The cached converted ImageNet weights -----------------------------------------------------

@pytest.fixture(scope="module")
def reference_v2():
    return keras_shufflenet.ShuffleNetV2(0.5, weights=None)


@pytest.mark.parametrize("damage", ["flip", "truncate", "truncate_no_hash", "no_hash"])
def test_damaged_cache_entry_is_rebuilt_never_loaded(tmp_path, monkeypatch, damage, reference_v2):
    """A cache entry that is not what was written is deleted and rebuilt from the `.pth`."""
    key = ("v2", 0.5, None)
    cache_dir = tmp_path / "keras_home"
    converted = []

    def build_reference():  # the model the converted file is saved from
        converted.append(reference_v2)
        return reference_v2

    name = pretrained.PUBLISHED[key].name
    source = cache_dir / pretrained.CACHE_SUBDIR / name
    source.parent.mkdir(parents=True)
    source.write_bytes(b"x")
    monkeypatch.setattr(pretrained.keras.utils, "get_file", lambda *a, **k: str(source))
    monkeypatch.setattr(pretrained, "verify_hash_in_name", lambda path: None)
    monkeypatch.setattr(pretrained.pth, "load_state_dict", lambda path: {})
    monkeypatch.setattr(pretrained, "_load_state_dict", lambda model, state_dict, family, source: model)

    def weights_path():
        return pretrained.imagenet_weights_path("v2", 0.5, cache_dir=str(cache_dir), build_reference=build_reference)

    path = weights_path()
    assert len(converted) == 1 and os.path.exists(path + pretrained.HASH_SUFFIX)
    good = open(path, "rb").read()
    assert weights_path() == path and len(converted) == 1  # a whole entry is used as it is

    if damage == "flip":
        damaged = bytearray(good)
        damaged[len(good) // 2] ^= 1
        open(path, "wb").write(bytes(damaged))
    elif damage == "truncate":
        open(path, "wb").write(good[: len(good) // 3])
    elif damage == "truncate_no_hash":  # half-written by something else, no hash beside it
        open(path, "wb").write(good[: len(good) // 3])
        os.remove(path + pretrained.HASH_SUFFIX)
    else:  # killed between the (complete) weights and their hash, or copied in by hand
        os.remove(path + pretrained.HASH_SUFFIX)
        assert weights_path() == path and len(converted) == 1  # complete: adopted, hash recorded
        assert open(path + pretrained.HASH_SUFFIX).read().strip() == pretrained.sha256_of(path)
        return
    assert weights_path() == path
    assert len(converted) == 2  # rebuilt, never loaded
    assert open(path, "rb").read() == good and pretrained._cache_entry_is_whole(path)


# --- .tflite: a damaged input shape ------------------------------------------------------------

def test_an_input_shape_out_of_proportion_is_refused_before_allocation(seeds, tmp_path):
    """The campaign's case 7 of seed 1: one flipped bit made the height 4194320, and LiteRT,
    which recomputes every activation from the input, allocated 15 GB before this check."""
    from keras_shufflenet.tflite.device import graph, runtime

    model = graph.read_model(seeds["tflite_classifier"])
    image = model.subgraphs[0].tensors[model.subgraphs[0].inputs[0]]
    image.shape = [16 | 1 << 22 if i == 1 else d for i, d in enumerate(image.shape)]
    path = tmp_path / "tall.tflite"
    path.write_bytes(graph.pack_model(model))
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak (VmHWM) restarts from what is resident now
    before = mutation._status_mb("VmRSS")
    with pytest.raises(runtime.TFLiteFileError, match=r"tall\.tflite: input .* declares shape \[1, 4194320, 16, 3\]"):
        runtime.TFLiteClassifier(path)
    assert mutation._status_mb("VmHWM") - before < 200
