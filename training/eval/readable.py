"""What an autoencoder leaves readable: the world's own renderings of the held-out prompts, scored by the analyzer as
they are and after a round trip through the autoencoder. A generated clip is the transformer's latents drawn by
the same decoder, so what the analyzer cannot read in a round trip of the true clip it will rarely read in a
generated one: the round trip's scores bound the benchmark's from above, the part each half of a model costs.

    python -m training.eval.readable --vae models/reel-t2v-default/vae [--limit N] [--json J]

Prints both tables, the PSNR of the round trips, and what each misread feature was read as (wanted -> read).
"""
from __future__ import annotations

import argparse
import collections
import json

import numpy as np
import torch

from ..common import keep_freed_memory
from ..world import eval_prompts, render
from ..world.spec import ClipSpec
from .benchmark import round_trips, score_clips

KEYS = ("colour", "motion", "shape")


def renders(prompts: list[dict]) -> np.ndarray:
    """The world's own clips of the prompts (N, T, H, W, 3) uint8, at each prompt's seed."""
    return np.stack([render(ClipSpec.from_dict(p["spec"])).frames for p in prompts])


def misreads(rows: list[dict]) -> dict:
    """For each feature, how often each wanted value was read as another ("ring -> ball": 7), most frequent first."""
    out = {}
    for k in KEYS:
        c = collections.Counter(f"{r['wanted'][k]} -> {r['measured'][k]}" for r in rows if r[f"ok_{k}"] is False)
        out[k] = dict(c.most_common())
    return out


def readable(vae, prompts: list[dict]) -> dict:
    """The analyzer's scores on the prompts' renderings and on their round trips through `vae`."""
    truth = renders(prompts)
    rec, db = round_trips(vae, truth, batch=10)
    as_rendered, through = score_clips(prompts, truth), score_clips(prompts, rec)
    return {"rendered": as_rendered["summary"], "round_trip": through["summary"],
            "round_trip_psnr": {"mean": float(db.mean()), "median": float(np.median(db)), "min": float(db.min())},
            "misread_rendered": misreads(as_rendered["rows"]), "misread_round_trip": misreads(through["rows"]),
            "rows": through["rows"]}


def table(r: dict) -> str:
    lines = ["| clips | colour | motion | shape (rough) |", "|---|---|---|---|"]
    for name, key in (("the world's renderings", "rendered"), ("their round trips", "round_trip")):
        s = r[key]["all"]
        lines.append(f"| {name} | {s['colour']:.1%} | {s['motion']:.1%} | {s['shape']:.1%} |")
    p = r["round_trip_psnr"]
    lines += ["", f"round trips: PSNR mean {p['mean']:.2f} dB, median {p['median']:.2f}, min {p['min']:.2f}", "",
              "misread in the round trips (wanted -> read):"]
    for k in KEYS:
        lines.append(f"  {k}: " + (", ".join(f"{w} {n}" for w, n in r["misread_round_trip"][k].items()) or "none"))
    return "\n".join(lines)


def main(argv=None):
    from diffusers import AutoencoderKLWan
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vae", required=True, help="an autoencoder directory (a model's vae/)")
    ap.add_argument("--limit", type=int, help="only the first N held-out prompts")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="write the figures and every clip's reading here")
    a = ap.parse_args(argv)
    keep_freed_memory()
    torch.set_num_threads(a.threads)
    vae = AutoencoderKLWan.from_pretrained(a.vae).eval()
    r = readable(vae, eval_prompts()[: a.limit])
    print(table(r))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"vae": a.vae, **r}, f, indent=1)


if __name__ == "__main__":
    main()
