"""How fast the autoencoder trains here: seconds per clip of one optimisation step of the committed autoencoder
on whole 17x64x64 clips (bf16 autocast, AdamW), through diffusers' chunked loop and through `whole_clip`, with
glibc's default allocator settings and with `keep_freed_memory`; each setting in a fresh process, since the
allocator's settings hold for a whole process. On a machine with a GPU it measures the GPU (the allocator then
only touches the host's memory; compare the two paths). `--fp32` sets fp32 steps beside the bf16 ones: bf16 is
~3x faster on some CPUs and slower on others (`common.bf16_speedup`).

    python -m training.step_speed [--model models/reel-t2v-default] [--batch 4] [--steps 8] [--decoder]
    python -m training.step_speed --transformer [--batch 256]   # the transformer's step, per clip, both allocators
    python -m training.step_speed --compile [--transformer]     # whole clips (or the transformer) torch.compile'd
    python -m training.step_speed --fp32 [--compile] [--transformer]   # bf16 autocast beside fp32
    python -m training.step_speed --channels-last [--fp32] [--compile]  # the autoencoder channels-last beside not

Prints one line per setting (median of the steps after two warm-up steps, and the process's user and system CPU
seconds), then one JSON line with every figure.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(step, steps: int, dev: str) -> list[float]:
    """Wall seconds of each of `steps` + 2 calls of `step` (the first two warm up; on a GPU, to its end)."""
    import torch
    times = []
    for _ in range(steps + 2):
        t = time.perf_counter()
        step()
        if dev == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return times


def result(path: str, compiled: bool, tuned: bool, batch: int, dev: str, times: list[float],
           bf16: bool = True, channels_last: bool = False) -> dict:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return {"path": path + (" compiled" if compiled else "") + ("" if bf16 else " fp32")
            + (" channels-last" if channels_last else ""),
            "allocator": "kept" if tuned else "default",
            "batch": batch, "device": dev, "s_per_clip": statistics.median(times[2:]) / batch,
            "first_step_s": times[0], "user_s": use.ru_utime, "sys_s": use.ru_stime}


def autoencoder_speed(model: str, path: str, tuned: bool, batch: int, steps: int, decoder: bool,
                      compiled: bool = False, bf16: bool = True, channels_last: bool = False) -> dict:
    """An AdamW step of the committed autoencoder (L1 + MSE, bf16 autocast unless `bf16` is False) on random
    clips, `path` "whole" (`whole_clip`) or "chunked" (diffusers' own loop); `channels_last` lays it out so
    (`whole_clip.channels_last`)."""
    import torch
    from diffusers import AutoencoderKLWan

    from . import whole_clip
    from .common import device as pick_device, keep_freed_memory

    if tuned:
        keep_freed_memory()
    torch.manual_seed(0)
    dev = pick_device()
    vae = AutoencoderKLWan.from_pretrained(f"{model}/vae").float().to(dev)
    if channels_last:
        whole_clip.channels_last(vae)
    params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters()) if decoder else vae.parameters()
    opt = torch.optim.AdamW(params, lr=1e-6)
    x = torch.rand(batch, 3, 17, 64, 64, device=dev) * 2 - 1
    if path == "whole":
        if compiled:
            whole_clip.compile_passes()             # as the trainers' --compile
        encode, decode = (lambda x: whole_clip.encode(vae, x)), (lambda z: whole_clip.decode(vae, z))
    else:                                           # diffusers' own loop, chunk by chunk
        encode, decode = vae._encode, (lambda z: vae.decode(z).sample)
        if compiled:
            encode, decode = torch.compile(encode), torch.compile(decode)

    def step():
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=bf16):
            with torch.no_grad() if decoder else contextlib.nullcontext():
                z = encode(x).chunk(2, dim=1)[0]
            rec = decode(z).float()
        loss = torch.nn.functional.l1_loss(rec, x) + torch.nn.functional.mse_loss(rec, x)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return result(path, compiled, tuned, batch, dev, timed(step, steps, dev), bf16, channels_last)


def transformer_speed(model: str, tuned: bool, batch: int, steps: int, compiled: bool = False,
                      bf16: bool = True) -> dict:
    """A flow-matching step of the committed transformer (`DiTTrainer`, bf16 autocast as --cpu-bf16 unless `bf16`
    is False) on random latents."""
    import tempfile

    import torch
    from diffusers import WanTransformer3DModel

    from .common import device as pick_device, keep_freed_memory
    from .sample import load_component
    from .trainers import DiTTrainer

    if tuned:
        keep_freed_memory()
    torch.manual_seed(0)
    dev = pick_device()
    dit = load_component(WanTransformer3DModel, Path(model) / "transformer").train().to(dev)
    latents = torch.randn(4 * batch, 16, 5, 8, 8, device=dev)
    text = torch.randn(4 * batch, 3, 16, 384, device=dev).half()
    with tempfile.TemporaryDirectory() as run:
        trainer = DiTTrainer(dit, latents, text, torch.zeros(16, 384, device=dev).half(), run, batch=batch,
                             total_steps=steps + 2, device=dev, cpu_amp=bf16)
        if compiled:
            dit.compile()               # as run_all --compile: in place, after the trainer copied its average
        times = timed(trainer.step, steps, dev)
    return result("transformer", compiled, tuned, batch, dev, times, bf16)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/reel-t2v-default")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--decoder", action="store_true", help="the decoder alone trains (the encoder frozen)")
    ap.add_argument("--transformer", action="store_true", help="the transformer's step instead")
    ap.add_argument("--compile", action="store_true",
                    help="compare eager with torch.compile (whole clips or the transformer; the memory kept)")
    ap.add_argument("--fp32", action="store_true",
                    help="compare bf16 autocast with fp32 (whole clips or the transformer; the memory kept)")
    ap.add_argument("--channels-last", action="store_true",
                    help="compare the autoencoder's whole-clip step channels-last with the default layout (with "
                         "--compile, --fp32 as given; the memory kept)")
    ap.add_argument("--one", nargs=2, metavar=("PATH", "ALLOCATOR"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        kept, compiled, bf16 = a.one[1] == "kept", "+compile" in a.one[0], "+fp32" not in a.one[0]
        path = a.one[0].split("+")[0]
        r = transformer_speed(a.model, kept, a.batch, a.steps, compiled, bf16) if path == "transformer" else \
            autoencoder_speed(a.model, path, kept, a.batch, a.steps, a.decoder, compiled, bf16, "+cl" in a.one[0])
        print(json.dumps(r))
        return
    rows = []
    if a.channels_last:
        if a.transformer:
            ap.error("--channels-last measures the autoencoder's step")
        base = "whole" + ("+compile" if a.compile else "") + ("+fp32" if a.fp32 else "")
        settings = [(base, "kept"), (base + "+cl", "kept")]
    elif a.compile or a.fp32:
        base = "transformer" if a.transformer else "whole"
        if a.compile and a.fp32:      # both compiled, bf16 beside fp32
            settings = [(base + "+compile", "kept"), (base + "+compile+fp32", "kept")]
        else:
            settings = [(base, "kept"), (base + ("+compile" if a.compile else "+fp32"), "kept")]
    else:
        paths = ("transformer",) if a.transformer else ("chunked", "whole")
        settings = [(p, allocator) for p in paths for allocator in ("default", "kept")]
    for path, allocator in settings:
        cmd = [sys.executable, "-m", "training.step_speed", "--one", path, allocator, "--model", a.model,
               "--batch", str(a.batch), "--steps", str(a.steps)] + (["--decoder"] if a.decoder else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        rows.append(r)
        print(f"{r['path']:20s} allocator {allocator:8s} batch {a.batch} on {r['device']}: "
              f"{r['s_per_clip']:.4f} s per clip, first step {r['first_step_s']:.1f} s "
              f"(process: user {r['user_s']:.0f} s, sys {r['sys_s']:.0f} s)", flush=True)
    print(json.dumps({"decoder_only": a.decoder, "transformer": a.transformer, "compile": a.compile, "fp32": a.fp32,
                      "channels_last": a.channels_last, "rows": rows}))


if __name__ == "__main__":
    main()
