"""Read an ncnn model: the .param text (the graph) and the .bin (the weights).

.param: a magic line (7767517), "layer_count blob_count", then one line per
layer: type, name, input count, output count, input blob names, output blob
names, then `key=value` parameters (a negative key -23300-k marks an array
`k=n,v1,...,vn`).

.bin: each layer's weights, in layer order, read by the layer's load_model().
Convolution reads its weight with ModelBin type 0 ("auto": a 4-byte tag; the
tag 0x01306B47 means float16 values follow, padded to 4 bytes; a zero tag means
raw float32) and its bias with type 1 (raw float32, no tag); PReLU reads its
slopes with type 1. The layers used by Real-ESRGAN that own no weights
(Input, Split, Concat, Eltwise, Interp, PixelShuffle, BinaryOp) read nothing.
"""

import struct
from dataclasses import dataclass, field

import numpy as np

PARAM_MAGIC = 7767517
TAG_FP16 = 0x01306B47

WEIGHTLESS = {"Input", "Split", "Concat", "Eltwise", "Interp", "PixelShuffle", "BinaryOp"}


class NcnnError(Exception):
    pass


@dataclass
class Layer:
    type: str
    name: str
    inputs: list
    outputs: list
    params: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)  # "weight"/"bias"/"slope" -> np.float32 array

    def int(self, key, default=0):
        return int(self.params.get(key, default))


def _parse_value(text):
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_param(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    if not lines or int(lines[0]) != PARAM_MAGIC:
        raise NcnnError("not an ncnn .param file (bad magic)")
    layer_count, _ = (int(x) for x in lines[1].split())
    layers = []
    for line in lines[2:]:
        tok = line.split()
        ltype, name, n_in, n_out = tok[0], tok[1], int(tok[2]), int(tok[3])
        ins, outs = tok[4:4 + n_in], tok[4 + n_in:4 + n_in + n_out]
        params = {}
        for kv in tok[4 + n_in + n_out:]:
            k, v = kv.split("=", 1)
            k = int(k)
            if k <= -23300:  # array parameter: "-23300-id=count,v1,v2,..."
                vals = v.split(",")
                params[-k - 23300] = [_parse_value(x) for x in vals[1:int(vals[0]) + 1]]
            else:
                params[k] = _parse_value(v)
        layers.append(Layer(ltype, name, ins, outs, params))
    if len(layers) != layer_count:
        raise NcnnError(f".param declares {layer_count} layers, holds {len(layers)}")
    return layers


class _BinReader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise NcnnError(f".bin truncated at byte {self.pos} (wanted {n} more)")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def load_auto(self, count):
        """ModelBin::load(count, 0)."""
        (tag,) = struct.unpack("<I", self.take(4))
        if tag == TAG_FP16:
            raw = self.take((count * 2 + 3) // 4 * 4)
            return np.frombuffer(raw[:count * 2], dtype="<f2").astype(np.float32), "float16"
        if tag == 0:
            return np.frombuffer(self.take(count * 4), dtype="<f4").copy(), "float32"
        raise NcnnError(f"unsupported ncnn weight encoding (tag 0x{tag:08x}): int8/quantised models are not imported")

    def load_raw(self, count):
        """ModelBin::load(count, 1)."""
        return np.frombuffer(self.take(count * 4), dtype="<f4").copy()


def load(param_text, bin_bytes):
    """Returns the layers with their weights attached, as float32 arrays."""
    layers = parse_param(param_text)
    reader = _BinReader(bin_bytes)
    for layer in layers:
        if layer.type == "Convolution":
            if layer.int(8) != 0:
                raise NcnnError(f"{layer.name}: int8 convolution is not supported")
            out_ch, size = layer.int(0), layer.int(6)
            kw = layer.int(1)
            kh = layer.int(11, kw)
            w, enc = reader.load_auto(size)
            if size % (out_ch * kh * kw):
                raise NcnnError(f"{layer.name}: weight size {size} does not fit {out_ch}x?x{kh}x{kw}")
            # ncnn keeps the weight as [out][in][kh][kw], PyTorch's OIHW.
            layer.weights["weight"] = w.reshape(out_ch, size // (out_ch * kh * kw), kh, kw)
            layer.weights["encoding"] = enc
            if layer.int(5):
                layer.weights["bias"] = reader.load_raw(out_ch)
        elif layer.type == "PReLU":
            layer.weights["slope"] = reader.load_raw(layer.int(0))
        elif layer.type not in WEIGHTLESS:
            raise NcnnError(f"layer type {layer.type} ({layer.name}) is not supported by the importer")
    if reader.pos != len(bin_bytes):
        raise NcnnError(f".bin has {len(bin_bytes) - reader.pos} bytes left over: the graph does not match the weights")
    return layers
