"""Where an autoencoder's round trip loses its PSNR: the squared error inside the objects' boxes (from the world's
ground truth, grown by a margin) against the backdrop's, per backdrop, per frame, and each object's box PSNR by
motion, size and shape. The clips are the benchmark's PSNR clips (seed 424242), so the mean matches `vae_psnr`'s.

    python -m training.eval.vae_errors --vae models/reel-t2v-default/vae --clips 64 [--sheet out.png]

--sheet writes frames 0, 6, 12, 16 of a few clips: the original, the round trip, and 4x the absolute error.
"""
from __future__ import annotations

import argparse
import collections
import json

import numpy as np
import torch

from ..common import keep_freed_memory
from ..trainers import frames_to_tensor
from .benchmark import round_trip8, sample_sheet


def object_mask(truth: dict, shape: tuple[int, int, int], margin: int = 2) -> np.ndarray:
    """(T, H, W) bool: every object's per-frame box, grown by `margin` pixels."""
    mask = np.zeros(shape, bool)
    for o in truth["objects"]:
        for t, fr in enumerate(o["frames"]):
            x0, y0, x1, y1 = fr["box"]
            mask[t, max(0, y0 - margin):y1 + 1 + margin, max(0, x0 - margin):x1 + 1 + margin] = True
    return mask


def psnr_of_mse(mse: float) -> float:
    """PSNR in dB of a mean squared error in 8-bit levels."""
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def psnr_of(sq_err: np.ndarray) -> float:
    return psnr_of_mse(float(sq_err.mean()))


def split_errors(frames: np.ndarray, rec8: np.ndarray, truth: dict, margin: int = 2) -> dict:
    """One clip's round trip split into the objects' boxes and the backdrop. frames, rec8: (T, H, W, 3) in 0..255."""
    err = ((rec8.astype(np.float64) - frames.astype(np.float64)) ** 2).mean(-1)      # per pixel, over RGB
    mask = object_mask(truth, err.shape, margin)
    objects = []
    for o in truth["objects"]:
        own = object_mask({"objects": [o]}, err.shape, margin)
        objects.append({"motion": o["motion"], "size": o["size"], "shape": o["shape"], "psnr": psnr_of(err[own])})
    # per frame: the squared error summed inside the boxes and on the backdrop, and their pixel counts, to pool
    frame_sums = [[float(e[m].sum()), int(m.sum()), float(e[~m].sum()), int((~m).sum())] for e, m in zip(err, mask)]
    return {"psnr": psnr_of(err), "box_fraction": float(mask.mean()),
            "box_error_share": float(err[mask].sum() / max(err.sum(), 1e-10)),
            "backdrop_psnr": psnr_of(err[~mask]) if (~mask).any() else float("inf"),
            "boxes_psnr": psnr_of(err[mask]) if mask.any() else float("inf"),
            # the clip's PSNR had the boxes come back exactly
            "psnr_boxes_perfect": psnr_of(np.where(mask, 0.0, err)), "objects": objects, "frame_sums": frame_sums}


def by_frame(clips: list[dict]) -> list[tuple[float, float, float]]:
    """Each frame's PSNR over all the clips pooled: (whole frame, inside the boxes, backdrop)."""
    sums = np.array([c["frame_sums"] for c in clips], np.float64).sum(0)       # (T, 4)
    pooled = lambda sq, n: psnr_of_mse(sq / max(n, 1))
    return [(pooled(b + d, nb + nd), pooled(b, nb), pooled(d, nd)) for b, nb, d, nd in sums]


def round_trip(vae, frames: np.ndarray) -> np.ndarray:
    """One clip (T, H, W, 3) uint8 through the autoencoder, in 8-bit levels, same layout."""
    with torch.no_grad():
        return round_trip8(vae, frames_to_tensor(frames[None], "cpu"))[0].permute(1, 2, 3, 0).numpy()


def clip_set_arguments(doc: str, clips: int) -> argparse.ArgumentParser:
    """A command line over an autoencoder and the benchmark's PSNR clips (--vae, --clips, --seed, --threads)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vae", required=True, help="an autoencoder directory (a model's vae/)")
    ap.add_argument("--clips", type=int, default=clips)
    ap.add_argument("--seed", type=int, default=424242)
    ap.add_argument("--threads", type=int, default=2)
    return ap


def main(argv=None):
    ap = clip_set_arguments(__doc__, 64)
    ap.add_argument("--margin", type=int, default=2)
    ap.add_argument("--sheet", help="write a PNG of the first clips' round trips here")
    ap.add_argument("--sheet-clips", default="1,6,15", help="which clips the sheet shows")
    ap.add_argument("--json", help="write every clip's figures here")
    a = ap.parse_args(argv)
    keep_freed_memory()
    from diffusers import AutoencoderKLWan
    from ..data import render_with_truth
    torch.set_num_threads(a.threads)
    vae = AutoencoderKLWan.from_pretrained(a.vae).eval()
    clips, pictures = [], []
    shown = {int(c) for c in a.sheet_clips.split(",")} if a.sheet else set()
    for i, (spec, r) in enumerate(render_with_truth(a.seed, a.clips)):
        rec8 = round_trip(vae, r.frames)
        row = split_errors(r.frames, rec8, r.truth, a.margin)
        row["background"] = spec.background
        clips.append(row)
        if i in shown:
            pictures.append((r.frames, rec8))
    mean = lambda rows, k: float(np.mean([c[k] for c in rows]))
    share = sum(c["box_error_share"] * 10 ** (-c["psnr"] / 10) for c in clips) / sum(10 ** (-c["psnr"] / 10) for c in clips)
    print(f"{a.clips} clips: PSNR {mean(clips, 'psnr'):.2f} dB; the objects' boxes (+{a.margin} px) are "
          f"{mean(clips, 'box_fraction'):.1%} of the pixels and {share:.1%} of the squared error")
    print(f"inside the boxes {mean(clips, 'boxes_psnr'):.2f} dB, the backdrop {mean(clips, 'backdrop_psnr'):.2f} dB; "
          f"with the boxes exact the PSNR would be {mean(clips, 'psnr_boxes_perfect'):.2f} dB")
    print("by backdrop:")
    for b in sorted({c["background"] for c in clips}):
        rows = [c for c in clips if c["background"] == b]
        print(f"  {b:8s} {len(rows):3d} clips  clip {mean(rows, 'psnr'):5.1f}  backdrop {mean(rows, 'backdrop_psnr'):5.1f}"
              f"  boxes {mean(rows, 'boxes_psnr'):5.1f} dB")
    groups = collections.defaultdict(list)
    for c in clips:
        for o in c["objects"]:
            for key in ("motion", "size", "shape"):
                groups[(key, o[key])].append(o["psnr"])
    print("by frame (all clips pooled; frame 0 has a latent of its own, then 4 frames share one): clip / boxes / backdrop")
    for t, (whole, boxes, backdrop) in enumerate(by_frame(clips)):
        print(f"  {t:2d}  {whole:5.2f}  {boxes:5.2f}  {backdrop:5.2f} dB")
    print("each object's box PSNR by:")
    for (key, value), v in sorted(groups.items()):
        print(f"  {key:6s} {value:10s} {len(v):3d} objects  {np.mean(v):5.1f} dB")
    if a.sheet:   # per clip: the original, the round trip, 4x the absolute error
        rows = [row for f, r in pictures
                for row in (f, r.astype(np.uint8), np.clip(np.abs(r - f) * 4, 0, 255).astype(np.uint8))]
        sample_sheet(rows, None, a.sheet, frames=(0, 6, 12, 16))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(clips, f, indent=1)


if __name__ == "__main__":
    main()
