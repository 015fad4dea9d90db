"""Read a PyTorch state dict without torch: the standard library's zipfile and
pickle, plus numpy for the arrays.

Two layouts exist. torch.save before 1.6 (and RIFE's flownet.pkl) writes the
*legacy* stream: four pickles (magic number, protocol version, sys info, the
object), a pickled list of storage keys, then each storage's raw bytes as an
int64 element count followed by the elements. Since 1.6 it writes a zip whose
`*/data.pkl` holds the object and `*/data/<key>` each storage's bytes.

In both, tensors are pickled as calls to torch._utils._rebuild_tensor_v2 whose
storage argument is a "persistent id" tuple. A restricted Unpickler maps those
few globals to numpy code and refuses every other global, so a checkpoint can
never run code on import.
"""

import collections
import io
import pickle
import struct
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# torch storage class name -> numpy dtype (little-endian, as torch.save writes).
STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": None,  # handled as uint16 then widened
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class CheckpointError(Exception):
    pass


class _StorageType:
    """Stands in for torch.FloatStorage & co. inside the pickle."""

    def __init__(self, name):
        if name not in STORAGE_DTYPES:
            raise CheckpointError(f"unsupported storage type torch.{name}")
        self.name = name

    @property
    def dtype(self):
        dt = STORAGE_DTYPES[self.name]
        return np.dtype("<u2") if dt is None else dt


class _LazyStorage:
    """A storage whose bytes are read after the object pickle (legacy layout)."""

    def __init__(self, storage_type, key):
        self.storage_type = storage_type
        self.key = key
        self.array = None  # 1-D numpy array once loaded


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    # Resolved later: the legacy stream stores the bytes after the object.
    return _PendingTensor(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


class _PendingTensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def materialize(self):
        base = self.storage.array
        if base is None:
            raise CheckpointError(f"storage {self.storage.key} has no data")
        itemsize = base.dtype.itemsize
        needed = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride)) + 1
        if self.size and min(self.size) > 0 and needed > base.size:
            raise CheckpointError(f"tensor exceeds storage {self.storage.key}")
        view = np.lib.stride_tricks.as_strided(
            base[self.offset:], shape=self.size,
            strides=tuple(s * itemsize for s in self.stride))
        out = np.ascontiguousarray(view)
        if self.storage.storage_type.name == "BFloat16Storage":
            out = (out.astype(np.uint32) << 16).view(np.float32)
        return out


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages  # key -> _LazyStorage, shared by all tensors

    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return _ALLOWED_GLOBALS[(module, name)]
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        raise CheckpointError(f"refusing to load global {module}.{name} from a checkpoint")

    def persistent_load(self, pid):
        # legacy: ('storage', type, key, location, numel, view_metadata)
        # zip:    ('storage', type, key, location, numel)
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise CheckpointError(f"unexpected persistent id {pid!r}")
        storage_type, key = pid[1], str(pid[2])
        if len(pid) > 5 and pid[5] is not None:
            raise CheckpointError("storage views are not supported")
        if key not in self.storages:
            self.storages[key] = _LazyStorage(storage_type, key)
        return self.storages[key]


def _materialize(obj):
    if isinstance(obj, _PendingTensor):
        return obj.materialize()
    if isinstance(obj, dict):
        return collections.OrderedDict((k, _materialize(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialize(v) for v in obj)
    return obj


def _load_legacy(f):
    storages = {}
    magic = pickle.load(f)
    if magic != LEGACY_MAGIC:
        raise CheckpointError("not a torch checkpoint (bad magic number)")
    protocol = pickle.load(f)
    if protocol != LEGACY_PROTOCOL:
        raise CheckpointError(f"unsupported legacy protocol {protocol}")
    sys_info = pickle.load(f)
    if not sys_info.get("little_endian", True):
        raise CheckpointError("big-endian checkpoints are not supported")
    obj = _Unpickler(f, storages).load()
    keys = pickle.load(f)
    for key in keys:
        storage = storages[key]
        (count,) = struct.unpack("<q", f.read(8))
        dtype = storage.storage_type.dtype
        raw = f.read(count * dtype.itemsize)
        if len(raw) != count * dtype.itemsize:
            raise CheckpointError(f"truncated storage {key}")
        storage.array = np.frombuffer(raw, dtype=dtype)
    return _materialize(obj)


def _load_zip(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkl) != 1:
            raise CheckpointError("zip checkpoint without a single data.pkl")
        prefix = pkl[0][: -len("data.pkl")]
        storages = {}
        obj = _Unpickler(io.BytesIO(z.read(pkl[0])), storages).load()
        for key, storage in storages.items():
            raw = z.read(f"{prefix}data/{key}")
            storage.array = np.frombuffer(raw, dtype=storage.storage_type.dtype)
        return _materialize(obj)


def load_state_dict(path):
    """Returns an OrderedDict name -> contiguous numpy array."""
    if zipfile.is_zipfile(path):
        obj = _load_zip(path)
    else:
        with open(path, "rb") as f:
            obj = _load_legacy(f)
    if not isinstance(obj, dict):
        raise CheckpointError(f"checkpoint holds a {type(obj).__name__}, not a state dict")
    return obj
