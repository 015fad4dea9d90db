"""Write and read .safetensors files with the standard library and numpy.

Layout: an 8-byte little-endian header length, a JSON header mapping each
tensor name to {dtype, shape, data_offsets} (plus an optional string-only
"__metadata__"), padded with spaces to a multiple of 8, then the tensors'
bytes back to back. Written by hand so that importing weights needs neither
torch nor the safetensors package.
"""

import json
import struct

import numpy as np

_DTYPES = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<i8"): "I64",
           np.dtype("<i4"): "I32", np.dtype("u1"): "U8"}
_NUMPY = {v: k for k, v in _DTYPES.items()}


def write(path, tensors, metadata=None):
    """tensors: dict name -> numpy array (written in sorted name order)."""
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        dt = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        if dt not in _DTYPES:
            raise ValueError(f"{name}: unsupported dtype {a.dtype}")
        raw = a.astype(dt, copy=False).tobytes()
        header[name] = {"dtype": _DTYPES[dt], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def read(path):
    """Returns (dict name -> numpy array, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[base + b:base + e], dtype=_NUMPY[info["dtype"]]).reshape(info["shape"])
    return out, meta
