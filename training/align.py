"""A continued autoencoder re-expressed in its predecessor's latent space, its round trip unchanged.

When the encoder trains too (`finetune_vae --whole`) its latents move, and the committed transformer, which makes
latents like the old encoder's, no longer speaks the new decoder's language (session 15: colour 96 -> 93%).
Part of that move is only a change of coordinates: a mixing of the 16 channels and a shift, which the 1x1x1
`quant_conv` (the encoder's last layer) and `post_quant_conv` (the decoder's first) can absorb exactly. This fits
the affine map that best carries the new encoder's posterior means onto the old one's (least squares over every
latent position of fresh world clips), folds it into the new `quant_conv`'s mean rows and its inverse into the new
`post_quant_conv`, so the aligned autoencoder encodes to `M z + c` and decodes what it decoded from `z`: its own
round trip is the same function, while its latents sit as near the old ones as an affine map allows. What is
left is the non-affine part of the move, which `training.eval.latent_shift` measures.

    python -m training.align R/vae models/reel-t2v-default/vae --save R/aligned [--clips 64] [--seed 7] \
        [--max-condition 20]
    python -m training.eval.latent_shift models/reel-t2v-default/vae R/aligned

The posterior's log-variance rows are kept as they were: a mixed Gaussian is no longer diagonal, and its spread
(0.02-0.08 against latents of 0.6-3.3, docs/models.md "Session 11") only matters to training's samples.
"""
from __future__ import annotations

import argparse
import copy
import math

import numpy as np
import torch

from .common import keep_freed_memory
from .trainers import encode_latents


def posterior_means(vae, frames: np.ndarray, batch: int = 8) -> torch.Tensor:
    """Every latent position's posterior mean over the clips `frames` (N, T, H, W, 3) uint8, as float64 rows
    (P, z_dim)."""
    return encode_latents(vae, frames, "cpu", batch).transpose(0, 1).flatten(1).T.double()


def fit_affine(z_from: torch.Tensor, z_to: torch.Tensor,
               max_condition: float = math.inf) -> tuple[torch.Tensor, torch.Tensor, float]:
    """M (C x C), c (C) with z_to ~ z_from @ M.T + c (float64 rows, as posterior_means gives), and the ridge used.

    Least squares, unless M's condition number would pass `max_condition`: then the fit is pulled toward the
    identity (ridge ||M - I||^2, in units of z_from's mean variance) just enough to keep it there. The decoder
    reads M's inverse, which magnifies whatever the map leaves out along the directions the new latents barely
    span (session 20: at condition 203 the aligned decoder drew the transformer's clips 9 dB worse than unaligned).
    """
    if max_condition < 1:
        raise ValueError(f"a condition number is at least 1; max_condition {max_condition} can never hold")
    mean_from, mean_to = z_from.mean(0), z_to.mean(0)
    a, b = z_from - mean_from, z_to - mean_to
    gram, cross = a.T @ a, a.T @ b
    eye = torch.eye(len(gram), dtype=gram.dtype)
    unit = gram.trace() / len(gram)

    def solve(ridge: float) -> tuple[torch.Tensor, torch.Tensor]:
        m = torch.linalg.solve(gram + ridge * unit * eye, cross + ridge * unit * eye).T.contiguous()
        return m, mean_to - m @ mean_from

    def condition(ridge: float) -> float:
        return float(torch.linalg.cond(solve(ridge)[0]))

    m, c = solve(0.0)
    if torch.linalg.cond(m) <= max_condition:
        return m, c, 0.0
    low, high = 0.0, 1e-3
    while condition(high) > max_condition:          # M -> I (condition 1) as the ridge grows
        low, high = high, high * 10
    for _ in range(40):                             # the least ridge that keeps the bound, to ~1e-12 of it
        middle = (low + high) / 2
        low, high = (low, middle) if condition(middle) <= max_condition else (middle, high)
    return (*solve(high), high)


@torch.no_grad()
def fold_affine(vae, m: torch.Tensor, c: torch.Tensor):
    """A copy of `vae` whose encoder gives M z + c where it gave z, and whose decoder reads M z + c as it read z."""
    out = copy.deepcopy(vae)
    z_dim = out.config.z_dim
    q, p = out.quant_conv, out.post_quant_conv                          # 1x1x1 convolutions: per-position linear
    wq, bq = q.weight.double().flatten(1), q.bias.double()              # rows: z_dim means, then z_dim log-variances
    wq[:z_dim], bq[:z_dim] = m @ wq[:z_dim], m @ bq[:z_dim] + c
    q.weight.copy_(wq.view_as(q.weight))
    q.bias.copy_(bq)
    inverse = torch.linalg.inv(m)
    wp, bp = p.weight.double().flatten(1), p.bias.double()
    p.weight.copy_((wp @ inverse).view_as(p.weight))
    p.bias.copy_(bp - wp @ inverse @ c)
    return out


def align_latents(new, old, frames: np.ndarray, batch: int = 8,
                  max_condition: float = math.inf) -> tuple[object, dict]:
    """`new` re-expressed in `old`'s latent space, fitted on `frames` (the map's condition number kept within
    `max_condition`); with the RMS distance of the two encoders' latents before and after, in units of the old
    latents_std, on those clips."""
    z_new, z_old = posterior_means(new, frames, batch), posterior_means(old, frames, batch)
    m, c, ridge = fit_affine(z_new, z_old, max_condition)
    std = torch.tensor(old.config.latents_std, dtype=torch.float64)
    report = {"positions": len(z_new),
              "moved_std_before": float(((z_new - z_old) / std).pow(2).mean().sqrt()),
              "moved_std_after": float(((z_new @ m.T + c - z_old) / std).pow(2).mean().sqrt()),
              "condition": float(torch.linalg.cond(m)), "ridge": ridge}
    return fold_affine(new, m, c), report


def main(argv=None):
    from diffusers import AutoencoderKLWan
    from .data import build
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("new", help="the continued autoencoder (a diffusers vae/ directory)")
    ap.add_argument("old", help="the autoencoder the transformer was trained on")
    ap.add_argument("--save", required=True, help="write the aligned autoencoder here")
    ap.add_argument("--clips", type=int, default=64, help="fresh world clips to fit the map on")
    ap.add_argument("--seed", type=int, default=7, help="their data seed (not the benchmark's 424242)")
    ap.add_argument("--max-condition", type=float, default=20.0,
                    help="bound the map's condition number (pulling it toward the identity); 0: no bound")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    if 0 < a.max_condition < 1:
        ap.error(f"--max-condition {a.max_condition}: a condition number is at least 1 (0 for no bound)")
    keep_freed_memory()
    torch.set_num_threads(a.threads)
    new, old = (AutoencoderKLWan.from_pretrained(p).float().eval() for p in (a.new, a.old))
    aligned, r = align_latents(new, old, build(a.seed, a.clips), max_condition=a.max_condition or math.inf)
    aligned.save_pretrained(a.save)
    print(f"fitted on {r['positions']} latent positions of {a.clips} clips: the latents moved "
          f"{r['moved_std_before']:.3f} latents_std, {r['moved_std_after']:.3f} after the map "
          f"(its condition number {r['condition']:.2f}"
          + (f", bounded by a ridge of {r['ridge']:.3g} toward the identity" if r["ridge"] else "") + f"); saved {a.save}")


if __name__ == "__main__":
    main()
