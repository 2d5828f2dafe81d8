"""Reads PyTorch `.pth` state dicts into numpy arrays, without PyTorch and
without running code from the file.

`torch.load` unpickles the file, and unpickling can call any importable
function, so a weight file from the internet can run arbitrary code. This
reader unpickles with a whitelist instead: a state dict needs only
`collections.OrderedDict`, the tensor and parameter rebuild functions of
`torch._utils` and the `torch.*Storage` type names, and here these resolve to
small numpy-backed stand-ins that never import torch. Any other global the
pickle asks for is refused with `UnsafePickleError` before anything is called.

Both layouts `torch.save` has written are understood:

- the zip archive (PyTorch 1.6 and later): `<name>/data.pkl` plus one raw
  record per storage, `<name>/data/<key>`, and `<name>/byteorder`;
- the legacy stream (before 1.6, or `_use_new_zipfile_serialization=False`):
  a magic number, the protocol version, system info, the pickle, the list of
  storage keys, then each storage as an int64 element count and its bytes.

    from keras_shufflenet import pth
    state_dict = pth.load_state_dict("shufflenetv2_x1-5666bf0f80.pth")
    state_dict["conv1.0.weight"].shape   # (24, 3, 3, 3), numpy float32

Tensors come back as C-contiguous numpy arrays with the dtype, shape, strides
and storage offset of the saved tensor (bfloat16 is widened to float32, which
numpy lacks). Views that share a storage are read correctly.

A damaged or hostile file is refused with `PthFormatError` or
`UnsafePickleError` (both `ValueError`s naming the file), in time and memory
bounded by the file's size: every size the file states is checked against the
bytes it actually holds before anything is allocated, the pickle is read by
Python's own unpickler (whose memo is a dict, so a forged memo index costs
nothing) and the arrays built from the file may not exceed
`MAX_OUTPUT_RATIO` times its size.
"""

import collections
import io
import math
import os
import pickle
import struct
import zipfile
import zlib

import numpy as np

# `torch.serialization`'s legacy stream header.
LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001

# The arrays read from a file may hold at most this many times its bytes (bfloat16
# doubles on widening; tied weights are two tensors of one storage), plus a little for
# tiny files: a forged size or stride cannot make the reader allocate more.
MAX_OUTPUT_RATIO = 4
_OUTPUT_SLACK = 1 << 20
# Deflate expands at most about 1032:1; a zip record claiming more is corrupt.
_MAX_DEFLATE_RATIO = 1032

# torch storage type name -> numpy dtype of one element (little-endian form).
STORAGE_DTYPES = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),  # widened to float32 on read
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class UnsafePickleError(ValueError):
    """The file's pickle asks for something a state dict never needs."""


class PthFormatError(ValueError):
    """The file is not a readable PyTorch `torch.save` file."""


class _StorageType(collections.namedtuple("_StorageType", "name dtype")):
    """Stands in for `torch.FloatStorage` and friends: a name, not a class."""

    __slots__ = ()


class _Storage:
    """One storage: its type, element count and (once read) its elements."""

    __slots__ = ("key", "type_name", "dtype", "numel", "data")

    def __init__(self, key, storage_type, numel, byteorder="little"):
        self.key, self.type_name, self.numel, self.data = key, storage_type.name, numel, None
        self.dtype = storage_type.dtype.newbyteorder("<" if byteorder == "little" else ">")


class _StorageView(collections.namedtuple("_StorageView", "root offset numel")):
    """A legacy-format view into part of another storage (offsets in elements)."""

    __slots__ = ()


class _TensorRef(collections.namedtuple("_TensorRef", "storage offset size stride")):
    """A tensor waiting for its storage's bytes (the legacy stream puts them last)."""

    __slots__ = ()


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    """Stand-in for `torch._utils._rebuild_tensor_v2`: records, computes nothing."""
    if not isinstance(storage, (_Storage, _StorageView)):
        raise UnsafePickleError(
            f"_rebuild_tensor_v2 got {type(storage).__name__} instead of a storage."
        )
    for name, value in (("size", size), ("stride", stride)):
        if not isinstance(value, tuple) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise PthFormatError(f"Tensor {name} must be a tuple of ints; got {value!r}.")
    if len(size) != len(stride):
        raise PthFormatError(f"Tensor size {size} and stride {stride} differ in length.")
    if not isinstance(storage_offset, int) or storage_offset < 0:
        raise PthFormatError(f"Tensor storage offset must be an int >= 0; got {storage_offset!r}.")
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    """Stand-in for `torch._utils._rebuild_parameter`: a Parameter is its data."""
    if not isinstance(data, _TensorRef):
        raise UnsafePickleError(f"_rebuild_parameter got {type(data).__name__}, not a tensor.")
    return data


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name, dtype) for name, dtype in STORAGE_DTYPES.items()},
}
ALLOWED_GLOBALS = tuple(sorted(f"{module}.{name}" for module, name in _ALLOWED_GLOBALS))


def _refuse_bytearray8(unpickler):
    raise PthFormatError("the pickle holds a protocol-5 bytearray, which torch.save never writes")


class _RestrictedUnpickler(pickle._Unpickler):  # the Python one: its memo is a dict
    """Resolves only whitelisted globals, to stand-ins; storages via a callback."""

    # BYTEARRAY8 allocates the length the file states before reading it.
    dispatch = {**pickle._Unpickler.dispatch, pickle.BYTEARRAY8[0]: _refuse_bytearray8}

    def __init__(self, file, path, persistent_load):
        super().__init__(file)
        self._path = path
        self._persistent_load = persistent_load

    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise UnsafePickleError(
                f"Refusing to load {self._path!r}: its pickle asks for the global "
                f"'{module}.{name}', which a PyTorch state dict never needs (it may be an "
                f"attempt to run code). Allowed globals: {', '.join(ALLOWED_GLOBALS)}. "
                "Nothing from the file was executed. (For a whole pickled model, save its "
                "model.state_dict() instead.)"
            ) from None

    def persistent_load(self, pid):
        return self._persistent_load(pid)


def load_state_dict(path):
    """Reads a `torch.save` file into `{name: numpy array}` without PyTorch.

    Args:
        path: a `.pth`/`.pt` file written by `torch.save` (zip or legacy
            layout) holding a state dict, possibly nested inside dicts, lists
            or tuples (e.g. `{"state_dict": ..., "meta": {...}}`).

    Returns:
        The unpickled object with every tensor replaced by a numpy array;
        for a plain state dict, an `OrderedDict` of name -> array.

    Raises:
        UnsafePickleError: the pickle needs a global outside the whitelist
            (`ALLOWED_GLOBALS`); nothing from the file has run.
        PthFormatError: not a `torch.save` file, or it is truncated or
            inconsistent (storage sizes, strides out of bounds).
        FileNotFoundError: `path` does not exist.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(b"PK\x03\x04"):
        result = _read_zip(path)
    elif head[:1] == b"\x80":
        result = _load_legacy(path)
    elif len(head) > 262 and head[257:262] == b"ustar":
        raise PthFormatError(
            f"{path!r} is a tar archive: the format of PyTorch before 0.4, which this reader "
            "does not support. Re-save it with a recent torch.save."
        )
    else:
        raise PthFormatError(
            f"{path!r} is not a PyTorch file: expected a zip archive (torch.save since 1.6) "
            "or a legacy torch.save stream."
        )
    budget = [MAX_OUTPUT_RATIO * os.path.getsize(path) + _OUTPUT_SLACK]
    try:
        return _materialize(result, path, budget)
    except RecursionError:
        raise PthFormatError(f"{path!r}: the pickle nests too deeply for a state dict.") from None


def _unpickle(file, path, persistent_load):
    try:
        return _RestrictedUnpickler(file, path, persistent_load).load()
    except UnsafePickleError:
        raise
    except PthFormatError as error:
        if path in str(error):
            raise
        raise PthFormatError(f"{path!r}: {error}") from None
    except Exception as error:  # A malformed pickle can raise almost anything.
        raise PthFormatError(f"{path!r}: the pickle could not be read: {error}") from error


def _check_storage_id(pid, path, length):
    if not (isinstance(pid, tuple) and len(pid) == length and pid[0] in ("storage", b"storage")):
        raise UnsafePickleError(
            f"Refusing to load {path!r}: unexpected persistent id {pid!r:.200}; a state dict "
            "references only storages."
        )
    storage_type, key, numel = pid[1], pid[2], pid[4]
    if not isinstance(storage_type, _StorageType):
        raise UnsafePickleError(
            f"Refusing to load {path!r}: {storage_type!r:.100} is not a storage type."
        )
    if isinstance(key, bytes):
        key = key.decode("ascii")
    if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
        raise PthFormatError(f"{path!r}: malformed storage reference {pid!r:.200}.")
    return storage_type, key, numel


def _read_zip(path):
    """`_load_zip`, with whatever `zipfile` and `zlib` raise on a damaged archive (bad
    CRC, truncated or forged headers) turned into a `PthFormatError` naming the file."""
    try:
        return _load_zip(path)
    except (UnsafePickleError, PthFormatError):
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, struct.error,
            UnicodeDecodeError, NotImplementedError, RuntimeError, OverflowError, KeyError) as error:
        raise PthFormatError(f"{path!r} is a damaged zip archive: {error}") from error


def _read_record(archive, info, path, file_size):
    """A record's bytes, after checking that the archive can hold what it claims."""
    if info.compress_type == zipfile.ZIP_STORED:
        possible = info.compress_size
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        possible = info.compress_size * _MAX_DEFLATE_RATIO
    else:
        raise PthFormatError(
            f"{path!r}: record {info.filename!r} uses zip compression method "
            f"{info.compress_type}; torch.save stores records uncompressed."
        )
    if info.compress_size > file_size or info.file_size > possible:
        raise PthFormatError(
            f"{path!r}: record {info.filename!r} claims {info.file_size} bytes "
            f"({info.compress_size} stored), more than the {file_size}-byte file can hold."
        )
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as error:
        raise PthFormatError(f"{path!r} is a damaged zip archive: {error}") from error


def _load_zip(path):
    file_size = os.path.getsize(path)
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise PthFormatError(
                f"{path!r} is a zip file but not a torch.save archive: expected exactly one "
                f"'<name>/data.pkl', found {len(pickles)}."
            )
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = "little"
        if f"{prefix}byteorder" in archive.namelist():
            info = archive.getinfo(f"{prefix}byteorder")
            byteorder = _read_record(archive, info, path, file_size).decode("ascii").strip()
            if byteorder not in ("little", "big"):
                raise PthFormatError(f"{path!r}: unknown byteorder record {byteorder!r}.")
        storages = {}

        def persistent_load(pid):
            storage_type, key, numel = _check_storage_id(pid, path, 5)
            if key not in storages:
                storage = _Storage(key, storage_type, numel, byteorder)
                record = f"{prefix}data/{key}"
                try:
                    info = archive.getinfo(record)
                except KeyError:
                    raise PthFormatError(
                        f"{path!r}: storage record {record!r} is missing."
                    ) from None
                size = info.file_size
                if size != numel * storage.dtype.itemsize:
                    raise PthFormatError(
                        f"{path!r}: storage {key} holds {size} bytes, but its reference says "
                        f"{numel} x {storage.dtype.itemsize}-byte elements."
                    )
                storage.data = np.frombuffer(
                    _read_record(archive, info, path, file_size), dtype=storage.dtype
                )
                storages[key] = storage
            storage = storages[key]
            if storage.type_name != storage_type.name:
                raise PthFormatError(f"{path!r}: storage {key} is used with two types.")
            return storage

        data_pkl = _read_record(archive, archive.getinfo(pickles[0]), path, file_size)
        return _unpickle(io.BytesIO(data_pkl), path, persistent_load)


class _BoundedReader:
    """A file whose reads never ask for more than it has left, so a forged length in
    the pickle (BINBYTES8, FRAME) cannot make the reader allocate it."""

    def __init__(self, file, size):
        self._file, self._size = file, size

    def tell(self):
        return self._file.tell()

    def read(self, n=-1):
        left = self._size - self._file.tell()
        return self._file.read(left if n is None or n < 0 else min(n, left))

    def readline(self):
        return self._file.readline(self._size - self._file.tell())

    def readinto(self, buffer):
        return self._file.readinto(buffer)


def _load_legacy(path):
    file_size = os.path.getsize(path)
    with open(path, "rb") as raw_file:
        f = _BoundedReader(raw_file, file_size)
        no_storages = _no_persistent_ids(path)
        magic = _unpickle(f, path, no_storages)
        if magic != LEGACY_MAGIC_NUMBER:
            raise PthFormatError(
                f"{path!r} is a plain pickle, not a torch.save file (no PyTorch magic number). "
                "Only state dicts written by torch.save are read."
            )
        protocol = _unpickle(f, path, no_storages)
        if protocol != LEGACY_PROTOCOL_VERSION:
            raise PthFormatError(
                f"{path!r}: legacy torch.save protocol {protocol!r}, expected "
                f"{LEGACY_PROTOCOL_VERSION}."
            )
        _unpickle(f, path, no_storages)  # System info; storages are little-endian anyway.
        roots = {}

        def persistent_load(pid):
            storage_type, key, numel = _check_storage_id(pid, path, 6)
            if key not in roots:
                roots[key] = _Storage(key, storage_type, numel)
            storage = roots[key]
            if storage.type_name != storage_type.name:
                raise PthFormatError(f"{path!r}: storage {key} is used with two types.")
            view = pid[5]
            if view is None:
                return storage
            if not (isinstance(view, tuple) and len(view) == 3):
                raise PthFormatError(f"{path!r}: malformed storage view {view!r:.200}.")
            _, offset, view_numel = view
            if not (isinstance(offset, int) and isinstance(view_numel, int)):
                raise PthFormatError(f"{path!r}: malformed storage view {view!r:.200}.")
            return _StorageView(storage, offset, view_numel)

        result = _unpickle(f, path, persistent_load)
        keys = _unpickle(f, path, no_storages)
        if not isinstance(keys, list) or set(map(str, keys)) - set(roots):
            raise PthFormatError(f"{path!r}: the storage key list does not match the pickle.")
        for key in keys:
            storage = roots[str(key)]
            count_bytes = f.read(8)
            if len(count_bytes) != 8:
                raise PthFormatError(f"{path!r} is truncated (storage {key}).")
            (count,) = struct.unpack("<q", count_bytes)
            if count != storage.numel:
                raise PthFormatError(
                    f"{path!r}: storage {key} has {count} elements on disk, {storage.numel} in "
                    "the pickle."
                )
            nbytes = count * storage.dtype.itemsize
            if nbytes > file_size - f.tell():
                raise PthFormatError(
                    f"{path!r} is truncated or damaged: storage {key} claims {nbytes} bytes, "
                    f"the file has {file_size - f.tell()} left."
                )
            raw = f.read(nbytes)
            if len(raw) != nbytes:
                raise PthFormatError(f"{path!r} is truncated (storage {key}).")
            storage.data = np.frombuffer(raw, dtype=storage.dtype)
    return result


def _no_persistent_ids(path):
    def refuse(pid):
        raise UnsafePickleError(
            f"Refusing to load {path!r}: unexpected persistent id {pid!r:.200}."
        )

    return refuse


def _materialize(obj, path, budget):
    """Replaces every `_TensorRef` in nested dicts, lists and tuples by an array;
    `budget` ([bytes]) is what the arrays may still take."""
    if isinstance(obj, _TensorRef):
        return _tensor_to_numpy(obj, path, budget)
    if isinstance(obj, dict):
        # Rebuilding with type(obj) keeps OrderedDict; BUILD-set attributes
        # (state_dict()._metadata) are dropped on purpose.
        return type(obj)((key, _materialize(value, path, budget)) for key, value in obj.items())
    if isinstance(obj, list):
        return [_materialize(value, path, budget) for value in obj]
    if isinstance(obj, tuple) and not isinstance(obj, (_StorageType, _StorageView)):
        return tuple(_materialize(value, path, budget) for value in obj)
    if isinstance(obj, (_Storage, _StorageView, _StorageType)):
        raise PthFormatError(f"{path!r} holds a bare storage; only tensors are supported.")
    return obj


def _tensor_to_numpy(ref, path, budget):
    storage = ref.storage
    if isinstance(storage, _StorageView):
        root, data = storage.root, None
        end = storage.offset + storage.numel
        if isinstance(root.data, np.ndarray) and 0 <= storage.offset <= end <= root.data.size:
            data = root.data[storage.offset : end]
        type_name = root.type_name
    else:
        data, type_name = storage.data, storage.type_name
    if not isinstance(data, np.ndarray):
        raise PthFormatError(f"{path!r}: a tensor's storage is missing or out of range.")
    size, stride, offset = ref.size, ref.stride, ref.offset
    if any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise PthFormatError(f"{path!r}: negative size {size} or stride {stride}.")
    nbytes = math.prod(size) * (4 if type_name == "BFloat16Storage" else data.itemsize)
    if nbytes > budget[0]:
        raise PthFormatError(
            f"{path!r}: a tensor of size {size} would need {nbytes} bytes; the arrays of a "
            f"{os.path.getsize(path)}-byte file may take at most {MAX_OUTPUT_RATIO}x its size "
            "(a damaged size or stride, or a storage repeated by zero strides)."
        )
    budget[0] -= nbytes
    if 0 in size:
        array = np.zeros(size, dtype=data.dtype)
    else:
        # Bounds are checked against the elements actually read, never a header.
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= data.size:
            raise PthFormatError(
                f"{path!r}: a tensor of size {size}, stride {stride} and offset {offset} reads "
                f"past its storage of {data.size} elements."
            )
        # (as_strided would read shape=() as "keep the input's shape".)
        array = np.lib.stride_tricks.as_strided(
            data[offset:],
            shape=size or (1,),
            strides=tuple(s * data.itemsize for s in stride) or (data.itemsize,),
            writeable=False,
        ).reshape(size)
    if type_name == "BFloat16Storage":
        return (np.array(array, dtype=np.uint32) << 16).view(np.float32)
    return np.array(array, dtype=data.dtype.newbyteorder("="), order="C")
