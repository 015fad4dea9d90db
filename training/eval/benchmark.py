"""The held-out benchmark: generate every held-out prompt, analyze the clips, report accuracies; and the
autoencoder's reconstruction PSNR on fresh world clips.

    python -m training.eval.benchmark --model models/reel-t2v-default --minilm ~/.local/share/reel/models/all-minilm-l6-v2 --out runs/eval
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ..trainers import frames_to_tensor
from ..world import eval_prompts
from .analyzer import analyze
from .analyze import score
from .prompts import parse


def score_clips(prompts: list[dict], clips: np.ndarray, seeds: list[int] | None = None) -> dict:
    rows = []
    for p, seed, fr in zip(prompts, seeds or [p["seed"] for p in prompts], clips):
        a = analyze(fr)
        wanted = {"colour": p["colour"], "shape": p["shape"], "motion": p["motion"]}
        s = score(a, wanted)
        rows.append({"id": p["id"], "seed": seed, "prompt": p["prompt"],
                     "paraphrase": p["paraphrase"], **{f"ok_{k}": v for k, v in s.items()},
                     "measured": {"colour": a.colour, "shape": a.shape, "motion": a.motion}, "wanted": wanted,
                     "parsed_ok": parse(p["prompt"]) == wanted})
    return {"summary": summarize(rows), "rows": rows}


def summarize(rows: list[dict]) -> dict:
    acc = lambda k, rs: float(np.mean([r[f"ok_{k}"] for r in rs])) if rs else float("nan")
    summary = {}
    for name, rs in (("all", rows), ("paraphrase", [r for r in rows if r["paraphrase"]]),
                     ("train_templates", [r for r in rows if not r["paraphrase"]])):
        summary[name] = {"n": len(rs), "colour": acc("colour", rs), "motion": acc("motion", rs), "shape": acc("shape", rs),
                         "alignment": float(np.mean([(r["ok_colour"] + r["ok_motion"]) / 2 for r in rs])) if rs else float("nan")}
    return summary


def decode8(vae, z: torch.Tensor) -> torch.Tensor:
    """Latents decoded to clips (B, 3, T, H, W) in 8-bit levels (0..255, as floats) as a written video holds them."""
    return ((vae.decode(z).sample.float().clamp(-1, 1) + 1) * 127.5).round()


def round_trip8(vae, x: torch.Tensor, encoder=None) -> torch.Tensor:
    """Clips x (B, 3, T, H, W) in [-1, 1] through the autoencoder (encoded at the posterior mode), in 8-bit levels;
    with `encoder` (another autoencoder), `vae`'s decoder reads that one's latents."""
    encoder = encoder or vae
    return decode8(vae, encoder.encode(x.to(encoder.dtype)).latent_dist.mode())


def psnr8(rec8: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-clip PSNR in dB of 8-bit reconstructions (`decode8`, `round_trip8`) against clips x in [-1, 1]."""
    mse = (rec8 - (x + 1) * 127.5).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(255.0 ** 2 / mse.clamp_min(1e-6))


@torch.no_grad()
def round_trips(vae, clips: np.ndarray, batch: int = 16, encoder=None, device=None) -> tuple[np.ndarray, np.ndarray]:
    """Clips (N, T, H, W, 3) uint8 through the autoencoder `batch` at a time (`round_trip8`; with `encoder`, `vae`'s
    decoder reads that one's latents): the round trips as uint8 clips, as a written video holds them, and each
    clip's PSNR (dB). On `device`, by default the autoencoder's."""
    device = device or next(vae.parameters()).device
    out, db = [], []
    for i in range(0, len(clips), batch):
        x = frames_to_tensor(clips[i:i + batch], device)
        rec8 = round_trip8(vae, x, encoder)
        db.append(psnr8(rec8, x).cpu())
        out.append(rec8.permute(0, 2, 3, 4, 1).to(torch.uint8).cpu().numpy())
    return np.concatenate(out), torch.cat(db).numpy()


def vae_psnr(vae, n: int = 64, seed: int = 424242, device: str = "cpu", batch: int = 16, encoder=None) -> dict:
    """Round trip of fresh world clips through the autoencoder, measured on 8-bit frames; with `encoder` (another
    autoencoder), `vae`'s decoder reads that one's latents instead of its own encoder's."""
    from ..data import build
    v = round_trips(vae, build(seed, n), batch, encoder, device)[1]
    return {"n": n, "seed": seed, "psnr_mean": float(v.mean()), "psnr_min": float(v.min()), "psnr_median": float(np.median(v))}


def sample_sheet(clips, prompts: list[str] | None, path: Path, frames=(0, 4, 8, 12, 16), scale: int = 2):
    """A PNG: one row per clip ((T, H, W, 3) uint8 each), a few frames across, upscaled with nearest neighbours;
    the prompts, when given, in a .txt beside it."""
    from PIL import Image
    rows = [np.concatenate([c[t] for t in frames], 1) for c in clips]
    img = np.concatenate(rows, 0)
    Image.fromarray(img).resize((img.shape[1] * scale, img.shape[0] * scale), Image.NEAREST).save(path)
    if prompts is not None:
        Path(path).with_suffix(".txt").write_text("\n".join(prompts) + "\n")


def markdown(res: dict, vae: dict | None) -> str:
    s = res["summary"]
    lines = ["| prompts | n | colour | motion | shape (rough) | alignment |", "|---|---|---|---|---|---|"]
    for k in ("all", "train_templates", "paraphrase"):
        r = s[k]
        lines.append(f"| {k} | {r['n']} | {r['colour']:.1%} | {r['motion']:.1%} | {r['shape']:.1%} | {r['alignment']:.1%} |")
    if vae:
        lines.append("")
        lines.append(f"VAE reconstruction PSNR on {vae['n']} fresh world clips: mean {vae['psnr_mean']:.2f} dB, "
                     f"median {vae['psnr_median']:.2f} dB, min {vae['psnr_min']:.2f} dB")
    return "\n".join(lines) + "\n"


def main(argv=None):
    from ..sample import load_pipeline, generate, defaults
    from ..text_encoder import MiniLM
    from ..common import device as pick_device, keep_freed_memory
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--minilm", type=Path, required=True, help="the fetched MiniLM directory")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--guidance", type=float)
    ap.add_argument("--limit", type=int, help="only the first N prompts")
    ap.add_argument("--reference", action="store_true",
                    help="also score the world's own renderings (analyzer check) and their round trips through the "
                         "model's autoencoder (what it leaves readable: training.eval.readable)")
    ap.add_argument("--vae-clips", type=int, default=64)
    ap.add_argument("--seeds", type=int, default=1,
                    help="clips per prompt (its seed, seed+1, ...): 100 prompts alone leave a standard error of ~4 "
                         "points near 85%%, so comparing two models needs more clips, paired (python -m training.eval.paired)")
    a = ap.parse_args(argv)
    keep_freed_memory()
    dev = pick_device()
    a.out.mkdir(parents=True, exist_ok=True)
    d = defaults(a.model)
    pipe = load_pipeline(a.model, dev)
    enc = MiniLM(a.minilm, device=dev)
    one_seed = eval_prompts()[: a.limit]
    # every prompt at its own seed first, so the first len(one_seed) rows are a one-seed run's
    prompts = [p for _ in range(a.seeds) for p in one_seed]
    seeds = [p["seed"] + k for k in range(a.seeds) for p in one_seed]
    clips = generate(pipe, enc, [p["prompt"] for p in prompts], seeds,
                     steps=a.steps or d["steps"], guidance=a.guidance or d["guidance_scale"], device=dev)
    res = score_clips(prompts, clips, seeds)
    if a.seeds > 1:
        res["first_seed"] = summarize(res["rows"][: len(one_seed)])
    vae = vae_psnr(pipe.vae, n=a.vae_clips, device=dev) if a.vae_clips else None
    out = {"model": str(a.model), "seeds": a.seeds, "steps": a.steps or d["steps"], "guidance": a.guidance or d["guidance_scale"],
           "shift": pipe.scheduler.config.shift, "generated": res, "vae": vae}
    if a.reference:
        from .readable import readable
        r = readable(pipe.vae, one_seed)
        out["reference"], out["reference_round_trip"] = r["rendered"], r["round_trip"]
    (a.out / "results.json").write_text(json.dumps(out, indent=2))
    (a.out / "table.md").write_text(markdown(res, vae))
    sample_sheet(clips[:8], [p["prompt"] for p in one_seed[:8]], a.out / "samples.png")
    print(markdown(res, vae))


if __name__ == "__main__":
    main()
