#!/usr/bin/env python3
"""The reference side of `reel-bench t2v`: diffusers' WanPipeline (torch CPU, fp32) on a diffusers-layout model
directory, with the same settings, thread count, latents shape and text-embedding shape as the Swift side.
Prints one JSON object: seconds per denoising step (each step timed), whole generation (denoise + decode), peak RSS.

    python3 tools/bench/diffusers_t2v.py --model models/reel-t2v-default --threads 2 --steps 10
"""
from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import torch


def load_component(cls, path: Path):
    """config.json + safetensors (sharded or not), every tensor upcast to fp32, strictly matched."""
    from safetensors.torch import load_file
    model = cls.from_config(cls.load_config(str(path)))
    index = path / "diffusion_pytorch_model.safetensors.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.exists() \
        else ["diffusion_pytorch_model.safetensors"]
    state = {}
    for f in files:
        state.update(load_file(str(path / f)))
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return model.float().eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--height", type=int, default=64)
    ap.add_argument("--frames", type=int, default=17)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--text-tokens", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanPipeline, WanTransformer3DModel
    d = Path(a.model)
    t0 = time.perf_counter()
    dit = load_component(WanTransformer3DModel, d / "transformer")
    vae = load_component(AutoencoderKLWan, d / "vae")
    sched = FlowMatchEulerDiscreteScheduler.from_pretrained(str(d / "scheduler"))
    pipe = WanPipeline(tokenizer=None, text_encoder=None, vae=vae, transformer=dit, scheduler=sched)
    pipe.set_progress_bar_config(disable=True)
    load_s = time.perf_counter() - t0

    g = torch.Generator().manual_seed(0)
    emb = torch.randn(1, a.text_tokens, dit.config.text_dim, generator=g)
    neg = torch.zeros(1, a.text_tokens, dit.config.text_dim)
    latents = torch.randn(1, vae.config.z_dim, (a.frames - 1) // 4 + 1, a.height // 8, a.width // 8, generator=g)
    runs = []
    for _ in range(a.repeats):
        marks = []

        def on_step(p, i, t, kw):
            marks.append(time.perf_counter())
            return {}

        with torch.no_grad():
            start = time.perf_counter()
            pipe(prompt_embeds=emb, negative_prompt_embeds=neg, height=a.height, width=a.width, num_frames=a.frames,
                 num_inference_steps=a.steps, guidance_scale=a.guidance, latents=latents.clone(), output_type="pt",
                 callback_on_step_end=on_step)
            end = time.perf_counter()
        steps = [marks[0] - start] + [marks[i] - marks[i - 1] for i in range(1, len(marks))]
        runs.append({"total": end - start, "steps": steps, "decode": end - marks[-1]})
    best = min(runs, key=lambda r: r["total"])
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "load_seconds": load_s,
                      "step_seconds": sorted(best["steps"])[len(best["steps"]) // 2], "steps": best["steps"],
                      "decode_seconds": best["decode"], "total_seconds": best["total"],
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


if __name__ == "__main__":
    main()
