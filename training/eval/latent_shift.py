"""What a continued autoencoder changed under the transformer: how far its encoder moved the latents, and how its
decoder reads the latents of the encoder the transformer was trained on.

The transformer generates latents like its autoencoder's encoder made them, so an autoencoder whose encoder
trained too (`finetune_vae --whole`) is only a drop-in replacement while its decoder still reads the old
encoder's latents as well as the old decoder did. Four round trips of the benchmark's PSNR clips (seed 424242),
each decoder on each encoder's posterior modes, and the move between the two encoders' latents in units of the
old `latents_std` (the scale the transformer works in):

    python -m training.eval.latent_shift models/reel-t2v-default/vae R/vae [--clips 16]
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from ..common import keep_freed_memory
from ..trainers import frames_to_tensor
from .benchmark import decode8, psnr8

PAIRS = (("old", "old"), ("new", "new"), ("new", "old"), ("old", "new"))   # (decoder, encoder)


@torch.no_grad()
def latent_shift(old, new, frames: np.ndarray, batch: int = 8) -> dict:
    """`frames` (N, T, H, W, 3) uint8 through both autoencoders: {"moved_std": RMS of (new - old latents) /
    latents_std, "spread_std": RMS of the old latents about latents_mean, in the same units, and "psnr":
    {"<decoder> dec(<encoder> enc)": mean PSNR in dB on 8-bit frames} for the four pairs}."""
    std = torch.tensor(old.config.latents_std).view(1, -1, 1, 1, 1)
    mean = torch.tensor(old.config.latents_mean).view(1, -1, 1, 1, 1)
    vaes = {"old": old, "new": new}
    moved, spread, psnr = [], [], {pair: [] for pair in PAIRS}
    for i in range(0, len(frames), batch):
        x = frames_to_tensor(frames[i:i + batch], "cpu")
        z = {k: v.encode(x).latent_dist.mode() for k, v in vaes.items()}
        moved.append(((z["new"] - z["old"]) / std).pow(2).flatten(1).mean(1))
        spread.append(((z["old"] - mean) / std).pow(2).flatten(1).mean(1))
        for dec, enc in PAIRS:
            psnr[(dec, enc)].append(psnr8(decode8(vaes[dec], z[enc]), x))
    return {"moved_std": float(torch.cat(moved).mean().sqrt()), "spread_std": float(torch.cat(spread).mean().sqrt()),
            "psnr": {f"{d} dec({e} enc)": float(torch.cat(v).mean()) for (d, e), v in psnr.items()}}


def main(argv=None):
    from diffusers import AutoencoderKLWan
    from ..data import build
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", help="the autoencoder the transformer was trained on (a diffusers vae/ directory)")
    ap.add_argument("new", help="the continued autoencoder")
    ap.add_argument("--clips", type=int, default=16, help="the benchmark's first N PSNR clips")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the figures here")
    a = ap.parse_args(argv)
    keep_freed_memory()
    torch.set_num_threads(a.threads)
    old, new = (AutoencoderKLWan.from_pretrained(p).float().eval() for p in (a.old, a.new))
    r = latent_shift(old, new, build(424242, a.clips))
    print(f"{a.clips} clips: the latents moved {r['moved_std']:.3f} latents_std "
          f"(the old latents spread {r['spread_std']:.3f} about their mean)")
    for name, v in r["psnr"].items():
        print(f"  {name:18s} {v:.3f} dB")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"clips": a.clips, **r}, f, indent=2)


if __name__ == "__main__":
    main()
