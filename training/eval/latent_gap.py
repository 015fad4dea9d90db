"""How much of an autoencoder's round-trip error is its encoder's. For each of the benchmark's PSNR clips (seed
424242) the encoder's posterior mean is refined by Adam through the frozen decoder, to the clip's MSE; the PSNR
(whole, the objects' boxes, the backdrop, as `vae_errors` splits it) is printed before and along the fit.
What the fitted latents gain is what a better encoder could give this decoder (at least: the fit is stopped,
not converged); what they still miss is the decoder's.

    python -m training.eval.latent_gap --vae models/reel-t2v-default/vae --clips 8 --steps 400 [--json J]

About 0.35 s per step and clip on two cores (bf16 autocast).

With --decoder the other half is fitted instead: a fresh copy of the decoder per clip, refined by Adam (lr 1e-4)
on the encoder's fixed latents. What it reaches bounds what those latents hold for a decoder that had learnt to
draw that clip: where it passes the target, the latents (and so the transformer that makes them) are not what
holds the round trip back, the decoder's drawing of the whole world is. About 0.8 s per step and clip.

    python -m training.eval.latent_gap --vae models/reel-t2v-default/vae --decoder --clips 1 --steps 400
"""
from __future__ import annotations

import json
import time

import numpy as np
import torch

from ..common import keep_freed_memory
from ..trainers import frames_to_tensor
from .benchmark import decode8
from .vae_errors import clip_set_arguments, split_errors

SPLIT = ("psnr", "boxes_psnr", "backdrop_psnr")     # of split_errors: the clip, the objects' boxes, the backdrop


def _refine(model, z: torch.Tensor, params: list, frames: np.ndarray, truth: dict, steps: int, lr: float, report,
            amp: bool):
    """Adam on `params` (the latents z, or `model`'s decoder weights) to one clip's MSE of `model`'s decoding of z,
    measured at the `report` steps. Returns ({step: split_errors(...)}, the relative distance `params` moved)."""
    from .. import whole_clip
    x = frames_to_tensor(frames[None], "cpu")
    start = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=lr)
    seen = {}
    for s in range(steps + 1):
        if s in report or s == steps:
            with torch.no_grad():
                seen[s] = split_errors(frames, decode8(model, z)[0].permute(1, 2, 3, 0).numpy(), truth)
        if s == steps:
            break
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            y = whole_clip.decode(model, z).float()
        loss = (y - x).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    moved = sum(float((p.detach() - q).pow(2).sum()) for p, q in zip(params, start))
    return seen, (moved / sum(float(q.pow(2).sum()) for q in start)) ** 0.5


def _posterior_mean(vae, frames: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return vae.encode(frames_to_tensor(frames[None], "cpu")).latent_dist.mode()


def fit_latents(vae, frames: np.ndarray, truth: dict, steps: int, lr: float, report=(0,), amp: bool = True):
    """Refines one clip's latents through the frozen decoder. Returns ({step: split_errors(...)} at the `report`
    steps, the relative distance the latents moved)."""
    z = _posterior_mean(vae, frames).requires_grad_(True)
    return _refine(vae, z, [z], frames, truth, steps, lr, report, amp)


def fit_decoder(vae, frames: np.ndarray, truth: dict, steps: int, lr: float, report=(0,), amp: bool = True):
    """Refines a copy of `vae`'s decoder (and post_quant_conv) on one clip, its latents the encoder's posterior
    mean, fixed. Returns ({step: split_errors(...)} at the `report` steps, the relative distance the decoder's
    weights moved); `vae` itself is left as it was."""
    import copy
    fitted = copy.deepcopy(vae).eval()
    params = list(fitted.post_quant_conv.parameters()) + list(fitted.decoder.parameters())
    for p in params:
        p.requires_grad_(True)
    return _refine(fitted, _posterior_mean(vae, frames), params, frames, truth, steps, lr, report, amp)


def main(argv=None):
    ap = clip_set_arguments(__doc__, 8)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--decoder", action="store_true",
                    help="fit a copy of the decoder to each clip instead of its latents (the latents' headroom)")
    ap.add_argument("--lr", type=float, help="Adam's step: on the latents 0.05 (their std is ~1-3), on the "
                                            "decoder's weights 1e-4")
    ap.add_argument("--report", default="0,25,100,400", help="the steps to measure at")
    ap.add_argument("--json", help="write every clip's figures here")
    a = ap.parse_args(argv)
    keep_freed_memory()
    from diffusers import AutoencoderKLWan
    from ..data import render_with_truth
    torch.set_num_threads(a.threads)
    vae = AutoencoderKLWan.from_pretrained(a.vae).eval().requires_grad_(False)
    lr = a.lr if a.lr is not None else (1e-4 if a.decoder else 0.05)
    fit = fit_decoder if a.decoder else fit_latents
    report = sorted({int(s) for s in a.report.split(",") if int(s) <= a.steps} | {0, a.steps})
    rows = []
    print("clip  backdrop  moved   " + "  ".join(f"step {s}: clip / boxes / backdrop dB" for s in report))
    for i, (spec, r) in enumerate(render_with_truth(a.seed, a.clips)):
        started = time.time()
        seen, moved = fit(vae, r.frames, r.truth, a.steps, lr, report)
        rows.append({"background": spec.background, "moved": moved,
                     "steps": {s: {k: seen[s][k] for k in SPLIT} for s in report}})
        cells = "  ".join(" / ".join(f"{seen[s][k]:5.2f}" for k in SPLIT) for s in report)
        print(f"{i:4d}  {spec.background:8s}  {moved:.2f}  {cells}  ({time.time() - started:.0f} s)", flush=True)
    mean = {s: {k: float(np.mean([r["steps"][s][k] for r in rows])) for k in SPLIT} for s in report}
    print("mean              " + "  ".join(" / ".join(f"{mean[s][k]:5.2f}" for k in SPLIT) for s in report))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"vae": a.vae, "fitted": "decoder" if a.decoder else "latents", "clips": a.clips,
                       "seed": a.seed, "steps": a.steps, "lr": lr, "mean": mean,
                       "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
