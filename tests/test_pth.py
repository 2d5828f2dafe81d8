"""The `.pth` reader: real `torch.save` output in both layouts, and files
crafted to run code or read out of bounds, which must be refused."""

import collections
import io
import os
import pickle
import struct
import sys
import types
import zipfile

import numpy as np
import pytest

from keras_shufflenet import pth

# --- Writing torch.save-format files without torch ----------------------------
# Python's pickler writes a global only if it can import it, so the tests pickle
# stand-ins from a fake module and rename them in the bytes (protocol 2 writes a
# global as `c<module>\n<name>\n`, with no length to fix up).
_FAKE = types.ModuleType("_pth_test_fake")
sys.modules[_FAKE.__name__] = _FAKE
_RENAMES = {}


def _fake_global(name, real):
    def stand_in(*args):
        raise AssertionError("never called: only pickled")

    stand_in.__module__, stand_in.__name__, stand_in.__qualname__ = _FAKE.__name__, name, name
    setattr(_FAKE, name, stand_in)
    module, _, attribute = real.rpartition(".")
    _RENAMES[f"c{_FAKE.__name__}\n{name}\n".encode()] = f"c{module}\n{attribute}\n".encode()
    return stand_in


_REBUILD = _fake_global("rebuild", "torch._utils._rebuild_tensor_v2")
_FLOAT_STORAGE = _fake_global("FloatStorage", "torch.FloatStorage")


class _Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return _REBUILD, self.args


class _Pickler(pickle.Pickler):
    def __init__(self, file, legacy):
        super().__init__(file, protocol=2)
        self.legacy = legacy

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            ref = ("storage", _FLOAT_STORAGE, obj.key, "cpu", obj.numel)
            return ref + (None,) if self.legacy else ref
        return None


def _pickle(obj, legacy=False):
    buffer = io.BytesIO()
    _Pickler(buffer, legacy).dump(obj)
    data = buffer.getvalue()
    for fake, real in _RENAMES.items():
        data = data.replace(fake, real)
    return data


def write_zip_pth(path, obj, storages, data_pkl=None):
    """A zip-layout file: `storages` maps key -> float32 array (its raw bytes)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl if data_pkl is not None else _pickle(obj))
        archive.writestr("archive/byteorder", "little")
        for key, array in storages.items():
            archive.writestr(f"archive/data/{key}", np.asarray(array, "<f4").tobytes())
        archive.writestr("archive/version", "3\n")
    return path


def write_legacy_pth(path, obj, storages, main_pickle=None):
    with open(path, "wb") as f:
        for header in (pth.LEGACY_MAGIC_NUMBER, pth.LEGACY_PROTOCOL_VERSION, {"little_endian": True}):
            pickle.dump(header, f, protocol=2)
        f.write(main_pickle if main_pickle is not None else _pickle(obj, legacy=True))
        pickle.dump(sorted(storages), f, protocol=2)
        for key in sorted(storages):
            array = np.asarray(storages[key], "<f4")
            f.write(struct.pack("<q", array.size) + array.tobytes())
    return path


# --- Files that would run code ------------------------------------------------
class _MakesDirectory:
    """Unpickling this calls os.mkdir(marker): a stand-in for any code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "code-ran"


def test_the_crafted_payload_really_runs_code_when_unpickled(tmp_path):
    # Control: the payload is live, so the refusals below mean something.
    control = tmp_path / "control"
    pickle.loads(pickle.dumps({"w": _MakesDirectory(control)}, protocol=2))
    assert control.is_dir()


def test_zip_whose_pickle_would_run_code_is_refused_and_nothing_runs(tmp_path, marker):
    payload = pickle.dumps(collections.OrderedDict(w=_MakesDirectory(marker)), protocol=2)
    path = write_zip_pth(tmp_path / "evil.pth", None, {}, data_pkl=payload)
    with pytest.raises(pth.UnsafePickleError, match=r"'posix\.mkdir'|'nt\.mkdir'") as error:
        pth.load_state_dict(path)
    assert "Nothing from the file was executed" in str(error.value)
    assert not marker.exists()


def test_legacy_stream_whose_pickle_would_run_code_is_refused(tmp_path, marker):
    payload = pickle.dumps({"w": _MakesDirectory(marker)}, protocol=2)
    path = write_legacy_pth(tmp_path / "evil.pth", None, {}, main_pickle=payload)
    with pytest.raises(pth.UnsafePickleError, match="mkdir"):
        pth.load_state_dict(path)
    assert not marker.exists()


def test_plain_pickle_that_would_run_code_is_refused(tmp_path, marker):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"w": _MakesDirectory(marker)}, protocol=2))
    with pytest.raises(pth.UnsafePickleError, match="mkdir"):
        pth.load_state_dict(path)
    assert not marker.exists()


def test_plain_pickle_without_torch_header_is_refused_clearly(tmp_path):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=2))
    with pytest.raises(pth.PthFormatError, match="plain pickle, not a torch.save file"):
        pth.load_state_dict(path)


def test_builtins_are_refused_even_harmless_looking_ones(tmp_path):
    payload = pickle.dumps({"w": complex(1, 2)}, protocol=2)  # builtins.complex
    path = write_zip_pth(tmp_path / "x.pth", None, {}, data_pkl=payload)
    with pytest.raises(pth.UnsafePickleError, match=r"builtin\w*\.complex"):
        pth.load_state_dict(path)


def test_allowed_rebuild_function_fed_a_non_storage_is_refused(tmp_path):
    obj = {"w": _Tensor("not a storage", 0, (1,), (1,))}
    path = write_zip_pth(tmp_path / "x.pth", obj, {})
    with pytest.raises(pth.UnsafePickleError, match="instead of a storage"):
        pth.load_state_dict(path)


@pytest.mark.parametrize(
    "text, kind, message",
    [
        (b"hello, not a model", pth.PthFormatError, "not a PyTorch file"),
        (b"", pth.PthFormatError, "not a PyTorch file"),
    ],
)
def test_non_torch_files_are_refused(tmp_path, text, kind, message):
    path = tmp_path / "x.pth"
    path.write_bytes(text)
    with pytest.raises(kind, match=message):
        pth.load_state_dict(path)


def test_zip_without_data_pkl_is_refused(tmp_path):
    path = tmp_path / "x.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hi")
    with pytest.raises(pth.PthFormatError, match="data.pkl"):
        pth.load_state_dict(path)


# --- Well-formed crafted files: layout, strides, bounds -----------------------
@pytest.mark.parametrize("writer", [write_zip_pth, write_legacy_pth])
def test_strides_offsets_and_shared_storages(tmp_path, writer):
    flat = np.arange(24, dtype=np.float32)
    storage = _Storage("0", 24)
    obj = collections.OrderedDict(
        whole=_Tensor(storage, 0, (2, 3, 4), (12, 4, 1)),
        transposed=_Tensor(storage, 0, (4, 6), (1, 4)),
        offset_view=_Tensor(storage, 5, (3,), (2,)),
        scalar=_Tensor(storage, 23, (), ()),
        empty=_Tensor(storage, 0, (0, 3), (3, 1)),
    )
    state = pth.load_state_dict(writer(tmp_path / "x.pth", obj, {"0": flat}))
    assert isinstance(state, collections.OrderedDict) and list(state) == list(obj)
    np.testing.assert_array_equal(state["whole"], flat.reshape(2, 3, 4))
    np.testing.assert_array_equal(state["transposed"], flat[:24].reshape(6, 4).T)
    np.testing.assert_array_equal(state["offset_view"], [5.0, 7.0, 9.0])
    assert state["scalar"].shape == () and state["scalar"] == 23.0
    assert state["empty"].shape == (0, 3)
    for array in state.values():
        assert array.dtype == np.float32 and array.flags.c_contiguous


@pytest.mark.parametrize("writer", [write_zip_pth, write_legacy_pth])
def test_tensor_reaching_past_its_storage_is_refused(tmp_path, writer):
    obj = {"w": _Tensor(_Storage("0", 6), 2, (2, 3), (3, 1))}  # last element 2 + 5 = 7 > 5
    with pytest.raises(pth.PthFormatError, match="reads past its storage of 6 elements"):
        pth.load_state_dict(writer(tmp_path / "x.pth", obj, {"0": np.zeros(6)}))


def test_zip_storage_shorter_than_its_reference_is_refused(tmp_path):
    obj = {"w": _Tensor(_Storage("0", 100), 0, (100,), (1,))}
    with pytest.raises(pth.PthFormatError, match="holds 24 bytes"):
        pth.load_state_dict(write_zip_pth(tmp_path / "x.pth", obj, {"0": np.zeros(6)}))


def test_truncated_legacy_stream_is_refused(tmp_path):
    obj = {"w": _Tensor(_Storage("0", 6), 0, (6,), (1,))}
    path = write_legacy_pth(tmp_path / "x.pth", obj, {"0": np.zeros(6)})
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(pth.PthFormatError, match="truncated"):
        pth.load_state_dict(path)


# --- Real torch.save output ---------------------------------------------------
def _torch_checkpoint(torch):
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(60, generator=generator)
    conv = torch.nn.Conv2d(3, 4, 3)
    bn = torch.nn.BatchNorm2d(4)
    return {
        "contiguous": torch.randn(4, 3, 3, 3, generator=generator),
        "transposed": torch.randn(5, 7, generator=generator).t(),
        "permuted": torch.randn(2, 3, 4, 5, generator=generator).permute(0, 2, 3, 1)[..., 1:],
        "sliced_view": base[7:19],
        "strided_view": base[::3].reshape(4, 5)[:, 1:],
        "float16": torch.randn(6, generator=generator).half(),
        "bfloat16": torch.randn(6, generator=generator).bfloat16(),
        "float64": torch.randn(2, 3, generator=generator, dtype=torch.float64)[:, ::2],
        "num_batches_tracked": torch.tensor(12345, dtype=torch.int64),
        "int8": torch.arange(-4, 4, dtype=torch.int8),
        "bool": torch.tensor([True, False, True]),
        "empty": torch.zeros(0, 4),
        "parameter": torch.nn.Parameter(torch.randn(3, generator=generator)),
        **{f"conv.{k}": v for k, v in conv.state_dict().items()},
        **{f"bn.{k}": v for k, v in bn.state_dict().items()},
    }


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_matches_torch_save_for_dtypes_strides_and_views(tmp_path, zip_format):
    torch = pytest.importorskip("torch")
    tensors = _torch_checkpoint(torch)
    path = tmp_path / "checkpoint.pth"
    checkpoint = {"state_dict": tensors, "meta": {"epoch": 7, "classes": ["cat", "dog"]}}
    torch.save(checkpoint, path, _use_new_zipfile_serialization=zip_format)
    loaded = pth.load_state_dict(path)
    assert loaded["meta"] == {"epoch": 7, "classes": ["cat", "dog"]}
    assert list(loaded["state_dict"]) == list(tensors)
    for name, tensor in tensors.items():
        tensor = tensor.detach()
        expected = (tensor.float() if tensor.dtype == torch.bfloat16 else tensor).numpy()
        got = loaded["state_dict"][name]
        assert got.dtype == expected.dtype, name
        assert got.shape == expected.shape, name
        np.testing.assert_array_equal(got, expected, err_msg=name)
    assert loaded["state_dict"]["num_batches_tracked"].dtype == np.int64
    assert loaded["state_dict"]["num_batches_tracked"] == 12345


def test_module_state_dict_keeps_order_and_drops_metadata(tmp_path):
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8))
    torch.save(module.state_dict(), tmp_path / "m.pth")
    loaded = pth.load_state_dict(tmp_path / "m.pth")
    assert isinstance(loaded, collections.OrderedDict)
    assert list(loaded) == list(module.state_dict())
    assert not hasattr(loaded, "_metadata")


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_whole_pickled_module_is_refused_with_advice(tmp_path, zip_format):
    torch = pytest.importorskip("torch")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "m.pth", _use_new_zipfile_serialization=zip_format)
    with pytest.raises(pth.UnsafePickleError, match="torch.nn.modules.linear.Linear.*state_dict"):
        pth.load_state_dict(tmp_path / "m.pth")
